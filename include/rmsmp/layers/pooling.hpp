// rmsmp/layers/pooling.hpp — MaxPool2d, AvgPool2d and global average pooling, on floats and
// on codes.
//
// On codes (docs/integer-contract.md, section 9): the output keeps the input's scale and zero
// point. Max pooling takes the largest code of the window (codes are monotone in the real
// value, so this is exactly the code of the largest value); padding never wins. Average
// pooling sums the window's codes, padding counted as the zero point (the code of real 0,
// PyTorch's count_include_pad), and divides by kh * kw rounding half up:
// floor((2 * sum + d) / (2 * d)).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "rmsmp/error.hpp"
#include "rmsmp/core/tensor.hpp"
#include "rmsmp/layers/window.hpp"

namespace rmsmp {

namespace detail {

/// Padding at most half the kernel (PyTorch's rule): every window then holds an input element.
inline void check_pool_window(const Window2d& window, TensorShape in, const std::string& what) {
  window.check(in, what);
  require(2 * window.padding_h <= window.kernel_h && 2 * window.padding_w <= window.kernel_w,
          what + ": padding must be at most half the kernel size");
}

/// Calls visit(n, h, w, c, inside) for every element of a window (h, w may lie in the
/// padding), then emit(n, oh, ow, c) for the window.
template <class Visit, class Emit>
void for_each_window(TensorShape in, int batch, const Window2d& window, Visit&& visit, Emit&& emit) {
  const int oh_count = window.output_height(in.height), ow_count = window.output_width(in.width);
  for (int n = 0; n < batch; ++n)
    for (int oh = 0; oh < oh_count; ++oh)
      for (int ow = 0; ow < ow_count; ++ow)
        for (int c = 0; c < in.channels; ++c) {
          for (int i = 0; i < window.kernel_h; ++i)
            for (int j = 0; j < window.kernel_w; ++j) {
              const int h = oh * window.stride_h - window.padding_h + i;
              const int w = ow * window.stride_w - window.padding_w + j;
              visit(n, h, w, c, h >= 0 && h < in.height && w >= 0 && w < in.width);
            }
          emit(n, oh, ow, c);
        }
}

}  // namespace detail

/// MaxPool2d: the largest element of each window (padding ignored).
template <class V>
Tensor<V> max_pool2d(const Tensor<V>& x, const Window2d& window) {
  detail::check_pool_window(window, x.shape, "max_pool2d");
  Tensor<V> out(window.output(x.shape, x.shape.channels), x.batch);
  V best{};
  bool any = false;
  detail::for_each_window(
      x.shape, x.batch, window,
      [&](int n, int h, int w, int c, bool inside) {
        if (!inside) return;
        const V v = x(n, h, w, c);
        best = any ? std::max(best, v) : v;
        any = true;
      },
      [&](int n, int oh, int ow, int c) {
        out(n, oh, ow, c) = best;
        any = false;
      });
  return out;
}

inline QuantizedTensor max_pool2d(const QuantizedTensor& x, const Window2d& window) {
  return {max_pool2d(x.codes, window), x.params};
}

/// AvgPool2d on floats: window sum (padding as 0, in double) divided by kh * kw.
inline Tensor<float> avg_pool2d(const Tensor<float>& x, const Window2d& window) {
  detail::check_pool_window(window, x.shape, "avg_pool2d");
  Tensor<float> out(window.output(x.shape, x.shape.channels), x.batch);
  const double divisor = static_cast<double>(window.kernel_h) * window.kernel_w;
  double sum = 0.0;
  detail::for_each_window(
      x.shape, x.batch, window, [&](int n, int h, int w, int c, bool inside) { sum += inside ? x(n, h, w, c) : 0.0f; },
      [&](int n, int oh, int ow, int c) {
        out(n, oh, ow, c) = static_cast<float>(sum / divisor);
        sum = 0.0;
      });
  return out;
}

/// AvgPool2d on codes: floor((2 * sum + d) / (2 * d)), padding counted as the zero point.
inline QuantizedTensor avg_pool2d(const QuantizedTensor& x, const Window2d& window) {
  detail::check_pool_window(window, x.codes.shape, "avg_pool2d");
  QuantizedTensor out{Tensor<std::uint8_t>(window.output(x.codes.shape, x.codes.shape.channels), x.codes.batch),
                      x.params};
  const std::int64_t divisor = static_cast<std::int64_t>(window.kernel_h) * window.kernel_w;
  const std::int64_t pad = x.params.zero_point;
  std::int64_t sum = 0;
  detail::for_each_window(
      x.codes.shape, x.codes.batch, window,
      [&](int n, int h, int w, int c, bool inside) { sum += inside ? x.codes(n, h, w, c) : pad; },
      [&](int n, int oh, int ow, int c) {
        // sum >= 0, so integer division is floor; the mean of valid codes is a valid code.
        out.codes(n, oh, ow, c) = static_cast<std::uint8_t>((2 * sum + divisor) / (2 * divisor));
        sum = 0;
      });
  return out;
}

inline Tensor<float> global_avg_pool(const Tensor<float>& x) { return avg_pool2d(x, global_window(x.shape)); }
inline QuantizedTensor global_avg_pool(const QuantizedTensor& x) { return avg_pool2d(x, global_window(x.codes.shape)); }

}  // namespace rmsmp

// rmsmp/layers/im2col.hpp — Conv2d as a GEMM: the input's windows become the columns of the
// K x P activation matrix the kernels take.
//
// K = C_in * kh * kw in PyTorch's weight flattening order (row k = (c * kh + i) * kw + j of a
// [C_out, C_in, kh, kw] weight), so the weight reshaped to [C_out, K] is the GEMM's matrix as
// is. Column p = (n * OH + oh) * OW + ow: the GEMM's M x P output is then channels-last, the
// runtime's tensor layout. Padding positions take `pad`: 0.0f for floats, the zero point for
// codes (the code of real 0).
#pragma once

#include <cstddef>
#include <vector>

#include "rmsmp/core/tensor.hpp"
#include "rmsmp/layers/window.hpp"

namespace rmsmp {

/// The K x P column matrix of `x` under `window`, column-major (each column contiguous).
template <class V>
std::vector<V> im2col(const Tensor<V>& x, const Window2d& window, V pad) {
  window.check(x.shape, "im2col");
  const TensorShape in = x.shape;
  const int oh_count = window.output_height(in.height), ow_count = window.output_width(in.width);
  const std::size_t K = static_cast<std::size_t>(in.channels) * static_cast<std::size_t>(window.kernel_h) *
                        static_cast<std::size_t>(window.kernel_w);
  std::vector<V> cols(K * static_cast<std::size_t>(x.batch) * static_cast<std::size_t>(oh_count) *
                      static_cast<std::size_t>(ow_count));
  std::size_t out = 0;
  for (int n = 0; n < x.batch; ++n)
    for (int oh = 0; oh < oh_count; ++oh)
      for (int ow = 0; ow < ow_count; ++ow)
        for (int c = 0; c < in.channels; ++c)
          for (int i = 0; i < window.kernel_h; ++i)
            for (int j = 0; j < window.kernel_w; ++j) {
              const int h = oh * window.stride_h - window.padding_h + i;
              const int w = ow * window.stride_w - window.padding_w + j;
              const bool inside = h >= 0 && h < in.height && w >= 0 && w < in.width;
              cols[out++] = inside ? x(n, h, w, c) : pad;
            }
  return cols;
}

}  // namespace rmsmp

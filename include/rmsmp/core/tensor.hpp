// rmsmp/core/tensor.hpp — the activations that flow between layers: a batch of [C, H, W]
// tensors, float or quantized.
//
// Inside the runtime a batch is stored channels-last (N, H, W, C): a GEMM's M x P output,
// column-major with one column per (sample, row, column) position, is exactly this layout, so
// conv outputs need no transposition. PyTorch's channels-first order (C, H, W) appears only at
// the edges: model inputs and outputs, and Flatten (which must produce torch.flatten's order).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp {

/// The shape of one sample: channels, height, width (vectors are [features, 1, 1]).
struct TensorShape {
  int channels = 0;
  int height = 1;
  int width = 1;

  std::size_t size() const {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) * static_cast<std::size_t>(width);
  }
  std::string str() const {
    std::string text = "[";  // appended: GCC 12 warns falsely (-Wrestrict) on "[" + std::to_string(...)
    text += std::to_string(channels) + ", " + std::to_string(height) + ", " + std::to_string(width) + "]";
    return text;
  }
  friend bool operator==(const TensorShape&, const TensorShape&) = default;
};

/// A batch of `batch` samples of `shape`, channels-last: element (n, h, w, c) is at
/// ((n * H + h) * W + w) * C + c.
template <class V>
struct Tensor {
  TensorShape shape;
  int batch = 0;
  std::vector<V> data;

  Tensor() = default;
  Tensor(TensorShape s, int n) : shape(s), batch(n), data(s.size() * static_cast<std::size_t>(n)) {}

  std::size_t index(int n, int h, int w, int c) const {
    return ((static_cast<std::size_t>(n) * static_cast<std::size_t>(shape.height) + static_cast<std::size_t>(h)) *
                static_cast<std::size_t>(shape.width) +
            static_cast<std::size_t>(w)) *
               static_cast<std::size_t>(shape.channels) +
           static_cast<std::size_t>(c);
  }
  V& operator()(int n, int h, int w, int c) { return data[index(n, h, w, c)]; }
  const V& operator()(int n, int h, int w, int c) const { return data[index(n, h, w, c)]; }
};

/// Quantized activations of a batch: uint8 codes (8-bit, or 4-bit in [0, 15]) and the
/// tensor's one scale and zero point.
struct QuantizedTensor {
  Tensor<std::uint8_t> codes;
  ActivationParams params;

  /// The K x N view a GEMM reads when every sample is one column (H = W = 1).
  ActivationView<std::uint8_t> as_columns() const {
    const int k = codes.shape.channels;
    return {codes.data.data(), k, codes.batch, k, params};
  }
};

/// Samples given as matrix columns in PyTorch's (C, H, W) order -> a channels-last batch.
inline Tensor<float> from_chw_columns(const Eigen::Ref<const Eigen::MatrixXf>& columns, TensorShape shape) {
  require(static_cast<std::size_t>(columns.rows()) == shape.size(),
                  "input: a sample has " + std::to_string(columns.rows()) + " values but the shape " + shape.str() +
                      " needs " + std::to_string(shape.size()));
  Tensor<float> t(shape, static_cast<int>(columns.cols()));
  for (int n = 0; n < t.batch; ++n)
    for (int c = 0; c < shape.channels; ++c)
      for (int h = 0; h < shape.height; ++h)
        for (int w = 0; w < shape.width; ++w)
          t(n, h, w, c) = columns((c * shape.height + h) * shape.width + w, n);
  return t;
}

/// The inverse: one column per sample, (C, H, W) order.
inline Eigen::MatrixXf to_chw_columns(const Tensor<float>& t) {
  const TensorShape s = t.shape;
  Eigen::MatrixXf columns(static_cast<Eigen::Index>(s.size()), t.batch);
  for (int n = 0; n < t.batch; ++n)
    for (int c = 0; c < s.channels; ++c)
      for (int h = 0; h < s.height; ++h)
        for (int w = 0; w < s.width; ++w) columns((c * s.height + h) * s.width + w, n) = t(n, h, w, c);
  return columns;
}

/// torch.flatten(x, 1): each sample becomes [C*H*W, 1, 1] in (C, H, W) order. A pure
/// permutation, so it is exact on codes as on floats.
template <class V>
Tensor<V> flatten(const Tensor<V>& x) {
  const TensorShape s = x.shape;
  Tensor<V> out(TensorShape{static_cast<int>(s.size()), 1, 1}, x.batch);
  std::size_t i = 0;
  for (int n = 0; n < x.batch; ++n)
    for (int c = 0; c < s.channels; ++c)
      for (int h = 0; h < s.height; ++h)
        for (int w = 0; w < s.width; ++w) out.data[i++] = x(n, h, w, c);
  return out;
}

inline QuantizedTensor flatten(const QuantizedTensor& x) { return {flatten(x.codes), x.params}; }

/// Float to codes with the contract's activation rule (quantize_activations).
inline QuantizedTensor quantize_tensor(const Tensor<float>& x, const ActivationParams& params) {
  const Eigen::Map<const Eigen::MatrixXf> values(x.data.data(), static_cast<Eigen::Index>(x.data.size()), 1);
  const Activations<std::uint8_t> q = quantize_activations<std::uint8_t>(values, params);
  QuantizedTensor out{Tensor<std::uint8_t>(x.shape, x.batch), params};
  std::copy(q.values.data(), q.values.data() + q.values.size(), out.codes.data.begin());
  return out;
}

/// Codes to the real values they stand for: scale * (q - zero_point).
inline Tensor<float> dequantize_tensor(const QuantizedTensor& x) {
  Tensor<float> out(x.codes.shape, x.codes.batch);
  for (std::size_t i = 0; i < out.data.size(); ++i)
    out.data[i] = x.params.scale * static_cast<float>(static_cast<int>(x.codes.data[i]) - x.params.zero_point);
  return out;
}

}  // namespace rmsmp

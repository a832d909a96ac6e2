// rmsmp/layers/relu.hpp — ReLU on its own. After a Linear, Conv2d or residual Add the
// quantizer folds ReLU into that layer's output clamp instead (lower bound = the zero point);
// this is for the other places (after a pool, say). On codes: max(q, zero_point), same
// scale and zero point (docs/integer-contract.md, section 9).
#pragma once

#include <algorithm>
#include <cstdint>

#include "rmsmp/core/tensor.hpp"

namespace rmsmp {

inline Tensor<float> relu(Tensor<float> x) {
  for (float& v : x.data) v = std::max(v, 0.0f);
  return x;
}

inline QuantizedTensor relu(QuantizedTensor x) {
  const int zero = x.params.zero_point;
  for (std::uint8_t& q : x.codes.data) q = static_cast<std::uint8_t>(std::max<int>(q, zero));
  return x;
}

}  // namespace rmsmp

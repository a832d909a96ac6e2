// rmsmp/layers/residual_add.hpp — the residual Add of two quantized tensors with different
// scales, in integers only (docs/integer-contract.md, section 9).
//
// With ta = qa - zp_a, tb = qb - zp_b and real multipliers Ma = s_a / s_out, Mb = s_b / s_out,
// both multipliers share one shift s (the one FixedPointMultiplier picks for the larger), so
// the sum is rounded once:
//   r = (ta * ma + tb * mb + 2^(s-1)) >> s      (int64, arithmetic shift: half toward +inf)
//   q = clamp(r + zp_out, lo, hi)               (lo = zp_out when a ReLU is folded in)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "rmsmp/error.hpp"
#include "rmsmp/core/tensor.hpp"
#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp {

/// The integer parameters of one residual Add.
struct AddRescale {
  std::int32_t multiplier_a = 0;  ///< round(Ma * 2^shift), in [0, 2^31)
  std::int32_t multiplier_b = 0;  ///< round(Mb * 2^shift), in [0, 2^31)
  int shift = 0;                  ///< in [0, 62]
  std::int32_t output_zero_point = 0;
  std::int32_t lo = 0, hi = 255;  ///< output clamp

  /// From the two input and the output activation parameters; `relu` folds a following ReLU.
  static AddRescale from_params(const ActivationParams& a, const ActivationParams& b, const ActivationParams& out,
                                bool relu) {
    check_activation_params<std::uint8_t>(a);
    check_activation_params<std::uint8_t>(b);
    check_activation_params<std::uint8_t>(out);
    const double ma = static_cast<double>(a.scale) / out.scale, mb = static_cast<double>(b.scale) / out.scale;
    const FixedPointMultiplier larger = FixedPointMultiplier::from_real(std::max(ma, mb));
    AddRescale r;
    r.shift = larger.shift;
    r.multiplier_a = static_cast<std::int32_t>(std::round(std::ldexp(ma, r.shift)));
    r.multiplier_b = static_cast<std::int32_t>(std::round(std::ldexp(mb, r.shift)));
    r.output_zero_point = out.zero_point;
    r.lo = relu ? out.zero_point : activation_min<std::uint8_t>(out.bits);
    r.hi = activation_max<std::uint8_t>(out.bits);
    return r;
  }

  void check() const {
    require(multiplier_a >= 0 && multiplier_b >= 0 && shift >= 0 && shift <= FixedPointMultiplier::max_shift,
                    "residual add: multipliers must be in [0, 2^31) and the shift in [0, 62]");
    require(lo <= hi && lo >= 0 && hi <= 255, "residual add: the output clamp must lie in [0, 255]");
  }

  /// One output code from the two centred inputs (|ta|, |tb| <= 255: the sum fits in int64).
  std::uint8_t apply(int ta, int tb) const {
    const std::int64_t sum = std::int64_t{ta} * multiplier_a + std::int64_t{tb} * multiplier_b;
    const std::int64_t r = shift == 0 ? sum : (sum + (std::int64_t{1} << (shift - 1))) >> shift;
    return static_cast<std::uint8_t>(std::clamp<std::int64_t>(r + output_zero_point, lo, hi));
  }
};

/// Float residual add.
inline Tensor<float> add(const Tensor<float>& a, const Tensor<float>& b) {
  require(a.shape == b.shape && a.batch == b.batch,
                  "add: operand shapes " + a.shape.str() + " and " + b.shape.str() + " differ");
  Tensor<float> out = a;
  for (std::size_t i = 0; i < out.data.size(); ++i) out.data[i] += b.data[i];
  return out;
}

/// Quantized residual add; the output has `out` as its parameters (the ones `rescale` was
/// built for).
inline QuantizedTensor add(const QuantizedTensor& a, const QuantizedTensor& b, const AddRescale& rescale,
                           const ActivationParams& out) {
  require(a.codes.shape == b.codes.shape && a.codes.batch == b.codes.batch,
                  "add: operand shapes " + a.codes.shape.str() + " and " + b.codes.shape.str() + " differ");
  rescale.check();
  check_activation_params<std::uint8_t>(out);
  QuantizedTensor result{Tensor<std::uint8_t>(a.codes.shape, a.codes.batch), out};
  for (std::size_t i = 0; i < result.codes.data.size(); ++i)
    result.codes.data[i] =
        rescale.apply(a.codes.data[i] - a.params.zero_point, b.codes.data[i] - b.params.zero_point);
  return result;
}

}  // namespace rmsmp

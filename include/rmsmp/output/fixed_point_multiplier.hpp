// rmsmp/output/fixed_point_multiplier.hpp — a real multiplier as an integer and a shift.
//
// y = (v * multiplier + 2^(shift-1)) >> shift, in int64 with an arithmetic (flooring) shift:
// one rounding, half toward +infinity. One 32x32 multiply, one add, one shift: the same few
// operations on a CPU lane and in an FPGA DSP, so both give the same bits.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "rmsmp/error.hpp"

namespace rmsmp {

struct FixedPointMultiplier {
  std::int32_t multiplier = 0;  ///< in [0, 2^31)
  int shift = 0;                ///< in [0, 62]

  static constexpr int max_shift = 62;

  /// The representation of `real` with the most precision: the largest shift <= 62 for which
  /// round(real * 2^shift) < 2^31 (rounding half away from zero). Multipliers too small for
  /// shift 62 become 0. Throws for negative, non-finite or >= 2^31 values.
  static FixedPointMultiplier from_real(double real) {
    require(std::isfinite(real) && real >= 0.0,
                    "requantization multiplier " + std::to_string(real) + " must be finite and non-negative");
    require(real < 2147483648.0, "requantization multiplier " + std::to_string(real) +
                                             " is too large (must be < 2^31; is the output scale too small?)");
    if (real == 0.0) return {};
    int exponent = 0;
    std::frexp(real, &exponent);  // real = f * 2^exponent, f in [0.5, 1)
    int shift = 31 - exponent;
    if (shift > max_shift) shift = max_shift;
    double scaled = std::round(std::ldexp(real, shift));
    if (scaled >= 2147483648.0) {  // f rounded up to 1: one bit less of precision
      --shift;
      scaled = std::round(std::ldexp(real, shift));
    }
    if (scaled == 0.0) return {};
    return {static_cast<std::int32_t>(scaled), shift};
  }

  double to_real() const { return std::ldexp(static_cast<double>(multiplier), -shift); }

  /// Rounded product; the caller guarantees |v| < 2^31, so nothing here can overflow.
  constexpr std::int64_t apply(std::int64_t v) const {
    const std::int64_t product = v * multiplier;
    if (shift == 0) return product;
    return (product + (std::int64_t{1} << (shift - 1))) >> shift;
  }
};

}  // namespace rmsmp

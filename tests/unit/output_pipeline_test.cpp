// Requantization and the other output stages at their edge cases.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "test_support.hpp"
#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/output/pipeline.hpp"

using namespace rmsmp;

using rmsmp_test::round_half_up_shift;

TEST_CASE("requantization rounds half toward +infinity", "[output]") {
  const FixedPointMultiplier half{1, 1};  // x / 2
  REQUIRE(half.apply(1) == 1);            // 0.5 -> 1
  REQUIRE(half.apply(-1) == 0);           // -0.5 -> 0
  REQUIRE(half.apply(3) == 2);            // 1.5 -> 2
  REQUIRE(half.apply(-3) == -1);          // -1.5 -> -1
  REQUIRE(half.apply(2) == 1);
  REQUIRE(half.apply(-2) == -1);
  const FixedPointMultiplier quarter{1, 2};
  REQUIRE(quarter.apply(1) == 0);   // 0.25 -> 0
  REQUIRE(quarter.apply(-1) == 0);  // -0.25 -> 0
  REQUIRE(quarter.apply(-3) == -1);  // -0.75 -> -1
  REQUIRE(quarter.apply(-2) == 0);   // -0.5 -> 0
  REQUIRE(quarter.apply(2) == 1);    // 0.5 -> 1
  const FixedPointMultiplier identity{1, 0};
  REQUIRE(identity.apply(-7) == -7);
}

TEST_CASE("requantization matches exact 128-bit arithmetic over the whole int32 range", "[output]") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> value(std::numeric_limits<std::int32_t>::min(),
                                                     std::numeric_limits<std::int32_t>::max());
  std::uniform_int_distribution<std::int64_t> mult(0, (std::int64_t{1} << 31) - 1);
  std::uniform_int_distribution<int> shift(0, FixedPointMultiplier::max_shift);
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t v = value(rng);
    const FixedPointMultiplier fm{static_cast<std::int32_t>(mult(rng)), shift(rng)};
    CAPTURE(v, fm.multiplier, fm.shift);
    REQUIRE(fm.apply(v) == round_half_up_shift(v, fm.multiplier, fm.shift));
  }
  // Extremes of every operand.
  for (std::int64_t v : {std::int64_t{std::numeric_limits<std::int32_t>::min()}, std::int64_t{-1}, std::int64_t{0},
                         std::int64_t{1}, std::int64_t{std::numeric_limits<std::int32_t>::max()}})
    for (std::int32_t m : {0, 1, std::numeric_limits<std::int32_t>::max()})
      for (int s : {0, 1, 31, 61, 62}) REQUIRE(FixedPointMultiplier{m, s}.apply(v) == round_half_up_shift(v, m, s));
}

TEST_CASE("multipliers from real values keep 31 bits of precision", "[output]") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> exponent(-31.0, 30.0);  // shift 62 still normalises
  for (int i = 0; i < 100000; ++i) {
    const double real = std::exp2(exponent(rng));
    const FixedPointMultiplier fm = FixedPointMultiplier::from_real(real);
    CAPTURE(real, fm.multiplier, fm.shift);
    REQUIRE(fm.multiplier >= (1 << 30));  // normalised: the top bit of 31 is set
    REQUIRE(fm.shift >= 0);
    REQUIRE(fm.shift <= FixedPointMultiplier::max_shift);
    REQUIRE(std::abs(fm.to_real() - real) <= real * std::ldexp(1.0, -31));
  }
  // Below 2^-32 the shift is capped at 62: absolute error at most half a step of 2^-62.
  std::uniform_real_distribution<double> tiny(-70.0, -32.0);
  for (int i = 0; i < 10000; ++i) {
    const double real = std::exp2(tiny(rng));
    const FixedPointMultiplier fm = FixedPointMultiplier::from_real(real);
    CAPTURE(real, fm.multiplier, fm.shift);
    REQUIRE(fm.multiplier < (1 << 30));
    REQUIRE(std::abs(fm.to_real() - real) <= std::ldexp(1.0, -63));
    if (fm.multiplier != 0) REQUIRE(fm.shift == 62);
  }
  REQUIRE(FixedPointMultiplier::from_real(1.0).multiplier == (1 << 30));
  REQUIRE(FixedPointMultiplier::from_real(1.0).shift == 30);
  // Just below 1: rounding the mantissa up to 2^31 must drop one bit of shift.
  const FixedPointMultiplier almost_one = FixedPointMultiplier::from_real(1.0 - std::ldexp(1.0, -40));
  REQUIRE(almost_one.multiplier == (1 << 30));
  REQUIRE(almost_one.shift == 30);
  REQUIRE(FixedPointMultiplier::from_real(0.0).multiplier == 0);
  REQUIRE(FixedPointMultiplier::from_real(std::ldexp(1.0, -64)).multiplier == 0);  // below shift 62's reach
  REQUIRE(FixedPointMultiplier::from_real(std::ldexp(1.0, -62)).multiplier == 1);
  REQUIRE(FixedPointMultiplier::from_real(std::ldexp(1.0, -62)).shift == 62);
  const FixedPointMultiplier big = FixedPointMultiplier::from_real(2147483647.0);
  REQUIRE(big.shift == 0);
  REQUIRE(big.multiplier == 2147483647);
}

TEST_CASE("bad multipliers are refused", "[output]") {
  REQUIRE_THROWS_AS(FixedPointMultiplier::from_real(-1e-9), Error);
  REQUIRE_THROWS_AS(FixedPointMultiplier::from_real(std::nan("")), Error);
  REQUIRE_THROWS_AS(FixedPointMultiplier::from_real(INFINITY), Error);
  REQUIRE_THROWS_WITH(FixedPointMultiplier::from_real(2147483648.0), Catch::Contains("too large"));
  REQUIRE_THROWS_AS(requantize_from_scales(std::vector<float>{1.0f}, 1.0f, 0.0f, 0), Error);
}

TEST_CASE("stages saturate at their edges", "[output]") {
  const Requantize r{{FixedPointMultiplier{std::numeric_limits<std::int32_t>::max(), 0}}, 5};
  REQUIRE(r.apply(2, 0) == std::numeric_limits<std::int32_t>::max());
  REQUIRE(r.apply(-2, 0) == std::numeric_limits<std::int32_t>::min());
  const Requantize half{{FixedPointMultiplier{1, 1}}, -4};
  REQUIRE(half.apply(7, 0) == 0);  // 3.5 -> 4, + zero point -4

  const SaturatingCast<std::int8_t> to_s8;
  REQUIRE(to_s8.apply(127, 0) == 127);
  REQUIRE(to_s8.apply(128, 0) == 127);
  REQUIRE(to_s8.apply(-128, 0) == -128);
  REQUIRE(to_s8.apply(-129, 0) == -128);
  REQUIRE(to_s8.apply(std::numeric_limits<std::int32_t>::min(), 0) == -128);
  const SaturatingCast<std::uint8_t> to_u8;
  REQUIRE(to_u8.apply(-1, 0) == 0);
  REQUIRE(to_u8.apply(255, 0) == 255);
  REQUIRE(to_u8.apply(256, 0) == 255);

  const Clamp relu = relu_for<std::uint8_t>(10);
  REQUIRE(relu.apply(9, 0) == 10);
  REQUIRE(relu.apply(300, 0) == 255);
  REQUIRE(relu.apply(100, 0) == 100);
}

TEST_CASE("pipelines chain their stages in order", "[output]") {
  const OutputPipeline p(BiasAdd{{10, -10}}, Requantize{{FixedPointMultiplier{1, 1}, FixedPointMultiplier{1, 2}}, 3},
                         Clamp{0, 50}, SaturatingCast<std::uint8_t>{});
  static_assert(std::is_same_v<decltype(p)::output_type, std::uint8_t>);
  REQUIRE(p.apply(5, 0) == 11);   // (5+10)/2 = 7.5 -> 8, +3
  REQUIRE(p.apply(5, 1) == 2);    // (5-10)/4 = -1.25 -> -1, +3
  REQUIRE(p.apply(1000, 0) == 50);
  REQUIRE(p.apply(-1000, 0) == 0);
  REQUIRE(p.bias_bound(1) == 10);
  static_assert(std::is_same_v<OutputPipeline<>::output_type, std::int32_t>);
  static_assert(std::is_same_v<OutputPipeline<BiasAdd, ToFloat>::output_type, float>);
}

TEST_CASE("stages built from real scales", "[output]") {
  const std::vector<float> row_scales{0.5f, 0.25f, 1.0f};
  const BiasAdd b = bias_from_real(std::vector<float>{1.0f, -0.3f, 0.0f}, row_scales, 0.1f);
  REQUIRE(b.bias == std::vector<std::int32_t>{20, -12, 0});  // 1/(0.05) = 20; -0.3/0.025 = -12
  REQUIRE_THROWS_WITH(bias_from_real(std::vector<float>{1.0f}, std::vector<float>{1e-30f}, 1e-3f),
                      Catch::Contains("bias of row 0"));
  REQUIRE_THROWS_AS(bias_from_real(std::vector<float>{NAN}, std::vector<float>{1.0f}, 1.0f), Error);
  const Requantize r = requantize_from_scales(row_scales, 0.1f, 0.2f, 7);
  REQUIRE(r.multipliers[0].to_real() == Approx(0.25));
  REQUIRE(r.output_zero_point == 7);
  const ToFloat t = to_float_from_scales(row_scales, 0.1f);
  REQUIRE(t.scale[1] == 0.25f * 0.1f);
}

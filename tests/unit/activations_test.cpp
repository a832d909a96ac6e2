// Unit tests for rmsmp/core/activations.hpp: rounding and clamping of
// quantize_activations, activation_params_for_range, the parameter and tensor checks and
// max_abs_centered. Expectations are computed independently (brute force over all codes,
// a separate round-half-away-from-zero).
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "test_support.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/core/activations.hpp"

namespace {

using rmsmp::ActivationParams;
using Catch::Contains;

using rmsmp_test::inf_f;
using rmsmp_test::nan_f;
using rmsmp_test::num;


/// Code range written out per case (not taken from activation_min/max).
struct Range {
  int lo;
  int hi;
};

template <class T>
Range range_of(int bits) {
  if (std::is_same_v<T, std::int8_t>) return {-128, 127};
  return bits == 4 ? Range{0, 15} : Range{0, 255};
}

template <class T>
const char* type_name() {
  return std::is_same_v<T, std::int8_t> ? "int8" : "uint8";
}

/// Round half away from zero without std::round: split |x| into integer and fraction
/// (exact for |x| < 2^52) and round the fraction up when it is at least one half.
double round_half_away(double x) {
  const double a = std::fabs(x);
  if (a >= 0x1p52) return x;
  const double whole = std::floor(a);
  const double rounded = (a - whole >= 0.5) ? whole + 1.0 : whole;
  return x < 0 ? -rounded : rounded;
}

/// Expected code: clamp(round_half_away(v / scale) + zero_point) to the code range.
int expected_code(float v, const ActivationParams& p, Range r) {
  const double q = round_half_away(static_cast<double>(v) / static_cast<double>(p.scale)) + p.zero_point;
  if (q < r.lo) return r.lo;
  if (q > r.hi) return r.hi;
  return static_cast<int>(q);
}

template <class T>
void check_quantized(const Eigen::MatrixXf& x, const ActivationParams& p) {
  const Range r = range_of<T>(p.bits);
  const rmsmp::Activations<T> a = rmsmp::quantize_activations<T>(x, p);
  REQUIRE(a.values.rows() == x.rows());
  REQUIRE(a.values.cols() == x.cols());
  CHECK(a.params.scale == p.scale);
  CHECK(a.params.zero_point == p.zero_point);
  CHECK(a.params.bits == p.bits);
  for (Eigen::Index n = 0; n < x.cols(); ++n)
    for (Eigen::Index k = 0; k < x.rows(); ++k) {
      const float v = x(k, n);
      INFO(type_name<T>() << " " << p.bits << "-bit, scale " << num(p.scale) << ", zero point " << p.zero_point
                          << ": x(" << k << ", " << n << ") = " << num(v) << ", x/scale = "
                          << num(static_cast<double>(v) / p.scale));
      CHECK(static_cast<int>(a.values(k, n)) == expected_code(v, p, r));
    }
  // The result is a valid tensor for its own parameters.
  CHECK_NOTHROW(rmsmp::check_activations(a.view()));
}

}  // namespace

// -------------------------------------------------------------------------------------------
// quantize_activations
// -------------------------------------------------------------------------------------------

TEST_CASE("quantize_activations: hand-written rounding (half away from zero) and clamping", "[activations]") {
  SECTION("int8, scale 0.5, zero point 0") {
    const ActivationParams p{0.5f, 0, 8};
    Eigen::MatrixXf x(2, 6);
    x << 0.25f, -0.25f, 0.75f, -0.75f, 0.2f, -0.2f,  //
        1.25f, -1.25f, 63.75f, -64.25f, 1e30f, -1e30f;
    const Eigen::MatrixXi want = (Eigen::MatrixXi(2, 6) << 1, -1, 2, -2, 0, 0, 3, -3, 127, -128, 127, -128).finished();
    const auto a = rmsmp::quantize_activations<std::int8_t>(x, p);
    CHECK(a.values.cast<int>() == want);
  }
  SECTION("int8, zero point added after rounding") {
    const ActivationParams p{0.5f, 3, 8};
    Eigen::MatrixXf x(1, 5);
    x << -0.25f, 0.25f, 62.0f, 62.25f, -65.25f;  // x/scale = -0.5, 0.5, 124, 124.5, -130.5
    const auto a = rmsmp::quantize_activations<std::int8_t>(x, p);
    CHECK(int{a.values(0, 0)} == 2);    // round(-0.5) = -1, + 3
    CHECK(int{a.values(0, 1)} == 4);    // round(0.5) = 1, + 3
    CHECK(int{a.values(0, 2)} == 127);  // 124 + 3
    CHECK(int{a.values(0, 3)} == 127);  // 125 + 3 = 128 clamps
    CHECK(int{a.values(0, 4)} == -128);
  }
  SECTION("uint8 8-bit, zero point 128") {
    const ActivationParams p{0.25f, 128, 8};
    Eigen::MatrixXf x(1, 6);
    x << 0.125f, -0.125f, -32.0f, -32.125f, 31.75f, 31.875f;  // x/scale = .5, -.5, -128, -128.5, 127, 127.5
    const auto a = rmsmp::quantize_activations<std::uint8_t>(x, p);
    CHECK(int{a.values(0, 0)} == 129);
    CHECK(int{a.values(0, 1)} == 127);
    CHECK(int{a.values(0, 2)} == 0);
    CHECK(int{a.values(0, 3)} == 0);  // -129 clamps to 0
    CHECK(int{a.values(0, 4)} == 255);
    CHECK(int{a.values(0, 5)} == 255);  // 256 clamps
  }
  SECTION("uint8 4-bit, zero point 0 and 8") {
    Eigen::MatrixXf x(1, 6);
    x << 0.5f, 1.5f, 14.5f, 15.5f, -0.5f, -1000.0f;
    const auto a = rmsmp::quantize_activations<std::uint8_t>(x, ActivationParams{1.0f, 0, 4});
    const int want0[] = {1, 2, 15, 15, 0, 0};
    for (int k = 0; k < 6; ++k) CHECK(int{a.values(0, k)} == want0[k]);
    const auto b = rmsmp::quantize_activations<std::uint8_t>(x, ActivationParams{1.0f, 8, 4});
    const int want8[] = {9, 10, 15, 15, 7, 0};  // -0.5 -> -1 + 8
    for (int k = 0; k < 6; ++k) CHECK(int{b.values(0, k)} == want8[k]);
  }
}

TEST_CASE("quantize_activations: ties, their float neighbours and clamping match an independent rounding",
          "[activations]") {
  // Scales with few mantissa bits make v = (j + 0.5) * scale exact, so v / scale is an exact tie.
  for (const float scale : {1.0f, 0.5f, 0.375f, 0.0078125f, 48.0f}) {
    std::vector<float> values;
    for (int j = -300; j <= 300; ++j) {
      const float tie = (static_cast<float>(j) + 0.5f) * scale;
      values.push_back(tie);
      values.push_back(std::nextafter(tie, -inf_f));
      values.push_back(std::nextafter(tie, inf_f));
      values.push_back(static_cast<float>(j) * scale);
    }
    for (const float big : {1e30f, FLT_MAX, -FLT_MAX, 0.0f, -0.0f}) values.push_back(big);
    Eigen::MatrixXf x(static_cast<Eigen::Index>(values.size()), 1);
    for (std::size_t i = 0; i < values.size(); ++i) x(static_cast<Eigen::Index>(i), 0) = values[i];
    for (const int zp : {-128, -5, 0, 17, 127}) check_quantized<std::int8_t>(x, {scale, zp, 8});
    for (const int zp : {0, 1, 128, 200, 255}) check_quantized<std::uint8_t>(x, {scale, zp, 8});
    for (const int zp : {0, 3, 8, 15}) check_quantized<std::uint8_t>(x, {scale, zp, 4});
  }
}

TEST_CASE("quantize_activations: random tensors match an independent rounding", "[activations]") {
  std::mt19937 rng(8675309u);
  std::uniform_real_distribution<double> log_scale(-6.0, 3.0);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_int_distribution<int> dim(1, 9);
  for (int trial = 0; trial < 60; ++trial) {
    const float scale = static_cast<float>(std::pow(10.0, log_scale(rng)));
    Eigen::MatrixXf x(dim(rng), dim(rng));
    for (Eigen::Index n = 0; n < x.cols(); ++n)
      for (Eigen::Index k = 0; k < x.rows(); ++k) x(k, n) = static_cast<float>(gauss(rng) * 150.0 * scale);
    INFO("trial " << trial);
    check_quantized<std::int8_t>(x, {scale, std::uniform_int_distribution<int>(-128, 127)(rng), 8});
    check_quantized<std::uint8_t>(x, {scale, std::uniform_int_distribution<int>(0, 255)(rng), 8});
    check_quantized<std::uint8_t>(x, {scale / 16.0f, std::uniform_int_distribution<int>(0, 15)(rng), 4});
  }
}

TEST_CASE("quantize_activations: empty tensors, non-finite inputs and bad parameters", "[activations][errors]") {
  const Eigen::MatrixXf empty(0, 3);
  const auto a = rmsmp::quantize_activations<std::uint8_t>(empty, ActivationParams{1.0f, 0, 8});
  CHECK(a.values.rows() == 0);
  CHECK(a.values.cols() == 3);

  for (const float bad : {nan_f, inf_f, -inf_f}) {
    Eigen::MatrixXf x = Eigen::MatrixXf::Zero(3, 4);
    x(2, 1) = bad;
    INFO("value " << bad);
    REQUIRE_THROWS_AS(rmsmp::quantize_activations<std::int8_t>(x, ActivationParams{1.0f, 0, 8}), rmsmp::Error);
    REQUIRE_THROWS_WITH(rmsmp::quantize_activations<std::uint8_t>(x, ActivationParams{1.0f, 0, 8}),
                        Contains("(2, 1)") && Contains("not finite"));
  }
  const Eigen::MatrixXf x = Eigen::MatrixXf::Zero(2, 2);
  REQUIRE_THROWS_AS(rmsmp::quantize_activations<std::int8_t>(x, ActivationParams{1.0f, 0, 4}), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::quantize_activations<std::uint8_t>(x, ActivationParams{0.0f, 0, 8}), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::quantize_activations<std::uint8_t>(x, ActivationParams{1.0f, 16, 4}), rmsmp::Error);
}

// -------------------------------------------------------------------------------------------
// activation_params_for_range
// -------------------------------------------------------------------------------------------

namespace {

/// Checks the documented contract of activation_params_for_range: valid parameters, 0 exact,
/// every value of [min(lo,0), max(hi,0)] reproduced within half a step (so the range is
/// covered, at worst clipped by half a step at one end), and the step no larger than the
/// range spread over all codes (the whole code range is used).
template <class T>
void check_params_for_range(float x_min, float x_max, int bits) {
  const Range r = range_of<T>(bits);
  INFO(type_name<T>() << " " << bits << "-bit range [" << num(x_min) << ", " << num(x_max) << "]");
  const ActivationParams p = rmsmp::activation_params_for_range<T>(x_min, x_max, bits);
  INFO("got scale " << num(p.scale) << ", zero point " << p.zero_point);
  CHECK(p.bits == bits);
  REQUIRE(std::isfinite(p.scale));
  REQUIRE(p.scale > 0.0f);
  REQUIRE(p.zero_point >= r.lo);
  REQUIRE(p.zero_point <= r.hi);
  CHECK_NOTHROW(rmsmp::check_activation_params<T>(p));

  // 0 is exactly representable: it quantizes to the zero point, which dequantizes to 0.
  Eigen::MatrixXf zero = Eigen::MatrixXf::Zero(1, 1);
  CHECK(static_cast<int>(rmsmp::quantize_activations<T>(zero, p).values(0, 0)) == p.zero_point);

  const double lo = std::min(0.0, static_cast<double>(x_min));
  const double hi = std::max(0.0, static_cast<double>(x_max));
  const double step = p.scale;
  if (hi > lo) {
    const double ideal_step = (hi - lo) / (r.hi - r.lo);
    if (std::isnormal(static_cast<float>(ideal_step))) CHECK(step <= ideal_step * (1.0 + 1e-6));
  }
  // Representable interval [scale * (qmin - zp), scale * (qmax - zp)] covers [lo, hi] up to half a step.
  const double slack = 0.5 * step * (1.0 + 1e-5) + 1e-6 * std::max(std::fabs(lo), std::fabs(hi));
  CHECK(step * (r.lo - p.zero_point) <= lo + slack);
  CHECK(step * (r.hi - p.zero_point) >= hi - slack);
  // And every value in the range round-trips within half a step.
  std::vector<float> probe = {static_cast<float>(lo), static_cast<float>(hi)};
  for (int i = 1; i < 64; ++i) probe.push_back(static_cast<float>(lo + (hi - lo) * i / 64.0));
  Eigen::MatrixXf x(static_cast<Eigen::Index>(probe.size()), 1);
  for (std::size_t i = 0; i < probe.size(); ++i) x(static_cast<Eigen::Index>(i), 0) = probe[i];
  const auto q = rmsmp::quantize_activations<T>(x, p);
  for (std::size_t i = 0; i < probe.size(); ++i) {
    const double back = step * (static_cast<int>(q.values(static_cast<Eigen::Index>(i), 0)) - p.zero_point);
    INFO("value " << num(probe[i]) << " came back as " << num(back));
    CHECK(std::fabs(back - probe[i]) <= slack);
  }
}

template <class T>
void check_params_for_range_all_bits(float x_min, float x_max) {
  check_params_for_range<T>(x_min, x_max, 8);
  if (std::is_same_v<T, std::uint8_t>) check_params_for_range<T>(x_min, x_max, 4);
}

}  // namespace

TEST_CASE("activation_params_for_range: keeps 0 exact and covers the range", "[activations][range]") {
  const std::vector<std::pair<float, float>> ranges = {
      {-1.0f, 1.0f},  {-1.0f, 2.0f},   {-1.0f, 2.5f},  {-0.3f, 7.1f},   {-6.0f, 0.5f},    {-1e-3f, 1e-3f},
      {-1e4f, 3e4f},  {0.0f, 6.0f},    {2.0f, 5.0f},   {-5.0f, -2.0f},  {-5.0f, 0.0f},    {3.0f, 3.0f},
      {-3.0f, -3.0f}, {-1e-20f, 1e-20f}, {-2.0f, 1e-7f}, {-1e-7f, 2.0f}, {-3e38f, 3e38f},
  };
  for (const auto& [a, b] : ranges) {
    check_params_for_range_all_bits<std::int8_t>(a, b);
    check_params_for_range_all_bits<std::uint8_t>(a, b);
  }
  std::mt19937 rng(1u);
  std::uniform_real_distribution<double> log_mag(-4.0, 4.0);
  std::normal_distribution<double> gauss(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    const double m = std::pow(10.0, log_mag(rng));
    double a = gauss(rng) * m, b = gauss(rng) * m;
    if (a > b) std::swap(a, b);
    INFO("trial " << trial);
    check_params_for_range_all_bits<std::int8_t>(static_cast<float>(a), static_cast<float>(b));
    check_params_for_range_all_bits<std::uint8_t>(static_cast<float>(a), static_cast<float>(b));
  }
}

TEST_CASE("activation_params_for_range: one-sided ranges use the whole code range", "[activations][range]") {
  // Non-negative range: the zero point must be the smallest code; non-positive: the largest.
  CHECK(rmsmp::activation_params_for_range<std::uint8_t>(2.0f, 5.0f).zero_point == 0);
  CHECK(rmsmp::activation_params_for_range<std::uint8_t>(2.0f, 5.0f, 4).zero_point == 0);
  CHECK(rmsmp::activation_params_for_range<std::int8_t>(2.0f, 5.0f).zero_point == -128);
  CHECK(rmsmp::activation_params_for_range<std::uint8_t>(-5.0f, -2.0f).zero_point == 255);
  CHECK(rmsmp::activation_params_for_range<std::uint8_t>(-5.0f, -2.0f, 4).zero_point == 15);
  CHECK(rmsmp::activation_params_for_range<std::int8_t>(-5.0f, -2.0f).zero_point == 127);
  CHECK(rmsmp::activation_params_for_range<std::uint8_t>(0.0f, 5.1f).scale == Approx(5.1 / 255).epsilon(1e-6));
  CHECK(rmsmp::activation_params_for_range<std::uint8_t>(0.0f, 5.1f, 4).scale == Approx(5.1 / 15).epsilon(1e-6));
  CHECK(rmsmp::activation_params_for_range<std::int8_t>(-5.1f, 0.0f).scale == Approx(5.1 / 255).epsilon(1e-6));
  // Symmetric int8 range: zero point in the middle (128 steps below, 127 above -> -0.5 -> -1 or 0).
  const auto sym = rmsmp::activation_params_for_range<std::int8_t>(-1.0f, 1.0f);
  CHECK(std::abs(sym.zero_point) <= 1);
}

TEST_CASE("activation_params_for_range: min == max == 0 and tiny ranges", "[activations][range]") {
  for (int bits : {8, 4}) {
    const auto u = rmsmp::activation_params_for_range<std::uint8_t>(0.0f, 0.0f, bits);
    INFO("uint8 bits " << bits << " scale " << u.scale << " zp " << u.zero_point);
    CHECK(std::isfinite(u.scale));
    CHECK(u.scale > 0.0f);
    CHECK(u.zero_point == 0);
    CHECK_NOTHROW(rmsmp::check_activation_params<std::uint8_t>(u));
  }
  const auto s = rmsmp::activation_params_for_range<std::int8_t>(0.0f, 0.0f);
  CHECK(std::isfinite(s.scale));
  CHECK(s.scale > 0.0f);
  CHECK(s.zero_point >= -128);
  CHECK(s.zero_point <= 127);
  Eigen::MatrixXf zero = Eigen::MatrixXf::Zero(1, 1);
  CHECK(int{rmsmp::quantize_activations<std::int8_t>(zero, s).values(0, 0)} == s.zero_point);
  CHECK_NOTHROW(rmsmp::check_activation_params<std::int8_t>(s));
  // A range so small that (hi - lo) / 255 is not a normal float still gives valid parameters.
  for (const float tiny : {1e-44f, 1e-40f, 1e-37f}) {
    const auto t = rmsmp::activation_params_for_range<std::uint8_t>(-tiny, tiny);
    INFO("tiny " << tiny);
    CHECK(std::isnormal(t.scale));
    CHECK_NOTHROW(rmsmp::check_activation_params<std::uint8_t>(t));
  }
}

TEST_CASE("activation_params_for_range: rejects bad ranges and bit widths", "[activations][range][errors]") {
  REQUIRE_THROWS_AS(rmsmp::activation_params_for_range<std::uint8_t>(2.0f, 1.0f), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::activation_params_for_range<std::uint8_t>(nan_f, 1.0f), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::activation_params_for_range<std::int8_t>(-1.0f, inf_f), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::activation_params_for_range<std::int8_t>(-inf_f, 1.0f), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::activation_params_for_range<std::int8_t>(-1.0f, 1.0f, 4), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::activation_params_for_range<std::uint8_t>(-1.0f, 1.0f, 5), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::activation_params_for_range<std::uint8_t>(-1.0f, 1.0f, 7), rmsmp::Error);
  // Widths that would make the code range itself undefined are refused before it is computed.
  for (int bits : {-1, 0, 33, 40}) {
    CAPTURE(bits);
    REQUIRE_THROWS_WITH(rmsmp::activation_params_for_range<std::int8_t>(-1.0f, 1.0f, bits), Catch::Contains("not supported"));
    REQUIRE_THROWS_WITH(rmsmp::activation_params_for_range<std::uint8_t>(-1.0f, 1.0f, bits), Catch::Contains("not supported"));
  }
}

// -------------------------------------------------------------------------------------------
// check_activation_params / check_activations / max_abs_centered
// -------------------------------------------------------------------------------------------

TEST_CASE("check_activation_params: accepts exactly the valid parameter sets", "[activations][errors]") {
  CHECK_NOTHROW(rmsmp::check_activation_params<std::int8_t>({1.0f, 0, 8}));
  CHECK_NOTHROW(rmsmp::check_activation_params<std::int8_t>({1.0f, -128, 8}));
  CHECK_NOTHROW(rmsmp::check_activation_params<std::int8_t>({1.0f, 127, 8}));
  CHECK_NOTHROW(rmsmp::check_activation_params<std::uint8_t>({1.0f, 0, 8}));
  CHECK_NOTHROW(rmsmp::check_activation_params<std::uint8_t>({1.0f, 255, 8}));
  CHECK_NOTHROW(rmsmp::check_activation_params<std::uint8_t>({1.0f, 15, 4}));
  CHECK_NOTHROW(rmsmp::check_activation_params<std::uint8_t>({1e-30f, 0, 4}));
  CHECK_NOTHROW(rmsmp::check_activation_params<std::uint8_t>({FLT_MAX, 0, 4}));

  // Bit widths.
  REQUIRE_THROWS_AS(rmsmp::check_activation_params<std::int8_t>({1.0f, 0, 4}), rmsmp::Error);
  REQUIRE_THROWS_WITH(rmsmp::check_activation_params<std::int8_t>({1.0f, 0, 4}),
                      Contains("4-bit") && Contains("int8"));
  for (int bits : {0, 1, 2, 3, 5, 6, 7, 9, 16, -8}) {
    INFO("bits " << bits);
    REQUIRE_THROWS_AS(rmsmp::check_activation_params<std::uint8_t>({1.0f, 0, bits}), rmsmp::Error);
    REQUIRE_THROWS_AS(rmsmp::check_activation_params<std::int8_t>({1.0f, 0, bits}), rmsmp::Error);
  }
  // Zero points.
  for (int zp : {-129, 128, 1000, -1000}) {
    INFO("int8 zero point " << zp);
    REQUIRE_THROWS_AS(rmsmp::check_activation_params<std::int8_t>({1.0f, zp, 8}), rmsmp::Error);
    REQUIRE_THROWS_WITH(rmsmp::check_activation_params<std::int8_t>({1.0f, zp, 8}),
                        Contains("zero point " + std::to_string(zp)));
  }
  for (int zp : {-1, 256}) {
    INFO("uint8 zero point " << zp);
    REQUIRE_THROWS_AS(rmsmp::check_activation_params<std::uint8_t>({1.0f, zp, 8}), rmsmp::Error);
  }
  for (int zp : {-1, 16, 255}) {
    INFO("uint4 zero point " << zp);
    REQUIRE_THROWS_AS(rmsmp::check_activation_params<std::uint8_t>({1.0f, zp, 4}), rmsmp::Error);
  }
  // Scales.
  for (const float scale : {0.0f, -0.0f, -1.0f, -1e-30f, nan_f, inf_f, -inf_f}) {
    INFO("scale " << scale);
    REQUIRE_THROWS_AS(rmsmp::check_activation_params<std::int8_t>({scale, 0, 8}), rmsmp::Error);
    REQUIRE_THROWS_WITH(rmsmp::check_activation_params<std::uint8_t>({scale, 0, 8}), Contains("scale"));
  }
}

TEST_CASE("check_activations: 4-bit tensors must hold codes <= 15", "[activations][errors]") {
  rmsmp::Activations<std::uint8_t> a;
  a.params = {0.5f, 0, 4};
  a.values = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>::Constant(5, 3, std::uint8_t{15});
  CHECK_NOTHROW(rmsmp::check_activations(a.view()));
  a.values(4, 2) = 16;
  REQUIRE_THROWS_AS(rmsmp::check_activations(a.view()), rmsmp::Error);
  REQUIRE_THROWS_WITH(rmsmp::check_activations(a.view()), Contains("16") && Contains("(4, 2)"));
  a.values(4, 2) = 255;
  REQUIRE_THROWS_AS(rmsmp::check_activations(a.view()), rmsmp::Error);
  a.values(4, 2) = 0;
  a.values(0, 0) = 16;
  REQUIRE_THROWS_WITH(rmsmp::check_activations(a.view()), Contains("(0, 0)"));

  // 8-bit tensors accept every byte.
  rmsmp::Activations<std::uint8_t> b;
  b.params = {0.5f, 0, 8};
  b.values = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>::Constant(2, 2, std::uint8_t{255});
  CHECK_NOTHROW(rmsmp::check_activations(b.view()));
  rmsmp::Activations<std::int8_t> c;
  c.params = {0.5f, -128, 8};
  c.values = Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic>::Constant(2, 2, std::int8_t{-128});
  CHECK_NOTHROW(rmsmp::check_activations(c.view()));

  // Views: bad parameters, negative shape, short stride, null data.
  rmsmp::ActivationView<std::uint8_t> v = b.view();
  v.params.bits = 5;
  REQUIRE_THROWS_AS(rmsmp::check_activations(v), rmsmp::Error);
  v = b.view();
  v.rows = -1;
  REQUIRE_THROWS_AS(rmsmp::check_activations(v), rmsmp::Error);
  v = b.view();
  v.column_stride = 1;
  REQUIRE_THROWS_AS(rmsmp::check_activations(v), rmsmp::Error);
  v = b.view();
  v.data = nullptr;
  REQUIRE_THROWS_AS(rmsmp::check_activations(v), rmsmp::Error);
  v.rows = 0;  // an empty view needs no data
  CHECK_NOTHROW(rmsmp::check_activations(v));
}

TEST_CASE("max_abs_centered: largest |q - zero point| over the valid codes", "[activations]") {
  CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, 0, 8}) == 255);
  CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, 128, 8}) == 128);
  CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, 127, 8}) == 128);
  CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, 255, 8}) == 255);
  CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, 0, 4}) == 15);
  CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, 8, 4}) == 8);
  CHECK(rmsmp::max_abs_centered<std::int8_t>({1.0f, -128, 8}) == 255);
  CHECK(rmsmp::max_abs_centered<std::int8_t>({1.0f, 0, 8}) == 128);
  CHECK(rmsmp::max_abs_centered<std::int8_t>({1.0f, 127, 8}) == 255);
  STATIC_REQUIRE(rmsmp::max_abs_centered<std::int8_t>(ActivationParams{1.0f, 0, 8}) == 128);

  // Brute force over every valid zero point and every valid code.
  auto brute = [](Range r, int zp) {
    int m = 0;
    for (int q = r.lo; q <= r.hi; ++q) m = std::max(m, std::abs(q - zp));
    return m;
  };
  for (int zp = -128; zp <= 127; ++zp) {
    INFO("int8 zp " << zp);
    CHECK(rmsmp::max_abs_centered<std::int8_t>({1.0f, zp, 8}) == brute({-128, 127}, zp));
  }
  for (int zp = 0; zp <= 255; ++zp) {
    INFO("uint8 zp " << zp);
    CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, zp, 8}) == brute({0, 255}, zp));
  }
  for (int zp = 0; zp <= 15; ++zp) {
    INFO("uint4 zp " << zp);
    CHECK(rmsmp::max_abs_centered<std::uint8_t>({1.0f, zp, 4}) == brute({0, 15}, zp));
  }
}

TEST_CASE("activation_min / activation_max", "[activations]") {
  STATIC_REQUIRE(rmsmp::activation_min<std::int8_t>(8) == -128);
  STATIC_REQUIRE(rmsmp::activation_max<std::int8_t>(8) == 127);
  STATIC_REQUIRE(rmsmp::activation_min<std::uint8_t>(8) == 0);
  STATIC_REQUIRE(rmsmp::activation_max<std::uint8_t>(8) == 255);
  STATIC_REQUIRE(rmsmp::activation_min<std::uint8_t>(4) == 0);
  STATIC_REQUIRE(rmsmp::activation_max<std::uint8_t>(4) == 15);
}

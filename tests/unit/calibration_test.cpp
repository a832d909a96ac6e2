// Activation calibration on distributions whose answer is known, and min-squared-error
// calibration against a brute-force search that quantizes every value.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "rmsmp/rmsmp.hpp"

using namespace rmsmp;

namespace {

std::mt19937 rng(7);

std::vector<float> sample(std::size_t n, auto&& distribution) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(distribution(rng));
  return v;
}

/// Sum of squared errors by quantizing and dequantizing every value with the contract's rule.
double brute_force_error(const std::vector<float>& values, const ActivationParams& p) {
  const Eigen::Map<const Eigen::MatrixXf> x(values.data(), static_cast<Eigen::Index>(values.size()), 1);
  const Activations<std::uint8_t> q = quantize_activations<std::uint8_t>(x, p);
  double e = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double d = values[i] - static_cast<double>(p.scale * static_cast<float>(q.values(static_cast<Eigen::Index>(i), 0) - p.zero_point));
    e += d * d;
  }
  return e;
}

CalibrationOptions method(CalibrationMethod m, double percentile = 99.99) { return {m, percentile, 100}; }

}  // namespace

TEST_CASE("max calibration covers the whole range", "[calibration]") {
  const std::vector<float> v = sample(10000, std::uniform_real_distribution<double>(-0.5, 2.0));
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  for (int bits : {8, 4}) {
    const ActivationParams p = calibrate_activations(v, bits, method(CalibrationMethod::max));
    const int qmax = (1 << bits) - 1;
    CHECK(p.bits == bits);
    CHECK(p.scale == Approx((*hi - *lo) / static_cast<double>(qmax)).epsilon(1e-6));
    // Neither end clips by more than half a step.
    CHECK(static_cast<double>(p.scale) * (0 - p.zero_point) <= *lo + p.scale / 2);
    CHECK(static_cast<double>(p.scale) * (qmax - p.zero_point) >= *hi - p.scale / 2);
  }
  // All non-negative (after a ReLU): zero point 0, 255 steps up to the max.
  const std::vector<float> relu = sample(1000, std::uniform_real_distribution<double>(0.0, 6.0));
  const ActivationParams p = calibrate_activations(relu, 8);
  CHECK(p.zero_point == 0);
  CHECK(p.scale == Approx(*std::max_element(relu.begin(), relu.end()) / 255.0).epsilon(1e-6));
}

TEST_CASE("percentile calibration uses numpy's interpolated percentiles", "[calibration]") {
  // 0, 1, ..., 1000 shuffled: the p-th percentile is exactly p * 10.
  std::vector<float> v(1001);
  for (int i = 0; i <= 1000; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i);
  std::shuffle(v.begin(), v.end(), rng);
  const ActivationParams p = calibrate_activations(v, 8, method(CalibrationMethod::percentile, 99.0));
  CHECK(p.zero_point == 0);
  CHECK(p.scale == Approx(990.0 / 255).epsilon(1e-6));
  // Interpolated: 99.95% of 0..1000 is 999.5.
  CHECK(calibrate_activations(v, 8, method(CalibrationMethod::percentile, 99.95)).scale == Approx(999.5 / 255).epsilon(1e-6));

  // Standard normal, 99.99%: the range is close to +-3.719 (the normal quantile), far inside
  // the sample's extremes.
  const std::vector<float> g = sample(400000, std::normal_distribution<double>(0.0, 1.0));
  const ActivationParams pg = calibrate_activations(g, 8, method(CalibrationMethod::percentile, 99.99));
  const double width = pg.scale * 255.0;
  CHECK(width == Approx(2 * 3.719).epsilon(0.05));
  const auto [lo, hi] = std::minmax_element(g.begin(), g.end());
  CHECK(width < (*hi - *lo));
}

TEST_CASE("minimum-error calibration finds the brute-force optimum over its grid", "[calibration]") {
  struct Case {
    const char* what;
    std::vector<float> values;
    int bits;
  };
  std::exponential_distribution<double> expo(1.0);
  std::vector<float> laplace = sample(20000, [&](std::mt19937& r) { return (r() & 1) ? expo(r) : -expo(r); });
  const std::vector<Case> cases = {
      {"uniform, 8 bits", sample(20000, std::uniform_real_distribution<double>(0.0, 1.0)), 8},
      {"laplace, 4 bits", laplace, 4},
      {"laplace, 8 bits", laplace, 8},
      {"relu'd normal, 4 bits", sample(20000, [](std::mt19937& r) { return std::max(0.0, std::normal_distribution<double>(0, 1)(r)); }), 4},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const ActivationParams chosen = calibrate_activations(c.values, c.bits, method(CalibrationMethod::min_squared_error));
    const float lo = std::min(0.0f, *std::min_element(c.values.begin(), c.values.end()));
    const float hi = std::max(0.0f, *std::max_element(c.values.begin(), c.values.end()));
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < 100; ++i) {
      const double alpha = (100 - i) / 100.0;
      const ActivationParams p = activation_params_for_range<std::uint8_t>(static_cast<float>(alpha * lo),
                                                                          static_cast<float>(alpha * hi), c.bits);
      best = std::min(best, brute_force_error(c.values, p));
    }
    CHECK(brute_force_error(c.values, chosen) <= best * (1 + 1e-6));
  }
  // Known shapes: a uniform distribution is best left unclipped; a heavy-tailed one at 4 bits
  // is clipped far inside its extremes (the optimum for Laplace is near 5 scale units).
  const ActivationParams uniform = calibrate_activations(cases[0].values, 8, method(CalibrationMethod::min_squared_error));
  CHECK(uniform.scale * 255 >= 0.97);
  const ActivationParams lap4 = calibrate_activations(laplace, 4, method(CalibrationMethod::min_squared_error));
  const auto [lo, hi] = std::minmax_element(laplace.begin(), laplace.end());
  CHECK(lap4.scale * 15 < 0.7 * (*hi - *lo));
}

TEST_CASE("calibration refuses bad input", "[calibration]") {
  const std::vector<float> ok = {0.0f, 1.0f};
  CHECK_THROWS_AS(calibrate_activations({}, 8), Error);
  CHECK_THROWS_AS(calibrate_activations(std::vector<float>{1.0f, std::numeric_limits<float>::quiet_NaN()}, 8), Error);
  CHECK_THROWS_AS(calibrate_activations(std::vector<float>{1.0f, std::numeric_limits<float>::infinity()}, 8), Error);
  CHECK_THROWS_AS(calibrate_activations(ok, 5), Error);
  CHECK_THROWS_AS(calibrate_activations(ok, 8, method(CalibrationMethod::percentile, 40.0)), Error);
  CHECK_THROWS_AS(calibrate_activations(ok, 8, method(CalibrationMethod::percentile, 100.5)), Error);
  CHECK_THROWS_AS(calibrate_activations(ok, 8, CalibrationOptions{CalibrationMethod::min_squared_error, 99.99, 0}), Error);
  // A constant tensor still gets usable parameters.
  const ActivationParams p = calibrate_activations(std::vector<float>(10, 0.0f), 8, method(CalibrationMethod::min_squared_error));
  CHECK(p.scale > 0.0f);
}

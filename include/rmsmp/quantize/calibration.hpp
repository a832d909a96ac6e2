// rmsmp/quantize/calibration.hpp — per-tensor activation parameters from sample values.
//
// A tensor's scale and zero point come from a range [lo, hi] (always widened to include 0,
// so real 0 has an exact code: activation_params_for_range) chosen from the values the
// tensor takes on calibration data:
//   max                 lo = min, hi = max: nothing clips, outliers cost resolution;
//   percentile          lo, hi = the (100 - p)th and pth percentiles (linear interpolation
//                       between order statistics, like numpy.percentile): p = 99.99 drops
//                       the rarest outliers;
//   min_squared_error   the range alpha * [min, max] for alpha in {G, G-1, ..., 1} / G with the
//                       smallest sum of squared quantization errors over the values (ties keep
//                       the wider range).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp {

enum class CalibrationMethod { max, percentile, min_squared_error };

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::max;
  double percentile = 99.99;  ///< percentile method: in (50, 100]
  int grid = 100;             ///< min_squared_error: number of candidate ranges G
};

namespace detail {

/// numpy.percentile's default: position q * (n - 1) between order statistics.
inline double sorted_quantile(std::span<const float> sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<std::size_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(i);
  if (i + 1 >= sorted.size()) return sorted.back();
  return static_cast<double>(sorted[i]) + frac * (static_cast<double>(sorted[i + 1]) - sorted[i]);
}

/// Sum of (x - dequantize(quantize(x)))^2 over sorted values, from prefix sums of x and x^2:
/// each code's interval of x contributes S2 - 2 v S1 + c v^2 with v its real value. Values
/// exactly on a rounding boundary are counted with the upper code (a measure-zero difference
/// from the contract's half-away rule, irrelevant for choosing a range).
inline double squared_quantization_error(std::span<const float> sorted, const std::vector<double>& prefix,
                                         const std::vector<double>& prefix_sq, const ActivationParams& p) {
  const int qmin = activation_min<std::uint8_t>(p.bits), qmax = activation_max<std::uint8_t>(p.bits);
  const double s = p.scale;
  double error = 0.0;
  std::size_t begin = 0;
  for (int q = qmin; q <= qmax; ++q) {
    std::size_t end = sorted.size();
    if (q < qmax) {
      const double edge = s * (q - p.zero_point + 0.5);
      end = static_cast<std::size_t>(std::lower_bound(sorted.begin() + static_cast<std::ptrdiff_t>(begin), sorted.end(),
                                                      edge, [](float a, double b) { return a < b; }) -
                                     sorted.begin());
    }
    if (end > begin) {
      const double v = static_cast<double>(p.scale * static_cast<float>(q - p.zero_point));
      const double c = static_cast<double>(end - begin);
      const double s1 = prefix[end] - prefix[begin], s2 = prefix_sq[end] - prefix_sq[begin];
      error += std::max(0.0, s2 - 2.0 * v * s1 + c * v * v);
    }
    begin = end;
  }
  return error;
}

}  // namespace detail

/// uint8 activation parameters (`bits` = 8 or 4) for a tensor taking `values`.
inline ActivationParams calibrate_activations(std::span<const float> values, int bits,
                                              const CalibrationOptions& options = {}) {
  check_activation_bits<std::uint8_t>(bits);
  require(!values.empty(), "calibration: no values to calibrate on");
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) fail("calibration: value " + std::to_string(i) + " is not finite");
  switch (options.method) {
    case CalibrationMethod::max: {
      const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
      return activation_params_for_range<std::uint8_t>(*lo, *hi, bits);
    }
    case CalibrationMethod::percentile: {
      require(options.percentile > 50.0 && options.percentile <= 100.0,
                      "calibration: percentile " + std::to_string(options.percentile) + " must be in (50, 100]");
      std::vector<float> sorted(values.begin(), values.end());
      std::sort(sorted.begin(), sorted.end());
      const double q = options.percentile / 100.0;
      return activation_params_for_range<std::uint8_t>(static_cast<float>(detail::sorted_quantile(sorted, 1.0 - q)),
                                                       static_cast<float>(detail::sorted_quantile(sorted, q)), bits);
    }
    case CalibrationMethod::min_squared_error: {
      require(options.grid >= 1 && options.grid <= 100000,
                      "calibration: grid " + std::to_string(options.grid) + " must be in [1, 100000]");
      std::vector<float> sorted(values.begin(), values.end());
      std::sort(sorted.begin(), sorted.end());
      std::vector<double> prefix(sorted.size() + 1, 0.0), prefix_sq(sorted.size() + 1, 0.0);
      for (std::size_t i = 0; i < sorted.size(); ++i) {
        prefix[i + 1] = prefix[i] + sorted[i];
        prefix_sq[i + 1] = prefix_sq[i] + static_cast<double>(sorted[i]) * sorted[i];
      }
      const double lo = std::min(0.0f, sorted.front()), hi = std::max(0.0f, sorted.back());
      ActivationParams best{};
      double best_error = std::numeric_limits<double>::infinity();
      for (int i = 0; i < options.grid; ++i) {
        const double alpha = static_cast<double>(options.grid - i) / options.grid;
        const ActivationParams p = activation_params_for_range<std::uint8_t>(static_cast<float>(alpha * lo),
                                                                            static_cast<float>(alpha * hi), bits);
        const double e = detail::squared_quantization_error(sorted, prefix, prefix_sq, p);
        if (e < best_error) {
          best_error = e;
          best = p;
        }
      }
      return best;
    }
  }
  fail("calibration: unknown method");
}

inline const char* calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::max:
      return "max";
    case CalibrationMethod::percentile:
      return "percentile";
    case CalibrationMethod::min_squared_error:
      return "mse";
  }
  return "?";
}

}  // namespace rmsmp

// rmsmp/core/activations.hpp — quantized activations: per-tensor scale and zero point.
//
// real = scale * (q - zero_point). Activations are int8, uint8, or 4-bit stored as uint8 in
// [0, 15]. A layer's input is K x N: N columns (samples) of K values, each column contiguous.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "rmsmp/error.hpp"

namespace rmsmp {

namespace detail {

/// Throws unless every value of `x` (one sample per column) is finite, naming the first one that
/// is not, e.g. "calibration: sample 5, value 17 is NaN": quantizing a NaN gives no code, and a
/// clear message beats a wrong scale found layers later.
inline void require_finite_samples(const Eigen::Ref<const Eigen::MatrixXf>& x, const std::string& what) {
  if (x.allFinite()) return;
  for (Eigen::Index n = 0; n < x.cols(); ++n)
    for (Eigen::Index k = 0; k < x.rows(); ++k)
      if (const float v = x(k, n); !std::isfinite(v))
        fail(what + ": sample " + std::to_string(n) + ", value " + std::to_string(k) + " is " +
             (std::isnan(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity"));
}

}  // namespace detail

template <class T>
concept ActivationValue = std::same_as<T, std::int8_t> || std::same_as<T, std::uint8_t>;

struct ActivationParams {
  float scale = 1.0f;
  int zero_point = 0;
  int bits = 8;  ///< 8, or 4 for uint8 codes limited to [0, 15]
};

/// Smallest and largest code of an activation type at a bit width.
template <ActivationValue T>
constexpr int activation_min(int bits) {
  return std::is_signed_v<T> ? -(1 << (bits - 1)) : 0;
}
template <ActivationValue T>
constexpr int activation_max(int bits) {
  return std::is_signed_v<T> ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
}

/// Throws unless T supports the bit width: 8, or 4 for uint8.
template <ActivationValue T>
void check_activation_bits(int bits) {
  const bool bits_ok = bits == 8 || (bits == 4 && std::same_as<T, std::uint8_t>);
  require(bits_ok, [&] {
    return "activations: " + std::to_string(bits) + "-bit " + (std::is_signed_v<T> ? "int8" : "uint8") +
           " activations are not supported (int8: 8 bits; uint8: 8 or 4 bits)";
  });
}

/// Throws unless the parameters are usable for T: a supported bit width, a finite positive
/// scale, and a zero point that is itself a valid code.
template <ActivationValue T>
void check_activation_params(const ActivationParams& p) {
  check_activation_bits<T>(p.bits);
  require(std::isfinite(p.scale) && p.scale > 0.0f, "activations: scale must be finite and positive");
  require(p.zero_point >= activation_min<T>(p.bits) && p.zero_point <= activation_max<T>(p.bits), [&] {
    return "activations: zero point " + std::to_string(p.zero_point) + " is outside [" +
           std::to_string(activation_min<T>(p.bits)) + ", " + std::to_string(activation_max<T>(p.bits)) + "]";
  });
}

/// Largest |q - zero_point| over the valid codes: one factor of the accumulator bound.
template <ActivationValue T>
constexpr int max_abs_centered(const ActivationParams& p) {
  const int low = p.zero_point - activation_min<T>(p.bits);
  const int high = activation_max<T>(p.bits) - p.zero_point;
  return low > high ? low : high;
}

/// Non-owning K x N view of quantized activations (column n at data + n * column_stride).
template <ActivationValue T>
struct ActivationView {
  const T* data = nullptr;
  int rows = 0;  ///< K, the reduction depth
  int cols = 0;  ///< N, the number of samples
  std::ptrdiff_t column_stride = 0;
  ActivationParams params{};

  T operator()(int k, int n) const { return data[n * column_stride + k]; }
  const T* column(int n) const { return data + n * column_stride; }
};

/// Owning K x N quantized activations.
template <ActivationValue T>
struct Activations {
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> values;  ///< column-major: columns contiguous
  ActivationParams params{};

  ActivationView<T> view() const {
    return {values.data(), static_cast<int>(values.rows()), static_cast<int>(values.cols()), values.rows(), params};
  }
};

/// Throws unless every code in `view` is valid for its parameters (4-bit codes are <= 15).
template <ActivationValue T>
void check_activations(const ActivationView<T>& view) {
  check_activation_params<T>(view.params);
  require(view.rows >= 0 && view.cols >= 0, "activations: negative shape");
  require(view.cols == 0 || view.rows == 0 || view.data != nullptr, "activations: null data");
  require(view.column_stride >= view.rows, "activations: column stride is smaller than K");
  const int lo = activation_min<T>(view.params.bits);
  const int hi = activation_max<T>(view.params.bits);
  if (lo == std::numeric_limits<T>::min() && hi == std::numeric_limits<T>::max()) return;
  for (int n = 0; n < view.cols; ++n)
    for (int k = 0; k < view.rows; ++k) {
      const int q = view(k, n);
      if (q < lo || q > hi)
        fail("activations: value " + std::to_string(q) + " at (" + std::to_string(k) + ", " +
                     std::to_string(n) + ") is outside the " + std::to_string(view.params.bits) + "-bit range");
    }
}

/// q = clamp(round_half_away_from_zero(x / scale) + zero_point) for every element.
template <ActivationValue T>
Activations<T> quantize_activations(const Eigen::Ref<const Eigen::MatrixXf>& x, const ActivationParams& p) {
  check_activation_params<T>(p);
  Activations<T> out{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>(x.rows(), x.cols()), p};
  const double lo = activation_min<T>(p.bits);
  const double hi = activation_max<T>(p.bits);
  for (Eigen::Index n = 0; n < x.cols(); ++n)
    for (Eigen::Index k = 0; k < x.rows(); ++k) {
      const float v = x(k, n);
      if (!std::isfinite(v))
        fail("quantize_activations: input (" + std::to_string(k) + ", " + std::to_string(n) + ") is not finite");
      const double q = std::round(static_cast<double>(v) / p.scale) + p.zero_point;
      out.values(k, n) = static_cast<T>(std::clamp(q, lo, hi));
    }
  return out;
}

/// Parameters that cover [min(x_min, 0), max(x_max, 0)] with T at `bits` (0 stays exact).
template <ActivationValue T>
ActivationParams activation_params_for_range(float x_min, float x_max, int bits = 8) {
  require(std::isfinite(x_min) && std::isfinite(x_max) && x_min <= x_max,
                  "activation range must be finite with min <= max");
  check_activation_bits<T>(bits);
  const double lo = std::min(0.0, static_cast<double>(x_min));
  const double hi = std::max(0.0, static_cast<double>(x_max));
  const int qmin = activation_min<T>(bits);
  const int qmax = activation_max<T>(bits);
  ActivationParams p{1.0f, 0, bits};
  if (hi > lo) {
    p.scale = static_cast<float>((hi - lo) / (qmax - qmin));
    if (!(p.scale > 0.0f) || !std::isnormal(p.scale)) p.scale = 1.0f;
  }
  p.zero_point = static_cast<int>(std::clamp(std::round(qmin - lo / p.scale), static_cast<double>(qmin),
                                             static_cast<double>(qmax)));
  check_activation_params<T>(p);
  return p;
}

}  // namespace rmsmp

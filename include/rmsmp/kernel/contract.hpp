// rmsmp/kernel/contract.hpp — the preconditions every backend enforces before a GEMM.
//
// acc[m][n] = sum_k level[m][k] * (x[k][n] - zero_point), accumulated in int32. The sum is
// bounded by K * max_level * max|x - zero_point| (+ |bias| once the bias is added), so a call
// is accepted only if that bound fits in int32: then no backend can overflow, whatever order
// it adds in. All backends call check_gemm_arguments, so all reject the same calls.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

inline constexpr int accumulator_bits = 32;
inline constexpr std::int64_t accumulator_max = std::numeric_limits<std::int32_t>::max();

/// Largest K for which K * max_level * max_abs_activation + bias_abs <= 2^31 - 1.
constexpr std::int64_t max_safe_depth(int max_level, int max_abs_activation, std::int64_t bias_abs = 0) {
  const std::int64_t per_column = static_cast<std::int64_t>(max_level) * max_abs_activation;
  if (bias_abs > accumulator_max) return 0;
  if (per_column == 0) return std::numeric_limits<std::int64_t>::max();
  return (accumulator_max - bias_abs) / per_column;
}

/// The same for a scheme and activation parameters, e.g. Fixed-8 with uint8, zero point 0:
/// (2^31 - 1) / (127 * 255) = 66311.
template <ActivationValue T>
std::int64_t max_safe_depth(SchemeId scheme, const ActivationParams& params, std::int64_t bias_abs = 0) {
  require(is_supported(scheme), "max_safe_depth: unsupported scheme " + display_name(scheme));
  return max_safe_depth(make_codebook(scheme).max_level, max_abs_centered<T>(params), bias_abs);
}

/// Non-owning M x N view of outputs (column n at data + n * column_stride).
template <class T>
struct OutputView {
  T* data = nullptr;
  int rows = 0;
  int cols = 0;
  std::ptrdiff_t column_stride = 0;

  T& operator()(int m, int n) const { return data[n * column_stride + m]; }

  /// A view of an Eigen column-major matrix, which must already have its final shape.
  template <class Derived>
  static OutputView of(Eigen::PlainObjectBase<Derived>& matrix) {
    return {matrix.data(), static_cast<int>(matrix.rows()), static_cast<int>(matrix.cols()), matrix.outerStride()};
  }
};

/// Throws rmsmp::Error unless the call is within the contract: shapes agree, parameters are
/// valid, every activation is a valid code, and no accumulator can overflow.
template <class Mix, ActivationValue T, class Pipeline>
void check_gemm_arguments(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
                          const OutputView<typename Pipeline::output_type>& y) {
  const int K = weights.cols();
  require(x.rows == K, [&] {
    return "gemm: the activations have K = " + std::to_string(x.rows) +
           " rows but the weights have K = " + std::to_string(K) + " columns";
  });
  require(y.rows == weights.rows() && y.cols == x.cols, [&] {
    return "gemm: the output is " + std::to_string(y.rows) + " x " + std::to_string(y.cols) + ", expected " +
           std::to_string(weights.rows()) + " x " + std::to_string(x.cols);
  });
  require(y.cols == 0 || y.rows == 0 || y.data != nullptr, "gemm: null output");
  require(y.column_stride >= y.rows, "gemm: output column stride is smaller than M");
  check_activations(x);
  pipeline.check(weights.rows());
  const int max_abs_x = max_abs_centered<T>(x.params);
  for (const RowGroup& group : weights.groups())
    for (std::size_t i = 0; i < group.rows(); ++i) {
      const int row = group.original_row(i);
      const std::int64_t limit = max_safe_depth(group.codebook().max_level, max_abs_x, pipeline.bias_bound(row));
      if (K > limit)
        fail("gemm: K = " + std::to_string(K) + " could overflow the int32 accumulator of row " +
                     std::to_string(row) + " (" + display_name(group.scheme()) + ", |x - zero_point| up to " +
                     std::to_string(max_abs_x) + "); the largest safe K is " + std::to_string(limit));
    }
}

}  // namespace rmsmp

// rmsmp/kernel/reference.hpp — the scalar reference GEMM: the oracle every backend must match
// bit for bit. Written for obviousness, not speed: one output at a time, codes decoded through
// the code book, the sum kept in int64 and checked against the int32 contract.
#pragma once

#include <Eigen/Core>
#include <cassert>
#include <cstdint>
#include <span>
#include <string_view>

#include "rmsmp/kernel/backend.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/output/pipeline.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp::reference {

/// y[m][n] = pipeline(sum_k level[m][k] * (x[k][n] - zero_point)), m in original row order.
template <class Mix, ActivationValue T, class Pipeline>
void gemm(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
          const OutputView<typename Pipeline::output_type>& y) {
  check_gemm_arguments(weights, x, pipeline, y);
  const int K = weights.cols();
  const int zero_point = x.params.zero_point;
  for (const RowGroup& group : weights.groups()) {
    for (std::size_t i = 0; i < group.rows(); ++i) {
      const int row = group.original_row(i);
      for (int n = 0; n < x.cols; ++n) {
        std::int64_t acc = 0;
        for (int k = 0; k < K; ++k) acc += group.level(i, static_cast<std::size_t>(k)) * (x(k, n) - zero_point);
        assert(acc >= -accumulator_max && acc <= accumulator_max);  // guaranteed by check_gemm_arguments
        y(row, n) = pipeline.apply(static_cast<std::int32_t>(acc), row);
      }
    }
  }
}

/// The same, returning a new M x N matrix.
template <class Mix, ActivationValue T, class Pipeline>
auto gemm(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline) {
  using Out = typename Pipeline::output_type;
  Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic> y(weights.rows(), x.cols);
  gemm(weights, x, pipeline, OutputView<Out>::of(y));
  return y;
}

/// Batch-1 GEMM: one activation vector of K codes in, M outputs out.
template <class Mix, ActivationValue T, class Pipeline>
void gemv(const MixedRowMatrix<Mix>& weights, std::span<const T> x, const ActivationParams& params,
          const Pipeline& pipeline, std::span<typename Pipeline::output_type> y) {
  const ActivationView<T> xv{x.data(), static_cast<int>(x.size()), 1, static_cast<std::ptrdiff_t>(x.size()), params};
  using Out = typename Pipeline::output_type;
  gemm(weights, xv, pipeline, OutputView<Out>{y.data(), static_cast<int>(y.size()), 1, static_cast<std::ptrdiff_t>(y.size())});
}

}  // namespace rmsmp::reference

namespace rmsmp {

/// The reference kernel behind the interface every backend shares:
/// backend.gemm(weights, activations, pipeline, output).
struct ReferenceBackend {
  static constexpr std::string_view name = "reference";
  using statistics = NoStatistics;

  template <class Mix, ActivationValue T, class Pipeline>
  statistics gemm(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
                  const OutputView<typename Pipeline::output_type>& y) const {
    reference::gemm(weights, x, pipeline, y);
    return {};
  }
};

}  // namespace rmsmp

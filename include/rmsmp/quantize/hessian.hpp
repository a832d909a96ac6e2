// rmsmp/quantize/hessian.hpp — the second moment H = E[x x^T] of a layer's inputs.
//
// For a layer y = W x, quantizing row i to q_i changes output i by d_i^T x with d_i = w_i - q_i,
// so the mean squared output error over calibration inputs is d_i^T H d_i. H drives the row
// assignment, the scale search and the error compensation (docs/assignment.md).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <string>

#include "rmsmp/core/activations.hpp"
#include "rmsmp/error.hpp"

namespace rmsmp {
namespace detail {

/// sum_of_squares[k] += x_kn^2 over the samples n in order, in double: the diagonal of H
/// exactly rounded per term, and the same bits however the samples are split into batches.
inline void add_squares(const Eigen::Ref<const Eigen::MatrixXf>& x, Eigen::VectorXd& sum_of_squares) {
  for (Eigen::Index n = 0; n < x.cols(); ++n)
    sum_of_squares += x.col(n).cast<double>().cwiseAbs2();
}

}  // namespace detail

/// Streaming accumulator of H = X X^T / S over calibration samples given in batches.
///
/// Each chunk of at most `chunk_columns` samples is multiplied in float (Eigen's symmetric
/// rank update, fast) and added to a double sum, so float rounding never accumulates over
/// more than one chunk however many samples arrive.
class LayerHessian {
 public:
  static constexpr Eigen::Index chunk_columns = 1024;

  /// An empty accumulator for inputs of `depth` (K) values.
  explicit LayerHessian(int depth) {
    require(depth >= 1, "LayerHessian: the input depth K must be at least 1, got " + std::to_string(depth));
    sum_ = Eigen::MatrixXd::Zero(depth, depth);
    diagonal_sum_ = Eigen::VectorXd::Zero(depth);
  }

  int depth() const { return static_cast<int>(sum_.rows()); }
  std::int64_t samples() const { return samples_; }

  /// Adds the columns of `x` (K x S: one sample per column; for a convolution, im2col columns).
  void add_samples(const Eigen::Ref<const Eigen::MatrixXf>& x) {
    require(x.rows() == sum_.rows(), "LayerHessian: samples have " + std::to_string(x.rows()) +
                                                 " rows but the layer's input depth K is " +
                                                 std::to_string(sum_.rows()));
    detail::require_finite_samples(x, "LayerHessian: calibration");
    detail::add_squares(x, diagonal_sum_);
    Eigen::MatrixXf chunk_sum(sum_.rows(), sum_.cols());
    for (Eigen::Index first = 0; first < x.cols(); first += chunk_columns) {
      const Eigen::Index count = std::min(chunk_columns, x.cols() - first);
      chunk_sum.setZero();
      chunk_sum.selfadjointView<Eigen::Lower>().rankUpdate(x.middleCols(first, count));
      sum_.triangularView<Eigen::Lower>() += chunk_sum.cast<double>();
    }
    samples_ += x.cols();
  }

  /// H = sum x x^T / S (symmetric, double). Throws before any sample was added.
  Eigen::MatrixXd matrix() const {
    require(samples_ > 0, "LayerHessian: no calibration samples were added");
    Eigen::MatrixXd h = sum_.selfadjointView<Eigen::Lower>();
    h /= static_cast<double>(samples_);
    return h;
  }

  /// diag(H), summed in double term by term: what the Hessian-weighted scale search uses. It
  /// does not depend on how the samples were split into batches (matrix()'s diagonal does,
  /// in its last bits, through the float chunk products).
  Eigen::VectorXd diagonal() const {
    require(samples_ > 0, "LayerHessian: no calibration samples were added");
    return diagonal_sum_ / static_cast<double>(samples_);
  }

 private:
  Eigen::MatrixXd sum_;  // lower triangle holds sum x x^T
  Eigen::VectorXd diagonal_sum_;
  std::int64_t samples_ = 0;
};

}  // namespace rmsmp

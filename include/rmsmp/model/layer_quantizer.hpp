// rmsmp/model/layer_quantizer.hpp — post-training quantization of one layer: float weights
// and calibration inputs in, a MixedRowMatrix with the mix's exact row counts out.
//
// Steps (docs/assignment.md has the math and the reasons):
//   1. diag(H) of H = X X^T / S from the calibration inputs; the whole H only where it is used
//      (compensation, or more samples than inputs).
//   2. For every row and every scheme of the mix: the row scale (ScaleMethod), the codes of
//      plain rounding, and the cost c[i][s] = d^T H d = ||d X||^2 / S of the rounding error d.
//   3. The assignment of schemes to rows (AssignmentRule) from the costs.
//   4. The codes: plain rounding, or error-compensating quantization on the chosen grids.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/detail/row_major.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/assignment_rules.hpp"
#include "rmsmp/model/detail/row_energy.hpp"
#include "rmsmp/quantize/error_compensation.hpp"
#include "rmsmp/quantize/hessian.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/quantize/weighted_scale_search.hpp"
#include "rmsmp/scheme/row_mix.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

struct LayerQuantizerOptions {
  AssignmentRule rule = AssignmentRule::optimal;
  /// How each row's scale is chosen for every candidate scheme (before the assignment).
  ScaleMethod scale_method = ScaleMethod::min_hessian_error;
  /// Error-compensating quantization (error_compensation.hpp) on the assigned grids.
  bool compensate = false;
  CompensationOptions compensation{};
};

/// What quantize_layer decided and what it costs, in units of mean squared layer output.
struct LayerQuantizationReport {
  std::vector<SchemeId> schemes;     ///< the mix's schemes: the columns of costs and candidate_scales
  Eigen::MatrixXd costs;             ///< M x n: d^T H d of row i rounded with scheme j at its own scale
  Eigen::MatrixXf candidate_scales;  ///< M x n: that scale
  RowAssignment assignment;          ///< the scheme of every row (original order)
  std::vector<float> scales;         ///< the chosen row scales
  double assigned_cost = 0.0;        ///< sum_i costs(i, s(i)): the total error of plain rounding
  double output_error = 0.0;         ///< sum_i d_i^T H d_i of the returned matrix (after compensation)
};

template <class Mix>
struct QuantizedLayer {
  MixedRowMatrix<Mix> matrix;
  LayerQuantizationReport report;
};

namespace detail {

using RowMajorCodeMatrix = RowMajorMatrix<std::uint8_t>;  // the same type as MixedRowMatrix<>::RowMajorCodeMatrix

/// The calibration data as quantize_layer_codes reads it, from samples (K x S) or from an
/// accumulated Hessian. diag(H) is always needed (scale search); the full H only for
/// compensation or when the costs are cheaper from H than from the samples (S > K). From
/// samples, H is formed only then: it costs K^2 S / 2 multiply-adds, a third of the plain path.
class CalibrationData {
 public:
  /// `samples` must outlive this object.
  explicit CalibrationData(const Eigen::Ref<const Eigen::MatrixXf>& samples) : samples_(&samples) {
    require(samples.cols() >= 1, "quantize_layer: no calibration samples (the sample matrix has no columns)");
    require_finite_samples(samples, "quantize_layer");
    diagonal_ = Eigen::VectorXd::Zero(samples.rows());
    add_squares(samples, diagonal_);
    diagonal_ /= static_cast<double>(samples.cols());
  }
  explicit CalibrationData(const LayerHessian& h) : diagonal_(h.diagonal()), hessian_(h.matrix()) {}

  Eigen::Index depth() const { return diagonal_.size(); }
  const Eigen::VectorXd& diagonal() const { return diagonal_; }

  const Eigen::MatrixXd& hessian() const {
    if (hessian_.size() == 0) {
      LayerHessian h(static_cast<int>(samples_->rows()));
      h.add_samples(*samples_);
      hessian_ = h.matrix();
    }
    return hessian_;
  }

  /// d_i^T H d_i for every row of `d` (rows x K): ||d_i X||^2 / S from the samples when that is
  /// cheaper (M K S flops against M K^2: S <= K), from H otherwise. Products in float, sums
  /// of squares in double.
  Eigen::VectorXd row_errors(const Eigen::Ref<const RowMajorMatrixXf>& d) const {
    if (samples_ != nullptr && samples_->cols() <= depth()) {
      if (!energy_) energy_.emplace(*samples_);
      return (*energy_)(d) / static_cast<double>(samples_->cols());
    }
    if (hessian_float_.size() == 0) hessian_float_ = hessian().cast<float>();
    const RowMajorMatrixXf product = d * hessian_float_;
    return product.cast<double>().cwiseProduct(d.cast<double>()).rowwise().sum();
  }

 private:
  const Eigen::Ref<const Eigen::MatrixXf>* samples_ = nullptr;
  Eigen::VectorXd diagonal_;
  mutable Eigen::MatrixXd hessian_;  // formed on first use
  mutable Eigen::MatrixXf hessian_float_;
  mutable std::optional<SampleEnergy> energy_;  // packs the samples on first use
};

/// Rounds rows of weights, each at its own scale, with one scheme: the codes
/// (RoundingTable::encode's rule) and the rounding errors w - scale * level. The division and
/// the level search run as separate passes over the row, which the compiler vectorises.
class RowRounder {
 public:
  RowRounder(const RoundingTable& table, const CodeBook& book, Eigen::Index depth)
      : table_(table), ratio_(static_cast<std::size_t>(depth)), index_(static_cast<std::size_t>(depth)) {
    for (int i = 0; i < table.count; ++i) {
      const auto u = static_cast<std::size_t>(i);
      const std::uint8_t positive = table.code[u];
      const std::uint8_t negative = table.magnitude[u] != 0 ? static_cast<std::uint8_t>(positive | table.sign_bit) : positive;
      code_[2 * u] = positive;
      code_[2 * u + 1] = negative;
      level_[2 * u] = static_cast<float>(book.level[positive]);
      level_[2 * u + 1] = static_cast<float>(book.level[negative]);
    }
  }

  void operator()(std::span<const float> weights, float scale, std::uint8_t* codes, float* error) {
    const double s = scale;
    for (std::size_t k = 0; k < weights.size(); ++k) ratio_[k] = std::fabs(static_cast<double>(weights[k]) / s);
    table_.nearest_indices(ratio_, index_);
    for (std::size_t k = 0; k < weights.size(); ++k) {
      // Indexed by sign rather than branched on it: the signs of weights are unpredictable.
      const std::size_t entry = 2 * static_cast<std::size_t>(index_[k]) + (weights[k] < 0.0f ? 1 : 0);
      codes[k] = code_[entry];
      error[k] = weights[k] - scale * level_[entry];
    }
  }

 private:
  const RoundingTable& table_;
  std::array<std::uint8_t, 256> code_{};  // [2 i]: code of magnitude i for w >= 0, [2 i + 1]: for w < 0
  std::array<float, 256> level_{};        // book.level of those codes
  std::vector<double> ratio_;
  std::vector<int> index_;
};

struct LayerCodes {
  LayerQuantizationReport report;
  RowMajorCodeMatrix codes;
};

inline LayerCodes quantize_layer_codes(const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                       const CalibrationData& calibration, const LayerQuantizerOptions& options) {
  const Eigen::Index rows = weights.rows(), depth = weights.cols();
  require(depth >= 1, "quantize_layer: the weights have no columns");
  require(calibration.depth() == depth, "quantize_layer: the calibration inputs have depth " + std::to_string(calibration.depth()) +
                                       " but the weights have K = " + std::to_string(depth));
  const RowMajorMatrixXf weight_rows = to_row_major(weights);  // the work below goes row by row
  for (Eigen::Index r = 0; r < rows; ++r)
    if (!weight_rows.row(r).allFinite()) fail("quantize_layer: row " + std::to_string(r) + " of the weights contains NaN or infinity");
  const auto weight_row = [&](Eigen::Index r) {
    return std::span<const float>(weight_rows.data() + r * depth, static_cast<std::size_t>(depth));
  };
  const std::size_t n = mix.scheme_count();

  std::vector<CodeBook> books;
  std::vector<RoundingTable> tables;
  LayerCodes out;
  LayerQuantizationReport& report = out.report;
  for (std::size_t j = 0; j < n; ++j) {
    report.schemes.push_back(mix.scheme(j));
    books.push_back(make_codebook(mix.scheme(j)));
    tables.emplace_back(books.back());
  }

  // Rows go through in blocks: a block's rows are searched, rounded with every scheme, and
  // their rounding errors measured while in cache. One sort per row serves every scheme's
  // Hessian-weighted search.
  constexpr Eigen::Index block_rows = 96;
  const Eigen::VectorXd& importance = calibration.diagonal();
  report.candidate_scales.resize(rows, static_cast<Eigen::Index>(n));
  report.costs.resize(rows, static_cast<Eigen::Index>(n));
  std::vector<RowMajorCodeMatrix> scheme_codes(n, RowMajorCodeMatrix(rows, depth));
  std::vector<RowRounder> rounders;
  for (std::size_t j = 0; j < n; ++j) rounders.emplace_back(tables[j], books[j], depth);
  SortedRow sorted;
  RowMajorMatrixXf error(std::min(block_rows, rows), depth);
  for (Eigen::Index first = 0; first < rows; first += block_rows) {
    const Eigen::Index count = std::min(block_rows, rows - first);
    for (Eigen::Index i = 0; i < count; ++i) {
      const std::span<const float> row = weight_row(first + i);
      if (options.scale_method == ScaleMethod::min_hessian_error)
        sorted.assign(row, std::span<const double>(importance.data(), static_cast<std::size_t>(depth)));
      for (std::size_t j = 0; j < n; ++j)
        report.candidate_scales(first + i, static_cast<Eigen::Index>(j)) =
            options.scale_method == ScaleMethod::min_hessian_error
                ? choose_weighted_scale(books[j], tables[j], sorted)
                : choose_finite_row_scale(books[j], tables[j], row, options.scale_method);
    }
    for (std::size_t j = 0; j < n; ++j) {
      const auto column = static_cast<Eigen::Index>(j);
      for (Eigen::Index i = 0; i < count; ++i)
        rounders[j](weight_row(first + i), report.candidate_scales(first + i, column),
                    scheme_codes[j].row(first + i).data(), error.row(i).data());
      report.costs.col(column).segment(first, count) = calibration.row_errors(error.topRows(count));
    }
  }

  report.assignment = assign_rows(options.rule, mix, report.costs, weights);
  report.scales.resize(static_cast<std::size_t>(rows));
  std::vector<std::size_t> chosen(static_cast<std::size_t>(rows));
  for (Eigen::Index r = 0; r < rows; ++r) {
    const std::size_t j = mix.index_of(report.assignment[static_cast<std::size_t>(r)]);
    chosen[static_cast<std::size_t>(r)] = j;
    report.scales[static_cast<std::size_t>(r)] = report.candidate_scales(r, static_cast<Eigen::Index>(j));
    report.assigned_cost += report.costs(r, static_cast<Eigen::Index>(j));
  }

  if (options.compensate) {
    out.codes = to_row_major(compensated_codes(weights, calibration.hessian(), report.assignment, report.scales, options.compensation));
    for (Eigen::Index first = 0; first < rows; first += block_rows) {
      const Eigen::Index count = std::min(block_rows, rows - first);
      for (Eigen::Index i = 0; i < count; ++i) {
        const auto r = static_cast<std::size_t>(first + i);
        const std::span<const float> w = weight_row(first + i);
        for (Eigen::Index k = 0; k < depth; ++k)
          error(i, k) = w[static_cast<std::size_t>(k)] -
                        report.scales[r] * static_cast<float>(books[chosen[r]].level[out.codes(first + i, k)]);
      }
      report.output_error += calibration.row_errors(error.topRows(count)).sum();
    }
  } else {
    out.codes.resize(rows, depth);
    for (Eigen::Index r = 0; r < rows; ++r) out.codes.row(r) = scheme_codes[chosen[static_cast<std::size_t>(r)]].row(r);
    report.output_error = report.assigned_cost;
  }
  return out;
}

}  // namespace detail

/// Quantizes one layer with a compile-time mix. `weights` is M x K (rows = output channels);
/// `samples` is K x S, one calibration input per column (for a convolution: im2col columns).
template <class Mix>
  requires Mix::is_static
QuantizedLayer<Mix> quantize_layer(const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                   const Eigen::Ref<const Eigen::MatrixXf>& samples, const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(DynamicRowMix::from<Mix>(), weights, detail::CalibrationData(samples), options);
  return {MixedRowMatrix<Mix>::from_codes(result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

/// The same from a Hessian accumulated over batches (LayerHessian::add_samples).
template <class Mix>
  requires Mix::is_static
QuantizedLayer<Mix> quantize_layer(const Eigen::Ref<const Eigen::MatrixXf>& weights, const LayerHessian& hessian,
                                   const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(DynamicRowMix::from<Mix>(), weights, detail::CalibrationData(hessian), options);
  return {MixedRowMatrix<Mix>::from_codes(result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

/// Run-time mix, calibration samples.
inline QuantizedLayer<DynamicRowMix> quantize_layer(const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                                    const Eigen::Ref<const Eigen::MatrixXf>& samples,
                                                    const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(mix, weights, detail::CalibrationData(samples), options);
  return {MixedRowMatrix<>::from_codes(mix, result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

/// Run-time mix, accumulated Hessian.
inline QuantizedLayer<DynamicRowMix> quantize_layer(const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                                    const LayerHessian& hessian, const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(mix, weights, detail::CalibrationData(hessian), options);
  return {MixedRowMatrix<>::from_codes(mix, result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

}  // namespace rmsmp

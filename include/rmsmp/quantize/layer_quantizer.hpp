// rmsmp/quantize/layer_quantizer.hpp — post-training quantization of one layer: float weights
// and calibration inputs in, a MixedRowMatrix with the mix's exact row counts out.
//
// Steps (docs/assignment.md has the math and the reasons):
//   1. H = X X^T / S from the calibration inputs (LayerHessian).
//   2. For every row and every scheme of the mix: the row scale (ScaleMethod), the codes of
//      plain rounding, and the cost c[i][s] = d^T H d of the rounding error d.
//   3. The assignment of schemes to rows (AssignmentRule) from the costs.
//   4. The codes: plain rounding, or error-compensating quantization on the chosen grids.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/assignment_rules.hpp"
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

using CodeMatrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;

/// Per-row d^T H d for a block of rows D, from the samples when that is cheaper
/// (M K S flops against M K^2: S < K) or from H otherwise.
class RowErrorMeter {
 public:
  /// `samples` (may be null) must outlive the meter.
  RowErrorMeter(const Eigen::MatrixXd& hessian, const Eigen::Ref<const Eigen::MatrixXf>* samples) {
    if (samples != nullptr && samples->cols() <= hessian.rows())
      samples_ = samples;
    else
      hessian_ = hessian.cast<float>();
  }

  /// d_i^T H d_i for every row of `d`. Products in float, sums of squares in double.
  Eigen::VectorXd operator()(const Eigen::MatrixXf& d) const {
    Eigen::VectorXd out(d.rows());
    constexpr Eigen::Index chunk = 256;  // bounds the temporary to chunk x max(S, K) floats
    Eigen::MatrixXf product;
    for (Eigen::Index first = 0; first < d.rows(); first += chunk) {
      const Eigen::Index count = std::min(chunk, d.rows() - first);
      if (samples_) {
        product.noalias() = d.middleRows(first, count) * *samples_;
        out.segment(first, count) =
            product.cast<double>().rowwise().squaredNorm() / static_cast<double>(samples_->cols());
      } else {
        product.noalias() = d.middleRows(first, count) * hessian_;
        out.segment(first, count) =
            product.cast<double>().cwiseProduct(d.middleRows(first, count).cast<double>()).rowwise().sum();
      }
    }
    return out;
  }

 private:
  const Eigen::Ref<const Eigen::MatrixXf>* samples_ = nullptr;
  Eigen::MatrixXf hessian_;
};

/// Rounds one column of weights, each row at its own scale (all rows one scheme): the codes
/// (RoundingTable::encode's rule) and the rounding errors w - scale * level. The division and
/// the level search run as a separate pass over the rows, which the compiler vectorises.
inline void round_column(const RoundingTable& table, const CodeBook& book, Eigen::Ref<const Eigen::VectorXf> weights,
                         Eigen::Ref<const Eigen::VectorXf> scales, Eigen::Ref<Eigen::Matrix<std::uint8_t, Eigen::Dynamic, 1>> codes,
                         Eigen::Ref<Eigen::VectorXf> error, Eigen::VectorXi& level_index) {
  const Eigen::Index rows = weights.size();
  for (Eigen::Index r = 0; r < rows; ++r)
    level_index[r] = table.nearest_index(std::fabs(static_cast<double>(weights[r]) / static_cast<double>(scales[r])));
  for (Eigen::Index r = 0; r < rows; ++r) {
    const auto i = static_cast<std::size_t>(level_index[r]);
    std::uint8_t code = table.code[i];
    if (weights[r] < 0.0f && table.magnitude[i] != 0) code = static_cast<std::uint8_t>(code | table.sign_bit);
    codes[r] = code;
    error[r] = weights[r] - scales[r] * static_cast<float>(book.level[code]);
  }
}

struct LayerCodes {
  LayerQuantizationReport report;
  CodeMatrix codes;
};

inline LayerCodes quantize_layer_codes(const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                       const Eigen::MatrixXd& hessian, const Eigen::Ref<const Eigen::MatrixXf>* samples,
                                       const LayerQuantizerOptions& options) {
  const Eigen::Index rows = weights.rows(), depth = weights.cols();
  require(depth >= 1, "quantize_layer: the weights have no columns");
  require(hessian.rows() == depth, "quantize_layer: the calibration inputs have depth " + std::to_string(hessian.rows()) +
                                       " but the weights have K = " + std::to_string(depth));
  for (Eigen::Index r = 0; r < rows; ++r)
    if (!weights.row(r).allFinite()) fail("quantize_layer: row " + std::to_string(r) + " of the weights contains NaN or infinity");
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

  // Scales: one sort per row serves every scheme's Hessian-weighted search.
  const Eigen::VectorXd importance = hessian.diagonal().cwiseMax(0.0);
  report.candidate_scales.resize(rows, static_cast<Eigen::Index>(n));
  // Rows are copied out in panels: a row-major panel of a few rows reads the column-major
  // weights one cache line per column, where a whole transpose would miss the cache per element.
  constexpr Eigen::Index panel_rows = 16;
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> panel;
  SortedRow sorted;
  for (Eigen::Index r = 0; r < rows; ++r) {
    if (r % panel_rows == 0) panel = weights.middleRows(r, std::min(panel_rows, rows - r));
    const std::span<const float> row(panel.row(r % panel_rows).data(), static_cast<std::size_t>(depth));
    if (options.scale_method == ScaleMethod::min_hessian_error)
      sorted.assign(row, std::span<const double>(importance.data(), static_cast<std::size_t>(depth)));
    for (std::size_t j = 0; j < n; ++j)
      report.candidate_scales(r, static_cast<Eigen::Index>(j)) =
          options.scale_method == ScaleMethod::min_hessian_error
              ? choose_weighted_scale(books[j], tables[j], sorted)
              : choose_finite_row_scale(books[j], tables[j], row, options.scale_method);
  }

  // Codes and costs of plain rounding, one scheme at a time (one M x K error matrix alive).
  const RowErrorMeter meter(hessian, samples);
  report.costs.resize(rows, static_cast<Eigen::Index>(n));
  std::vector<CodeMatrix> scheme_codes(n);
  Eigen::MatrixXf error(rows, depth);
  Eigen::VectorXi level_index(rows);
  for (std::size_t j = 0; j < n; ++j) {
    CodeMatrix& codes = scheme_codes[j];
    codes.resize(rows, depth);
    const auto scales = report.candidate_scales.col(static_cast<Eigen::Index>(j));
    for (Eigen::Index k = 0; k < depth; ++k)
      round_column(tables[j], books[j], weights.col(k), scales, codes.col(k), error.col(k), level_index);
    report.costs.col(static_cast<Eigen::Index>(j)) = meter(error);
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
    out.codes = compensated_codes(weights, hessian, report.assignment, report.scales, options.compensation);
    for (Eigen::Index k = 0; k < depth; ++k)
      for (Eigen::Index r = 0; r < rows; ++r) {
        const auto i = static_cast<std::size_t>(r);
        error(r, k) = weights(r, k) - report.scales[i] * static_cast<float>(books[chosen[i]].level[out.codes(r, k)]);
      }
    report.output_error = meter(error).sum();
  } else {
    out.codes.resize(rows, depth);
    for (Eigen::Index k = 0; k < depth; ++k)
      for (Eigen::Index r = 0; r < rows; ++r) out.codes(r, k) = scheme_codes[chosen[static_cast<std::size_t>(r)]](r, k);
    report.output_error = report.assigned_cost;
  }
  return out;
}

inline Eigen::MatrixXd hessian_of_samples(const Eigen::Ref<const Eigen::MatrixXf>& samples) {
  require(samples.rows() >= 1, "quantize_layer: the calibration samples have no rows");
  LayerHessian h(static_cast<int>(samples.rows()));
  h.add_samples(samples);
  return h.matrix();
}

}  // namespace detail

/// Quantizes one layer with a compile-time mix. `weights` is M x K (rows = output channels);
/// `samples` is K x S, one calibration input per column (for a convolution: im2col columns).
template <class Mix>
  requires Mix::is_static
QuantizedLayer<Mix> quantize_layer(const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                   const Eigen::Ref<const Eigen::MatrixXf>& samples, const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(DynamicRowMix::from<Mix>(), weights, detail::hessian_of_samples(samples), &samples, options);
  return {MixedRowMatrix<Mix>::from_codes(result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

/// The same from a Hessian accumulated over batches (LayerHessian::add_samples).
template <class Mix>
  requires Mix::is_static
QuantizedLayer<Mix> quantize_layer(const Eigen::Ref<const Eigen::MatrixXf>& weights, const LayerHessian& hessian,
                                   const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(DynamicRowMix::from<Mix>(), weights, hessian.matrix(), nullptr, options);
  return {MixedRowMatrix<Mix>::from_codes(result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

/// Run-time mix, calibration samples.
inline QuantizedLayer<DynamicRowMix> quantize_layer(const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                                    const Eigen::Ref<const Eigen::MatrixXf>& samples,
                                                    const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(mix, weights, detail::hessian_of_samples(samples), &samples, options);
  return {MixedRowMatrix<>::from_codes(mix, result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

/// Run-time mix, accumulated Hessian.
inline QuantizedLayer<DynamicRowMix> quantize_layer(const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXf>& weights,
                                                    const LayerHessian& hessian, const LayerQuantizerOptions& options = {}) {
  auto result = detail::quantize_layer_codes(mix, weights, hessian.matrix(), nullptr, options);
  return {MixedRowMatrix<>::from_codes(mix, result.report.assignment, result.report.scales, result.codes), std::move(result.report)};
}

}  // namespace rmsmp

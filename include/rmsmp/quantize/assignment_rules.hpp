// rmsmp/quantize/assignment_rules.hpp — choosing which rows get which scheme of a mix, from
// each row's Hessian-weighted cost under every scheme (docs/assignment.md).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/min_cost_assignment.hpp"
#include "rmsmp/scheme/row_mix.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp {

enum class AssignmentRule {
  /// RMSMP's rule: the most sensitive rows get the high-precision scheme; the rest are split
  /// by the shape of their weight distribution (bell-shaped -> PoT/SP2, flat -> Fixed).
  papers,
  /// The assignment with the least total cost under the mix's exact row counts.
  optimal,
};

/// The mix's high-precision scheme: the one with strictly more bits than every other, or
/// scheme_count() when there is none (a single scheme, or a tie such as SP2-4 + Fixed-4).
inline std::size_t high_precision_scheme(const DynamicRowMix& mix) {
  if (mix.scheme_count() < 2) return mix.scheme_count();
  std::size_t best = 0;
  for (std::size_t j = 1; j < mix.scheme_count(); ++j)
    if (mix.scheme(j).bits > mix.scheme(best).bits) best = j;
  for (std::size_t j = 0; j < mix.scheme_count(); ++j)
    if (j != best && mix.scheme(j).bits == mix.scheme(best).bits) return mix.scheme_count();
  return best;
}

/// The shape of every row's weight distribution: the variance of w / max|w| (0 for a zero
/// row). Small for bell-shaped rows bunched near zero, large for flat, spread-out rows.
/// Computed by sweeping the columns: the weights are column-major, and reading one row at a
/// time would stride through all of them (a cache line and, for wide layers, a TLB entry per
/// weight).
inline std::vector<double> row_normalized_variances(const Eigen::Ref<const Eigen::MatrixXf>& weights) {
  const auto rows = static_cast<std::size_t>(weights.rows());
  std::vector<double> max_abs(rows, 0.0), sum(rows, 0.0), sum_sq(rows, 0.0), variance(rows, 0.0);
  for (Eigen::Index k = 0; k < weights.cols(); ++k)
    for (std::size_t r = 0; r < rows; ++r)
      max_abs[r] = std::max(max_abs[r], static_cast<double>(std::abs(weights(static_cast<Eigen::Index>(r), k))));
  for (Eigen::Index k = 0; k < weights.cols(); ++k)
    for (std::size_t r = 0; r < rows; ++r) {
      if (!(max_abs[r] > 0.0)) continue;
      const double v = weights(static_cast<Eigen::Index>(r), k) / max_abs[r];
      sum[r] += v;
      sum_sq[r] += v * v;
    }
  const auto depth = static_cast<double>(weights.cols());
  for (std::size_t r = 0; r < rows; ++r) {
    if (!(max_abs[r] > 0.0)) continue;
    const double mean = sum[r] / depth;
    variance[r] = std::max(0.0, sum_sq[r] / depth - mean * mean);
  }
  return variance;
}

/// row_normalized_variances of one row.
inline double normalized_variance(const Eigen::Ref<const Eigen::VectorXf>& row) {
  return row_normalized_variances(row.transpose())[0];
}

/// The scheme of every row under `rule`. `costs` is M x mix.scheme_count(): costs(i, j) is the
/// Hessian-weighted error d^T H d of row i quantized with mix.scheme(j) (see quantize_layer);
/// `weights` (M x K) are the float weights, which the papers' rule reads for the row shapes.
///
/// The papers' rule, spelled out for any mix: rows are ranked by sensitivity, the least cost
/// they can reach without the high-precision scheme; the top ones (as many as the mix gives the
/// high-precision scheme) get it. The other rows, in ascending normalized_variance, fill the
/// remaining schemes multiply-free ones (PoT, SP2) first, then Fixed, each in mix order. Ties
/// keep the lower row index first.
inline RowAssignment assign_rows(AssignmentRule rule, const DynamicRowMix& mix, const Eigen::Ref<const Eigen::MatrixXd>& costs,
                                 const Eigen::Ref<const Eigen::MatrixXf>& weights) {
  const std::size_t n = mix.scheme_count();
  require(costs.cols() == static_cast<Eigen::Index>(n),
                  "assign_rows: the cost matrix has " + std::to_string(costs.cols()) + " columns but the mix has " +
                      std::to_string(n) + " schemes");
  require(costs.rows() == weights.rows(), "assign_rows: the cost matrix has " + std::to_string(costs.rows()) +
                                                      " rows but the weights have " + std::to_string(weights.rows()));
  require(costs.allFinite(), "assign_rows: every cost must be finite");
  const int rows = static_cast<int>(costs.rows());
  const std::vector<int> counts = mix.row_counts(rows);

  RowAssignment assignment(static_cast<std::size_t>(rows));
  if (rule == AssignmentRule::optimal) {
    const std::vector<int> chosen = min_cost_assignment(costs, counts);
    for (int r = 0; r < rows; ++r) assignment[static_cast<std::size_t>(r)] = mix.scheme(static_cast<std::size_t>(chosen[static_cast<std::size_t>(r)]));
    return assignment;
  }

  require(weights.allFinite(), "assign_rows: the weights must be finite");
  std::vector<int> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  std::size_t first_free = 0;  // rows order[first_free..] are not assigned yet
  const std::size_t high = high_precision_scheme(mix);
  if (high < n) {
    std::vector<double> sensitivity(static_cast<std::size_t>(rows), 0.0);
    for (int r = 0; r < rows; ++r) {
      double least = std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < n; ++j)
        if (j != high) least = std::min(least, costs(r, static_cast<Eigen::Index>(j)));
      sensitivity[static_cast<std::size_t>(r)] = least;
    }
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return sensitivity[static_cast<std::size_t>(a)] > sensitivity[static_cast<std::size_t>(b)];
    });
    const auto taken = static_cast<std::size_t>(counts[high]);
    for (std::size_t i = 0; i < taken; ++i) assignment[static_cast<std::size_t>(order[i])] = mix.scheme(high);
    std::sort(order.begin() + static_cast<std::ptrdiff_t>(taken), order.end());
    first_free = taken;
  }
  const std::vector<double> shape = row_normalized_variances(weights);
  std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(first_free), order.end(),
                   [&](int a, int b) { return shape[static_cast<std::size_t>(a)] < shape[static_cast<std::size_t>(b)]; });
  std::vector<std::size_t> fill;  // low-precision schemes, multiply-free first
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t j = 0; j < n; ++j)
      if (j != high && make_codebook(mix.scheme(j)).multiply_free == (pass == 0)) fill.push_back(j);
  std::size_t next = first_free;
  for (std::size_t j : fill)
    for (int c = 0; c < counts[j]; ++c) assignment[static_cast<std::size_t>(order[next++])] = mix.scheme(j);
  return assignment;
}

}  // namespace rmsmp

// rmsmp/model/weight_quantizer.hpp — the hook quantize_model calls to quantize each Linear or
// Conv2d layer's weights, and a simple default.
//
// A WeightQuantizer sees the layer's float weights and the activations it reads on the
// calibration data (for a conv, the im2col'd K x N matrix) and returns the layer's
// MixedRowMatrix, built with the model's mix. Sensitivity-based quantizers (Hessian
// H = E[x x^T] row assignment, GPTQ-style error compensation) plug in here whole; a policy
// that only chooses the row assignment is wrapped by quantize_by_assignment.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace rmsmp {

/// Everything a weight quantizer may use for one layer.
struct LayerContext {
  std::string_view layer;          ///< the layer's name
  const Eigen::MatrixXf& weights;  ///< M x K float weights, original row order (K in PyTorch's order)
  const Eigen::MatrixXf& inputs;   ///< K x N float activations the layer reads (calibration)
  const DynamicRowMix& mix;        ///< every scheme gets exactly its row count
  ScaleMethod scale_method;        ///< QuantizeOptions::weight_scale
};

/// Returns the layer's matrix: M x K, built with ctx.mix (groups in the mix's order, e.g.
/// MixedRowMatrix<>(mix, ...) or from_codes(mix, ...)); quantize_model checks both.
using WeightQuantizer = std::function<MixedRowMatrix<>(const LayerContext&)>;

/// Returns one scheme per row (original order).
using AssignmentPolicy = std::function<RowAssignment(const LayerContext&)>;

/// Output error of each row under each scheme of the mix, with only the diagonal of
/// H = E[x x^T]: cost[r][s] = sum_k E[x_k^2] * (w[r][k] - q_s(w[r])[k])^2.
inline std::vector<std::vector<double>> weighted_row_errors(const LayerContext& ctx) {
  const auto M = static_cast<std::size_t>(ctx.weights.rows());
  const auto K = static_cast<std::size_t>(ctx.weights.cols());
  detail::require(static_cast<std::size_t>(ctx.inputs.rows()) == K,
                  "row assignment: the inputs have " + std::to_string(ctx.inputs.rows()) + " rows but the weights " +
                      std::to_string(K) + " columns");
  std::vector<double> second_moment(K, 1.0);
  if (ctx.inputs.cols() > 0)
    for (std::size_t k = 0; k < K; ++k)
      second_moment[k] =
          ctx.inputs.row(static_cast<Eigen::Index>(k)).cast<double>().squaredNorm() / static_cast<double>(ctx.inputs.cols());
  std::vector<std::vector<double>> cost(M, std::vector<double>(ctx.mix.scheme_count()));
  std::vector<float> row(K);
  std::vector<std::uint8_t> codes(K);
  for (std::size_t s = 0; s < ctx.mix.scheme_count(); ++s) {
    const CodeBook book = make_codebook(ctx.mix.scheme(s));
    for (std::size_t r = 0; r < M; ++r) {
      for (std::size_t k = 0; k < K; ++k) row[k] = ctx.weights(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k));
      const float scale = quantize_row(book, row, codes, ctx.scale_method);
      double e = 0.0;
      for (std::size_t k = 0; k < K; ++k) {
        const double d = static_cast<double>(row[k]) - dequantize_code(book, scale, codes[k]);
        e += second_moment[k] * d * d;
      }
      cost[r][s] = e;
    }
  }
  return cost;
}

/// The default policy: rows in order of regret (how much worse the second-best scheme with
/// rows left is than the best) take their best scheme with rows left. Rows whose error depends
/// most on the scheme choose first, so the few Fixed-8 rows go where 4 bits hurt most.
inline RowAssignment assign_by_weighted_error(const LayerContext& ctx) {
  const std::vector<std::vector<double>> cost = weighted_row_errors(ctx);
  const std::size_t M = cost.size(), S = ctx.mix.scheme_count();
  std::vector<int> left = ctx.mix.row_counts(static_cast<int>(M));
  RowAssignment assignment(M);
  std::vector<bool> done(M, false);
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (std::size_t step = 0; step < M; ++step) {
    std::size_t pick_row = M, pick_scheme = S;
    double pick_regret = -1.0;
    for (std::size_t r = 0; r < M; ++r) {
      if (done[r]) continue;
      double best = inf, second = inf;
      std::size_t best_s = S;
      for (std::size_t s = 0; s < S; ++s) {
        if (left[s] == 0) continue;
        if (cost[r][s] < best) {
          second = best;
          best = cost[r][s];
          best_s = s;
        } else if (cost[r][s] < second) {
          second = cost[r][s];
        }
      }
      const double regret = second == inf ? inf : second - best;
      if (regret > pick_regret) {
        pick_regret = regret;
        pick_row = r;
        pick_scheme = best_s;
      }
    }
    done[pick_row] = true;
    --left[pick_scheme];
    assignment[pick_row] = ctx.mix.scheme(pick_scheme);
  }
  return assignment;
}

/// The first rows to the first scheme of the mix, and so on (assign_in_order): for tests and
/// comparisons.
inline RowAssignment assign_rows_in_order(const LayerContext& ctx) {
  return assign_in_order(ctx.mix, static_cast<int>(ctx.weights.rows()));
}

/// A weight quantizer from an assignment policy: each row rounded to its scheme's grid with
/// ctx.scale_method (MixedRowMatrix's own quantizer).
inline WeightQuantizer quantize_by_assignment(AssignmentPolicy policy) {
  detail::require(static_cast<bool>(policy), "quantize_by_assignment: no policy");
  return [policy = std::move(policy)](const LayerContext& ctx) {
    const RowAssignment assignment = policy(ctx);
    detail::require(assignment.size() == static_cast<std::size_t>(ctx.weights.rows()),
                    "layer '" + std::string(ctx.layer) + "': the assignment policy returned " +
                        std::to_string(assignment.size()) + " schemes for " + std::to_string(ctx.weights.rows()) + " rows");
    return MixedRowMatrix<>(ctx.mix, ctx.weights, assignment, ctx.scale_method);
  };
}

}  // namespace rmsmp

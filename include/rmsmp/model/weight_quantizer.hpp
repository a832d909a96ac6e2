// rmsmp/model/weight_quantizer.hpp — the hook quantize_model calls to quantize each Linear or
// Conv2d layer's weights, and the default: the layer quantizer (quantize/layer_quantizer.hpp).
//
// A WeightQuantizer sees the layer's float weights and the activations it reads on the
// calibration data (for a conv, the im2col'd K x N matrix) and returns the layer's
// MixedRowMatrix, built with the model's mix. The default, hessian_weight_quantizer, builds
// the full H = X X^T / N from those columns, assigns rows by the papers' or the optimal rule
// and optionally compensates errors; a policy that only chooses the row assignment is wrapped
// by quantize_by_assignment.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/model/layer_quantizer.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace rmsmp {

/// Everything a weight quantizer may use for one layer.
struct LayerContext {
  std::string_view layer;          ///< the layer's name
  const Eigen::MatrixXf& weights;  ///< M x K float weights, original row order (K in PyTorch's order)
  const Eigen::MatrixXf& inputs;   ///< K x N float activations the layer reads (calibration)
  const DynamicRowMix& mix;        ///< every scheme gets exactly its row count
};

/// Returns the layer's matrix: M x K, built with ctx.mix (groups in the mix's order, e.g.
/// MixedRowMatrix<>(mix, ...) or from_codes(mix, ...)); quantize_model checks both.
using WeightQuantizer = std::function<MixedRowMatrix<>(const LayerContext&)>;

/// Returns one scheme per row (original order).
using AssignmentPolicy = std::function<RowAssignment(const LayerContext&)>;

/// quantize_layer on the layer's calibration columns (ctx.inputs): Hessian-weighted scales,
/// rows assigned by options.rule, plain rounding or error compensation (options.compensate).
/// quantize_model's default is hessian_weight_quantizer() (optimal rule, plain rounding).
inline WeightQuantizer hessian_weight_quantizer(const LayerQuantizerOptions& options = {}) {
  return [options](const LayerContext& ctx) { return quantize_layer(ctx.mix, ctx.weights, ctx.inputs, options).matrix; };
}

/// The first rows to the first scheme of the mix, and so on (assign_in_order): for tests and
/// comparisons.
inline RowAssignment assign_rows_in_order(const LayerContext& ctx) {
  return assign_in_order(ctx.mix, static_cast<int>(ctx.weights.rows()));
}

/// A weight quantizer from an assignment policy: each row rounded to its scheme's grid at the
/// scale `scale_method` picks from the row alone (MixedRowMatrix's own quantizer, so not
/// ScaleMethod::min_hessian_error, which needs the inputs).
inline WeightQuantizer quantize_by_assignment(AssignmentPolicy policy, ScaleMethod scale_method = ScaleMethod::min_squared_error) {
  require(static_cast<bool>(policy), "quantize_by_assignment: no policy");
  require(scale_method != ScaleMethod::min_hessian_error,
                  "quantize_by_assignment: min_hessian_error needs the layer's inputs; use hessian_weight_quantizer");
  return [policy = std::move(policy), scale_method](const LayerContext& ctx) {
    const RowAssignment assignment = policy(ctx);
    require(assignment.size() == static_cast<std::size_t>(ctx.weights.rows()),
                    "layer '" + std::string(ctx.layer) + "': the assignment policy returned " +
                        std::to_string(assignment.size()) + " schemes for " + std::to_string(ctx.weights.rows()) + " rows");
    return MixedRowMatrix<>(ctx.mix, ctx.weights, assignment, scale_method);
  };
}

}  // namespace rmsmp

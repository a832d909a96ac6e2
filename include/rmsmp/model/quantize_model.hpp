// rmsmp/model/quantize_model.hpp — FloatModel + calibration data + row mix -> QuantizedModel.
//
// 1. The float model runs on the calibration inputs (float_executor.hpp); every tensor's
//    values give its activation parameters (calibration.hpp). Pools, Flatten and a standalone
//    ReLU keep their input's parameters (they move codes, docs/integer-contract.md section 9).
// 2. A ReLU whose source is a Linear, Conv2d or Add read by nothing else is folded into that
//    layer's output clamp, and the layer is calibrated on the ReLU's output.
// 3. Each Linear/Conv2d layer gets its MixedRowMatrix from the weight quantizer (which sees
//    the float weights and the layer's calibration input columns; weight_quantizer.hpp), its
//    bias in accumulator units and its per-row requantization to the output parameters; the
//    model's last Linear/Conv2d produces float (ToFloat) instead.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/core/tensor.hpp"
#include "rmsmp/model/float_executor.hpp"
#include "rmsmp/model/float_model.hpp"
#include "rmsmp/model/model_graph.hpp"
#include "rmsmp/model/quantized_model.hpp"
#include "rmsmp/model/weight_quantizer.hpp"
#include "rmsmp/output/pipeline.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/quantize/calibration.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace rmsmp {

struct QuantizeOptions {
  CalibrationOptions calibration{};  ///< how activation ranges are chosen
  int activation_bits = 8;           ///< 8 or 4: every tensor between layers
  int input_bits = 8;                ///< 8 or 4: the quantized model input
  /// Quantizes each Linear/Conv2d layer's weights (weight_quantizer.hpp): by default the
  /// layer quantizer with the optimal rule and plain rounding.
  WeightQuantizer weights = hessian_weight_quantizer();
  /// The weight quantizer sees at most this many calibration columns per layer (evenly spaced).
  std::size_t max_assignment_columns = 8192;
  /// Called after each layer with (layers done, layer count); may be empty.
  std::function<void(std::size_t, std::size_t)> progress;
};

namespace detail {

/// `matrix` with every row whose bias would exceed max_bias_units at the row's scale
/// re-encoded at the smallest scale at which it fits (2^29 units, leaving room for rounding).
/// Such a row is a dead unit of a trained model (max |w| of 1e-30 beside a bias of 0.1): its
/// weights are far below anything its output can show, so the wider scale rounds them (mostly
/// to zero) and the row's output stays its bias. Other rows keep their codes and scales.
inline MixedRowMatrix<> fit_row_scales_to_biases(MixedRowMatrix<> matrix, const Eigen::MatrixXf& weights,
                                                 const std::vector<float>& bias, float input_scale,
                                                 const DynamicRowMix& mix) {
  std::vector<float> scales = matrix.row_scales();
  std::vector<int> widened;
  for (std::size_t r = 0; r < scales.size(); ++r) {
    const double needed = std::abs(static_cast<double>(bias[r])) / (static_cast<double>(input_scale) * (1 << 29));
    if (std::abs(static_cast<double>(bias[r])) / (static_cast<double>(scales[r]) * input_scale) <= max_bias_units ||
        !(needed < static_cast<double>(std::numeric_limits<float>::max())))
      continue;  // fits already, or cannot fit at any float scale (bias_from_real reports it)
    scales[r] = static_cast<float>(needed);
    widened.push_back(static_cast<int>(r));
  }
  if (widened.empty()) return matrix;
  const RowAssignment assignment = matrix.assignment();
  MixedRowMatrix<>::CodeMatrix codes(matrix.rows(), matrix.cols());
  for (std::size_t g = 0; g < matrix.group_count(); ++g) {
    const RowGroup& group = matrix.group(g);
    for (std::size_t i = 0; i < group.rows(); ++i)
      for (std::size_t k = 0; k < group.columns(); ++k) codes(group.original_row(i), static_cast<Eigen::Index>(k)) = group.code(i, k);
  }
  std::vector<float> row(static_cast<std::size_t>(matrix.cols()));
  std::vector<std::uint8_t> row_codes(row.size());
  for (int r : widened) {
    for (std::size_t k = 0; k < row.size(); ++k) row[k] = weights(r, static_cast<Eigen::Index>(k));
    encode_row(make_codebook(assignment[static_cast<std::size_t>(r)]), row, scales[static_cast<std::size_t>(r)], row_codes);
    for (std::size_t k = 0; k < row.size(); ++k) codes(r, static_cast<Eigen::Index>(k)) = row_codes[k];
  }
  return MixedRowMatrix<>::from_codes(mix, assignment, scales, codes);
}

/// Columns 0, step, 2*step, ... of a K x P column-major buffer, at most `limit` of them.
inline Eigen::MatrixXf spaced_columns(const std::vector<float>& columns, Eigen::Index K, std::size_t limit) {
  const auto P = static_cast<std::size_t>(K == 0 ? 0 : static_cast<Eigen::Index>(columns.size()) / K);
  const std::size_t step = P <= limit || limit == 0 ? 1 : (P + limit - 1) / limit;
  const std::size_t count = (P + step - 1) / step;
  Eigen::MatrixXf out(K, static_cast<Eigen::Index>(count));
  for (std::size_t c = 0; c < count; ++c)
    out.col(static_cast<Eigen::Index>(c)) =
        Eigen::Map<const Eigen::VectorXf>(columns.data() + c * step * static_cast<std::size_t>(K), K);
  return out;
}

/// For every layer, the ReLU folded into it (its index) or -1.
inline std::vector<int> foldable_relus(const FloatModel& model, const std::vector<LayerLinks>& links) {
  const std::size_t L = model.layers.size();
  std::vector<int> readers(L, 0);
  for (std::size_t i = 0; i < L; ++i) {
    if (links[i].input >= 0) ++readers[static_cast<std::size_t>(links[i].input)];
    if (model.layers[i].op == LayerOp::add && links[i].other >= 0) ++readers[static_cast<std::size_t>(links[i].other)];
  }
  std::vector<int> folded(L, -1);
  for (std::size_t i = 0; i < L; ++i) {
    const int s = links[i].input;
    if (model.layers[i].op != LayerOp::relu || s < 0) continue;
    const LayerOp source_op = model.layers[static_cast<std::size_t>(s)].op;
    if ((source_op == LayerOp::linear || source_op == LayerOp::conv2d || source_op == LayerOp::add) &&
        readers[static_cast<std::size_t>(s)] == 1)
      folded[static_cast<std::size_t>(s)] = static_cast<int>(i);
  }
  return folded;
}

}  // namespace detail

/// Quantizes `model` with `mix` in every Linear/Conv2d layer. `calibration_inputs` has one
/// column per sample in (C, H, W) order, preprocessed like the runtime's inputs.
inline QuantizedModel quantize_model(const FloatModel& model, const Eigen::Ref<const Eigen::MatrixXf>& calibration_inputs,
                                     const DynamicRowMix& mix, const QuantizeOptions& options = {}) {
  check_activation_bits<std::uint8_t>(options.activation_bits);
  check_activation_bits<std::uint8_t>(options.input_bits);
  require(static_cast<bool>(options.weights), "quantize_model: no weight quantizer");
  require(calibration_inputs.cols() >= 1, "quantize_model: at least one calibration sample is needed");
  detail::require_finite_samples(calibration_inputs, "quantize_model: calibration");
  const std::vector<LayerLinks> links = check_float_model(model);
  const Tensor<float> input = from_chw_columns(calibration_inputs, model_input_shape(model));
  const std::vector<Tensor<float>> values = run_float_layers(model, links, input);
  const std::vector<int> folded = detail::foldable_relus(model, links);
  const std::size_t L = model.layers.size();

  QuantizedModel q;
  q.input = model.input;
  q.class_names = model.class_names;
  q.mix = mix.entries();
  q.input_params = calibrate_activations(input.data, options.input_bits, options.calibration);
  q.layers.resize(L);
  // The layer producing the model output: the last one, or the one a final ReLU folds into.
  std::size_t last = L - 1;
  if (model.layers.back().op == LayerOp::relu && links.back().input >= 0 &&
      folded[static_cast<std::size_t>(links.back().input)] == static_cast<int>(L - 1))
    last = static_cast<std::size_t>(links.back().input);
  auto params_of = [&](int source) -> const ActivationParams& {
    return source == model_input ? q.input_params : q.layers[static_cast<std::size_t>(source)].output;
  };
  auto calibrate = [&](std::size_t i) {
    const std::size_t shown = folded[i] >= 0 ? static_cast<std::size_t>(folded[i]) : i;
    return calibrate_activations(values[shown].data, options.activation_bits, options.calibration);
  };

  for (std::size_t i = 0; i < L; ++i) {
    const FloatLayer& f = model.layers[i];
    const LayerLinks& l = links[i];
    QuantizedModelLayer& ql = q.layers[i];
    ql.op = f.op;
    ql.name = f.name;
    ql.input = l.input;
    ql.other = l.other;
    ql.input_shape = l.input_shape;
    ql.output_shape = l.output_shape;
    ql.window = l.window;
    ql.relu_folded = folded[i] >= 0;
    const ActivationParams in = params_of(l.input);
    switch (f.op) {
      case LayerOp::linear:
      case LayerOp::conv2d: {
        const std::string what = detail::describe_layer(i, f);
        const auto W = detail::weight_matrix(f);
        const Eigen::MatrixXf weights = W;
        const Tensor<float>& x = l.input == model_input ? input : values[static_cast<std::size_t>(l.input)];
        const Eigen::MatrixXf columns =
            detail::spaced_columns(float_layer_columns(f, l, x), W.cols(), options.max_assignment_columns);
        MixedRowMatrix<> matrix = options.weights(LayerContext{f.name, weights, columns, mix});
        require(matrix.rows() == W.rows() && matrix.cols() == W.cols(),
                        what + ": the weight quantizer returned a " + std::to_string(matrix.rows()) + " x " +
                            std::to_string(matrix.cols()) + " matrix for " + std::to_string(W.rows()) + " x " +
                            std::to_string(W.cols()) + " weights");
        check_assignment(matrix.assignment(), mix);
        bool mix_order = matrix.group_count() == mix.scheme_count();
        for (std::size_t g = 0; mix_order && g < matrix.group_count(); ++g) mix_order = matrix.group(g).scheme() == mix.scheme(g);
        require(mix_order, what + ": the weight quantizer must build the matrix with the model's mix "
                                          "(groups in the mix's order)");
        const std::vector<float> bias =
            f.bias.data.empty() ? std::vector<float>(static_cast<std::size_t>(matrix.rows()), 0.0f) : f.bias.data;
        matrix = detail::fit_row_scales_to_biases(std::move(matrix), weights, bias, in.scale, mix);
        const std::vector<float> row_scales = matrix.row_scales();
        QuantizedGemm g{std::move(matrix), bias_from_real(bias, row_scales, in.scale).bias, {}, {},
                        std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
        if (i == last) {
          g.to_float = to_float_from_scales(row_scales, in.scale).scale;
          if (ql.relu_folded) g.clamp_lo = 0;  // accumulator 0 is real 0
          ql.output = {};
        } else {
          ql.output = calibrate(i);
          g.requantize = requantize_from_scales(row_scales, in.scale, ql.output.scale, ql.output.zero_point).multipliers;
          g.clamp_lo = ql.relu_folded ? ql.output.zero_point : activation_min<std::uint8_t>(ql.output.bits);
          g.clamp_hi = activation_max<std::uint8_t>(ql.output.bits);
        }
        ql.gemm.emplace(std::move(g));
        break;
      }
      case LayerOp::add:
        ql.output = calibrate(i);
        ql.add = AddRescale::from_params(in, params_of(l.other), ql.output, ql.relu_folded);
        break;
      case LayerOp::relu:
        ql.passthrough = l.input >= 0 && folded[static_cast<std::size_t>(l.input)] == static_cast<int>(i);
        ql.output = in;
        break;
      default:  // pools, flatten: codes keep their meaning
        ql.output = in;
        break;
    }
    if (options.progress) options.progress(i + 1, L);
  }
  validate(q);
  return q;
}

}  // namespace rmsmp

// rmsmp/model/quantized_model.hpp — a quantized network as plain data: everything the integer
// executor needs, nothing it has to recompute from floats.
//
// Layers correspond one to one with the FloatModel they came from (same names, ops, sources).
// Every tensor between layers is uint8 codes with its own scale and zero point (8-bit, or
// 4-bit codes in [0, 15]); a Linear or Conv2d layer holds its mixed-row matrix and the integer
// parameters of its output pipeline (bias in accumulator units, per-row requantization, clamp);
// a ReLU after a Linear, Conv2d or Add is folded into that layer's clamp and passes its
// tensor through. Only the edges are float: the input is quantized with `input_params`, and
// the model's last Linear/Conv2d converts its accumulators with ToFloat.
//
// Everything is vectors of integers and floats plus MixedRowMatrix (rebuilt exactly by
// MixedRowMatrix<>::from_codes), so a file format writes the fields in order.
// validate() checks every index, shape and parameter, so a model read from a damaged file is
// refused before it runs.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/layers/residual_add.hpp"
#include "rmsmp/core/tensor.hpp"
#include "rmsmp/layers/window.hpp"
#include "rmsmp/model/float_model.hpp"
#include "rmsmp/model/model_graph.hpp"
#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace rmsmp {

/// The integer side of a Linear or Conv2d layer: y = pipeline(W x), x the layer's input codes
/// (im2col'd for a conv).
struct QuantizedGemm {
  MixedRowMatrix<> weights;                     ///< M x K, K in PyTorch's flattening order
  std::vector<std::int32_t> bias;               ///< accumulator units, one per row
  std::vector<FixedPointMultiplier> requantize; ///< integer output: row_scale * in_scale / out_scale per row
  std::vector<float> to_float;                  ///< float output (the model's last layer): row_scale * in_scale per row
  std::int32_t clamp_lo = std::numeric_limits<std::int32_t>::min();
  std::int32_t clamp_hi = std::numeric_limits<std::int32_t>::max();

  bool float_output() const { return !to_float.empty(); }
};

struct QuantizedModelLayer {
  LayerOp op = LayerOp::relu;
  std::string name;
  int input = model_input;          ///< source layer index (model_input for the model input)
  int other = model_input;          ///< add: the second operand
  TensorShape input_shape, output_shape;
  Window2d window;                  ///< conv2d and pools
  ActivationParams output{};        ///< parameters of the output codes (unused for float output)
  std::optional<QuantizedGemm> gemm;  ///< linear, conv2d
  AddRescale add{};                 ///< add
  bool relu_folded = false;         ///< linear, conv2d, add: the next layer's ReLU is in the clamp
  bool passthrough = false;         ///< relu folded into its source: the output is the source's tensor
};

struct QuantizedModel {
  InputSpec input;                          ///< raw input -> float (the model's preprocessing)
  ActivationParams input_params{};          ///< float input -> codes
  std::vector<DynamicRowMix::Entry> mix;    ///< the row mix every Linear/Conv2d layer uses
  std::vector<QuantizedModelLayer> layers;
  std::vector<std::string> class_names;
  std::string source;                       ///< where the float model came from (informational)

  TensorShape input_shape() const { return model_input_shape(input); }
  /// The layer whose output is the model's output: the last one, or the layer a final ReLU
  /// is folded into.
  std::size_t output_layer() const {
    require(!layers.empty(), "quantized model: no layers");
    const QuantizedModelLayer& last = layers.back();
    return last.passthrough ? static_cast<std::size_t>(last.input) : layers.size() - 1;
  }
};

namespace detail {

inline void check_uint8_params(const ActivationParams& p, const std::string& what) {
  try {
    check_activation_params<std::uint8_t>(p);
  } catch (const Error& e) {
    fail(what + ": " + e.what());
  }
}

}  // namespace detail

/// The largest tensor (per sample) a quantized model may have: 2^30 values.
inline constexpr std::size_t max_tensor_size = std::size_t{1} << 30;

/// Throws rmsmp::Error unless the model is internally consistent: sources are earlier layers,
/// shapes chain and agree with each op, per-row vectors have one entry per row, parameters are
/// in range, and only the output layer has float output.
inline void validate(const QuantizedModel& model) {
  const TensorShape input_shape = model.input_shape();
  require(!model.layers.empty(), "quantized model: no layers");
  detail::check_uint8_params(model.input_params, "quantized model input");
  std::optional<DynamicRowMix> mix;
  if (!model.mix.empty()) mix.emplace(model.mix);  // throws for a malformed mix
  const std::size_t output = model.output_layer();
  auto shape_of = [&](int source) {
    return source == model_input ? input_shape : model.layers[static_cast<std::size_t>(source)].output_shape;
  };
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const QuantizedModelLayer& l = model.layers[i];
    const std::string what = "quantized model: layer " + std::to_string(i) + " (" + std::string(layer_op_name(l.op)) + ")";
    auto check_source = [&](int s) {
      require(s >= model_input && s < static_cast<int>(i), what + ": reads layer " + std::to_string(s) +
                                                                      ", which does not come before it");
    };
    check_source(l.input);
    require(shape_of(l.input) == l.input_shape,
                    what + ": its input shape " + l.input_shape.str() + " is not its source's " + shape_of(l.input).str());
    for (const TensorShape& s : {l.input_shape, l.output_shape})
      require(s.channels >= 1 && s.height >= 1 && s.width >= 1 && s.size() <= max_tensor_size,
                      what + ": shape " + s.str() + " is empty or too large");
    const bool float_out = l.gemm && l.gemm->float_output();
    if (!float_out) detail::check_uint8_params(l.output, what + " output");
    require(l.op == LayerOp::linear || l.op == LayerOp::conv2d || !l.gemm, what + ": has weights but no GEMM op");
    require(!l.passthrough || l.op == LayerOp::relu, what + ": only a ReLU can pass its input through");
    require(!l.relu_folded || l.op == LayerOp::linear || l.op == LayerOp::conv2d || l.op == LayerOp::add,
                    what + ": a ReLU can only be folded into linear, conv2d or add");
    switch (l.op) {
      case LayerOp::linear:
      case LayerOp::conv2d: {
        require(l.gemm.has_value(), what + ": no weights");
        const QuantizedGemm& g = *l.gemm;
        const auto M = static_cast<std::size_t>(g.weights.rows());
        std::size_t K = l.input_shape.size();
        if (l.op == LayerOp::conv2d) {
          l.window.check(l.input_shape, what);
          require(l.window.output(l.input_shape, static_cast<int>(M)) == l.output_shape,
                          what + ": the output shape does not follow from the window");
          K = static_cast<std::size_t>(l.input_shape.channels) * static_cast<std::size_t>(l.window.kernel_h) *
              static_cast<std::size_t>(l.window.kernel_w);
        } else {
          require(l.input_shape.height == 1 && l.input_shape.width == 1 && l.output_shape.height == 1 &&
                              l.output_shape.width == 1,
                          what + ": a linear layer maps vectors to vectors");
        }
        require(M == static_cast<std::size_t>(l.output_shape.channels) && K == static_cast<std::size_t>(g.weights.cols()),
                        what + ": the weights are " + std::to_string(M) + " x " + std::to_string(g.weights.cols()) +
                            ", the shapes need " + std::to_string(l.output_shape.channels) + " x " + std::to_string(K));
        require(g.bias.size() == M, what + ": needs one bias per row");
        if (mix) check_assignment(g.weights.assignment(), *mix);
        require(g.clamp_lo <= g.clamp_hi, what + ": clamp bounds are reversed");
        if (float_out) {
          require(i == output, what + ": only the output layer may have float output");
          require(g.to_float.size() == M && g.requantize.empty(), what + ": needs one float scale per row");
          for (float s : g.to_float)
            require(std::isfinite(s) && s >= 0.0f, what + ": float scales must be finite and non-negative");
        } else {
          require(g.requantize.size() == M, what + ": needs one requantization multiplier per row");
          for (const auto& m : g.requantize)
            require(m.multiplier >= 0 && m.shift >= 0 && m.shift <= FixedPointMultiplier::max_shift,
                            what + ": requantization multiplier out of range");
          require(g.clamp_lo >= activation_min<std::uint8_t>(l.output.bits) &&
                              g.clamp_hi <= activation_max<std::uint8_t>(l.output.bits),
                          what + ": the clamp exceeds the output's code range");
        }
        break;
      }
      case LayerOp::relu:
      case LayerOp::max_pool2d:
      case LayerOp::avg_pool2d:
      case LayerOp::global_avg_pool:
      case LayerOp::flatten: {
        TensorShape expected = l.input_shape;
        if (l.op == LayerOp::max_pool2d || l.op == LayerOp::avg_pool2d || l.op == LayerOp::global_avg_pool) {
          l.window.check(l.input_shape, what);
          require(2 * l.window.padding_h <= l.window.kernel_h && 2 * l.window.padding_w <= l.window.kernel_w,
                          what + ": padding must be at most half the kernel size");
          expected = l.window.output(l.input_shape, l.input_shape.channels);
        }
        if (l.op == LayerOp::flatten) expected = {static_cast<int>(l.input_shape.size()), 1, 1};
        require(expected == l.output_shape, what + ": the output shape does not follow from the input");
        if (l.passthrough) {
          require(l.input >= 0 && model.layers[static_cast<std::size_t>(l.input)].relu_folded,
                          what + ": passes through a layer that has no ReLU folded in");
        } else {
          // Codes keep their meaning through these ops.
          const ActivationParams& in = l.input == model_input ? model.input_params : model.layers[static_cast<std::size_t>(l.input)].output;
          require(in.scale == l.output.scale && in.zero_point == l.output.zero_point && in.bits == l.output.bits,
                          what + ": must keep its input's scale and zero point");
        }
        break;
      }
      case LayerOp::add:
        check_source(l.other);
        require(shape_of(l.other) == l.input_shape && l.output_shape == l.input_shape,
                        what + ": operand shapes differ");
        l.add.check();
        require(l.add.hi <= activation_max<std::uint8_t>(l.output.bits), what + ": the clamp exceeds the output's code range");
        break;
      default:
        fail(what + ": unknown op");
    }
    for (int s : {l.input, l.op == LayerOp::add ? l.other : model_input})
      if (s >= 0 && !l.passthrough) {
        const QuantizedModelLayer& src = model.layers[static_cast<std::size_t>(s)];
        require(!(src.gemm && src.gemm->float_output()), what + ": reads a float-output layer");
      }
  }
}

}  // namespace rmsmp

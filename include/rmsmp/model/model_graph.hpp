// rmsmp/model/model_graph.hpp — a FloatModel checked and resolved: which earlier tensor each
// layer reads, every tensor's shape, each layer's window. The float executor and the model
// quantizer both start here, so both accept and refuse exactly the same models.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/layers/tensor.hpp"
#include "rmsmp/layers/window.hpp"
#include "rmsmp/model/float_model.hpp"

namespace rmsmp {

/// Index of the model input among a layer's sources.
inline constexpr int model_input = -1;

/// One resolved layer: its sources (layer indices, or model_input) and shapes.
struct LayerLinks {
  int input = model_input;  ///< the tensor the layer reads
  int other = model_input;  ///< add: the second operand
  TensorShape input_shape;
  TensorShape output_shape;
  Window2d window;          ///< conv2d and pools
};


namespace detail {

// Becomes layer_op_name (model/float_model_check.hpp) once that lands.
inline const char* op_text(LayerOp op) {
  switch (op) {
    case LayerOp::linear: return "linear";
    case LayerOp::conv2d: return "conv2d";
    case LayerOp::relu: return "relu";
    case LayerOp::max_pool2d: return "max_pool2d";
    case LayerOp::avg_pool2d: return "avg_pool2d";
    case LayerOp::global_avg_pool: return "global_avg_pool";
    case LayerOp::flatten: return "flatten";
    case LayerOp::add: return "add";
  }
  return "?";
}

inline std::string layer_label(const FloatLayer& layer, std::size_t index) {
  return "layer " + std::to_string(index) + " (" + op_text(layer.op) +
         (layer.name.empty() ? std::string() : " '" + layer.name + "'") + ")";
}

inline int find_source(const FloatModel& model, std::size_t index, const std::string& name, const std::string& what) {
  if (name.empty()) return static_cast<int>(index) - 1;  // previous layer, or the model input
  for (std::size_t j = 0; j < index; ++j)
    if (model.layers[j].name == name) return static_cast<int>(j);
  fail(what + " reads '" + name + "', which is not the name of an earlier layer");
}

inline void require_finite_tensor(const FloatTensor& t, const std::string& what) {
  require(static_cast<std::size_t>(t.numel()) == t.data.size(),
          what + ": shape holds " + std::to_string(t.numel()) + " values but " + std::to_string(t.data.size()) +
              " are given");
  for (std::size_t i = 0; i < t.data.size(); ++i)
    if (!std::isfinite(t.data[i])) fail(what + ": value " + std::to_string(i) + " is not finite");
}

inline bool shape_is(const FloatTensor& t, std::size_t dims) {
  if (t.shape.size() != dims) return false;
  for (auto d : t.shape)
    if (d < 1 || d > (1 << 30)) return false;
  return true;
}

inline void check_bias_shape(const FloatLayer& layer, std::int64_t rows, const std::string& what) {
  if (layer.bias.shape.empty() && layer.bias.data.empty()) return;
  require(layer.bias.shape.size() == 1 && layer.bias.shape[0] == rows,
          what + ": the bias must have shape [" + std::to_string(rows) + "]");
  require_finite_tensor(layer.bias, what + " bias");
}

}  // namespace detail

/// The per-sample input shape [C, H, W]; throws unless it has three positive sizes.
inline TensorShape model_input_shape(const FloatModel& model) {
  const auto& in = model.input.shape;
  detail::require(in.size() == 3 && in[0] >= 1 && in[1] >= 1 && in[2] >= 1 && in[0] <= (1 << 24) &&
                      in[1] <= (1 << 16) && in[2] <= (1 << 16),
                  "model: the input shape must be [C, H, W] with positive sizes");
  return {static_cast<int>(in[0]), static_cast<int>(in[1]), static_cast<int>(in[2])};
}

/// Throws rmsmp::Error naming the layer for anything inconsistent: unknown or later source
/// names, duplicate names, weight shapes that do not match the input, bad windows, non-finite
/// weights, operands of different shapes.
inline std::vector<LayerLinks> resolve_layers(const FloatModel& model) {
  const TensorShape input_shape = model_input_shape(model);
  detail::require(std::isfinite(model.input.scale) && std::isfinite(model.input.offset),
                  "model: the input scale and offset must be finite");
  detail::require(!model.layers.empty(), "model: no layers");
  std::vector<LayerLinks> links(model.layers.size());
  auto shape_of = [&](int source) { return source == model_input ? input_shape : links[static_cast<std::size_t>(source)].output_shape; };

  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const FloatLayer& layer = model.layers[i];
    const std::string what = detail::layer_label(layer, i);
    if (!layer.name.empty())
      for (std::size_t j = 0; j < i; ++j)
        detail::require(model.layers[j].name != layer.name, what + ": the name is already used by layer " + std::to_string(j));
    LayerLinks& l = links[i];
    l.input = detail::find_source(model, i, layer.input, what);
    l.input_shape = shape_of(l.input);
    const TensorShape x = l.input_shape;
    l.window = {layer.kernel_h, layer.kernel_w, layer.stride_h, layer.stride_w, layer.padding_h, layer.padding_w};
    switch (layer.op) {
      case LayerOp::linear: {
        detail::require(detail::shape_is(layer.weight, 2), what + ": the weight must have shape [out, in]");
        const std::int64_t out = layer.weight.shape[0], k = layer.weight.shape[1];
        detail::require(x.height == 1 && x.width == 1,
                        what + ": the input " + x.str() + " is not a vector (add a flatten or global_avg_pool first)");
        detail::require(k == x.channels, what + ": the weight has " + std::to_string(k) + " inputs but the layer reads " +
                                             std::to_string(x.channels) + " features");
        detail::require_finite_tensor(layer.weight, what + " weight");
        detail::check_bias_shape(layer, out, what);
        l.output_shape = {static_cast<int>(out), 1, 1};
        break;
      }
      case LayerOp::conv2d: {
        detail::require(detail::shape_is(layer.weight, 4), what + ": the weight must have shape [out, in, kh, kw]");
        const auto& w = layer.weight.shape;
        detail::require(w[1] == x.channels, what + ": the weight has " + std::to_string(w[1]) +
                                                " input channels but the input " + x.str() + " has " +
                                                std::to_string(x.channels));
        l.window.kernel_h = static_cast<int>(w[2]);  // the weight decides the kernel size
        l.window.kernel_w = static_cast<int>(w[3]);
        l.window.check(x, what);
        detail::require_finite_tensor(layer.weight, what + " weight");
        detail::check_bias_shape(layer, w[0], what);
        l.output_shape = l.window.output(x, static_cast<int>(w[0]));
        break;
      }
      case LayerOp::max_pool2d:
      case LayerOp::avg_pool2d:
        l.window.check(x, what);
        detail::require(2 * l.window.padding_h <= l.window.kernel_h && 2 * l.window.padding_w <= l.window.kernel_w,
                        what + ": padding must be at most half the kernel size");
        l.output_shape = l.window.output(x, x.channels);
        break;
      case LayerOp::global_avg_pool:
        l.window = global_window(x);
        l.output_shape = {x.channels, 1, 1};
        break;
      case LayerOp::flatten:
        detail::require(x.size() <= (std::size_t{1} << 30), what + ": too many features");
        l.output_shape = {static_cast<int>(x.size()), 1, 1};
        break;
      case LayerOp::relu:
        l.output_shape = x;
        break;
      case LayerOp::add:
        detail::require(!layer.other.empty(), what + ": an add needs `other`, the name of its second operand");
        l.other = detail::find_source(model, i, layer.other, what);
        detail::require(shape_of(l.other) == x, what + ": the operands have shapes " + x.str() + " and " +
                                                    shape_of(l.other).str());
        l.output_shape = x;
        break;
      default:
        detail::fail(what + ": unknown op");
    }
  }
  return links;
}

}  // namespace rmsmp

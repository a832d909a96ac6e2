// rmsmp/model/model_graph.hpp — checks a FloatModel end to end and works out its data flow
// in the runtime's terms: which tensor each layer reads, the [C, H, W] shape each layer
// produces, and each layer's window. The manifest reader, the float executor and the model
// quantizer all start here, so all accept and refuse exactly the same models.
//
// Everything that must hold before a model can run is checked here once, whoever built the
// model (the manifest reader, a test, user code): unique names, references to earlier layers
// only, weight ranks and shapes against the shapes flowing in, kernel/stride/padding ranges,
// output sizes of at least 1, add operands of equal shape, finite weights, and a class list
// that matches the output. Errors name the layer and the field.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/core/tensor.hpp"
#include "rmsmp/layers/window.hpp"
#include "rmsmp/model/float_model.hpp"

namespace rmsmp {

/// Index of the model input among a layer's sources.
inline constexpr int model_input = -1;

/// One checked layer: its sources (earlier layer indices, or model_input), shapes and window.
struct LayerLinks {
  int input = model_input;  ///< the tensor the layer reads
  int other = model_input;  ///< add only: the second operand
  TensorShape input_shape;
  TensorShape output_shape;
  Window2d window;          ///< conv2d and pools (global_avg_pool: the whole map)
};

/// The name by which a layer's `input` / `other` refers to the model's input.
inline constexpr const char* model_input_name = "input";

inline std::string_view layer_op_name(LayerOp op) {
  switch (op) {
    case LayerOp::linear:
      return "linear";
    case LayerOp::conv2d:
      return "conv2d";
    case LayerOp::relu:
      return "relu";
    case LayerOp::max_pool2d:
      return "max_pool2d";
    case LayerOp::avg_pool2d:
      return "avg_pool2d";
    case LayerOp::global_avg_pool:
      return "global_avg_pool";
    case LayerOp::flatten:
      return "flatten";
    case LayerOp::add:
      return "add";
  }
  return "?";
}

namespace detail {

// Activations are indexed with int throughout the kernels.
inline constexpr std::int64_t max_activation_elements = std::int64_t{1} << 30;

/// A shape while it is being checked: sizes from the file may be huge, so they are computed
/// in 64 bits and become a TensorShape only once checked_shape has bounded them.
struct WideShape {
  std::int64_t channels = 0;
  std::int64_t height = 1;
  std::int64_t width = 1;
  std::int64_t size() const { return channels * height * width; }
};

inline std::string to_string(const WideShape& s) {
  std::string text = "[";  // appended: GCC 12 warns falsely (-Wrestrict) on "[" + std::to_string(...)
  text += std::to_string(s.channels) + ", " + std::to_string(s.height) + ", " + std::to_string(s.width) + "]";
  return text;
}

inline WideShape wide(const TensorShape& s) { return {s.channels, s.height, s.width}; }

inline std::string describe_layer(std::size_t index, const FloatLayer& layer) {
  return "layer " + std::to_string(index) + " '" + layer.name + "' (" + std::string(layer_op_name(layer.op)) + ")";
}

inline std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Output size of a sliding window along one axis (floor mode, as PyTorch).
inline std::int64_t window_output(std::int64_t in, int kernel, int stride, int padding, const std::string& where,
                                  const char* axis) {
  const std::int64_t padded = in + 2 * std::int64_t{padding};
  if (padded < kernel)
    fail(where + ": kernel " + std::to_string(kernel) + " is larger than the padded input " + axis + " " +
         std::to_string(padded));
  return (padded - kernel) / stride + 1;
}

inline void check_tensor(const FloatTensor& t, const std::string& where, const char* field) {
  std::int64_t n = 1;
  for (std::int64_t d : t.shape) {
    if (d < 1) fail(where + ": " + field + " shape " + shape_text(t.shape) + " has an empty dimension");
    if (n > (std::int64_t{1} << 40) / d) fail(where + ": " + field + " shape " + shape_text(t.shape) + " is too large");
    n *= d;
  }
  if (static_cast<std::int64_t>(t.data.size()) != n)
    fail(where + ": " + field + " has " + std::to_string(t.data.size()) + " values but shape " + shape_text(t.shape));
  for (std::size_t i = 0; i < t.data.size(); ++i)
    if (!std::isfinite(t.data[i]))
      fail(where + ": " + field + " value " + std::to_string(i) + " is " + std::to_string(t.data[i]) +
           " (weights must be finite)");
}

inline void check_bias(const FloatLayer& layer, std::int64_t outputs, const std::string& where) {
  if (layer.bias.shape.empty() && layer.bias.data.empty()) return;  // no bias
  check_tensor(layer.bias, where, "bias");
  if (layer.bias.shape.size() != 1 || layer.bias.shape[0] != outputs)
    fail(where + ": bias shape " + shape_text(layer.bias.shape) + " must be [" + std::to_string(outputs) + "]");
}

inline void check_no_weights(const FloatLayer& layer, const std::string& where) {
  if (!layer.weight.shape.empty() || !layer.weight.data.empty() || !layer.bias.shape.empty() || !layer.bias.data.empty())
    fail(where + ": this op has no weight or bias");
}

inline void check_window(const FloatLayer& l, const std::string& where, bool is_pool) {
  if (l.kernel_h < 1 || l.kernel_w < 1) fail(where + ": kernel must be at least 1");
  if (l.stride_h < 1 || l.stride_w < 1) fail(where + ": stride must be at least 1");
  if (l.padding_h < 0 || l.padding_w < 0) fail(where + ": padding must not be negative");
  constexpr int limit = 1 << 16;
  if (l.kernel_h > limit || l.kernel_w > limit || l.stride_h > limit || l.stride_w > limit || l.padding_h > limit ||
      l.padding_w > limit)
    fail(where + ": kernel, stride and padding must be at most 65536");
  // PyTorch's own rule for pools: padding at most half the kernel.
  if (is_pool && (2 * l.padding_h > l.kernel_h || 2 * l.padding_w > l.kernel_w))
    fail(where + ": padding must be at most half the kernel");
}

inline TensorShape checked_shape(const WideShape& s, const std::string& where) {
  if (s.channels < 1 || s.height < 1 || s.width < 1) fail(where + ": output shape " + to_string(s) + " is empty");
  // Each bound keeps the next product inside int64: three sides of 2^30 each pass one by one,
  // and their product (2^90) would overflow before it could be compared.
  if (s.channels > max_activation_elements || s.height > max_activation_elements ||
      s.width > max_activation_elements || s.channels * s.height > max_activation_elements ||
      s.size() > max_activation_elements)
    fail(where + ": output shape " + to_string(s) + " is too large");
  return {static_cast<int>(s.channels), static_cast<int>(s.height), static_cast<int>(s.width)};
}

}  // namespace detail

/// The model's per-sample input shape [C, H, W]: a shape of rank 3, or rank 1 ([N] = [N, 1, 1]).
inline TensorShape model_input_shape(const InputSpec& input) {
  const std::vector<std::int64_t>& s = input.shape;
  if (s.size() != 1 && s.size() != 3)
    fail("model input: shape " + detail::shape_text(s) + " must be [C, H, W] or [N]");
  const TensorShape shape = detail::checked_shape(
      s.size() == 3 ? detail::WideShape{s[0], s[1], s[2]} : detail::WideShape{s[0], 1, 1}, "model input");
  if (!std::isfinite(input.scale) || input.scale == 0.0f || !std::isfinite(input.offset))
    fail("model input: scale must be finite and non-zero, offset finite");
  return shape;
}

inline TensorShape model_input_shape(const FloatModel& model) { return model_input_shape(model.input); }

/// Checks the whole model and returns each layer's links (same order as model.layers).
/// Throws rmsmp::Error naming the layer and the field.
inline std::vector<LayerLinks> check_float_model(const FloatModel& model) {
  using detail::to_string;
  const TensorShape input_shape = model_input_shape(model.input);
  if (model.layers.empty()) fail("the model has no layers");

  std::vector<LayerLinks> flow;
  const auto resolve = [&](const std::string& name, std::size_t index, const std::string& where,
                           const char* field) -> int {
    if (name == model_input_name) return model_input;
    for (std::size_t j = 0; j < index; ++j)
      if (model.layers[j].name == name) return static_cast<int>(j);
    for (std::size_t j = index; j < model.layers.size(); ++j)
      if (model.layers[j].name == name)
        fail(where + ": " + field + " '" + name + "' is not an earlier layer (layers may only read earlier ones)");
    fail(where + ": " + field + " '" + name + "' names no layer");
  };
  const auto shape_of = [&](int source) {
    return source == model_input ? input_shape : flow[static_cast<std::size_t>(source)].output_shape;
  };

  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const FloatLayer& l = model.layers[i];
    const std::string where = detail::describe_layer(i, l);
    if (l.name.empty()) fail("layer " + std::to_string(i) + " has no name");
    if (l.name == model_input_name) fail(where + ": the name 'input' is reserved for the model input");
    for (std::size_t j = 0; j < i; ++j)
      if (model.layers[j].name == l.name) fail(where + ": the name is also used by layer " + std::to_string(j));

    LayerLinks f;
    f.input = l.input.empty() ? static_cast<int>(i) - 1 : resolve(l.input, i, where, "input");
    if (l.op != LayerOp::add && !l.other.empty()) fail(where + ": only add takes 'other'");
    f.input_shape = shape_of(f.input);
    const detail::WideShape in = detail::wide(f.input_shape);
    detail::WideShape out = in;
    switch (l.op) {
      case LayerOp::linear: {
        detail::check_tensor(l.weight, where, "weight");
        if (l.weight.shape.size() != 2) fail(where + ": weight shape " + detail::shape_text(l.weight.shape) + " must be [out, in]");
        if (in.height != 1 || in.width != 1)
          fail(where + ": input " + to_string(in) + " is not a vector; add a flatten layer before it");
        if (l.weight.shape[1] != in.channels)
          fail(where + ": weight shape " + detail::shape_text(l.weight.shape) + " expects " +
               std::to_string(l.weight.shape[1]) + " inputs but its input has " + std::to_string(in.channels));
        detail::check_bias(l, l.weight.shape[0], where);
        out = {l.weight.shape[0], 1, 1};
        break;
      }
      case LayerOp::conv2d: {
        detail::check_tensor(l.weight, where, "weight");
        if (l.weight.shape.size() != 4)
          fail(where + ": weight shape " + detail::shape_text(l.weight.shape) + " must be [out, in, kh, kw]");
        if (l.weight.shape[1] != in.channels)
          fail(where + ": weight shape " + detail::shape_text(l.weight.shape) + " expects " +
               std::to_string(l.weight.shape[1]) + " input channels but its input " + to_string(in) + " has " +
               std::to_string(in.channels));
        if (l.weight.shape[2] != l.kernel_h || l.weight.shape[3] != l.kernel_w)
          fail(where + ": kernel " + std::to_string(l.kernel_h) + "x" + std::to_string(l.kernel_w) +
               " disagrees with the weight shape " + detail::shape_text(l.weight.shape));
        detail::check_window(l, where, false);
        detail::check_bias(l, l.weight.shape[0], where);
        out = {l.weight.shape[0], detail::window_output(in.height, l.kernel_h, l.stride_h, l.padding_h, where, "height"),
               detail::window_output(in.width, l.kernel_w, l.stride_w, l.padding_w, where, "width")};
        break;
      }
      case LayerOp::max_pool2d:
      case LayerOp::avg_pool2d:
        detail::check_no_weights(l, where);
        detail::check_window(l, where, true);
        out = {in.channels, detail::window_output(in.height, l.kernel_h, l.stride_h, l.padding_h, where, "height"),
               detail::window_output(in.width, l.kernel_w, l.stride_w, l.padding_w, where, "width")};
        break;
      case LayerOp::relu:
        detail::check_no_weights(l, where);
        break;
      case LayerOp::global_avg_pool:
        detail::check_no_weights(l, where);
        out = {in.channels, 1, 1};
        break;
      case LayerOp::flatten:
        detail::check_no_weights(l, where);
        out = {in.size(), 1, 1};
        break;
      case LayerOp::add: {
        detail::check_no_weights(l, where);
        if (l.other.empty()) fail(where + ": add needs 'other', the layer to add");
        f.other = resolve(l.other, i, where, "other");
        const TensorShape other = shape_of(f.other);
        if (!(other == f.input_shape))
          fail(where + ": operands have different shapes " + f.input_shape.str() + " and " + other.str());
        break;
      }
      default:
        fail(where + ": unknown op");
    }
    f.output_shape = detail::checked_shape(out, where);
    if (l.op == LayerOp::global_avg_pool)
      f.window = global_window(f.input_shape);
    else if (l.op == LayerOp::conv2d || l.op == LayerOp::max_pool2d || l.op == LayerOp::avg_pool2d)
      f.window = Window2d{l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.padding_h, l.padding_w};
    flow.push_back(f);
  }

  if (!model.class_names.empty()) {
    const TensorShape last = flow.back().output_shape;
    if (last.height != 1 || last.width != 1 || static_cast<std::size_t>(last.channels) != model.class_names.size())
      fail("the model lists " + std::to_string(model.class_names.size()) + " classes but its output is " + last.str());
  }
  return flow;
}

}  // namespace rmsmp

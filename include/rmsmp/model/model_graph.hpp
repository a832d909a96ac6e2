// rmsmp/model/model_graph.hpp — a checked FloatModel (check_float_model) in the runtime's
// terms: which earlier tensor each layer reads, every tensor's shape, each layer's window.
// The float executor and the model quantizer both start here, so both accept and refuse
// exactly the models check_float_model does.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "rmsmp/layers/tensor.hpp"
#include "rmsmp/layers/window.hpp"
#include "rmsmp/model/float_model.hpp"
#include "rmsmp/model/float_model_check.hpp"

namespace rmsmp {

/// Index of the model input among a layer's sources.
inline constexpr int model_input = LayerFlow::model_input;

/// One resolved layer: its sources (layer indices, or model_input), shapes and window.
struct LayerLinks {
  int input = model_input;  ///< the tensor the layer reads
  int other = model_input;  ///< add: the second operand
  TensorShape input_shape;
  TensorShape output_shape;
  Window2d window;          ///< conv2d and pools (global_avg_pool: the whole map)
};

namespace detail {

// check_float_model bounds every size by 2^30, so the shapes fit int.
inline TensorShape tensor_shape(const ActivationShape& s) {
  return {static_cast<int>(s.channels), static_cast<int>(s.height), static_cast<int>(s.width)};
}

inline std::string layer_label(const FloatLayer& layer, std::size_t index) { return describe_layer(index, layer); }

}  // namespace detail

/// The per-sample input shape [C, H, W] (a rank-1 shape [N] is [N, 1, 1]).
inline TensorShape model_input_shape(const FloatModel& model) {
  return detail::tensor_shape(input_activation_shape(model.input));
}

/// check_float_model, then each layer's links. Throws rmsmp::Error naming the layer.
inline std::vector<LayerLinks> resolve_layers(const FloatModel& model) {
  const std::vector<LayerFlow> flow = check_float_model(model);
  std::vector<LayerLinks> links(flow.size());
  for (std::size_t i = 0; i < flow.size(); ++i) {
    const FloatLayer& layer = model.layers[i];
    LayerLinks& l = links[i];
    l.input = flow[i].input;
    l.other = flow[i].other;
    l.input_shape = detail::tensor_shape(flow[i].input_shape);
    l.output_shape = detail::tensor_shape(flow[i].output_shape);
    l.window = layer.op == LayerOp::global_avg_pool
                   ? global_window(l.input_shape)
                   : Window2d{layer.kernel_h, layer.kernel_w, layer.stride_h, layer.stride_w, layer.padding_h, layer.padding_w};
  }
  return links;
}

}  // namespace rmsmp

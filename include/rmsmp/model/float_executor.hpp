// rmsmp/model/float_executor.hpp — runs a FloatModel in plain float: the reference the
// quantized model is measured against (per-layer error), and the source of the calibration
// statistics. Conv2d and Linear are im2col + Eigen float GEMM.
//
// Inputs and outputs are matrices with one column per sample, values in PyTorch's (C, H, W)
// order, already preprocessed (preprocess_input applies the model's InputSpec to raw data).
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/layers/im2col.hpp"
#include "rmsmp/layers/pooling.hpp"
#include "rmsmp/layers/relu.hpp"
#include "rmsmp/layers/residual_add.hpp"
#include "rmsmp/core/tensor.hpp"
#include "rmsmp/model/float_model.hpp"
#include "rmsmp/model/model_graph.hpp"

namespace rmsmp {

/// raw * spec.scale + spec.offset, element by element (e.g. uint8 pixels scaled by 1/255).
inline Eigen::MatrixXf preprocess_input(const Eigen::Ref<const Eigen::MatrixXf>& raw, const InputSpec& spec) {
  return (raw.array() * spec.scale + spec.offset).matrix();
}

namespace detail {

/// A Linear or Conv2d weight as the M x K row-major matrix PyTorch's layout already is.
inline Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> weight_matrix(
    const FloatLayer& layer) {
  const auto M = static_cast<Eigen::Index>(layer.weight.shape[0]);
  return {layer.weight.data.data(), M, static_cast<Eigen::Index>(layer.weight.data.size()) / M};
}

/// out (M x P, channels-last) = W * columns + bias.
inline Tensor<float> float_gemm_layer(const FloatLayer& layer, const float* columns, Eigen::Index P, TensorShape out_shape,
                                      int batch) {
  const auto W = weight_matrix(layer);
  const Eigen::Map<const Eigen::MatrixXf> X(columns, W.cols(), P);
  Tensor<float> out(out_shape, batch);
  Eigen::Map<Eigen::MatrixXf> Y(out.data.data(), W.rows(), P);
  Y.noalias() = W * X;
  if (!layer.bias.data.empty())
    Y.colwise() += Eigen::Map<const Eigen::VectorXf>(layer.bias.data.data(), W.rows());
  return out;
}

}  // namespace detail

/// The columns a Linear or Conv2d layer multiplies (K x P, column-major): the im2col matrix
/// for a conv, the input itself for a linear layer.
inline std::vector<float> float_layer_columns(const FloatLayer& layer, const LayerLinks& links, const Tensor<float>& x) {
  if (layer.op == LayerOp::conv2d) return im2col(x, links.window, 0.0f);
  return x.data;
}

/// Every layer's output for one batch (`links` from check_float_model(model)).
inline std::vector<Tensor<float>> run_float_layers(const FloatModel& model, const std::vector<LayerLinks>& links,
                                                   const Tensor<float>& input) {
  require(links.size() == model.layers.size(), "float executor: the links do not belong to the model");
  require(input.shape == model_input_shape(model),
                  "float executor: the input shape " + input.shape.str() + " does not match the model's " +
                      model_input_shape(model).str());
  std::vector<Tensor<float>> outputs(model.layers.size());
  auto source = [&](int s) -> const Tensor<float>& { return s == model_input ? input : outputs[static_cast<std::size_t>(s)]; };
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const FloatLayer& layer = model.layers[i];
    const LayerLinks& l = links[i];
    const Tensor<float>& x = source(l.input);
    require(x.shape == l.input_shape, "float executor: layer " + std::to_string(i) + " reads " + x.shape.str() +
                                                  ", expected " + l.input_shape.str());
    switch (layer.op) {
      case LayerOp::linear:
      case LayerOp::conv2d: {
        const std::vector<float> cols = float_layer_columns(layer, l, x);
        const auto P = static_cast<Eigen::Index>(l.output_shape.height) * l.output_shape.width * x.batch;
        outputs[i] = detail::float_gemm_layer(layer, cols.data(), P, l.output_shape, x.batch);
        break;
      }
      case LayerOp::relu: outputs[i] = relu(x); break;
      case LayerOp::max_pool2d: outputs[i] = max_pool2d(x, l.window); break;
      case LayerOp::avg_pool2d:
      case LayerOp::global_avg_pool: outputs[i] = avg_pool2d(x, l.window); break;
      case LayerOp::flatten: outputs[i] = flatten(x); break;
      case LayerOp::add: outputs[i] = add(x, source(l.other)); break;
    }
  }
  return outputs;
}

/// The model's output for a batch: one column per sample, (C, H, W) order.
inline Eigen::MatrixXf run_float(const FloatModel& model, const Eigen::Ref<const Eigen::MatrixXf>& inputs) {
  const std::vector<LayerLinks> links = check_float_model(model);
  const Tensor<float> x = from_chw_columns(inputs, model_input_shape(model));
  return to_chw_columns(run_float_layers(model, links, x).back());
}

}  // namespace rmsmp

// rmsmp/model/executor.hpp — runs a QuantizedModel integer-only on a backend of the caller's
// choice: ReferenceBackend (the oracle), CpuBackend<>, or any type with the shared
// backend.gemm(weights, x, pipeline, y) call. All give the same integer outputs.
//
//   ModelExecutor<CpuBackend<>> exec(qmodel);          // packs every layer once (prepare())
//   Eigen::MatrixXf logits = exec.run(inputs);          // columns = samples, (C, H, W) order
//   Evaluation e = evaluate(exec, inputs, labels);      // top-1 accuracy, in batches
//   auto errors = compare_layers(fmodel, exec, inputs); // per-layer error against the float model
//
// The backend is moved in and may be move-only: ModelExecutor<rtl::RtlBackend<P>> runs every
// layer on a Verilated engine, and exec.backend().totals() then holds the engine's cycle
// statistics of everything run so far (rtl/backend.hpp; rtl::why_model_cannot_run says first
// whether the model fits the engine).
//
// The float input is quantized with the model's input parameters; every layer then works on
// codes (im2col, GEMM with bias/requantize/clamp, pools, residual add, ReLU); the output layer
// converts its accumulators with ToFloat (or, if it is not a Linear/Conv2d, its codes are
// dequantized).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/backend.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/reference.hpp"
#include "rmsmp/layers/im2col.hpp"
#include "rmsmp/layers/pooling.hpp"
#include "rmsmp/layers/relu.hpp"
#include "rmsmp/layers/residual_add.hpp"
#include "rmsmp/core/tensor.hpp"
#include "rmsmp/model/float_executor.hpp"
#include "rmsmp/model/quantized_model.hpp"
#include "rmsmp/output/pipeline.hpp"

namespace rmsmp {

/// A backend that packs weights once: backend.prepare(matrix) (CpuBackend).
template <class B>
concept PreparingBackend = requires(const B& b, const MixedRowMatrix<>& m) { b.prepare(m); };

namespace detail {

/// What backend.prepare returns, or std::monostate for a backend that does not prepare.
template <class B>
struct prepared_weights {
  using type = std::monostate;
};
template <PreparingBackend B>
struct prepared_weights<B> {
  using type = decltype(std::declval<const B&>().prepare(std::declval<const MixedRowMatrix<>&>()));
};

}  // namespace detail

/// One layer's output: codes, or float for the output layer of a model ending in Linear/Conv2d.
using LayerOutput = std::variant<QuantizedTensor, Tensor<float>>;

/// The same layer output bit for bit: equal codes, shape and activation parameters, or equal
/// float bytes (what "all backends give identical outputs" means, layer by layer).
inline bool same_bits(const LayerOutput& a, const LayerOutput& b) {
  if (a.index() != b.index()) return false;
  if (const auto* qa = std::get_if<QuantizedTensor>(&a)) {
    const auto& qb = std::get<QuantizedTensor>(b);
    return qa->codes.shape == qb.codes.shape && qa->codes.batch == qb.codes.batch && qa->codes.data == qb.codes.data &&
           qa->params.scale == qb.params.scale && qa->params.zero_point == qb.params.zero_point &&
           qa->params.bits == qb.params.bits;
  }
  const Tensor<float>& fa = std::get<Tensor<float>>(a);
  const Tensor<float>& fb = std::get<Tensor<float>>(b);
  return fa.shape == fb.shape && fa.batch == fb.batch && fa.data.size() == fb.data.size() &&
         (fa.data.empty() || std::memcmp(fa.data.data(), fb.data.data(), fa.data.size() * sizeof(float)) == 0);
}

/// The real values a layer output stands for.
inline Tensor<float> real_values(const LayerOutput& out) {
  if (const auto* q = std::get_if<QuantizedTensor>(&out)) return dequantize_tensor(*q);
  return std::get<Tensor<float>>(out);
}

template <Backend B = ReferenceBackend>
class ModelExecutor {
 public:
  using IntegerPipeline = OutputPipeline<BiasAdd, Requantize, Clamp, SaturatingCast<std::uint8_t>>;
  using FloatPipeline = OutputPipeline<BiasAdd, Clamp, ToFloat>;

  /// Validates the model and prepares every layer. The model must outlive the executor and
  /// stay unchanged (prepared weights point into it).
  explicit ModelExecutor(const QuantizedModel& model, B backend = {})
      : model_(&model), backend_(std::move(backend)) {
    validate(model);
    layers_.resize(model.layers.size());
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      const QuantizedModelLayer& l = model.layers[i];
      if (!l.gemm) continue;
      const QuantizedGemm& g = *l.gemm;
      Prepared& p = layers_[i];
      if (g.float_output())
        p.float_pipeline.emplace(BiasAdd{g.bias}, Clamp{g.clamp_lo, g.clamp_hi}, ToFloat{g.to_float});
      else
        p.integer_pipeline.emplace(BiasAdd{g.bias}, Requantize{g.requantize, l.output.zero_point},
                                   Clamp{g.clamp_lo, g.clamp_hi}, SaturatingCast<std::uint8_t>{});
      if constexpr (PreparingBackend<B>) p.weights.emplace(backend_.prepare(g.weights));
    }
  }
  explicit ModelExecutor(const QuantizedModel&& model, B backend = {}) = delete;  // would dangle

  const QuantizedModel& model() const { return *model_; }
  const B& backend() const { return backend_; }

  /// Every layer's output for a batch of float inputs (channels-last tensor).
  std::vector<LayerOutput> run_layers(const Tensor<float>& input) const {
    const QuantizedModel& m = *model_;
    require(input.shape == m.input_shape(), "run: the input shape " + input.shape.str() +
                                                        " does not match the model's " + m.input_shape().str());
    const QuantizedTensor x = quantize_tensor(input, m.input_params);
    std::vector<LayerOutput> outputs(m.layers.size());
    auto codes = [&](int s) -> const QuantizedTensor& {
      return s == model_input ? x : std::get<QuantizedTensor>(outputs[static_cast<std::size_t>(s)]);
    };
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
      const QuantizedModelLayer& l = m.layers[i];
      if (l.passthrough) {
        outputs[i] = outputs[static_cast<std::size_t>(l.input)];
        continue;
      }
      const QuantizedTensor& a = codes(l.input);
      switch (l.op) {
        case LayerOp::linear:
        case LayerOp::conv2d: outputs[i] = gemm_layer(i, a); break;
        case LayerOp::relu: outputs[i] = relu(a); break;
        case LayerOp::max_pool2d: outputs[i] = max_pool2d(a, l.window); break;
        case LayerOp::avg_pool2d:
        case LayerOp::global_avg_pool: outputs[i] = avg_pool2d(a, l.window); break;
        case LayerOp::flatten: outputs[i] = flatten(a); break;
        case LayerOp::add: outputs[i] = add(a, codes(l.other), l.add, l.output); break;
      }
    }
    return outputs;
  }

  /// The model's output for `inputs` (one column per sample, (C, H, W) order, preprocessed).
  Eigen::MatrixXf run(const Eigen::Ref<const Eigen::MatrixXf>& inputs) const {
    detail::require_finite_samples(inputs, "model input");
    std::vector<LayerOutput> outputs = run_layers(from_chw_columns(inputs, model_->input_shape()));
    return to_chw_columns(real_values(outputs[model_->output_layer()]));
  }

 private:
  struct Prepared {
    std::optional<IntegerPipeline> integer_pipeline;
    std::optional<FloatPipeline> float_pipeline;
    std::optional<typename detail::prepared_weights<B>::type> weights;
  };

  LayerOutput gemm_layer(std::size_t i, const QuantizedTensor& x) const {
    const QuantizedModelLayer& l = model_->layers[i];
    const QuantizedGemm& g = *l.gemm;
    const Prepared& p = layers_[i];
    std::vector<std::uint8_t> columns;
    ActivationView<std::uint8_t> view = x.as_columns();
    if (l.op == LayerOp::conv2d) {
      columns = im2col(x.codes, l.window, static_cast<std::uint8_t>(x.params.zero_point));
      view = {columns.data(), g.weights.cols(),
              static_cast<int>(columns.size() / static_cast<std::size_t>(g.weights.cols())), g.weights.cols(), x.params};
    }
    const int M = g.weights.rows();
    auto call = [&](const auto& pipeline, auto* out) {
      using Out = std::remove_pointer_t<decltype(out)>;
      const OutputView<Out> y{out, M, view.cols, M};
      if constexpr (PreparingBackend<B>)
        backend_.gemm(*p.weights, view, pipeline, y);
      else
        backend_.gemm(g.weights, view, pipeline, y);
    };
    if (g.float_output()) {
      Tensor<float> y(l.output_shape, x.codes.batch);
      call(*p.float_pipeline, y.data.data());
      return y;
    }
    QuantizedTensor y{Tensor<std::uint8_t>(l.output_shape, x.codes.batch), l.output};
    call(*p.integer_pipeline, y.codes.data.data());
    return y;
  }

  const QuantizedModel* model_;
  B backend_;
  std::vector<Prepared> layers_;
};

/// One-off run: builds an executor for `backend` and runs `inputs` through it.
template <Backend B = ReferenceBackend>
Eigen::MatrixXf run(const QuantizedModel& model, const Eigen::Ref<const Eigen::MatrixXf>& inputs, B backend = {}) {
  return ModelExecutor<B>(model, std::move(backend)).run(inputs);
}

/// Index of the largest output of each column (ties: the first).
inline std::vector<int> predicted_classes(const Eigen::Ref<const Eigen::MatrixXf>& outputs) {
  std::vector<int> classes(static_cast<std::size_t>(outputs.cols()));
  for (Eigen::Index n = 0; n < outputs.cols(); ++n) {
    Eigen::Index best = 0;
    outputs.col(n).maxCoeff(&best);
    classes[static_cast<std::size_t>(n)] = static_cast<int>(best);
  }
  return classes;
}

struct Evaluation {
  std::size_t samples = 0;
  std::size_t correct = 0;
  double accuracy() const { return samples == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(samples); }
};

/// Top-1 accuracy over `inputs` (one column per sample), `batch` samples per run; `progress`
/// (optional) is called with (samples done, samples).
template <class Executor>
Evaluation evaluate(const Executor& executor, const Eigen::Ref<const Eigen::MatrixXf>& inputs, std::span<const int> labels,
                    std::size_t batch = 256, const std::function<void(std::size_t, std::size_t)>& progress = {}) {
  require(labels.size() == static_cast<std::size_t>(inputs.cols()),
                  "evaluate: " + std::to_string(labels.size()) + " labels for " + std::to_string(inputs.cols()) + " samples");
  require(batch >= 1, "evaluate: the batch size must be at least 1");
  Evaluation e;
  const auto N = static_cast<std::size_t>(inputs.cols());
  for (std::size_t first = 0; first < N; first += batch) {
    const std::size_t count = std::min(batch, N - first);
    const std::vector<int> predicted = predicted_classes(
        executor.run(inputs.middleCols(static_cast<Eigen::Index>(first), static_cast<Eigen::Index>(count))));
    for (std::size_t n = 0; n < count; ++n) e.correct += predicted[n] == labels[first + n] ? 1 : 0;
    e.samples += count;
    if (progress) progress(e.samples, N);
  }
  return e;
}

/// How far one layer's quantized output is from the float model's.
struct LayerError {
  std::size_t layer = 0;  ///< index in the model
  std::string name;
  LayerOp op = LayerOp::relu;
  double rms_error = 0.0;      ///< sqrt(mean (quantized - float)^2)
  double rms_reference = 0.0;  ///< sqrt(mean float^2)
  double max_abs_error = 0.0;
  double relative() const { return rms_reference == 0.0 ? rms_error : rms_error / rms_reference; }
};

/// Per-layer error of the quantized model (run by `executor`) against `float_model` (the
/// model it was quantized from) on `inputs`. A layer whose ReLU is folded in is reported under
/// the ReLU (its output is the ReLU's).
template <class Executor>
std::vector<LayerError> compare_layers(const FloatModel& float_model, const Executor& executor,
                                       const Eigen::Ref<const Eigen::MatrixXf>& inputs) {
  const QuantizedModel& qm = executor.model();
  const std::vector<LayerLinks> links = check_float_model(float_model);
  require(links.size() == qm.layers.size(), "compare_layers: the models have different layer counts");
  for (std::size_t i = 0; i < links.size(); ++i)
    require(float_model.layers[i].op == qm.layers[i].op && links[i].output_shape == qm.layers[i].output_shape,
                    "compare_layers: layer " + std::to_string(i) + " differs between the float and quantized models");
  const Tensor<float> x = from_chw_columns(inputs, model_input_shape(float_model));
  const std::vector<Tensor<float>> reference = run_float_layers(float_model, links, x);
  const std::vector<LayerOutput> quantized = executor.run_layers(x);
  std::vector<LayerError> errors;
  for (std::size_t i = 0; i < links.size(); ++i) {
    if (qm.layers[i].relu_folded) continue;
    const Tensor<float> q = real_values(quantized[i]);
    LayerError e{i, qm.layers[i].name, qm.layers[i].op};
    double sq = 0.0, ref = 0.0;
    for (std::size_t k = 0; k < q.data.size(); ++k) {
      const double d = static_cast<double>(q.data[k]) - reference[i].data[k];
      sq += d * d;
      ref += static_cast<double>(reference[i].data[k]) * reference[i].data[k];
      e.max_abs_error = std::max(e.max_abs_error, std::fabs(d));
    }
    const double count = static_cast<double>(std::max<std::size_t>(1, q.data.size()));
    e.rms_error = std::sqrt(sq / count);
    e.rms_reference = std::sqrt(ref / count);
    errors.push_back(std::move(e));
  }
  return errors;
}

}  // namespace rmsmp

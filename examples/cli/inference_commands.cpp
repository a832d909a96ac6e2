// rmsmp eval and rmsmp run: a quantized model executed on images, on any backend.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "backends.hpp"
#include "commands.hpp"
#include "json_output.hpp"
#include "progress.hpp"
#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/rmsmp.hpp"
#include "samples.hpp"

namespace rmsmp_cli {

using namespace rmsmp;
using nlohmann::json;

namespace {

/// The float model's accuracy and each layer's error against it, as eval reports them.
struct FloatComparison {
  double accuracy = 0.0;
  long samples = 0;  ///< samples the layer errors are measured on
  std::vector<LayerError> layers;
};

/// The float model's own accuracy on all samples and each layer's error on the first 64.
template <class Executor>
FloatComparison compare_with_float(const FloatModel& fm, const Executor& exec, const Eigen::MatrixXf& x,
                                   const std::vector<int>& labels, std::size_t batch) {
  FloatComparison c;
  std::size_t correct = 0;
  for (Eigen::Index first = 0; first < x.cols(); first += static_cast<Eigen::Index>(batch)) {
    const Eigen::Index count = std::min<Eigen::Index>(static_cast<Eigen::Index>(batch), x.cols() - first);
    const std::vector<int> predicted = predicted_classes(run_float(fm, x.middleCols(first, count)));
    for (Eigen::Index n = 0; n < count; ++n)
      correct += predicted[static_cast<std::size_t>(n)] == labels[static_cast<std::size_t>(first + n)] ? 1 : 0;
  }
  c.accuracy = static_cast<double>(correct) / static_cast<double>(x.cols());
  c.samples = std::min<long>(x.cols(), 64);
  c.layers = compare_layers(fm, exec, x.leftCols(c.samples));
  return c;
}

/// What eval and run take from their options, every value checked.
struct InferenceSettings {
  BackendChoice backend;
  long limit = 0;  ///< 0: every sample
  std::size_t batch = 256;
};

InferenceSettings inference_settings(const Args& a) {
  InferenceSettings s;
  s.limit = a.has("--limit") ? parse_int("--limit", a.get("--limit"), 1, 1L << 30) : 0;
  s.batch = static_cast<std::size_t>(parse_int("--batch", a.get("--batch", "256"), 1, 1 << 20));
  s.backend = backend_choice(a);
  return s;
}

InferenceSettings eval_settings(const Args& a) {
  require_options(a, {"--data", "--labels"});
  return inference_settings(a);
}

InferenceSettings run_settings(const Args& a) {
  require_options(a, {"--data"});
  return inference_settings(a);
}

int run_eval(const Args& a) {
  const InferenceSettings settings = eval_settings(a);
  const std::size_t batch = settings.batch;
  const bool as_json = a.has("--json");
  const QuantizedModel q = load_quantized_model(a.positional[0]);
  const Eigen::MatrixXf x = load_samples(a.get("--data"), q.input, settings.limit);
  const std::vector<int> labels = load_labels(a.get("--labels"), settings.limit);
  if (labels.size() != static_cast<std::size_t>(x.cols()))
    fail(std::to_string(x.cols()) + " images but " + std::to_string(labels.size()) + " labels");
  with_executor(q, settings.backend, [&](const auto& exec) {
    Progress progress("eval", a.has("--quiet"));
    const auto start = std::chrono::steady_clock::now();
    const Evaluation e = evaluate(exec, x, labels, batch, [&](std::size_t done, std::size_t total) { progress.update(done, total); });
    progress.finish();
    const auto wall = std::chrono::steady_clock::now() - start;

    // The engine's statistics are taken before the float comparison, which runs the
    // executor again on a few samples.
    json report;
    if (as_json) {
      report = {{"command", "eval"},
                {"model", a.positional[0]},
                {"samples", e.samples},
                {"correct", e.correct},
                {"accuracy", e.accuracy()},
                {"seconds", std::chrono::duration<double>(wall).count()},
                {"float_model", nullptr},
                {"float_accuracy", nullptr},
                {"layer_samples", nullptr},
                {"layers", nullptr}};
      add_backend_json(report, exec, e.samples, wall);
    } else {
      std::printf("accuracy: %.2f%% (%zu of %zu)\n", 100.0 * e.accuracy(), e.correct, e.samples);
      print_engine_statistics(exec, e.samples, wall);
    }

    const std::string float_dir = a.get("--float", q.source);
    const bool float_found = !float_dir.empty() && std::filesystem::exists(float_dir);
    std::optional<FloatComparison> comparison;
    if (!a.has("--no-layers") && float_found) comparison = compare_with_float(load_float_model(float_dir), exec, x, labels, batch);

    if (as_json) {
      if (comparison) {
        report["float_model"] = float_dir;
        report["float_accuracy"] = comparison->accuracy;
        report["layer_samples"] = comparison->samples;
        json layers = json::array();
        for (const LayerError& le : comparison->layers)
          layers.push_back({{"index", le.layer},
                            {"name", le.name},
                            {"op", std::string(layer_op_name(le.op))},
                            {"relative_rms_error", le.relative()},
                            {"rms_error", le.rms_error},
                            {"max_abs_error", le.max_abs_error}});
        report["layers"] = std::move(layers);
      }
      print_json(report);
      return;
    }
    if (a.has("--no-layers")) return;
    if (!comparison) {
      std::printf("per-layer error: skipped (float model not found; pass --float <model-dir>)\n");
      return;
    }
    std::printf("float model accuracy: %.2f%%\n", 100.0 * comparison->accuracy);
    std::printf("per-layer error against the float model (%ld samples):\n", comparison->samples);
    std::printf("  %-4s %-20s %-16s %12s %12s\n", "#", "layer", "op", "rel. RMS", "max |err|");
    for (const LayerError& le : comparison->layers)
      std::printf("  %-4zu %-20s %-16s %11.3f%% %12.4g\n", le.layer, le.name.c_str(), std::string(layer_op_name(le.op)).c_str(),
                  100.0 * le.relative(), le.max_abs_error);
  });
  return 0;
}

int run_run(const Args& a) {
  const InferenceSettings settings = run_settings(a);
  const std::size_t batch = settings.batch;
  const bool as_json = a.has("--json");
  const QuantizedModel q = load_quantized_model(a.positional[0]);
  const Eigen::MatrixXf x = load_samples(a.get("--data"), q.input, settings.limit);
  with_executor(q, settings.backend, [&](const auto& exec) {
    Progress progress("run", a.has("--quiet"));
    const auto start = std::chrono::steady_clock::now();
    Eigen::MatrixXf y;
    for (Eigen::Index first = 0; first < x.cols(); first += static_cast<Eigen::Index>(batch)) {
      const Eigen::Index count = std::min<Eigen::Index>(static_cast<Eigen::Index>(batch), x.cols() - first);
      const Eigen::MatrixXf part = exec.run(x.middleCols(first, count));
      if (y.size() == 0) y.resize(part.rows(), x.cols());
      y.middleCols(first, count) = part;
      progress.update(static_cast<std::size_t>(first + count), static_cast<std::size_t>(x.cols()));
    }
    progress.finish();
    const auto wall = std::chrono::steady_clock::now() - start;
    const auto samples = static_cast<std::size_t>(x.cols());
    if (a.has("--output")) {
      const std::vector<float> values(y.data(), y.data() + y.size());  // column n = sample n: C order [N, outputs]
      write_npy(a.get("--output"), NdArray::from_values<float>({y.cols(), y.rows()}, values));
    }
    const std::vector<int> classes = predicted_classes(y);

    if (as_json) {
      json report = {{"command", "run"},
                     {"model", a.positional[0]},
                     {"samples", samples},
                     {"outputs", y.rows()},
                     {"seconds", std::chrono::duration<double>(wall).count()},
                     {"output_file", a.has("--output") ? json(a.get("--output")) : json(nullptr)},
                     {"predicted_classes", classes},
                     {"class_names", q.class_names}};
      add_backend_json(report, exec, samples, wall);
      print_json(report);
      return;
    }

    if (a.has("--output")) {
      std::printf("wrote %ld x %ld outputs to %s\n", static_cast<long>(y.cols()), static_cast<long>(y.rows()), a.get("--output").c_str());
    } else {
      for (std::size_t n = 0; n < classes.size(); ++n) {
        const auto c = static_cast<std::size_t>(classes[n]);
        std::printf("%zu %d%s%s\n", n, classes[n], c < q.class_names.size() ? " " : "",
                    c < q.class_names.size() ? q.class_names[c].c_str() : "");
      }
    }
    print_engine_statistics(exec, samples, wall);
  });
  return 0;
}

std::vector<OptionSpec> with_backend_options(std::vector<OptionSpec> options) {
  const std::vector<OptionSpec> shared = backend_options();
  options.insert(options.end(), shared.begin(), shared.end());
  options.push_back(json_option);
  return options;
}

}  // namespace

Command eval_command() {
  return {{"eval",
           "eval <model.rmsmp> --data <images> --labels <labels> [options]",
           "Runs the quantized model on the images and prints its top-1 accuracy, then each layer's\n"
           "error against the float model it was quantized from.",
           {"<model.rmsmp>"},
           with_backend_options({{"--data", "<images>", "images: .npy or IDX, [N, ...]"},
                                 {"--labels", "<labels>", "labels: .npy or IDX, [N]"},
                                 {"--float", "<model-dir>", "the float model (default: the directory recorded at quantization)"},
                                 {"--no-layers", "", "skip the per-layer error report"}})},
          run_eval,
          [](const Args& a) { (void)eval_settings(a); }};
}

Command run_command() {
  return {{"run",
           "run <model.rmsmp> --data <images> [options]",
           "Runs the quantized model on the images and prints each sample's predicted class\n"
           "(or, with --output, writes the outputs as a float32 .npy [N, outputs]).",
           {"<model.rmsmp>"},
           with_backend_options({{"--data", "<images>", "images: .npy or IDX, [N, ...]"},
                                 {"--output", "<file.npy>", "write the raw outputs here instead of printing classes"}})},
          run_run,
          [](const Args& a) { (void)run_settings(a); }};
}

}  // namespace rmsmp_cli

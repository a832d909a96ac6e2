// rmsmp demo: two trained Fashion-MNIST models (examples/models), quantized row by row with
// single-scheme baselines and with the 60/35/5 mix under the papers' and the optimal row
// assignment, with and without error compensation; one table of test accuracies with 8-bit
// and 4-bit activations, bits per weight and the share of multiply-free rows; then a batch of
// test images through each 60/35/5 model on the Verilated RTL engine (when built), every
// layer compared byte for byte with the CPU backend.
//
//   rmsmp_demo [--models <dir>] [--data <dir>] [--calib <n>] [--threads <n>] [--limit <n>]
//              [--rtl-images <n>]
//
// Every row of the table is one quantize_model call (reproducible with `rmsmp quantize`);
// the weights of a configuration are quantized once and serve both activation widths, since
// the weight quantizer only sees float calibration activations.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/idx.hpp"
#include "rmsmp/rmsmp.hpp"

#ifdef RMSMP_DEMO_WITH_RTL  // rtl/CMakeLists.txt defines it when it links the Verilated engines
#include "rmsmp_rtl_engines.hpp"
#endif

#ifndef RMSMP_DEMO_MODELS
#define RMSMP_DEMO_MODELS "examples/models"
#endif

namespace {

using namespace rmsmp;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* default_data = "/usr/share/datasets/fashion-mnist";
const char* const model_names[] = {"fashion_cnn", "fashion_mlp"};

struct DemoOptions {
  fs::path models = RMSMP_DEMO_MODELS;
  fs::path data = default_data;
  int calibration_images = 512;
  int threads = 2;
  long test_limit = 0;  ///< 0: the whole test set
  int rtl_images = 64;  ///< test images per model on the RTL engine
};

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: rmsmp_demo [options]\n\n"
               "Quantizes the trained Fashion-MNIST models row by row (single schemes and the 60/35/5\n"
               "mix under the papers' and the optimal assignment, with and without error compensation)\n"
               "and prints one table of test accuracies with 8-bit and 4-bit activations.\n\n"
               "options:\n"
               "  --models <dir>    the float models (default %s)\n"
               "  --data <dir>      Fashion-MNIST IDX files (default %s)\n"
               "  --calib <n>       calibration images: the first n training images (default 512)\n"
               "  --threads <n>     evaluation threads, each on its own slice of the test set (default 2)\n"
               "  --limit <n>       evaluate only the first n test images (default: all 10,000)\n"
               "  --rtl-images <n>  test images each 60/35/5 model runs on the Verilated RTL engine,\n"
               "                    compared with the CPU backend layer by layer (default 64)\n"
               "  -h, --help        print this help\n",
               RMSMP_DEMO_MODELS, default_data);
}

int parse_count(const std::string& option, const char* text, long hi) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < 1 || v > hi) {
    std::fprintf(stderr, "rmsmp_demo: %s: '%s' is not a whole number in [1, %ld]\n", option.c_str(), text, hi);
    std::exit(2);
  }
  return static_cast<int>(v);
}

std::optional<DemoOptions> parse_options(int argc, char** argv) {
  DemoOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      print_usage(stdout);
      return std::nullopt;
    }
    if (i + 1 >= argc || (arg != "--models" && arg != "--data" && arg != "--calib" && arg != "--threads" && arg != "--limit" &&
                          arg != "--rtl-images")) {
      std::fprintf(stderr, "rmsmp_demo: %s '%s'\n\n", i + 1 >= argc ? "missing value or unknown option" : "unknown option",
                   arg.c_str());
      print_usage(stderr);
      std::exit(2);
    }
    const char* value = argv[++i];
    if (arg == "--models") o.models = value;
    else if (arg == "--data") o.data = value;
    else if (arg == "--calib") o.calibration_images = parse_count(arg, value, 60000);
    else if (arg == "--threads") o.threads = parse_count(arg, value, 256);
    else if (arg == "--rtl-images") o.rtl_images = parse_count(arg, value, 10000);
    else o.test_limit = parse_count(arg, value, 10000);
  }
  return o;
}

// ----- data -----------------------------------------------------------------------------------

struct Images {
  Eigen::MatrixXf pixels;  ///< raw 0..255 values, one 28 x 28 image per column
  std::vector<int> labels;
};

/// The first `limit` (0: all) images and labels of one IDX pair.
Images load_images(const fs::path& dir, const std::string& prefix, long limit) {
  const fs::path images_file = dir / (prefix + "-images-idx3-ubyte.gz");
  const fs::path labels_file = dir / (prefix + "-labels-idx1-ubyte.gz");
  for (const fs::path& p : {images_file, labels_file})
    if (!fs::exists(p))
      fail("Fashion-MNIST not found: " + p.string() +
                   " is missing (install the Debian package dataset-fashion-mnist, or pass --data <dir>)");
  const NdArray images = read_idx(images_file);
  const NdArray labels = read_idx(labels_file);
  require(images.type == ElementType::uint8 && images.shape.size() == 3 && images.shape[1] == 28 && images.shape[2] == 28,
                  images_file.string() + ": expected uint8 images [N, 28, 28], got " + shape_string(images.shape));
  require(labels.type == ElementType::uint8 && labels.shape.size() == 1 && labels.shape[0] == images.shape[0],
                  labels_file.string() + ": expected one uint8 label per image");
  const std::int64_t n = limit > 0 ? std::min<std::int64_t>(limit, images.shape[0]) : images.shape[0];
  const std::vector<std::uint8_t> pixels = images.values<std::uint8_t>();
  const std::vector<std::uint8_t> classes = labels.values<std::uint8_t>();
  Images out;
  out.pixels = Eigen::Map<const Eigen::Matrix<std::uint8_t, 784, Eigen::Dynamic>>(pixels.data(), 784, n).cast<float>();
  out.labels.assign(classes.begin(), classes.begin() + n);
  return out;
}

// ----- configurations -------------------------------------------------------------------------

struct Configuration {
  std::string weights;  ///< what the rows hold
  std::string rule;     ///< how rows were assigned ("" for a single scheme)
  DynamicRowMix mix;
  LayerQuantizerOptions layer;
};

SchemeId scheme(const char* name) { return *parse_scheme(name); }

std::vector<Configuration> configurations() {
  std::vector<Configuration> out;
  for (const char* single : {"fixed8", "fixed4", "pot4", "sp2_4"}) {
    const SchemeId id = scheme(single);
    out.push_back({"all " + display_name(id), "", DynamicRowMix({{id, 100}}), {}});
  }
  for (const char* shift : {"pot4", "sp2_4"}) {
    const SchemeId low = scheme(shift);
    const DynamicRowMix mix({{low, 60}, {scheme("fixed4"), 35}, {scheme("fixed8"), 5}});
    const std::string name = "60/35/5 " + display_name(low) + "/Fixed-4/Fixed-8";
    LayerQuantizerOptions papers, optimal, compensated;
    papers.rule = AssignmentRule::papers;
    optimal.rule = AssignmentRule::optimal;
    compensated.rule = AssignmentRule::optimal;
    compensated.compensate = true;
    out.push_back({name, "papers", mix, papers});
    out.push_back({name, "optimal", mix, optimal});
    out.push_back({name, "optimal + compensation", mix, compensated});
  }
  return out;
}

/// The layer quantizer, run once per layer: later quantize_model calls of the same
/// configuration (other activation widths) reuse its matrices.
WeightQuantizer quantize_once(const LayerQuantizerOptions& options) {
  auto done = std::make_shared<std::map<std::string, MixedRowMatrix<>>>();
  WeightQuantizer quantize = hessian_weight_quantizer(options);
  return [done, quantize](const LayerContext& ctx) {
    const std::string key(ctx.layer);
    auto it = done->find(key);
    if (it == done->end()) it = done->emplace(key, quantize(ctx)).first;
    return it->second;
  };
}

struct WeightSummary {
  double bits_per_weight = 0.0;
  double multiply_free_rows = 0.0;  ///< share of all rows
};

WeightSummary summarize(const QuantizedModel& q) {
  double bits = 0.0, weights = 0.0, rows = 0.0, free_rows = 0.0;
  for (const QuantizedModelLayer& l : q.layers) {
    if (!l.gemm) continue;
    const MixedRowMatrix<>& m = l.gemm->weights;
    const double count = static_cast<double>(m.rows()) * m.cols();
    bits += m.bits_per_weight() * count;
    weights += count;
    rows += m.rows();
    for (const RowGroup& g : m.groups())
      if (g.codebook().multiply_free) free_rows += static_cast<double>(g.rows());
  }
  return {bits / weights, free_rows / rows};
}

// ----- the table ------------------------------------------------------------------------------

void print_rule() { std::printf("%s\n", std::string(114, '-').c_str()); }

std::string format(const char* format, double value) {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string percent(double share) { return format("%.2f%%", 100.0 * share); }

void print_row(const std::string& model, const std::string& weights, const std::string& rule, const std::string& bits,
               const std::string& free, const std::string& act8, const std::string& act4) {
  std::printf("%-12s %-31s %-23s %7s %10s %11s %11s\n", model.c_str(), weights.c_str(), rule.c_str(), bits.c_str(), free.c_str(),
              act8.c_str(), act4.c_str());
  std::fflush(stdout);
}

/// Top-1 accuracy of `predict` (columns -> outputs) over `x`, the columns split into one
/// contiguous slice per thread: the executor's layers other than the GEMMs (im2col, pooling,
/// requantization) run on one thread per call, so slicing the test set is what fills the cores.
template <class Predict>
double parallel_accuracy(int threads, const Eigen::MatrixXf& x, const std::vector<int>& labels, const Predict& predict) {
  const Eigen::Index n = x.cols(), slice = (n + threads - 1) / threads;
  std::vector<std::size_t> correct(static_cast<std::size_t>(threads), 0);
  std::vector<std::exception_ptr> failure(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      try {
        const Eigen::Index first = std::min(n, t * slice), end = std::min(n, first + slice);
        constexpr Eigen::Index batch = 500;
        for (Eigen::Index b = first; b < end; b += batch) {
          const Eigen::Index count = std::min(batch, end - b);
          const std::vector<int> predicted = predicted_classes(predict(x.middleCols(b, count)));
          for (Eigen::Index i = 0; i < count; ++i)
            if (predicted[static_cast<std::size_t>(i)] == labels[static_cast<std::size_t>(b + i)]) ++correct[static_cast<std::size_t>(t)];
        }
      } catch (...) {
        failure[static_cast<std::size_t>(t)] = std::current_exception();
      }
    });
  for (std::thread& w : workers) w.join();
  for (const std::exception_ptr& f : failure)
    if (f) std::rethrow_exception(f);
  std::size_t total = 0;
  for (std::size_t c : correct) total += c;
  return static_cast<double>(total) / static_cast<double>(n);
}

/// A quantized model kept for the RTL batch run below.
struct KeptModel {
  std::string name;
  std::unique_ptr<QuantizedModel> model;
};

/// One model's rows of the table; returns its 60/35/5 models (8-bit activations) for later runs.
std::vector<KeptModel> evaluate_model(const std::string& name, const FloatModel& model, const Images& calibration,
                                      const Images& test, int threads) {
  const Eigen::MatrixXf calib = preprocess_input(calibration.pixels, model.input);
  const Eigen::MatrixXf x = preprocess_input(test.pixels, model.input);
  print_row(name, "float32", "", "32", "0%", percent(parallel_accuracy(threads, x, test.labels, [&](const Eigen::MatrixXf& batch) { return run_float(model, batch); })), "");
  std::vector<KeptModel> kept;
  for (const Configuration& c : configurations()) {
    QuantizeOptions options;
    options.weights = quantize_once(c.layer);
    double accuracy[2] = {0.0, 0.0};
    WeightSummary summary;
    for (int i = 0; i < 2; ++i) {
      options.activation_bits = i == 0 ? 8 : 4;
      auto q = std::make_unique<QuantizedModel>(quantize_model(model, calib, c.mix, options));
      const ModelExecutor<CpuBackend<>> executor(*q);
      accuracy[i] = parallel_accuracy(threads, x, test.labels, [&](const Eigen::MatrixXf& batch) { return executor.run(batch); });
      summary = summarize(*q);
      if (i == 0 && c.mix.scheme_count() > 1) kept.push_back({name + " " + c.weights + ", " + c.rule, std::move(q)});
    }
    print_row(name, c.weights, c.rule, format("%.2f", summary.bits_per_weight), format("%.0f%%", 100.0 * summary.multiply_free_rows),
              percent(accuracy[0]), percent(accuracy[1]));
  }
  return kept;
}

// ----- RTL backend batch run ------------------------------------------------------------------

#ifdef RMSMP_DEMO_WITH_RTL
/// Runs `images` through the model on the CPU backend and on a Verilated engine, layer by
/// layer, and prints whether every layer's output is the same bytes, with the engine's cycles.
/// Runs `images` through the model on the CPU backend and on a Verilated engine, layer by
/// layer, and prints whether every layer's output is the same bytes, with the engine's cycles.
template <rtl::EngineParams Params>
void run_on_engine(const char* engine_name, const KeptModel& kept, const Eigen::MatrixXf& images,
                   std::unique_ptr<rtl::Simulator> simulator) {
  using Backend = rtl::RtlBackend<Params>;
  const QuantizedModel& q = *kept.model;
  const Tensor<float> input = from_chw_columns(images, q.input_shape());
  const std::vector<LayerOutput> cpu = ModelExecutor<CpuBackend<>>(q).run_layers(input);
  const auto start = Clock::now();
  const ModelExecutor<Backend> engine(q, Backend(std::move(simulator)));
  const std::vector<LayerOutput> rtl = engine.run_layers(input);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::size_t equal_layers = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) equal_layers += same_bits(cpu[i], rtl[i]) ? 1 : 0;
  const rtl::RunStatistics& s = engine.backend().totals();
  std::printf("%-66s %6s %5s %11llu %9.0f %7d %7.1f%% %7.1f s\n", kept.name.c_str(), engine_name,
              equal_layers == cpu.size() ? "yes" : "NO", static_cast<unsigned long long>(s.cycles),
              static_cast<double>(s.cycles) / static_cast<double>(images.cols()), s.k_chunks, 100.0 * s.lane_utilization, seconds);
  std::fflush(stdout);
  if (equal_layers != cpu.size())
    throw Error(kept.name + ": the RTL engine's outputs differ from the CPU backend's in " +
                std::to_string(cpu.size() - equal_layers) + " layers");
}

/// Where a batch of test images runs through the Verilated RTL backend for each kept model,
/// checked byte for byte against the CPU backend's outputs of every layer.
void rtl_backend_batch_run(const std::vector<KeptModel>& models, const Images& test, int images) {
  const auto count = std::min<Eigen::Index>(images, test.pixels.cols());
  std::printf("\nThe 60/35/5 models with 8-bit activations on the Verilated RTL engine (rtl/), first %lld test images:\n"
              "engine a8: %s.\n"
              "'same' = every layer's output (codes, and the float logits) is the same bytes as on the CPU backend;\n"
              "cycles = streaming cycles on the engine (weight loading excluded), K chunks = engine runs of the GEMMs.\n\n",
              static_cast<long long>(count), rtl::describe(rtl::engines::a8).c_str());
  std::printf("%-66s %6s %5s %11s %9s %7s %8s %9s\n", "model", "engine", "same", "cycles", "per image", "chunks", "lanes", "sim time");
  for (const KeptModel& kept : models) {
    const Eigen::MatrixXf x = preprocess_input(test.pixels.leftCols(count), kept.model->input);
    const std::string why = rtl::why_model_cannot_run(*kept.model, rtl::engines::a8);
    if (!why.empty()) throw Error(kept.name + ": the a8 engine cannot run it: " + why);
    run_on_engine<rtl::engines::a8>("a8", kept, x, rtl::engines::make_a8());
  }
}
#else
void rtl_backend_batch_run(const std::vector<KeptModel>&, const Images&, int) {
  std::printf("\nRTL batch run skipped: this build has no Verilated engines (configure with -DRMSMP_BUILD_RTL=ON; "
              "needs Verilator 5).\n");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::optional<DemoOptions> options = parse_options(argc, argv);
    if (!options) return 0;
    const auto start = Clock::now();
    std::vector<std::pair<std::string, FloatModel>> models;
    for (const char* name : model_names) models.emplace_back(name, load_float_model(options->models / name));
    const Images calibration = load_images(options->data, "train", options->calibration_images);
    const Images test = load_images(options->data, "t10k", options->test_limit);
    const CpuBackend<> backend;

    std::printf("rmsmp demo: row-wise mixed-scheme quantization of two trained Fashion-MNIST models\n");
    std::printf("models:      %s (fashion_cnn, fashion_mlp)\n", options->models.string().c_str());
    std::printf("data:        %s\n", options->data.string().c_str());
    std::printf("calibration: the first %ld training images (activation ranges: max; weights: Hessian of the\n"
                "             layer inputs on them, Hessian-weighted row scales)\n",
                static_cast<long>(calibration.labels.size()));
    std::printf("test:        %ld test images, top-1 accuracy; the model input is 8-bit in both columns\n",
                static_cast<long>(test.labels.size()));
    std::printf("backend:     CpuBackend (%s kernel); the test images split over %d threads\n\n",
                std::string(cpu::arch_name(backend.arch())).c_str(), options->threads);
    print_row("model", "weights", "row assignment", "bits/w", "mult-free", "acts 8-bit", "acts 4-bit");
    print_rule();

    std::vector<KeptModel> kept;
    for (const auto& [name, model] : models) {
      std::vector<KeptModel> k = evaluate_model(name, model, calibration, test, options->threads);
      for (KeptModel& m : k) kept.push_back(std::move(m));
      print_rule();
    }
    std::printf("bits/w: code bits per weight over all layers; mult-free: share of rows in PoT/SP2 schemes\n"
                "(shifts instead of multiplies).\n");

    rtl_backend_batch_run(kept, test, options->rtl_images);

    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("\nwall time: %.0f s\n", seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rmsmp_demo: %s\n", e.what());
    return 1;
  }
}

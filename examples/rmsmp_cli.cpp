// rmsmp — the command-line tool: quantize a float model directory, evaluate, run, inspect.
//
//   rmsmp quantize <model-dir> --mix pot4:60,fixed4:35,fixed8:5 --calib <images> -o model.rmsmp
//   rmsmp eval model.rmsmp --data <images> --labels <labels> [--float <model-dir>]
//   rmsmp run model.rmsmp --data <images>
//   rmsmp info model.rmsmp
//
// Images and labels are .npy arrays or IDX files (gzip or not). Exit status: 0 success,
// 1 a file or model was refused, 2 bad command line.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rmsmp/io/array_file.hpp"
#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/rmsmp.hpp"
#ifdef RMSMP_CLI_WITH_RTL  // rtl/CMakeLists.txt defines it when it links the Verilated engines
#include "rmsmp_rtl_engines.hpp"
#endif

namespace {

using namespace rmsmp;

/// A command-line mistake: printed with the command's usage, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ----- arguments ------------------------------------------------------------------------------

struct OptionSpec {
  std::string name;  ///< "--mix"
  std::string value; ///< "" for a flag, else the value's placeholder
  std::string help;
};

struct CommandSpec {
  std::string name;
  std::string synopsis;
  std::string description;
  std::vector<std::string> positional;  ///< names of required positional arguments
  std::vector<OptionSpec> options;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool has(const std::string& o) const { return options.count(o) != 0; }
  std::string get(const std::string& o, const std::string& fallback = {}) const {
    const auto it = options.find(o);
    return it == options.end() ? fallback : it->second;
  }
};

void print_help(const CommandSpec& c, std::ostream& out) {
  out << "usage: rmsmp " << c.synopsis << "\n\n" << c.description << "\n";
  if (!c.options.empty()) out << "\noptions:\n";
  for (const OptionSpec& o : c.options) {
    std::string left = "  " + o.name + (o.value.empty() ? "" : " " + o.value);
    if (left.size() < 28) left.resize(28, ' ');
    else left += "\n" + std::string(28, ' ');
    out << left << o.help << "\n";
  }
  out << "  -h, --help                print this help\n";
}

/// Parses argv against the spec; returns nullopt after printing --help.
std::optional<Args> parse_args(const CommandSpec& c, const std::vector<std::string>& argv) {
  Args a;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s == "-h" || s == "--help") {
      print_help(c, std::cout);
      return std::nullopt;
    }
    if (s.size() > 1 && s[0] == '-') {
      std::string name = s, value;
      const auto eq = s.find('=');
      if (eq != std::string::npos) {
        name = s.substr(0, eq);
        value = s.substr(eq + 1);
      }
      const auto spec = std::find_if(c.options.begin(), c.options.end(), [&](const OptionSpec& o) { return o.name == name; });
      if (spec == c.options.end()) throw UsageError("unknown option " + name);
      if (a.has(name)) throw UsageError("option " + name + " given twice");
      if (spec->value.empty()) {
        if (eq != std::string::npos) throw UsageError("option " + name + " takes no value");
      } else if (eq == std::string::npos) {
        if (i + 1 >= argv.size()) throw UsageError("option " + name + " needs a value " + spec->value);
        value = argv[++i];
      }
      a.options[name] = value;
    } else {
      a.positional.push_back(s);
    }
  }
  if (a.positional.size() < c.positional.size()) throw UsageError("missing " + c.positional[a.positional.size()]);
  if (a.positional.size() > c.positional.size()) throw UsageError("unexpected argument '" + a.positional[c.positional.size()] + "'");
  return a;
}

long parse_int(const std::string& option, const std::string& text, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    throw UsageError(option + ": '" + text + "' is not a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

double parse_real(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw UsageError(option + ": '" + text + "' is not a number");
  return v;
}

/// A bad --mix is a usage error: the message names the option.
DynamicRowMix parse_mix(const std::string& text) {
  try {
    return parse_row_mix(text);
  } catch (const Error& e) {
    throw UsageError(std::string("--mix: ") + e.what());
  }
}

// ----- progress -------------------------------------------------------------------------------

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label, bool quiet) : label_(std::move(label)), enabled_(!quiet && isatty(2) == 1) {}
  ~ProgressBar() { finish(); }
  void update(std::size_t done, std::size_t total) {
    if (!enabled_ || total == 0) return;
    const int width = 30;
    const auto filled = static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * width);
    std::fprintf(stderr, "\r%-10s [%s%s] %3d%% (%zu/%zu)", label_.c_str(), std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)), done, total);
    std::fflush(stderr);
    drawn_ = true;
  }
  void finish() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

// ----- data -----------------------------------------------------------------------------------

std::vector<float> as_floats(const NdArray& a) {
  switch (a.type) {
    case ElementType::float32: return a.values<float>();
    case ElementType::uint8: { const auto v = a.values<std::uint8_t>(); return {v.begin(), v.end()}; }
    case ElementType::int8: { const auto v = a.values<std::int8_t>(); return {v.begin(), v.end()}; }
    default: fail("images must be float32, uint8 or int8, not " + std::string(element_type_name(a.type)));
  }
}

/// Samples as preprocessed columns: the array is [N, ...] with C*H*W values per sample.
Eigen::MatrixXf load_samples(const std::string& path, const InputSpec& spec, long limit) {
  const NdArray a = read_array_file(path);
  std::int64_t per_sample = 1;
  for (std::int64_t d : spec.shape) per_sample *= d;
  if (a.shape.empty() || a.shape[0] < 1) fail(path + ": expected an array of samples [N, ...], got shape " + shape_string(a.shape));
  const std::int64_t n = a.shape[0];
  if (a.element_count() != n * per_sample)
    fail(path + ": " + std::to_string(a.element_count() / n) + " values per sample, the model takes " +
                 std::to_string(per_sample) + " (" + shape_string(spec.shape) + ")");
  const std::vector<float> values = as_floats(a);
  const std::int64_t count = limit > 0 ? std::min<std::int64_t>(n, limit) : n;
  const Eigen::Map<const Eigen::MatrixXf> raw(values.data(), per_sample, count);
  return preprocess_input(raw, spec);
}

std::vector<int> load_labels(const std::string& path, long limit) {
  const NdArray a = read_array_file(path);
  if (a.shape.size() != 1) fail(path + ": labels must be a 1-D array, got shape " + shape_string(a.shape));
  std::vector<int> labels;
  switch (a.type) {
    case ElementType::uint8: for (auto v : a.values<std::uint8_t>()) labels.push_back(v); break;
    case ElementType::int32: for (auto v : a.values<std::int32_t>()) labels.push_back(v); break;
    case ElementType::int64:
      for (auto v : a.values<std::int64_t>()) {
        if (v < 0 || v > (1 << 30)) fail(path + ": label " + std::to_string(v) + " is out of range");
        labels.push_back(static_cast<int>(v));
      }
      break;
    default: fail(path + ": labels must be uint8, int32 or int64, not " + std::string(element_type_name(a.type)));
  }
  if (limit > 0 && static_cast<long>(labels.size()) > limit) labels.resize(static_cast<std::size_t>(limit));
  return labels;
}

// ----- backends -------------------------------------------------------------------------------

const std::vector<OptionSpec> backend_options = {
    {"--backend", "<name>", "cpu (default), reference, or rtl (the Verilated RTL engine, cycle statistics\n"
                            "                            after the results): all give identical results"},
    {"--threads", "<n>", "threads per layer on the cpu backend (default 1)"},
    {"--batch", "<n>", "samples per run (default 256)"},
    {"--limit", "<n>", "use only the first n samples"},
    {"--quiet", "", "no progress bar"},
};

/// Calls f(executor) with the backend the options name.
template <class F>
void with_executor(const QuantizedModel& model, const Args& a, F&& f) {
  const std::string backend = a.get("--backend", "cpu");
  const int threads = static_cast<int>(parse_int("--threads", a.get("--threads", "1"), 1, 256));
  if (backend == "cpu") {
    f(ModelExecutor<CpuBackend<>>(model, CpuBackend<>(cpu::Threads{threads})));
  } else if (backend == "reference") {
    if (a.has("--threads")) throw UsageError("--threads applies to the cpu backend only");
    f(ModelExecutor<ReferenceBackend>(model));
  } else if (backend == "rtl") {
    if (a.has("--threads")) throw UsageError("--threads applies to the cpu backend only");
#ifdef RMSMP_CLI_WITH_RTL
    // Each engine takes one activation width (a8: 8-bit, b4: 4-bit) and has lanes for some
    // schemes: the first engine that runs the model is the one.
    using rtl::engines::a8;
    using rtl::engines::b4;
    const std::string why_not_a8 = rtl::why_model_cannot_run(model, a8);
    if (why_not_a8.empty()) return f(ModelExecutor<rtl::RtlBackend<a8>>(model, rtl::RtlBackend<a8>(rtl::engines::make_a8())));
    const std::string why_not_b4 = rtl::why_model_cannot_run(model, b4);
    if (why_not_b4.empty()) return f(ModelExecutor<rtl::RtlBackend<b4>>(model, rtl::RtlBackend<b4>(rtl::engines::make_b4())));
    fail("--backend rtl: no RTL engine of this build runs the model:\n  a8 (" + rtl::describe(a8) + "): " + why_not_a8 +
                 "\n  b4 (" + rtl::describe(b4) + "): " + why_not_b4);
#else
    fail("--backend rtl: this rmsmp was built without the RTL engines (configure with -DRMSMP_BUILD_RTL=ON; needs Verilator 5)");
#endif
  } else {
    throw UsageError("--backend: unknown backend '" + backend + "' (cpu, reference or rtl)");
  }
}

/// After a run on the RTL backend: what the engine spent on everything run so far.
template <class Executor>
void print_engine_statistics(const Executor& exec, std::size_t samples, std::chrono::steady_clock::duration wall) {
  if constexpr (requires { exec.backend().totals(); }) {
    using Backend = std::decay_t<decltype(exec.backend())>;
    const rtl::RunStatistics& s = exec.backend().totals();
    const double seconds = std::chrono::duration<double>(wall).count();
    std::printf("rtl engine: %s\n", rtl::describe(Backend::params).c_str());
    std::printf("  streaming cycles: %llu (%.0f per sample; cycle model %llu, stall cycles %llu)\n",
                static_cast<unsigned long long>(s.cycles), static_cast<double>(s.cycles) / static_cast<double>(std::max<std::size_t>(samples, 1)),
                static_cast<unsigned long long>(s.predicted_cycles), static_cast<unsigned long long>(s.stall_cycles));
    std::printf("  load cycles: %llu in %d weight loads\n", static_cast<unsigned long long>(s.load_cycles), s.runs);
    std::printf("  gemm calls: %d in %d K chunks (%d with K split, output stage on the host)\n", s.gemm_calls, s.k_chunks,
                s.host_output_calls);
    std::printf("  lane utilization: %.1f%% (", 100.0 * s.lane_utilization);
    for (std::size_t t = 0; t < rtl::lane_type_count; ++t)
      if (Backend::params.lanes[t] > 0)
        std::printf("%s%s %.1f%%", t == 0 ? "" : ", ", rtl::lane_type_name(static_cast<rtl::LaneType>(t)), 100.0 * s.lane_type_utilization[t]);
    std::printf(")\n  simulated in %.2f s (%.2f M cycles per second)\n", seconds,
                seconds > 0.0 ? static_cast<double>(s.cycles + s.load_cycles) / seconds / 1e6 : 0.0);
  }
}

// ----- commands -------------------------------------------------------------------------------

const CommandSpec quantize_spec{
    "quantize",
    "quantize <model-dir> --mix <mix> --calib <images> -o <file> [options]",
    "Quantizes a float model (a directory with model.json and .npy weights) row by row with the\n"
    "given mix, calibrating activations on the images, and writes one .rmsmp file.",
    {"<model-dir>"},
    {{"--mix", "<mix>", "schemes and their shares of every layer's rows, e.g. pot4:60,fixed4:35,fixed8:5 or fixed4:100\n"
                        "                            (schemes: fixedN (N 2..8), potN (N 2..4), sp2_N (N 3..5))"},
     {"--calib", "<images>", "calibration images: .npy or IDX, [N, ...] (raw values; the manifest's preprocessing applies)"},
     {"--calib-count", "<n>", "use the first n calibration images (default 256)"},
     {"--calibration", "<method>", "max (default), percentile[:<p>] (p defaults to 99.99), or mse"},
     {"--act-bits", "<bits>", "activation bits between layers: 8 (default) or 4"},
     {"--input-bits", "<bits>", "bits of the quantized model input: 8 (default) or 4"},
     {"--rule", "<rule>", "which rows get which scheme: optimal (default; least total Hessian-weighted output error\n"
                          "                            under the mix's row counts) or papers (most sensitive rows get the widest\n"
                          "                            scheme, the rest split by weight shape)"},
     {"--compensate", "", "error-compensating (GPTQ-style) rounding on the chosen grids instead of plain rounding"},
     {"-o", "<file>", "the output file"},
     {"--quiet", "", "no progress bar"}}};

int cmd_quantize(const Args& a) {
  for (const char* required : {"--mix", "--calib", "-o"})
    if (!a.has(required)) throw UsageError(std::string("missing ") + required);
  const DynamicRowMix mix = parse_mix(a.get("--mix"));
  QuantizeOptions options;
  const std::string method = a.get("--calibration", "max");
  if (method == "max") {
    options.calibration.method = CalibrationMethod::max;
  } else if (method == "mse") {
    options.calibration.method = CalibrationMethod::min_squared_error;
  } else if (method.rfind("percentile", 0) == 0) {
    options.calibration.method = CalibrationMethod::percentile;
    if (method.size() > 10) {
      if (method[10] != ':') throw UsageError("--calibration: write percentile:<p>, e.g. percentile:99.9");
      options.calibration.percentile = parse_real("--calibration", method.substr(11));
      if (!(options.calibration.percentile > 50.0 && options.calibration.percentile <= 100.0))
        throw UsageError("--calibration: the percentile must be in (50, 100]");
    }
  } else {
    throw UsageError("--calibration: unknown method '" + method + "' (max, percentile[:p], mse)");
  }
  options.activation_bits = static_cast<int>(parse_int("--act-bits", a.get("--act-bits", "8"), 4, 8));
  options.input_bits = static_cast<int>(parse_int("--input-bits", a.get("--input-bits", "8"), 4, 8));
  for (int bits : {options.activation_bits, options.input_bits})
    if (bits != 4 && bits != 8) throw UsageError("activation bits must be 8 or 4");
  LayerQuantizerOptions layer_options;
  const std::string rule = a.get("--rule", "optimal");
  if (rule == "papers") layer_options.rule = AssignmentRule::papers;
  else if (rule != "optimal") throw UsageError("--rule: unknown rule '" + rule + "' (optimal, papers)");
  layer_options.compensate = a.has("--compensate");
  options.weights = hessian_weight_quantizer(layer_options);
  const long count = parse_int("--calib-count", a.get("--calib-count", "256"), 1, 1 << 24);

  const FloatModel model = load_float_model(a.positional[0]);
  const Eigen::MatrixXf calib = load_samples(a.get("--calib"), model.input, count);
  ProgressBar bar("quantize", a.has("--quiet"));
  options.progress = [&](std::size_t done, std::size_t total) { bar.update(done, total); };
  QuantizedModel q = quantize_model(model, calib, mix, options);
  q.source = std::filesystem::absolute(a.positional[0]).lexically_normal().string();
  bar.finish();
  save_quantized_model(q, a.get("-o"));
  std::size_t weights = 0;
  for (const QuantizedModelLayer& l : q.layers)
    if (l.gemm) weights += static_cast<std::size_t>(l.gemm->weights.rows()) * static_cast<std::size_t>(l.gemm->weights.cols());
  std::cout << "quantized " << q.layers.size() << " layers (" << weights << " weights) on " << calib.cols()
            << " calibration samples -> " << a.get("-o") << " (" << std::filesystem::file_size(a.get("-o")) << " bytes)\n";
  return 0;
}

std::vector<OptionSpec> with_backend(std::vector<OptionSpec> o) {
  o.insert(o.end(), backend_options.begin(), backend_options.end());
  return o;
}

const CommandSpec eval_spec{
    "eval",
    "eval <model.rmsmp> --data <images> --labels <labels> [options]",
    "Runs the quantized model on the images and prints its top-1 accuracy, then each layer's\n"
    "error against the float model it was quantized from.",
    {"<model.rmsmp>"},
    with_backend({{"--data", "<images>", "images: .npy or IDX, [N, ...]"},
                  {"--labels", "<labels>", "labels: .npy or IDX, [N]"},
                  {"--float", "<model-dir>", "the float model (default: the directory recorded at quantization)"},
                  {"--no-layers", "", "skip the per-layer error report"}})};

int cmd_eval(const Args& a) {
  for (const char* required : {"--data", "--labels"})
    if (!a.has(required)) throw UsageError(std::string("missing ") + required);
  const long limit = a.has("--limit") ? parse_int("--limit", a.get("--limit"), 1, 1L << 30) : 0;
  const auto batch = static_cast<std::size_t>(parse_int("--batch", a.get("--batch", "256"), 1, 1 << 20));
  const QuantizedModel q = load_quantized_model(a.positional[0]);
  const Eigen::MatrixXf x = load_samples(a.get("--data"), q.input, limit);
  const std::vector<int> labels = load_labels(a.get("--labels"), limit);
  if (labels.size() != static_cast<std::size_t>(x.cols()))
    fail(std::to_string(x.cols()) + " images but " + std::to_string(labels.size()) + " labels");
  with_executor(q, a, [&](const auto& exec) {
    ProgressBar bar("eval", a.has("--quiet"));
    const auto start = std::chrono::steady_clock::now();
    const Evaluation e = evaluate(exec, x, labels, batch, [&](std::size_t done, std::size_t total) { bar.update(done, total); });
    bar.finish();
    std::printf("accuracy: %.2f%% (%zu of %zu)\n", 100.0 * e.accuracy(), e.correct, e.samples);
    print_engine_statistics(exec, e.samples, std::chrono::steady_clock::now() - start);
    if (a.has("--no-layers")) return;
    const std::string float_dir = a.get("--float", q.source);
    if (float_dir.empty() || !std::filesystem::exists(float_dir)) {
      std::printf("per-layer error: skipped (float model not found; pass --float <model-dir>)\n");
      return;
    }
    const FloatModel fm = load_float_model(float_dir);
    std::size_t float_correct = 0;
    for (Eigen::Index first = 0; first < x.cols(); first += static_cast<Eigen::Index>(batch)) {
      const Eigen::Index count = std::min<Eigen::Index>(static_cast<Eigen::Index>(batch), x.cols() - first);
      const std::vector<int> predicted = predicted_classes(run_float(fm, x.middleCols(first, count)));
      for (Eigen::Index n = 0; n < count; ++n)
        float_correct += predicted[static_cast<std::size_t>(n)] == labels[static_cast<std::size_t>(first + n)] ? 1 : 0;
    }
    std::printf("float model accuracy: %.2f%%\n", 100.0 * static_cast<double>(float_correct) / static_cast<double>(x.cols()));
    const long n = std::min<long>(x.cols(), 64);
    const std::vector<LayerError> errors = compare_layers(fm, exec, x.leftCols(n));
    std::printf("per-layer error against the float model (%ld samples):\n", n);
    std::printf("  %-4s %-20s %-16s %12s %12s\n", "#", "layer", "op", "rel. RMS", "max |err|");
    for (const LayerError& le : errors)
      std::printf("  %-4zu %-20s %-16s %11.3f%% %12.4g\n", le.layer, le.name.c_str(), std::string(layer_op_name(le.op)).c_str(),
                  100.0 * le.relative(), le.max_abs_error);
  });
  return 0;
}

const CommandSpec run_spec{
    "run",
    "run <model.rmsmp> --data <images> [options]",
    "Runs the quantized model on the images and prints each sample's predicted class\n"
    "(or, with --output, writes the outputs as a float32 .npy [N, outputs]).",
    {"<model.rmsmp>"},
    with_backend({{"--data", "<images>", "images: .npy or IDX, [N, ...]"},
                  {"--output", "<file.npy>", "write the raw outputs here instead of printing classes"}})};

int cmd_run(const Args& a) {
  if (!a.has("--data")) throw UsageError("missing --data");
  const long limit = a.has("--limit") ? parse_int("--limit", a.get("--limit"), 1, 1L << 30) : 0;
  const auto batch = static_cast<std::size_t>(parse_int("--batch", a.get("--batch", "256"), 1, 1 << 20));
  const QuantizedModel q = load_quantized_model(a.positional[0]);
  const Eigen::MatrixXf x = load_samples(a.get("--data"), q.input, limit);
  with_executor(q, a, [&](const auto& exec) {
    ProgressBar bar("run", a.has("--quiet"));
    const auto start = std::chrono::steady_clock::now();
    Eigen::MatrixXf y;
    for (Eigen::Index first = 0; first < x.cols(); first += static_cast<Eigen::Index>(batch)) {
      const Eigen::Index count = std::min<Eigen::Index>(static_cast<Eigen::Index>(batch), x.cols() - first);
      const Eigen::MatrixXf part = exec.run(x.middleCols(first, count));
      if (y.size() == 0) y.resize(part.rows(), x.cols());
      y.middleCols(first, count) = part;
      bar.update(static_cast<std::size_t>(first + count), static_cast<std::size_t>(x.cols()));
    }
    bar.finish();
    const auto wall = std::chrono::steady_clock::now() - start;
    if (a.has("--output")) {
      const std::vector<float> values(y.data(), y.data() + y.size());  // column n = sample n: C order [N, outputs]
      write_npy(a.get("--output"), NdArray::from_values<float>({y.cols(), y.rows()}, values));
      std::printf("wrote %ld x %ld outputs to %s\n", static_cast<long>(y.cols()), static_cast<long>(y.rows()), a.get("--output").c_str());
      print_engine_statistics(exec, static_cast<std::size_t>(x.cols()), wall);
      return;
    }
    const std::vector<int> classes = predicted_classes(y);
    for (std::size_t n = 0; n < classes.size(); ++n) {
      const auto c = static_cast<std::size_t>(classes[n]);
      std::printf("%zu %d%s%s\n", n, classes[n], c < q.class_names.size() ? " " : "",
                  c < q.class_names.size() ? q.class_names[c].c_str() : "");
    }
    print_engine_statistics(exec, static_cast<std::size_t>(x.cols()), wall);
  });
  return 0;
}

const CommandSpec info_spec{"info", "info <model.rmsmp>",
                            "Prints a quantized model's input, row mix, layers, activation parameters and size.",
                            {"<model.rmsmp>"},
                            {}};

int cmd_info(const Args& a) {
  const QuantizedModel q = load_quantized_model(a.positional[0]);
  std::printf("input: %s, scale %g offset %g, quantized: scale %g zero point %d, %d bits\n", q.input_shape().str().c_str(),
              static_cast<double>(q.input.scale), static_cast<double>(q.input.offset), static_cast<double>(q.input_params.scale),
              q.input_params.zero_point, q.input_params.bits);
  if (!q.mix.empty()) std::printf("row mix: %s\n", display_name(DynamicRowMix(q.mix)).c_str());
  if (!q.source.empty()) std::printf("float model: %s\n", q.source.c_str());
  if (!q.class_names.empty()) std::printf("classes: %zu\n", q.class_names.size());
  std::printf("  %-4s %-20s %-16s %-14s %-14s %s\n", "#", "layer", "op", "input", "output", "details");
  std::size_t weights = 0, weight_bytes = 0;
  for (std::size_t i = 0; i < q.layers.size(); ++i) {
    const QuantizedModelLayer& l = q.layers[i];
    std::string details;
    if (l.gemm) {
      const auto& m = l.gemm->weights;
      weights += static_cast<std::size_t>(m.rows()) * static_cast<std::size_t>(m.cols());
      weight_bytes += m.storage_bytes();
      details = std::to_string(m.rows()) + "x" + std::to_string(m.cols()) + " (";
      bool first = true;
      for (const GroupFootprint& f : m.footprint()) {
        details += (first ? "" : ", ") + token(f.scheme) + ":" + std::to_string(f.rows);
        first = false;
      }
      details += ")";
      if (l.gemm->float_output()) details += ", float output";
    }
    if (l.relu_folded) details += (details.empty() ? "" : ", ") + std::string("+relu");
    if (l.passthrough) details += "folded into " + q.layers[static_cast<std::size_t>(l.input)].name;
    if (!(l.gemm && l.gemm->float_output()) && !l.passthrough) {
      char buf[80];
      std::snprintf(buf, sizeof buf, "%sout scale %.4g zp %d/%d-bit", details.empty() ? "" : ", ",
                    static_cast<double>(l.output.scale), l.output.zero_point, l.output.bits);
      details += buf;
    }
    std::printf("  %-4zu %-20s %-16s %-14s %-14s %s\n", i, l.name.c_str(), std::string(layer_op_name(l.op)).c_str(),
                l.input_shape.str().c_str(), l.output_shape.str().c_str(), details.c_str());
  }
  std::printf("weights: %zu in %zu bytes (%.3f bits per weight with scales and row indices)\n", weights, weight_bytes,
              weights == 0 ? 0.0 : 8.0 * static_cast<double>(weight_bytes) / static_cast<double>(weights));
  return 0;
}

struct Command {
  const CommandSpec* spec;
  int (*run)(const Args&);
};

const std::vector<Command> commands = {
    {&quantize_spec, cmd_quantize}, {&eval_spec, cmd_eval}, {&run_spec, cmd_run}, {&info_spec, cmd_info}};

void print_main_help(std::ostream& out) {
  out << "usage: rmsmp <command> [arguments]\n\n"
         "Row-wise mixed-scheme, multi-precision quantization and integer-only inference.\n\ncommands:\n";
  for (const Command& c : commands) out << "  " << c.spec->synopsis << "\n";
  out << "\n'rmsmp <command> --help' explains a command.\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_main_help(std::cerr);
    return 2;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_main_help(std::cout);
    return 0;
  }
  const auto command = std::find_if(commands.begin(), commands.end(), [&](const Command& c) { return c.spec->name == args[0]; });
  if (command == commands.end()) {
    std::cerr << "rmsmp: unknown command '" << args[0] << "'\n\n";
    print_main_help(std::cerr);
    return 2;
  }
  try {
    const std::optional<Args> parsed = parse_args(*command->spec, {args.begin() + 1, args.end()});
    if (!parsed) return 0;
    return command->run(*parsed);
  } catch (const UsageError& e) {
    std::cerr << "rmsmp " << command->spec->name << ": " << e.what() << "\n(see 'rmsmp " << command->spec->name << " --help')\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

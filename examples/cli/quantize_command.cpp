// rmsmp quantize: a float model directory and calibration images in, one .rmsmp file out.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "progress.hpp"
#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/rmsmp.hpp"
#include "samples.hpp"

namespace rmsmp_cli {

using namespace rmsmp;

namespace {

/// A bad --mix is a usage error: the message names the option.
DynamicRowMix parse_mix(const std::string& text) {
  try {
    return parse_row_mix(text);
  } catch (const Error& e) {
    throw UsageError(std::string("--mix: ") + e.what());
  }
}

CalibrationOptions parse_calibration(const std::string& method) {
  CalibrationOptions calibration;
  if (method == "max") {
    calibration.method = CalibrationMethod::max;
  } else if (method == "mse") {
    calibration.method = CalibrationMethod::min_squared_error;
  } else if (method.rfind("percentile", 0) == 0) {
    calibration.method = CalibrationMethod::percentile;
    const std::size_t prefix = std::string_view("percentile").size();
    if (method.size() > prefix) {
      if (method[prefix] != ':') throw UsageError("--calibration: write percentile:<p>, e.g. percentile:99.9");
      calibration.percentile = parse_real("--calibration", method.substr(prefix + 1));
      if (!(calibration.percentile > 50.0 && calibration.percentile <= 100.0))
        throw UsageError("--calibration: the percentile must be in (50, 100]");
    }
  } else {
    throw UsageError("--calibration: unknown method '" + method + "' (max, percentile[:p], mse)");
  }
  return calibration;
}

/// What quantize takes from its options, every value checked.
struct QuantizeSettings {
  DynamicRowMix mix;
  QuantizeOptions options;
  long calibration_count = 256;
};

QuantizeSettings quantize_settings(const Args& a) {
  require_options(a, {"--mix", "--calib", "-o"});
  QuantizeSettings s{parse_mix(a.get("--mix")), {}, 256};
  QuantizeOptions& options = s.options;
  options.calibration = parse_calibration(a.get("--calibration", "max"));
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
  s.calibration_count = parse_int("--calib-count", a.get("--calib-count", "256"), 1, 1 << 24);
  return s;
}

int run_quantize(const Args& a) {
  QuantizeSettings settings = quantize_settings(a);
  const DynamicRowMix& mix = settings.mix;
  QuantizeOptions& options = settings.options;
  const long count = settings.calibration_count;

  const FloatModel model = load_float_model(a.positional[0]);
  const Eigen::MatrixXf calib = load_samples(a.get("--calib"), model.input, count);
  Progress progress("quantize", a.has("--quiet"));
  options.progress = [&](std::size_t done, std::size_t total) { progress.update(done, total); };
  QuantizedModel q = quantize_model(model, calib, mix, options);
  q.source = std::filesystem::absolute(a.positional[0]).lexically_normal().string();
  progress.finish();
  save_quantized_model(q, a.get("-o"));
  std::size_t weights = 0;
  for (const QuantizedModelLayer& l : q.layers)
    if (l.gemm) weights += static_cast<std::size_t>(l.gemm->weights.rows()) * static_cast<std::size_t>(l.gemm->weights.cols());
  std::cout << "quantized " << q.layers.size() << " layers (" << weights << " weights) on " << calib.cols()
            << " calibration samples -> " << a.get("-o") << " (" << std::filesystem::file_size(a.get("-o")) << " bytes)\n";
  return 0;
}

}  // namespace

Command quantize_command() {
  return {{"quantize",
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
            {"--quiet", "", "no progress on stderr"}}},
          run_quantize,
          [](const Args& a) { (void)quantize_settings(a); }};
}

}  // namespace rmsmp_cli

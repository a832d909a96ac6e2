// rmsmp info: what a quantized model file holds.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "json_output.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/rmsmp.hpp"

namespace rmsmp_cli {

using namespace rmsmp;
using nlohmann::json;

namespace {

json activation_json(const ActivationParams& p) { return {{"scale", p.scale}, {"zero_point", p.zero_point}, {"bits", p.bits}}; }

/// The layer's output codes carry activation parameters unless it writes floats or is a ReLU
/// folded into the layer before it (whose parameters it shares).
bool has_own_output_codes(const QuantizedModelLayer& l) { return !(l.gemm && l.gemm->float_output()) && !l.passthrough; }

json layer_json(const QuantizedModel& q, std::size_t index) {
  const QuantizedModelLayer& l = q.layers[index];
  json layer = {{"index", index},
                {"name", l.name},
                {"op", std::string(layer_op_name(l.op))},
                {"input_shape", shape_json(l.input_shape)},
                {"output_shape", shape_json(l.output_shape)},
                {"weights", nullptr},
                {"float_output", l.gemm && l.gemm->float_output()},
                {"relu_folded", l.relu_folded},
                {"folded_into", l.passthrough ? json(q.layers[static_cast<std::size_t>(l.input)].name) : json(nullptr)},
                {"output", has_own_output_codes(l) ? activation_json(l.output) : json(nullptr)}};
  if (l.gemm) {
    const auto& m = l.gemm->weights;
    json rows_per_scheme = json::object();
    for (const GroupFootprint& f : m.footprint()) rows_per_scheme[token(f.scheme)] = f.rows;
    layer["weights"] = {{"rows", m.rows()}, {"cols", m.cols()}, {"rows_per_scheme", rows_per_scheme}, {"storage_bytes", m.storage_bytes()}};
  }
  return layer;
}

struct Footprint {
  std::size_t weights = 0;
  std::size_t bytes = 0;
  double bits_per_weight() const { return weights == 0 ? 0.0 : 8.0 * static_cast<double>(bytes) / static_cast<double>(weights); }
};

Footprint weight_footprint(const QuantizedModel& q) {
  Footprint f;
  for (const QuantizedModelLayer& l : q.layers)
    if (l.gemm) {
      f.weights += static_cast<std::size_t>(l.gemm->weights.rows()) * static_cast<std::size_t>(l.gemm->weights.cols());
      f.bytes += l.gemm->weights.storage_bytes();
    }
  return f;
}

void print_info_json(const std::string& path, const QuantizedModel& q) {
  const TensorShape shape = q.input_shape();
  const Footprint footprint = weight_footprint(q);
  json layers = json::array();
  for (std::size_t i = 0; i < q.layers.size(); ++i) layers.push_back(layer_json(q, i));
  const bool has_mix = !q.mix.empty();
  print_json({{"command", "info"},
              {"model", path},
              {"input", {{"shape", shape_json(shape)},
                         {"scale", q.input.scale},
                         {"offset", q.input.offset},
                         {"quantized", activation_json(q.input_params)}}},
              {"row_mix", has_mix ? json(to_string(DynamicRowMix(q.mix))) : json(nullptr)},
              {"row_mix_name", has_mix ? json(display_name(DynamicRowMix(q.mix))) : json(nullptr)},
              {"float_model", q.source.empty() ? json(nullptr) : json(q.source)},
              {"class_names", q.class_names},
              {"layers", layers},
              {"weights", footprint.weights},
              {"weight_bytes", footprint.bytes},
              {"bits_per_weight", footprint.bits_per_weight()}});
}

int run_info(const Args& a) {
  const QuantizedModel q = load_quantized_model(a.positional[0]);
  if (a.has("--json")) {
    print_info_json(a.positional[0], q);
    return 0;
  }
  std::printf("input: %s, scale %g offset %g, quantized: scale %g zero point %d, %d bits\n", q.input_shape().str().c_str(),
              static_cast<double>(q.input.scale), static_cast<double>(q.input.offset), static_cast<double>(q.input_params.scale),
              q.input_params.zero_point, q.input_params.bits);
  if (!q.mix.empty()) std::printf("row mix: %s\n", display_name(DynamicRowMix(q.mix)).c_str());
  if (!q.source.empty()) std::printf("float model: %s\n", q.source.c_str());
  if (!q.class_names.empty()) std::printf("classes: %zu\n", q.class_names.size());
  std::printf("  %-4s %-20s %-16s %-14s %-14s %s\n", "#", "layer", "op", "input", "output", "details");
  for (std::size_t i = 0; i < q.layers.size(); ++i) {
    const QuantizedModelLayer& l = q.layers[i];
    std::string details;
    if (l.gemm) {
      const auto& m = l.gemm->weights;
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
    if (has_own_output_codes(l)) {
      char buf[80];
      std::snprintf(buf, sizeof buf, "%sout scale %.4g zp %d/%d-bit", details.empty() ? "" : ", ",
                    static_cast<double>(l.output.scale), l.output.zero_point, l.output.bits);
      details += buf;
    }
    std::printf("  %-4zu %-20s %-16s %-14s %-14s %s\n", i, l.name.c_str(), std::string(layer_op_name(l.op)).c_str(),
                l.input_shape.str().c_str(), l.output_shape.str().c_str(), details.c_str());
  }
  const Footprint footprint = weight_footprint(q);
  std::printf("weights: %zu in %zu bytes (%.3f bits per weight with scales and row indices)\n", footprint.weights, footprint.bytes,
              footprint.bits_per_weight());
  return 0;
}

}  // namespace

Command info_command() {
  return {{"info", "info <model.rmsmp> [--json]",
           "Prints a quantized model's input, row mix, layers, activation parameters and size.",
           {"<model.rmsmp>"},
           {json_option}},
          run_info,
          [](const Args&) {}};  // --json, a flag, is its only option
}

}  // namespace rmsmp_cli

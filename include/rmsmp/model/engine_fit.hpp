// rmsmp/model/engine_fit.hpp — whether a quantized model can run on an RTL engine
// configuration, and why not, before any layer runs.
//
//   if (std::string why = rtl::why_model_cannot_run(model, rtl::engines::a8); why.empty())
//     ModelExecutor<rtl::RtlBackend<rtl::engines::a8>> exec(model, rtl::RtlBackend<rtl::engines::a8>(make_a8()));
//
// An engine takes one activation width, so every Linear/Conv2d layer must read codes of that
// width (the model input's bits for the first, the layer before's output bits for the rest),
// and it has lanes only for some lane types, so every row's scheme must have lanes. Depth K and
// row count M never stop a model: the backend splits K and loads rows in several runs.
#pragma once

#include <cstddef>
#include <set>
#include <string>

#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/model/model_graph.hpp"
#include "rmsmp/model/quantized_model.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp::rtl {

/// The activation width Linear/Conv2d layer `i` reads: the model input's, or its source's
/// output (through ReLUs folded into their source).
inline int gemm_input_bits(const QuantizedModel& model, std::size_t i) {
  int source = model.layers.at(i).input;
  while (source != model_input && model.layers[static_cast<std::size_t>(source)].passthrough)
    source = model.layers[static_cast<std::size_t>(source)].input;
  return source == model_input ? model.input_params.bits : model.layers[static_cast<std::size_t>(source)].output.bits;
}

/// Why `model` cannot run on an engine built with `params`, or "" when it can.
inline std::string why_model_cannot_run(const QuantizedModel& model, const EngineParams& params) {
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const QuantizedModelLayer& l = model.layers[i];
    if (!l.gemm) continue;
    const std::string layer = "layer " + std::to_string(i) + " (" + l.name + ")";
    const int bits = gemm_input_bits(model, i);
    if (bits != params.act_bits)
      return layer + " reads " + std::to_string(bits) + "-bit activations" +
             (l.input == model_input ? " (the model input)" : "") + ", the engine takes " +
             std::to_string(params.act_bits) + "-bit ones";
    std::set<std::string> missing;
    for (const RowGroup& g : l.gemm->weights.groups())
      if (!params.runs(g.scheme())) missing.insert(display_name(g.scheme()));
    if (!missing.empty()) {
      std::string names;
      for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
      return layer + " has " + names + " rows, and the engine has no lanes for them";
    }
  }
  return {};
}

}  // namespace rmsmp::rtl

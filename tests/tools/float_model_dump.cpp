// float_model_dump <model-dir> <out-dir>: loads a float model with rmsmp's manifest reader,
// prints what it understood as JSON (layers, sources, output shapes, window parameters) and
// writes every weight and bias it read back as <out-dir>/<layer index>.{weight,bias}.npy.
// Used by tests/python/export_pytorch_test.py to hold the Python exporter to the C++ reader.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/model/model_graph.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: float_model_dump <model-dir> <out-dir>\n");
    return 2;
  }
  try {
    const rmsmp::FloatModel model = rmsmp::load_float_model(argv[1]);
    const std::vector<rmsmp::LayerLinks> flow = rmsmp::check_float_model(model);
    const std::filesystem::path out = argv[2];
    std::filesystem::create_directories(out);
    nlohmann::json j;
    j["input"] = {{"shape", model.input.shape}, {"scale", model.input.scale}, {"offset", model.input.offset}};
    j["classes"] = model.class_names;
    j["layers"] = nlohmann::json::array();
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      const rmsmp::FloatLayer& l = model.layers[i];
      const rmsmp::TensorShape& s = flow[i].output_shape;
      nlohmann::json layer = {{"name", l.name},
                              {"op", std::string(rmsmp::layer_op_name(l.op))},
                              {"input", flow[i].input},
                              {"other", flow[i].other},
                              {"output_shape", {s.channels, s.height, s.width}},
                              {"kernel", {l.kernel_h, l.kernel_w}},
                              {"stride", {l.stride_h, l.stride_w}},
                              {"padding", {l.padding_h, l.padding_w}},
                              {"has_weight", !l.weight.shape.empty()},
                              {"has_bias", !l.bias.shape.empty()}};
      if (!l.weight.shape.empty())
        rmsmp::write_npy(out / (std::to_string(i) + ".weight.npy"),
                         rmsmp::NdArray::from_values<float>(l.weight.shape, l.weight.data));
      if (!l.bias.shape.empty())
        rmsmp::write_npy(out / (std::to_string(i) + ".bias.npy"),
                         rmsmp::NdArray::from_values<float>(l.bias.shape, l.bias.data));
      j["layers"].push_back(layer);
    }
    std::cout << j.dump(1) << "\n";
    return 0;
  } catch (const rmsmp::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

// rmsmp/io/float_model_manifest.hpp — a float model on disk: a model.json manifest plus one
// .npy file per weight and bias tensor (PyTorch layouts). The format is in
// docs/model-format.md; examples/export_pytorch.py writes it.
//
// Reading is strict: unknown keys, wrong types, duplicate JSON keys, paths that leave the
// model directory, missing or non-float32 weight files, and everything check_float_model
// rejects (shapes that do not flow, bad references, non-finite weights) end in an
// rmsmp::Error that names the manifest, the layer and the field.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/npy.hpp"
#include "rmsmp/model/float_model.hpp"
#include "rmsmp/model/model_graph.hpp"

namespace rmsmp {

/// The manifest's "format" and the newest "version" this build reads.
inline constexpr std::string_view float_model_format = "rmsmp-float-model";
inline constexpr int float_model_version = 1;
/// The manifest's file name inside a model directory.
inline constexpr std::string_view float_model_manifest_name = "model.json";

namespace detail {

using Json = nlohmann::json;

class ManifestReader {
 public:
  ManifestReader(std::filesystem::path base_dir, std::string source)
      : base_dir_(std::move(base_dir)), source_(std::move(source)) {}

  FloatModel read(std::string_view text) {
    const Json root = parse(text);
    if (!root.is_object()) fail("the manifest must be a JSON object");
    allow_only(root, {"format", "version", "input", "classes", "layers"}, "the manifest");
    if (!root.contains("format") || !root["format"].is_string() || root["format"].get<std::string>() != float_model_format)
      fail("\"format\" must be \"" + std::string(float_model_format) + "\"");
    const std::int64_t version = integer(root, "version", "the manifest", 1, 1 << 20);
    if (version > float_model_version)
      fail("manifest version " + std::to_string(version) + " is newer than this build reads (up to " +
           std::to_string(float_model_version) + ")");

    FloatModel model;
    model.input = input(member(root, "input", "the manifest"));
    if (root.contains("classes")) {
      const Json& classes = root["classes"];
      if (!classes.is_array()) fail("\"classes\" must be an array of strings");
      for (const Json& c : classes) {
        if (!c.is_string()) fail("\"classes\" must be an array of strings");
        model.class_names.push_back(c.get<std::string>());
      }
    }
    const Json& layers = member(root, "layers", "the manifest");
    if (!layers.is_array() || layers.empty()) fail("\"layers\" must be a non-empty array");
    for (std::size_t i = 0; i < layers.size(); ++i) model.layers.push_back(layer(layers[i], i));

    try {
      check_float_model(model);
    } catch (const Error& e) {
      fail(message_of(e));
    }
    return model;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { rmsmp::fail(source_ + ": " + problem); }

  Json parse(std::string_view text) const {
    // nlohmann keeps the last of repeated keys silently; a manifest with two "stride"s is a
    // mistake worth reporting, so keys are tracked per object while parsing.
    std::vector<std::set<std::string>> open_objects;
    std::string repeated;
    const Json::parser_callback_t track = [&](int, Json::parse_event_t event, Json& parsed) {
      if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
      else if (event == Json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
      else if (event == Json::parse_event_t::key && !open_objects.empty() && repeated.empty() &&
               !open_objects.back().insert(parsed.get<std::string>()).second)
        repeated = parsed.get<std::string>();
      return true;
    };
    Json root;
    try {
      root = Json::parse(text.begin(), text.end(), track);
    } catch (const Json::exception& e) {
      fail(std::string("invalid JSON: ") + e.what());
    }
    if (!repeated.empty()) fail("the key \"" + repeated + "\" appears twice in one object");
    return root;
  }

  void allow_only(const Json& object, std::initializer_list<std::string_view> keys, const std::string& where) const {
    for (const auto& item : object.items()) {
      bool known = false;
      for (std::string_view k : keys) known = known || item.key() == k;
      if (!known) {
        std::string list;
        for (std::string_view k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
        fail(where + ": unknown key \"" + item.key() + "\" (allowed: " + list + ")");
      }
    }
  }

  const Json& member(const Json& object, const char* key, const std::string& where) const {
    if (!object.contains(key)) fail(where + ": \"" + key + "\" is missing");
    return object[key];
  }

  std::int64_t integer_value(const Json& v, const std::string& what, std::int64_t min, std::int64_t max) const {
    if (!v.is_number_integer()) fail(what + " must be an integer");
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max))
      fail(what + " is " + std::to_string(v.get<std::uint64_t>()) + ", must be at most " + std::to_string(max));
    const std::int64_t n = v.get<std::int64_t>();
    if (n < min || n > max)
      fail(what + " is " + std::to_string(n) + ", must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return n;
  }

  std::int64_t integer(const Json& object, const char* key, const std::string& where, std::int64_t min,
                       std::int64_t max) const {
    return integer_value(member(object, key, where), where + ": \"" + key + "\"", min, max);
  }

  float real(const Json& v, const std::string& what) const {
    if (!v.is_number()) fail(what + " must be a number");
    const double d = v.get<double>();
    const auto f = static_cast<float>(d);
    if (!std::isfinite(f)) fail(what + " must be a finite float32 number");
    return f;
  }

  /// "kernel": 3 or [3, 5]; absent: `fallback`.
  std::pair<int, int> pair(const Json& object, const char* key, const std::string& where, std::int64_t min,
                           std::pair<int, int> fallback) const {
    if (!object.contains(key)) return fallback;
    const Json& v = object[key];
    const std::string what = where + ": \"" + key + "\"";
    constexpr std::int64_t max = 1 << 16;
    if (v.is_array()) {
      if (v.size() != 2) fail(what + " must be an integer or [height, width]");
      return {static_cast<int>(integer_value(v[0], what + "[0]", min, max)),
              static_cast<int>(integer_value(v[1], what + "[1]", min, max))};
    }
    const int n = static_cast<int>(integer_value(v, what, min, max));
    return {n, n};
  }

  InputSpec input(const Json& v) const {
    const std::string where = "\"input\"";
    if (!v.is_object()) fail(where + " must be an object");
    allow_only(v, {"shape", "scale", "offset"}, where);
    InputSpec spec;
    const Json& shape = member(v, "shape", where);
    if (!shape.is_array() || (shape.size() != 1 && shape.size() != 3))
      fail(where + ": \"shape\" must be [C, H, W] or [N]");
    for (std::size_t i = 0; i < shape.size(); ++i)
      spec.shape.push_back(integer_value(shape[i], where + ": \"shape\"[" + std::to_string(i) + "]", 1, 1 << 30));
    if (v.contains("scale")) spec.scale = real(v["scale"], where + ": \"scale\"");
    if (v.contains("offset")) spec.offset = real(v["offset"], where + ": \"offset\"");
    if (spec.scale == 0.0f) fail(where + ": \"scale\" must not be 0");
    return spec;
  }

  /// A data file named in the manifest: relative, inside the model directory (symbolic
  /// links included), a regular file.
  std::filesystem::path data_path(const std::string& name, const std::string& what) const {
    namespace fs = std::filesystem;
    const fs::path relative(name);
    if (name.empty() || relative.is_absolute() || relative.has_root_path())
      fail(what + " '" + name + "' must be a path relative to the manifest's directory");
    for (const fs::path& part : relative)
      if (part == "..") fail(what + " '" + name + "' must not leave the manifest's directory ('..')");
    const fs::path full = base_dir_ / relative;
    std::error_code ec;
    if (!fs::is_regular_file(full, ec)) fail(what + " '" + name + "' does not exist (looked for " + full.string() + ")");
    const fs::path real_base = fs::canonical(base_dir_, ec);
    const fs::path real_file = fs::canonical(full, ec);
    if (ec) fail(what + " '" + name + "' cannot be resolved: " + ec.message());
    const auto [base_end, file_it] = std::mismatch(real_base.begin(), real_base.end(), real_file.begin(), real_file.end());
    if (base_end != real_base.end())
      fail(what + " '" + name + "' resolves to " + real_file.string() + ", outside the manifest's directory");
    return full;
  }

  FloatTensor tensor(const Json& object, const char* key, const std::string& where) const {
    const Json& v = member(object, key, where);
    const std::string what = where + ": \"" + key + "\"";
    if (!v.is_string()) fail(what + " must be a file name");
    const std::filesystem::path path = data_path(v.get<std::string>(), what);
    FloatTensor t;
    try {
      const NdArray array = read_npy(path);
      if (array.type != ElementType::float32)
        rmsmp::fail(path.string() + " holds " + std::string(element_type_name(array.type)) +
                     " values; weights must be float32");
      t.shape = array.shape;
      t.data = array.values<float>();
    } catch (const Error& e) {
      fail(what + ": " + message_of(e));
    }
    return t;
  }

  FloatLayer layer(const Json& v, std::size_t index) const {
    std::string where = "layer " + std::to_string(index);
    if (!v.is_object()) fail(where + " must be an object");
    if (!v.contains("name") || !v["name"].is_string() || v["name"].get<std::string>().empty())
      fail(where + ": \"name\" must be a non-empty string");
    FloatLayer l;
    l.name = v["name"].get<std::string>();
    where += " '" + l.name + "'";
    const Json& op = member(v, "op", where);
    if (!op.is_string()) fail(where + ": \"op\" must be a string");
    const std::string op_name = op.get<std::string>();
    if (v.contains("input")) {
      if (!v["input"].is_string() || v["input"].get<std::string>().empty())
        fail(where + ": \"input\" must be a layer name");
      l.input = v["input"].get<std::string>();
    }
    if (op_name == "linear" || op_name == "conv2d") {
      const bool conv = op_name == "conv2d";
      l.op = conv ? LayerOp::conv2d : LayerOp::linear;
      if (conv) allow_only(v, {"op", "name", "input", "weight", "bias", "kernel", "stride", "padding"}, where);
      else allow_only(v, {"op", "name", "input", "weight", "bias"}, where);
      l.weight = tensor(v, "weight", where);
      if (v.contains("bias")) l.bias = tensor(v, "bias", where);
      if (conv) {
        // The kernel size is the weight's; an explicit "kernel" must agree (check_float_model).
        if (l.weight.shape.size() == 4) {
          l.kernel_h = static_cast<int>(std::min<std::int64_t>(l.weight.shape[2], 1 << 16));
          l.kernel_w = static_cast<int>(std::min<std::int64_t>(l.weight.shape[3], 1 << 16));
        }
        std::tie(l.kernel_h, l.kernel_w) = pair(v, "kernel", where, 1, {l.kernel_h, l.kernel_w});
        std::tie(l.stride_h, l.stride_w) = pair(v, "stride", where, 1, {1, 1});
        std::tie(l.padding_h, l.padding_w) = pair(v, "padding", where, 0, {0, 0});
      }
    } else if (op_name == "max_pool2d" || op_name == "avg_pool2d") {
      l.op = op_name == "max_pool2d" ? LayerOp::max_pool2d : LayerOp::avg_pool2d;
      allow_only(v, {"op", "name", "input", "kernel", "stride", "padding"}, where);
      if (!v.contains("kernel")) fail(where + ": \"kernel\" is missing");
      std::tie(l.kernel_h, l.kernel_w) = pair(v, "kernel", where, 1, {1, 1});
      // PyTorch's default stride for pools is the kernel size.
      std::tie(l.stride_h, l.stride_w) = pair(v, "stride", where, 1, {l.kernel_h, l.kernel_w});
      std::tie(l.padding_h, l.padding_w) = pair(v, "padding", where, 0, {0, 0});
    } else if (op_name == "relu" || op_name == "global_avg_pool" || op_name == "flatten") {
      l.op = op_name == "relu" ? LayerOp::relu : op_name == "flatten" ? LayerOp::flatten : LayerOp::global_avg_pool;
      allow_only(v, {"op", "name", "input"}, where);
    } else if (op_name == "add") {
      l.op = LayerOp::add;
      allow_only(v, {"op", "name", "input", "other"}, where);
      const Json& other = member(v, "other", where);
      if (!other.is_string() || other.get<std::string>().empty()) fail(where + ": \"other\" must be a layer name");
      l.other = other.get<std::string>();
    } else {
      fail(where + ": unknown op \"" + op_name +
           "\" (known: linear, conv2d, relu, max_pool2d, avg_pool2d, global_avg_pool, flatten, add)");
    }
    return l;
  }

  std::filesystem::path base_dir_;
  std::string source_;
};

}  // namespace detail

/// Parses manifest text; weight paths are relative to `base_dir`, `source` names the
/// manifest in errors.
inline FloatModel parse_float_model(std::string_view manifest_text, const std::filesystem::path& base_dir,
                                    const std::string& source) {
  return detail::ManifestReader(base_dir, source).read(manifest_text);
}

/// Loads a float model from its manifest, or from a directory holding model.json.
inline FloatModel load_float_model(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::path manifest =
      std::filesystem::is_directory(path, ec) ? path / float_model_manifest_name : path;
  const std::vector<std::uint8_t> bytes = detail::read_file_bytes(manifest, "model manifest");
  const std::filesystem::path base = manifest.has_parent_path() ? manifest.parent_path() : std::filesystem::path(".");
  return parse_float_model(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), base,
                           manifest.string());
}

/// Writes `model` (checked first) as `dir`/model.json plus one .npy per tensor, named after
/// the layer ("<layer>.weight.npy"; characters other than letters, digits, '.', '-' and '_'
/// become '_', and the layer index is prepended if that makes two names equal). Creates `dir`.
inline void save_float_model(const FloatModel& model, const std::filesystem::path& dir) {
  check_float_model(model);
  std::filesystem::create_directories(dir);
  using detail::Json;
  Json root;
  root["format"] = std::string(float_model_format);
  root["version"] = float_model_version;
  root["input"] = {{"shape", model.input.shape}, {"scale", model.input.scale}, {"offset", model.input.offset}};
  if (!model.class_names.empty()) root["classes"] = model.class_names;
  std::set<std::string> used;
  const auto save_tensor = [&](const FloatTensor& t, std::size_t index, const std::string& layer, const char* kind) {
    std::string stem = layer;
    for (char& c : stem)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
    std::string name = stem + "." + kind + ".npy";
    if (!used.insert(name).second) {
      name = std::to_string(index) + "_" + name;
      used.insert(name);
    }
    write_npy(dir / name, NdArray::from_values<float>(t.shape, t.data));
    return name;
  };
  Json layers = Json::array();
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const FloatLayer& l = model.layers[i];
    Json j;
    j["op"] = std::string(layer_op_name(l.op));
    j["name"] = l.name;
    if (!l.input.empty()) j["input"] = l.input;
    switch (l.op) {
      case LayerOp::conv2d:
        j["stride"] = Json::array({l.stride_h, l.stride_w});
        j["padding"] = Json::array({l.padding_h, l.padding_w});
        [[fallthrough]];
      case LayerOp::linear:
        j["weight"] = save_tensor(l.weight, i, l.name, "weight");
        if (!l.bias.shape.empty()) j["bias"] = save_tensor(l.bias, i, l.name, "bias");
        break;
      case LayerOp::max_pool2d:
      case LayerOp::avg_pool2d:
        j["kernel"] = Json::array({l.kernel_h, l.kernel_w});
        j["stride"] = Json::array({l.stride_h, l.stride_w});
        j["padding"] = Json::array({l.padding_h, l.padding_w});
        break;
      case LayerOp::add:
        j["other"] = l.other;
        break;
      default:
        break;
    }
    layers.push_back(std::move(j));
  }
  root["layers"] = std::move(layers);
  const std::string text = root.dump(2) + "\n";
  detail::write_file_bytes(dir / float_model_manifest_name,
                           {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, "model manifest");
}

}  // namespace rmsmp

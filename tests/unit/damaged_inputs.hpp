// What the readers' Catch2 [fuzz] cases (tests/unit/<reader>_test.cpp) and the fuzz targets'
// seed corpus (tests/fuzz/make_corpus.cpp) both build: the hand-made fixtures and the edits
// each case applies per trial. Defined once, so the corpus's damaged_* seeds are the first
// inputs of the matching Catch2 case by construction, not by two copies kept in step.
// No Catch2 here: the corpus generator is a plain program. The IDX ones, which need zlib, are in
// idx_fixtures.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/quantized_model_file.hpp"

namespace rmsmp_test {

using Bytes = std::vector<std::uint8_t>;

// --- .npy ----------------------------------------------------------------------------------

/// The .npy [fuzz] case's seeds, files NumPy wrote (tests/data/npy), in the case's order.
inline const std::vector<std::string>& npy_fuzz_seed_names() {
  static const std::vector<std::string> names = {"f32_v1.npy", "f32_v2.npy", "f32_v3.npy", "u8.npy",
                                                 "i8.npy",     "i64.npy",    "scalar.npy", "empty.npy"};
  return names;
}

/// One trial of the .npy [fuzz] case: 1-4 edits, three in four aimed at the header text with
/// characters its grammar uses, the rest anywhere; an edit overwrites or deletes a byte.
inline Bytes damage_npy(Bytes bad, std::mt19937& rng) {
  static const std::string alphabet = "{}()[]:,'\" 0123456789<>|=fiubTrueFalsedescrshape_\n\\";
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const bool header = rng() % 4 != 0;
    const std::size_t at = header ? 10 + rng() % 60 : rng() % bad.size();
    if (at >= bad.size()) continue;
    switch (rng() % 3) {
      case 0:
        bad[at] = static_cast<std::uint8_t>(alphabet[rng() % alphabet.size()]);
        break;
      case 1:
        bad[at] = static_cast<std::uint8_t>(rng());
        break;
      default:
        bad.erase(bad.begin() + static_cast<std::ptrdiff_t>(at));
    }
  }
  return bad;
}

// --- float model manifest (JSON) -----------------------------------------------------------

/// The layer list of a small manifest: input [1, 8, 8] -> conv 3x3 pad 1 -> [4, 8, 8] -> relu ->
/// pool 2 -> [4, 4, 4] -> flatten -> fc -> [3]. The weight files it names (c.w.npy, c.b.npy,
/// fc.w.npy, and the refused u8.npy, nan.npy) are written by the test or fuzz target beside it.
inline std::string manifest_layers(const std::string& extra_layer = "", const std::string& fc_weight = "fc.w.npy") {
  return R"([{"op": "conv2d", "name": "c", "weight": "c.w.npy", "bias": "c.b.npy", "kernel": 3, "stride": 1, "padding": 1},
               {"op": "relu", "name": "r"},
               {"op": "max_pool2d", "name": "p", "kernel": 2},
               {"op": "flatten", "name": "f"},
               {"op": "linear", "name": "fc", "weight": ")" +
         fc_weight + "\"}" + extra_layer + "]";
}

/// A whole manifest around `layer_list`; `top` is inserted among the top-level keys.
inline std::string manifest(const std::string& layer_list = manifest_layers(), const std::string& top = "") {
  return R"({"format": "rmsmp-float-model", "version": 1, )" + top +
         R"("input": {"shape": [1, 8, 8], "scale": 0.5}, "layers": )" + layer_list + "}";
}

/// One trial of the manifest [fuzz] case: 1-3 edits, a character overwritten with one JSON or
/// a name uses, or 1-4 characters deleted.
inline std::string damage_manifest(std::string bad, std::mt19937& rng) {
  static const std::string alphabet = "{}[]:,\" 0123456789-.eE_abcdefghijklmnopqrstuvwxyz/\\";
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = rng() % bad.size();
    if (rng() % 3 == 0) bad.erase(at, 1 + rng() % 4);
    else bad[at] = alphabet[rng() % alphabet.size()];
  }
  return bad;
}

// --- the binary container and the quantized model file -------------------------------------

/// A container of three sections: mixed field types, an empty one, a long dotted name.
inline Bytes sample_container() {
  rmsmp::BinaryFileWriter w("test-format", 3);
  rmsmp::ByteWriter& a = w.add_section("alpha");
  a.write_u32(0xDEADBEEFu);
  a.write_string("hello");
  a.write_f32_array(std::vector<float>{1.5f, -2.0f, 0.0f});
  w.add_section("empty");
  rmsmp::ByteWriter& c = w.add_section("layer4.1.downsample.0");
  for (int i = 0; i < 40; ++i) c.write_u8(static_cast<std::uint8_t>(i * 7));
  return w.bytes();
}

/// One trial of the container [fuzz] case: 1-6 bytes overwritten anywhere, and one time in four
/// the file cut at a random length.
inline Bytes damage_container(Bytes bad, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 6);
  for (int e = 0; e < edits; ++e) bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng());
  if (rng() % 4 == 0) bad.resize(rng() % (bad.size() + 1));
  return bad;
}

/// `good`'s "model" section with `damaged`'s layers, the container rebuilt so every checksum
/// holds: only the loader's field checks and validate() can refuse it.
inline Bytes with_layers_of(const rmsmp::QuantizedModel& good, const rmsmp::QuantizedModel& damaged) {
  using namespace rmsmp;
  const BinaryFileReader original(quantized_model_bytes(good), "good", quantized_model_format, quantized_model_version);
  BinaryFileWriter file(std::string(quantized_model_format), quantized_model_version);
  ByteReader head = original.section("model");
  file.add_section("model").write_bytes(head.read_bytes(head.remaining()));
  for (std::size_t i = 0; i < damaged.layers.size(); ++i)
    detail::write_layer(file.add_section(detail::layer_section(i)), damaged.layers[i]);
  return file.bytes();
}

/// `model`'s file with its input shape (rank 3: three i64 after a u32 rank) rewritten to
/// side x side x side, checksums rebuilt. Each side within the reader's limit of 2^30, their
/// product (2^90) once overflowed int64 in validate() before it was compared.
inline Bytes with_cubic_input_shape(const rmsmp::QuantizedModel& model, std::int64_t side) {
  using namespace rmsmp;
  const BinaryFileReader original(quantized_model_bytes(model), "model", quantized_model_format, quantized_model_version);
  BinaryFileWriter file(std::string(quantized_model_format), quantized_model_version);
  ByteReader head = original.section("model");
  ByteWriter& new_head = file.add_section("model");
  const std::uint32_t rank = head.read_u32();
  if (rank != 3) throw std::runtime_error("with_cubic_input_shape: the model's input is not rank 3");
  new_head.write_u32(rank);
  for (int i = 0; i < 3; ++i) {
    (void)head.read_i64();
    new_head.write_i64(side);
  }
  new_head.write_bytes(head.read_bytes(head.remaining()));
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    ByteReader layer = original.section(detail::layer_section(i));
    file.add_section(detail::layer_section(i)).write_bytes(layer.read_bytes(layer.remaining()));
  }
  return file.bytes();
}

}  // namespace rmsmp_test

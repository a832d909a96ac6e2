// rmsmp/io/quantized_model_file.hpp — a QuantizedModel in one file, and back, exactly.
//
// The file is a binary container (binary_file.hpp: magic, versions, sizes, CRC32 per section)
// of format "rmsmp-model", version 1, with these sections:
//   "model"      input spec, input activation parameters, row mix, class names, source
//                (the float model's path), layer count
//   "layer/<i>"  one per layer, in order: op, name, sources, shapes, window, output
//                parameters, folding flags, and the op's integer parameters (the mixed-row
//                matrix, biases, requantization multipliers or float scales, clamp; the
//                residual add's multipliers)
// The byte layout is in docs/model-format.md. Loading checks every field as it is read
// (serialize.hpp) and then the whole model (validate), so a truncated, corrupted or
// hand-edited file is refused with an rmsmp::Error naming the section, never run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/io/binary_file.hpp"
#include "rmsmp/io/serialize.hpp"
#include "rmsmp/model/quantized_model.hpp"

namespace rmsmp {

inline constexpr std::string_view quantized_model_format = "rmsmp-model";
inline constexpr std::uint32_t quantized_model_version = 1;

namespace detail {

inline void write_shape(ByteWriter& out, const TensorShape& s) {
  out.write_i32(s.channels);
  out.write_i32(s.height);
  out.write_i32(s.width);
}

inline TensorShape read_shape(ByteReader& in) {
  TensorShape s;
  s.channels = in.read_i32();
  s.height = in.read_i32();
  s.width = in.read_i32();
  if (s.channels < 1 || s.height < 1 || s.width < 1) in.fail("tensor shape " + s.str() + " has an empty dimension");
  return s;
}

inline void write_window(ByteWriter& out, const Window2d& w) {
  for (int v : {w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.padding_h, w.padding_w}) out.write_i32(v);
}

inline Window2d read_window(ByteReader& in) {
  Window2d w;
  for (int* v : {&w.kernel_h, &w.kernel_w, &w.stride_h, &w.stride_w, &w.padding_h, &w.padding_w}) *v = in.read_i32();
  return w;  // ranges are checked by validate() against the shapes
}

inline void write_layer(ByteWriter& out, const QuantizedModelLayer& l) {
  out.write_u8(static_cast<std::uint8_t>(l.op));
  out.write_string(l.name);
  out.write_i32(l.input);
  out.write_i32(l.other);
  write_shape(out, l.input_shape);
  write_shape(out, l.output_shape);
  write_window(out, l.window);
  write(out, l.output);
  out.write_u8(static_cast<std::uint8_t>((l.relu_folded ? 1 : 0) | (l.passthrough ? 2 : 0) | (l.gemm ? 4 : 0)));
  if (l.gemm) {
    const QuantizedGemm& g = *l.gemm;
    write(out, g.weights);
    out.write_i32_array(g.bias);
    out.write_u64(g.requantize.size());
    for (const FixedPointMultiplier& m : g.requantize) write(out, m);
    out.write_f32_array(g.to_float);
    out.write_i32(g.clamp_lo);
    out.write_i32(g.clamp_hi);
  }
  if (l.op == LayerOp::add) {
    out.write_i32(l.add.multiplier_a);
    out.write_i32(l.add.multiplier_b);
    out.write_i32(l.add.shift);
    out.write_i32(l.add.output_zero_point);
    out.write_i32(l.add.lo);
    out.write_i32(l.add.hi);
  }
}

inline QuantizedModelLayer read_layer(ByteReader& in, const std::optional<DynamicRowMix>& mix) {
  QuantizedModelLayer l;
  const std::uint8_t op = in.read_u8();
  if (op > static_cast<std::uint8_t>(LayerOp::add)) in.fail("unknown layer op " + std::to_string(op));
  l.op = static_cast<LayerOp>(op);
  l.name = in.read_string();
  l.input = in.read_i32();
  l.other = in.read_i32();
  l.input_shape = read_shape(in);
  l.output_shape = read_shape(in);
  l.window = read_window(in);
  l.output = read_activation_params(in);
  const std::uint8_t flags = in.read_u8();
  if (flags > 7) in.fail("unknown layer flags " + std::to_string(flags));
  l.relu_folded = (flags & 1) != 0;
  l.passthrough = (flags & 2) != 0;
  if ((flags & 4) != 0) {
    MixedRowMatrix<> weights = mix ? read_mixed_row_matrix(in, *mix) : read_mixed_row_matrix(in);
    std::vector<std::int32_t> bias = in.read_i32_array();
    std::vector<FixedPointMultiplier> requantize(in.read_count(8));
    for (FixedPointMultiplier& m : requantize) m = read_fixed_point_multiplier(in);
    std::vector<float> to_float = in.read_f32_array();
    const std::int32_t lo = in.read_i32(), hi = in.read_i32();
    l.gemm.emplace(QuantizedGemm{std::move(weights), std::move(bias), std::move(requantize), std::move(to_float), lo, hi});
  }
  if (l.op == LayerOp::add) {
    l.add.multiplier_a = in.read_i32();
    l.add.multiplier_b = in.read_i32();
    l.add.shift = in.read_i32();
    l.add.output_zero_point = in.read_i32();
    l.add.lo = in.read_i32();
    l.add.hi = in.read_i32();
  }
  in.expect_end();
  return l;
}

inline std::string layer_section(std::size_t i) { return "layer/" + std::to_string(i); }

}  // namespace detail

/// The model as the bytes of a file.
inline std::vector<std::uint8_t> quantized_model_bytes(const QuantizedModel& model) {
  validate(model);
  BinaryFileWriter file(std::string(quantized_model_format), quantized_model_version);
  ByteWriter& head = file.add_section("model");
  head.write_u32(static_cast<std::uint32_t>(model.input.shape.size()));
  for (std::int64_t d : model.input.shape) head.write_i64(d);
  head.write_f32(model.input.scale);
  head.write_f32(model.input.offset);
  write(head, model.input_params);
  head.write_u8(model.mix.empty() ? 0 : 1);
  if (!model.mix.empty()) write(head, DynamicRowMix(model.mix));
  head.write_u32(static_cast<std::uint32_t>(model.class_names.size()));
  for (const std::string& c : model.class_names) head.write_string(c);
  head.write_string(model.source);
  head.write_u32(static_cast<std::uint32_t>(model.layers.size()));
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    detail::write_layer(file.add_section(detail::layer_section(i)), model.layers[i]);
  return file.bytes();
}

inline void save_quantized_model(const QuantizedModel& model, const std::filesystem::path& path) {
  detail::write_file_bytes(path, quantized_model_bytes(model), "model file");
}

/// Reads a model from the bytes of a file; `source` names it in errors.
inline QuantizedModel parse_quantized_model(std::vector<std::uint8_t> bytes, const std::string& source) {
  const BinaryFileReader file(std::move(bytes), source, quantized_model_format, quantized_model_version);
  QuantizedModel model;
  ByteReader head = file.section("model");
  const std::uint32_t rank = head.read_u32();
  if (rank > 8) head.fail("input rank " + std::to_string(rank) + " (corrupted file?)");
  for (std::uint32_t i = 0; i < rank; ++i) model.input.shape.push_back(head.read_i64());
  model.input.scale = head.read_f32();
  model.input.offset = head.read_f32();
  model.input_params = read_activation_params(head);
  std::optional<DynamicRowMix> mix;
  const std::uint8_t has_mix = head.read_u8();
  if (has_mix > 1) head.fail("bad mix flag " + std::to_string(has_mix));
  if (has_mix == 1) {
    mix.emplace(read_row_mix(head));
    model.mix = mix->entries();
  }
  const std::size_t classes = head.read_u32();
  if (classes > head.remaining() / 4) head.fail(std::to_string(classes) + " class names cannot fit in the section");
  for (std::size_t i = 0; i < classes; ++i) model.class_names.push_back(head.read_string());
  model.source = head.read_string();
  const std::uint32_t layers = head.read_u32();
  head.expect_end();
  if (layers == 0 || layers > file.section_names().size())
    head.fail(std::to_string(layers) + " layers, but the file has " + std::to_string(file.section_names().size()) +
              " sections");
  for (std::uint32_t i = 0; i < layers; ++i) {
    ByteReader in = file.section(detail::layer_section(i));
    model.layers.push_back(detail::read_layer(in, mix));
  }
  if (file.section_names().size() != std::size_t{layers} + 1)
    fail(source + ": has sections beyond its " + std::to_string(layers) + " layers");
  try {
    validate(model);
  } catch (const Error& e) {
    fail(source + ": " + detail::message_of(e));
  }
  return model;
}

inline QuantizedModel load_quantized_model(const std::filesystem::path& path) {
  return parse_quantized_model(detail::read_file_bytes(path, "model file"), path.string());
}

}  // namespace rmsmp

// The quantized model file: exact round trip (the bytes of a re-saved model are identical and
// it runs bit for bit the same), and refusal of truncated, corrupted, foreign, newer and
// inconsistent files.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "damaged_inputs.hpp"
#include "model_test_support.hpp"
#include "rmsmp/io/quantized_model_file.hpp"
#include "rmsmp/rmsmp.hpp"

using namespace rmsmp;

namespace {

QuantizedModel quantized_cnn(int bits) {
  QuantizeOptions options;
  options.activation_bits = bits;
  QuantizedModel q = quantize_model(rmsmp_test::small_cnn(), rmsmp_test::random_inputs(3 * 12 * 12, 8, -1.0f, 1.0f),
                                    DynamicRowMix::from<Mix60_35_5>(), options);
  q.class_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  q.source = "/models/cnn";
  return q;
}

bool same_floats(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

void put_u32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

TEST_CASE("a quantized model round-trips exactly", "[model_file]") {
  for (int bits : {8, 4}) {
    const QuantizedModel q = quantized_cnn(bits);
    const std::vector<std::uint8_t> bytes = quantized_model_bytes(q);
    const QuantizedModel back = parse_quantized_model(bytes, "memory");
    CHECK(quantized_model_bytes(back) == bytes);
    REQUIRE(back.layers.size() == q.layers.size());
    CHECK(back.class_names == q.class_names);
    CHECK(back.source == q.source);
    CHECK(back.input_params.scale == q.input_params.scale);
    for (std::size_t i = 0; i < q.layers.size(); ++i) {
      const QuantizedModelLayer &a = q.layers[i], &b = back.layers[i];
      INFO("layer " << i);
      CHECK(a.name == b.name);
      CHECK(a.op == b.op);
      CHECK(a.input == b.input);
      CHECK(a.other == b.other);
      CHECK(a.output.scale == b.output.scale);
      CHECK(a.output.zero_point == b.output.zero_point);
      CHECK(a.relu_folded == b.relu_folded);
      CHECK(a.passthrough == b.passthrough);
      REQUIRE(a.gemm.has_value() == b.gemm.has_value());
      if (a.gemm) {
        CHECK(a.gemm->weights.levels() == b.gemm->weights.levels());
        CHECK(a.gemm->weights.row_scales() == b.gemm->weights.row_scales());
        CHECK(a.gemm->weights.assignment() == b.gemm->weights.assignment());
        CHECK(a.gemm->bias == b.gemm->bias);
        CHECK(a.gemm->to_float == b.gemm->to_float);
        for (std::size_t g = 0; g < a.gemm->weights.group_count(); ++g)
          CHECK(a.gemm->weights.group(g).scheme() == b.gemm->weights.group(g).scheme());
      }
    }
    const Eigen::MatrixXf x = rmsmp_test::random_inputs(3 * 12 * 12, 3, -1.0f, 1.0f);
    CHECK(same_floats(run(q, x), run(back, x, CpuBackend<>{})));
  }

  const std::filesystem::path path = std::filesystem::temp_directory_path() / "rmsmp_model_file_test.rmsmp";
  const QuantizedModel q = quantized_cnn(8);
  save_quantized_model(q, path);
  CHECK(quantized_model_bytes(load_quantized_model(path)) == quantized_model_bytes(q));
  std::filesystem::remove(path);
  CHECK_THROWS_AS(load_quantized_model(path), Error);  // missing file
}

TEST_CASE("truncated, corrupted, foreign and newer model files are refused", "[model_file]") {
  const std::vector<std::uint8_t> bytes = quantized_model_bytes(quantized_cnn(8));
  for (std::size_t n = 0; n < bytes.size(); n += 1 + n / 7) {
    INFO("first " << n << " bytes");
    CHECK_THROWS_AS(parse_quantized_model({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)}, "truncated"), Error);
  }
  for (std::size_t at = 0; at < bytes.size(); at += 1 + at / 5) {
    std::vector<std::uint8_t> damaged = bytes;
    damaged[at] ^= 0x10;
    INFO("byte " << at << " flipped");
    CHECK_THROWS_AS(parse_quantized_model(damaged, "damaged"), Error);
  }
  // A newer format version (header checksum fixed up): refused by version, not by checksum.
  std::vector<std::uint8_t> newer = bytes;
  put_u32(newer, 12, quantized_model_version + 1);
  put_u32(newer, 44, crc32(std::span<const std::uint8_t>(newer).first(44)));
  CHECK_THROWS_WITH(parse_quantized_model(newer, "newer"), Catch::Contains("version"));
  // Another rmsmp container format.
  BinaryFileWriter other("something-else", 1);
  other.add_section("model").write_u32(1);
  CHECK_THROWS_WITH(parse_quantized_model(other.bytes(), "other"), Catch::Contains("expected 'rmsmp-model'"));
}

TEST_CASE("a well-formed file with inconsistent content is refused", "[model_file]") {
  // Checksums are right (the container is rebuilt), the content is not: the loader's
  // field checks and validate() must catch it.
  const QuantizedModel good = quantized_cnn(8);
  auto rebuilt = [&](auto&& damage) {
    QuantizedModel q = good;
    damage(q);
    return rmsmp_test::with_layers_of(good, q);
  };
  CHECK_NOTHROW(parse_quantized_model(rebuilt([](QuantizedModel&) {}), "same"));
  CHECK_THROWS_AS(parse_quantized_model(rebuilt([](QuantizedModel& q) { q.layers[4].input = 9; }), "x"), Error);
  CHECK_THROWS_AS(parse_quantized_model(rebuilt([](QuantizedModel& q) { q.layers[2].gemm->bias.pop_back(); }), "x"), Error);
  CHECK_THROWS_AS(parse_quantized_model(rebuilt([](QuantizedModel& q) { q.layers[7].output_shape.channels = 3; }), "x"), Error);
  CHECK_THROWS_AS(parse_quantized_model(rebuilt([](QuantizedModel& q) { q.layers[5].add.shift = 99; }), "x"), Error);
  CHECK_THROWS_AS(parse_quantized_model(rebuilt([](QuantizedModel& q) { q.layers.pop_back(); }), "x"), Error);

  // The input shape is stored as three i64: each within 2^30, their product (2^90) overflowed
  // int64 in validate() before it was compared (tests/fuzz/corpus/quantized_model_file/
  // regression_input_shape_overflow.rmsmp is this file).
  const std::vector<std::uint8_t> huge_input = rmsmp_test::with_cubic_input_shape(good, std::int64_t{1} << 30);
  CHECK_THROWS_WITH(parse_quantized_model(huge_input, "huge"),
                    Catch::Contains("huge: model input: output shape [1073741824, 1073741824, 1073741824] is too large"));
}

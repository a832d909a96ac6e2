// The same answer everywhere: the demo's two trained models (examples/models), quantized with
// 8-bit and with 4-bit activations, give every layer's output byte for byte equal to the
// reference backend on every CPU path this machine runs, with 1 to 4 threads (every tile
// allowed its own thread, so the threads really split the work); and quantizing a float model
// twice gives byte-identical model files.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/rmsmp.hpp"

#ifndef RMSMP_EXAMPLES_DIR
#error "tests/CMakeLists.txt defines RMSMP_EXAMPLES_DIR (the source tree's examples/) for this test"
#endif

using namespace rmsmp;
namespace fs = std::filesystem;

namespace {

const fs::path models_dir = fs::path(RMSMP_EXAMPLES_DIR) / "models";

/// `count` images of 28 x 28 random pixels 0..255 (what the demo's models read), preprocessed as
/// the model says. Random rather than Fashion-MNIST so the test needs no data package; the
/// trained weights are what matters for realistic layer statistics.
Eigen::MatrixXf random_images(const FloatModel& model, int count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pixel(0, 255);
  Eigen::MatrixXf pixels(784, count);
  for (Eigen::Index i = 0; i < pixels.size(); ++i) pixels.data()[i] = static_cast<float>(pixel(rng));
  return preprocess_input(pixels, model.input);
}

bool same_floats(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

struct Case {
  const char* model;
  int activation_bits;
};

}  // namespace

TEST_CASE("the demo's models give the reference's bytes on every CPU path and thread count", "[determinism]") {
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  for (const Case c : {Case{"fashion_cnn", 8}, Case{"fashion_mlp", 8}, Case{"fashion_cnn", 4}}) {
    const FloatModel model = load_float_model(models_dir / c.model);
    QuantizeOptions options;
    options.activation_bits = c.activation_bits;
    options.input_bits = c.activation_bits;
    const QuantizedModel q = quantize_model(model, random_images(model, 64, 1), mix, options);
    const Eigen::MatrixXf x = random_images(model, 24, 2);
    const Tensor<float> input = from_chw_columns(x, q.input_shape());
    const ModelExecutor<> reference(q);
    const std::vector<LayerOutput> expected = reference.run_layers(input);
    const Eigen::MatrixXf expected_output = reference.run(x);
    for (cpu::ArchId arch : cpu::runnable_archs())
      for (int threads = 1; threads <= 4; ++threads) {
        INFO(c.model << ", " << c.activation_bits << "-bit activations, " << cpu::arch_name(arch) << ", " << threads
                     << " threads");
        const ModelExecutor<CpuBackend<>> cpu(q, CpuBackend<>{arch, cpu::Threads{threads, 0}});
        const std::vector<LayerOutput> got = cpu.run_layers(input);
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
          INFO("layer " << i << " " << q.layers[i].name);
          REQUIRE(same_bits(got[i], expected[i]));
        }
        REQUIRE(same_floats(cpu.run(x), expected_output));
      }
  }
}

TEST_CASE("quantizing the same float model twice writes byte-identical files", "[determinism]") {
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  for (const Case c : {Case{"fashion_cnn", 8}, Case{"fashion_mlp", 4}}) {
    INFO(c.model << ", " << c.activation_bits << "-bit activations");
    const FloatModel model = load_float_model(models_dir / c.model);
    QuantizeOptions options;
    options.activation_bits = c.activation_bits;
    options.input_bits = c.activation_bits;
    const Eigen::MatrixXf calibration = random_images(model, 64, 3);
    const std::vector<std::uint8_t> first = quantized_model_bytes(quantize_model(model, calibration, mix, options));
    const std::vector<std::uint8_t> second = quantized_model_bytes(quantize_model(model, calibration, mix, options));
    REQUIRE(first.size() > 1000);
    REQUIRE(first == second);
    // A model loaded back from those bytes writes them again.
    REQUIRE(quantized_model_bytes(parse_quantized_model(first, "the first file")) == first);
  }
}

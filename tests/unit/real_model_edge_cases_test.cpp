// Regression tests on generated data that mimics what real pretrained models contain:
//  - rows whose largest |w| is 1e-31..1e-30 (in a pretrained face-recognition model, 115 of the
//    256 rows of the final dense layer look like this): they quantize to finite scales and
//    finite outputs, with both assignment rules, with and without error compensation;
//  - rows spanning a dynamic range of 1e8;
//  - layers of a single row and of a single column;
//  - a calibration set in which one input channel is constant (a singular Hessian);
//  - calibration data or inputs holding NaN or Inf: a clear rmsmp::Error.
// Every quantized model must also run bit-identically on the CPU paths and survive a file
// round trip.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "model_test_support.hpp"
#include "rmsmp/rmsmp.hpp"

using namespace rmsmp;
using rmsmp_test::conv_layer;
using rmsmp_test::linear_layer;
using rmsmp_test::random_inputs;
using rmsmp_test::simple_layer;

namespace {

/// The float values of a weight matrix (rows x cols, PyTorch's row-major [out, in]).
float& weight(FloatLayer& l, int row, int col) {
  return l.weight.data[static_cast<std::size_t>(row * l.weight.shape[1] + col)];
}

/// flatten -> fc1 (64 -> 32) -> relu -> fc2 (32 -> 10), input [1, 8, 8].
FloatModel mlp() { return rmsmp_test::small_mlp(); }

/// Quantizes `model` on `calibration` with `options`, then checks what every quantized model
/// must satisfy: finite row scales, CPU paths equal to the reference, finite outputs, an exact
/// file round trip. Returns the quantized model.
QuantizedModel quantize_and_check(const FloatModel& model, const Eigen::MatrixXf& calibration,
                                  const Eigen::MatrixXf& inputs, const LayerQuantizerOptions& layer_options = {},
                                  const DynamicRowMix& mix = DynamicRowMix::from<Mix60_35_5>()) {
  QuantizeOptions options;
  options.weights = hessian_weight_quantizer(layer_options);
  const QuantizedModel q = quantize_model(model, calibration, mix, options);
  for (const QuantizedModelLayer& l : q.layers) {
    if (!l.gemm) continue;
    INFO("layer " << l.name);
    const Eigen::MatrixXf w = l.gemm->weights.dequantize();
    REQUIRE(w.allFinite());
    for (const RowGroup& g : l.gemm->weights.groups())
      for (std::size_t i = 0; i < g.rows(); ++i) {
        const float s = g.scale(i);
        REQUIRE((std::isfinite(s) && s > 0.0f));
      }
  }
  const ModelExecutor<> reference(q);
  const Eigen::MatrixXf expected = reference.run(inputs);
  REQUIRE(expected.allFinite());
  for (cpu::ArchId arch : cpu::runnable_archs()) {
    INFO(cpu::arch_name(arch));
    const Eigen::MatrixXf got = ModelExecutor<CpuBackend<>>(q, CpuBackend<>{arch}).run(inputs);
    REQUIRE(std::memcmp(got.data(), expected.data(), sizeof(float) * static_cast<std::size_t>(got.size())) == 0);
  }
  const std::vector<std::uint8_t> bytes = quantized_model_bytes(q);
  REQUIRE(quantized_model_bytes(parse_quantized_model(bytes, "round trip")) == bytes);
  return q;
}

}  // namespace

TEST_CASE("rows with max |w| of 1e-31..1e-30 quantize to finite scales and outputs", "[edge_cases]") {
  FloatModel model = mlp();
  FloatLayer& fc1 = model.layers[1];
  // 15 of 32 rows (about the face-recognition layer's share), each with its own tiny maximum.
  for (int r = 0; r < 15; ++r) {
    const float target = 1e-31f * (1.0f + 9.0f * static_cast<float>(r) / 14.0f);
    float max_abs = 0.0f;
    for (int c = 0; c < 64; ++c) max_abs = std::max(max_abs, std::abs(weight(fc1, r * 2, c)));
    for (int c = 0; c < 64; ++c) weight(fc1, r * 2, c) *= target / max_abs;
  }
  const Eigen::MatrixXf calibration = random_inputs(64, 32, -1.0f, 1.0f);
  const Eigen::MatrixXf inputs = random_inputs(64, 8, -1.0f, 1.0f);
  for (AssignmentRule rule : {AssignmentRule::papers, AssignmentRule::optimal})
    for (bool compensate : {false, true}) {
      INFO("rule " << (rule == AssignmentRule::papers ? "papers" : "optimal") << ", compensate " << compensate);
      LayerQuantizerOptions options;
      options.rule = rule;
      options.compensate = compensate;
      const QuantizedModel q = quantize_and_check(model, calibration, inputs, options);
      // The tiny rows keep their tiny magnitude: nothing rounds them up to a visible weight.
      const Eigen::MatrixXf w = q.layers[1].gemm->weights.dequantize();
      for (int r = 0; r < 15; ++r) REQUIRE(w.row(2 * r).cwiseAbs().maxCoeff() <= 2e-30f);
      // And their bias survives: the integer bias times the row's accumulator unit is the real
      // bias to within half a unit (the row's output is its bias).
      const QuantizedGemm& g = *q.layers[1].gemm;
      const std::vector<float> row_scales = g.weights.row_scales();
      const double input_scale = q.input_params.scale;
      for (int r = 0; r < 15; ++r) {
        const auto row = static_cast<std::size_t>(2 * r);
        const double unit = static_cast<double>(row_scales[row]) * input_scale;
        REQUIRE(std::abs(g.bias[row] * unit - static_cast<double>(model.layers[1].bias.data[row])) <= 0.5 * unit + 1e-12);
      }
    }
}

TEST_CASE("rows spanning a dynamic range of 1e8 quantize, keeping their largest weight", "[edge_cases]") {
  FloatModel model = mlp();
  FloatLayer& fc1 = model.layers[1];
  for (int r = 0; r < 32; r += 3) {
    for (int c = 0; c < 64; ++c) weight(fc1, r, c) = (c % 2 ? 1e-4f : -1e-4f) * static_cast<float>(1 + c % 5);
    weight(fc1, r, r % 64) = 1e4f;
  }
  const Eigen::MatrixXf calibration = random_inputs(64, 32, -1.0f, 1.0f);
  const QuantizedModel q = quantize_and_check(model, calibration, random_inputs(64, 8, -1.0f, 1.0f));
  const Eigen::MatrixXf w = q.layers[1].gemm->weights.dequantize();
  for (int r = 0; r < 32; r += 3) {
    INFO("row " << r);
    REQUIRE(std::abs(w(r, r % 64) - 1e4f) <= 0.2f * 1e4f);
  }
}

TEST_CASE("layers of a single row and of a single column quantize and run", "[edge_cases]") {
  SECTION("one output row") {
    FloatModel model;
    model.input.shape = {16};
    model.layers.push_back(linear_layer("fc", 16, 1));
    quantize_and_check(model, random_inputs(16, 16, -1.0f, 1.0f), random_inputs(16, 4, -1.0f, 1.0f));
    quantize_and_check(model, random_inputs(16, 16, -1.0f, 1.0f), random_inputs(16, 4, -1.0f, 1.0f), {},
                       parse_row_mix("fixed8:100"));
  }
  SECTION("one input column") {
    FloatModel model;
    model.input.shape = {1};
    model.layers.push_back(linear_layer("fc1", 1, 20));
    model.layers.push_back(simple_layer(LayerOp::relu, "relu"));
    model.layers.push_back(linear_layer("fc2", 20, 3));
    quantize_and_check(model, random_inputs(1, 16, -1.0f, 1.0f), random_inputs(1, 4, -1.0f, 1.0f));
  }
}

TEST_CASE("a constant input channel in the calibration set (a singular Hessian) quantizes", "[edge_cases]") {
  FloatModel model;
  model.input.shape = {3, 6, 6};
  model.layers.push_back(conv_layer("conv", 3, 8, 3, 1, 1));
  model.layers.push_back(simple_layer(LayerOp::relu, "relu"));
  model.layers.push_back(simple_layer(LayerOp::flatten, "flatten"));
  model.layers.push_back(linear_layer("fc", 8 * 6 * 6, 4));
  Eigen::MatrixXf calibration = random_inputs(3 * 6 * 6, 24, -1.0f, 1.0f);
  calibration.middleRows(36, 36).setConstant(0.5f);  // channel 1 (C, H, W order) is constant
  for (bool compensate : {false, true}) {
    INFO("compensate " << compensate);
    LayerQuantizerOptions options;
    options.compensate = compensate;
    quantize_and_check(model, calibration, random_inputs(3 * 6 * 6, 4, -1.0f, 1.0f), options);
  }
  calibration.setConstant(0.25f);  // every channel constant
  quantize_and_check(model, calibration, random_inputs(3 * 6 * 6, 4, -1.0f, 1.0f));
}

TEST_CASE("NaN or Inf in calibration data or inputs is a clear error", "[edge_cases]") {
  const FloatModel model = mlp();
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  const Eigen::MatrixXf good = random_inputs(64, 16, -1.0f, 1.0f);
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    INFO("value " << bad);
    Eigen::MatrixXf calibration = good;
    calibration(17, 5) = bad;
    REQUIRE_THROWS_AS(quantize_model(model, calibration, mix), Error);
    REQUIRE_THROWS_WITH(quantize_model(model, calibration, mix),
                        Catch::Contains("calibration: sample 5, value 17 is"));

    const QuantizedModel q = quantize_model(model, good, mix);
    Eigen::MatrixXf inputs = random_inputs(64, 4, -1.0f, 1.0f);
    inputs(3, 2) = bad;
    REQUIRE_THROWS_WITH(ModelExecutor<>(q).run(inputs), Catch::Contains("model input: sample 2, value 3 is"));
    REQUIRE_THROWS_AS(ModelExecutor<CpuBackend<>>(q).run(inputs), Error);
  }
}

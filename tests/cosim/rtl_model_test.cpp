// Quantized models on the Verilated engines: every Linear/Conv2d layer of the trained
// Fashion-MNIST models (examples/models), run as one gemm on real activations, equals
// reference::gemm bit for bit; ModelExecutor on the RTL backend gives every layer's output of
// the reference and CPU backends; models an engine cannot run are named as such.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "../unit/model_test_support.hpp"
#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/kernel/rtl/backend.hpp"
#include "rmsmp/rmsmp.hpp"
#include "rmsmp_rtl_engines.hpp"

using namespace rmsmp;
namespace fs = std::filesystem;

namespace {

using A8 = rtl::RtlBackend<rtl::engines::a8>;
using B4 = rtl::RtlBackend<rtl::engines::b4>;

const fs::path models_dir = RMSMP_EXAMPLE_MODELS_DIR;
const fs::path fashion_dir = RMSMP_FASHION_MNIST_DIR;

/// The first `count` images of a Fashion-MNIST IDX file as raw columns (784 values each), or
/// nothing when the data set is not installed.
std::optional<Eigen::MatrixXf> fashion_images(const std::string& file, int count) {
  const fs::path path = fashion_dir / file;
  if (!fs::exists(path)) return std::nullopt;
  const NdArray a = read_idx(path);
  const std::vector<std::uint8_t> values = a.values<std::uint8_t>();
  const auto n = static_cast<Eigen::Index>(std::min<std::int64_t>(count, a.shape.at(0)));
  Eigen::MatrixXf x(784, n);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = values[static_cast<std::size_t>(i)];
  return x;
}

DynamicRowMix mix_of(std::vector<DynamicRowMix::Entry> entries) { return DynamicRowMix(std::move(entries)); }
constexpr SchemeId pot4{SchemeKind::pot, 4};
constexpr SchemeId sp2_4{SchemeKind::sp2, 4};
constexpr SchemeId fixed4{SchemeKind::fixed, 4};
constexpr SchemeId fixed8{SchemeKind::fixed, 8};

template <class Out>
bool same_bits(const Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic>& a,
               const Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(Out)) == 0;
}

/// Runs every Linear/Conv2d layer of `model` on `engine` as a single gemm, on the codes that
/// reach it when the reference executor runs `inputs`, and compares with reference::gemm.
/// Returns the number of layers whose K was split.
template <class Engine>
int check_every_gemm_layer(const QuantizedModel& model, const Engine& engine, const Eigen::MatrixXf& inputs) {
  const ModelExecutor<ReferenceBackend> reference_executor(model);
  const Tensor<float> x = from_chw_columns(inputs, model.input_shape());
  const QuantizedTensor input_codes = quantize_tensor(x, model.input_params);
  const std::vector<LayerOutput> outputs = reference_executor.run_layers(x);
  int split = 0;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const QuantizedModelLayer& l = model.layers[i];
    if (!l.gemm) continue;
    const QuantizedGemm& g = *l.gemm;
    const QuantizedTensor& a =
        l.input == model_input ? input_codes : std::get<QuantizedTensor>(outputs[static_cast<std::size_t>(l.input)]);
    std::vector<std::uint8_t> columns;
    ActivationView<std::uint8_t> view = a.as_columns();
    if (l.op == LayerOp::conv2d) {
      columns = im2col(a.codes, l.window, static_cast<std::uint8_t>(a.params.zero_point));
      view = {columns.data(), g.weights.cols(), static_cast<int>(columns.size() / static_cast<std::size_t>(g.weights.cols())),
              g.weights.cols(), a.params};
    }
    INFO("layer " << i << " (" << l.name << "): " << g.weights.rows() << " x " << g.weights.cols() << " x " << view.cols);
    auto check = [&](const auto& pipeline) {
      using Out = typename std::decay_t<decltype(pipeline)>::output_type;
      const auto expected = reference::gemm(g.weights, view, pipeline);
      Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic> got(g.weights.rows(), view.cols);
      const rtl::RunStatistics s = engine.gemm(g.weights, view, pipeline, OutputView<Out>::of(got));
      REQUIRE(same_bits(got, expected));
      REQUIRE(s.k_chunks >= 1);
      if (s.k_chunks > 1) ++split;
    };
    if (g.float_output())
      check(ModelExecutor<>::FloatPipeline(BiasAdd{g.bias}, Clamp{g.clamp_lo, g.clamp_hi}, ToFloat{g.to_float}));
    else
      check(ModelExecutor<>::IntegerPipeline(BiasAdd{g.bias}, Requantize{g.requantize, l.output.zero_point},
                                             Clamp{g.clamp_lo, g.clamp_hi}, SaturatingCast<std::uint8_t>{}));
  }
  return split;
}

QuantizedModel quantize_trained(const FloatModel& fm, const Eigen::MatrixXf& calibration, const DynamicRowMix& mix,
                                int bits = 8) {
  QuantizeOptions options;
  options.activation_bits = bits;
  options.input_bits = bits;
  return quantize_model(fm, preprocess_input(calibration, fm.input), mix, options);
}

}  // namespace

TEST_CASE("every layer of the trained Fashion-MNIST models runs bit-identically on the engines", "[cosim]") {
  const std::optional<Eigen::MatrixXf> calibration = fashion_images("train-images-idx3-ubyte.gz", 64);
  const std::optional<Eigen::MatrixXf> test = fashion_images("t10k-images-idx3-ubyte.gz", 4);
  if (!calibration || !test) {
    WARN("Fashion-MNIST not found in " << fashion_dir << " (Debian package dataset-fashion-mnist): trained-layer cosim skipped");
    return;
  }
  const A8 a8(rtl::engines::make_a8());
  const B4 b4(rtl::engines::make_b4());
  int split = 0;
  for (const char* name : {"fashion_mlp", "fashion_cnn"}) {
    const FloatModel fm = load_float_model(models_dir / name);
    const Eigen::MatrixXf inputs = preprocess_input(*test, fm.input);
    INFO(name);
    // The papers' mix, and SP2 in place of or next to PoT, on the 8-bit engine.
    for (const DynamicRowMix& mix : {mix_of({{pot4, 60}, {fixed4, 35}, {fixed8, 5}}),
                                     mix_of({{sp2_4, 60}, {fixed4, 35}, {fixed8, 5}}),
                                     mix_of({{pot4, 30}, {sp2_4, 30}, {fixed4, 35}, {fixed8, 5}})}) {
      INFO("a8, mix " << display_name(mix));
      split += check_every_gemm_layer(quantize_trained(fm, *calibration, mix), a8, inputs);
    }
    INFO("b4, 4-bit activations, 60/35/5");
    split += check_every_gemm_layer(quantize_trained(fm, *calibration, mix_of({{pot4, 60}, {fixed4, 35}, {fixed8, 5}}), 4),
                                    b4, inputs);
  }
  // K = 784 (MLP fc1) and K = 1568 (CNN fc1) are deeper than an a8 bank; on b4 the 20-bit
  // accumulators split them too.
  REQUIRE(split >= 8);
}

TEST_CASE("ModelExecutor on the RTL engines gives every layer's output of the reference and CPU backends", "[cosim]") {
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  for (int bits : {8, 4}) {
    for (const bool cnn : {true, false}) {
      const FloatModel fm = cnn ? rmsmp_test::small_cnn() : rmsmp_test::small_mlp();
      const std::size_t features = cnn ? 3 * 12 * 12 : 64;
      const Eigen::MatrixXf calib = rmsmp_test::random_inputs(features, 16, -1.0f, 1.0f);
      QuantizeOptions options;
      options.activation_bits = bits;
      options.input_bits = bits;
      const QuantizedModel q = quantize_model(fm, calib, mix, options);
      const Tensor<float> x = from_chw_columns(rmsmp_test::random_inputs(features, 3, -1.0f, 1.0f), q.input_shape());
      const std::vector<LayerOutput> expected = ModelExecutor<ReferenceBackend>(q).run_layers(x);
      const std::vector<LayerOutput> cpu = ModelExecutor<CpuBackend<>>(q).run_layers(x);
      auto check_engine = [&](auto engine, const rtl::EngineParams& params) {
        REQUIRE(rtl::why_model_cannot_run(q, params).empty());
        const ModelExecutor<decltype(engine)> exec(q, std::move(engine));
        const std::vector<LayerOutput> got = exec.run_layers(x);
        int gemm_layers = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
          INFO((cnn ? "small CNN" : "small MLP") << ", " << bits << "-bit, layer " << i << " (" << q.layers[i].name << ")");
          REQUIRE(same_bits(got[i], expected[i]));
          REQUIRE(same_bits(got[i], cpu[i]));
          gemm_layers += q.layers[i].gemm ? 1 : 0;
        }
        const rtl::RunStatistics& totals = exec.backend().totals();
        REQUIRE(totals.gemm_calls == gemm_layers);
        REQUIRE(totals.cycles > 0);
        REQUIRE(totals.cycles == totals.predicted_cycles);  // no stalls
      };
      if (bits == 8)
        check_engine(A8(rtl::engines::make_a8()), rtl::engines::a8);
      else
        check_engine(B4(rtl::engines::make_b4()), rtl::engines::b4);
    }
  }
}

TEST_CASE("the trained MLP runs through ModelExecutor on a8 like on the reference", "[cosim]") {
  const std::optional<Eigen::MatrixXf> calibration = fashion_images("train-images-idx3-ubyte.gz", 64);
  const std::optional<Eigen::MatrixXf> test = fashion_images("t10k-images-idx3-ubyte.gz", 32);
  if (!calibration || !test) {
    WARN("Fashion-MNIST not found in " << fashion_dir << ": skipped");
    return;
  }
  const FloatModel fm = load_float_model(models_dir / "fashion_mlp");
  const QuantizedModel q = quantize_trained(fm, *calibration, DynamicRowMix::from<Mix60_35_5>());
  const Tensor<float> x = from_chw_columns(preprocess_input(*test, fm.input), q.input_shape());
  const std::vector<LayerOutput> expected = ModelExecutor<ReferenceBackend>(q).run_layers(x);
  const ModelExecutor<A8> exec(q, A8(rtl::engines::make_a8()));
  const std::vector<LayerOutput> got = exec.run_layers(x);
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("layer " << i << " (" << q.layers[i].name << ")");
    REQUIRE(same_bits(got[i], expected[i]));
  }
  // fc1 (K = 784) splits into two chunks of 392; fc2 and fc3 fit one run each.
  const rtl::RunStatistics& totals = exec.backend().totals();
  REQUIRE(totals.gemm_calls == 3);
  REQUIRE(totals.host_output_calls == 1);
  REQUIRE(totals.k_chunks == 4);
}

TEST_CASE("models an engine cannot run are named with the reason", "[cosim]") {
  const FloatModel fm = rmsmp_test::small_mlp();
  const Eigen::MatrixXf calib = rmsmp_test::random_inputs(64, 16, -1.0f, 1.0f);
  auto quantized = [&](const DynamicRowMix& mix, int act_bits, int input_bits) {
    QuantizeOptions options;
    options.activation_bits = act_bits;
    options.input_bits = input_bits;
    return quantize_model(fm, calib, mix, options);
  };
  // SP2 rows: a8 has SP2 lanes, b4 has none.
  const QuantizedModel sp2 = quantized(mix_of({{sp2_4, 60}, {fixed4, 40}}), 4, 4);
  CHECK_THAT(rtl::why_model_cannot_run(sp2, rtl::engines::b4), Catch::Contains("SP2-4 rows"));
  CHECK_THAT(rtl::why_model_cannot_run(sp2, rtl::engines::a8), Catch::Contains("4-bit activations"));
  // An 8-bit input into 4-bit layers: the first layer needs a8, the second b4.
  const QuantizedModel mixed_widths = quantized(DynamicRowMix::from<Mix60_35_5>(), 4, 8);
  CHECK_THAT(rtl::why_model_cannot_run(mixed_widths, rtl::engines::b4),
             Catch::Contains("fc1") && Catch::Contains("reads 8-bit activations"));
  CHECK_THAT(rtl::why_model_cannot_run(mixed_widths, rtl::engines::a8),
             Catch::Contains("fc2") && Catch::Contains("4-bit activations"));
  CHECK(rtl::why_model_cannot_run(quantized(DynamicRowMix::from<Mix60_35_5>(), 8, 8), rtl::engines::a8).empty());
}

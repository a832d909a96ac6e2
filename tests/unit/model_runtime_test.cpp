// Whole models: a small CNN with residual blocks (one with a strided 1x1 downsampling path)
// and an MLP, quantized and run integer-only. ReferenceBackend and every runnable CpuBackend
// path agree bit for bit on every layer; each conv layer's integer output equals an
// independent direct-loop computation from its input codes; the output stays close to the
// float model; bad models and inputs are refused.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "model_test_support.hpp"
#include "rmsmp/rmsmp.hpp"
#include "test_support.hpp"

using namespace rmsmp;
using rmsmp_test::conv_layer;
using rmsmp_test::linear_layer;
using rmsmp_test::pool_layer;
using rmsmp_test::simple_layer;
using rmsmp_test::small_cnn;
using rmsmp_test::small_mlp;

namespace {

/// A conv layer's integer output from its input codes by direct loops over PyTorch's layout,
/// the int64 accumulator, and requantization with exact (int128) rounding.
std::vector<int> direct_integer_conv(const QuantizedModelLayer& l, const QuantizedTensor& x, int n) {
  const QuantizedGemm& g = *l.gemm;
  const Eigen::MatrixXi levels = g.weights.levels();
  const TensorShape in = l.input_shape, out = l.output_shape;
  const Window2d& w = l.window;
  std::vector<int> y;
  for (int oh = 0; oh < out.height; ++oh)
    for (int ow = 0; ow < out.width; ++ow)
      for (int o = 0; o < out.channels; ++o) {
        std::int64_t acc = g.bias[static_cast<std::size_t>(o)];
        for (int c = 0; c < in.channels; ++c)
          for (int i = 0; i < w.kernel_h; ++i)
            for (int j = 0; j < w.kernel_w; ++j) {
              const int h = oh * w.stride_h - w.padding_h + i, ww = ow * w.stride_w - w.padding_w + j;
              if (h < 0 || h >= in.height || ww < 0 || ww >= in.width) continue;  // padding is real 0
              acc += static_cast<std::int64_t>(levels(o, (c * w.kernel_h + i) * w.kernel_w + j)) *
                     (x.codes(n, h, ww, c) - x.params.zero_point);
            }
        const FixedPointMultiplier& m = g.requantize[static_cast<std::size_t>(o)];
        const std::int64_t r = rmsmp_test::round_half_up_shift(acc, m.multiplier, m.shift) + l.output.zero_point;
        y.push_back(static_cast<int>(std::clamp<std::int64_t>(r, g.clamp_lo, g.clamp_hi)));
      }
  return y;
}

double relative_rms(const Eigen::MatrixXf& got, const Eigen::MatrixXf& expected) {
  return (got - expected).norm() / expected.norm();
}

}  // namespace

TEST_CASE("reference and CPU backends agree bit for bit on whole models", "[model]") {
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  for (int bits : {8, 4}) {
    for (const bool cnn : {true, false}) {
      const FloatModel fm = cnn ? small_cnn() : small_mlp();
      const std::size_t features = cnn ? 3 * 12 * 12 : 64;
      const Eigen::MatrixXf calib = rmsmp_test::random_inputs(features, 16, -1.0f, 1.0f);
      const Eigen::MatrixXf x = rmsmp_test::random_inputs(features, 5, -1.0f, 1.0f);
      QuantizeOptions options;
      options.activation_bits = bits;
      options.input_bits = bits;
      const QuantizedModel q = quantize_model(fm, calib, mix, options);
      const ModelExecutor<> reference(q);
      const std::vector<LayerOutput> expected = reference.run_layers(from_chw_columns(x, q.input_shape()));
      for (cpu::ArchId arch : cpu::runnable_archs()) {
        INFO((cnn ? "cnn" : "mlp") << ", " << bits << "-bit activations, " << cpu::arch_name(arch));
        const ModelExecutor<CpuBackend<>> fast(q, CpuBackend<>{arch});
        const std::vector<LayerOutput> got = fast.run_layers(from_chw_columns(x, q.input_shape()));
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
          INFO("layer " << i << " " << q.layers[i].name);
          REQUIRE(same_bits(got[i], expected[i]));
        }
        const Eigen::MatrixXf a = fast.run(x), b = reference.run(x);
        REQUIRE(std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0);
      }
      // A threaded CPU backend too.
      const ModelExecutor<CpuBackend<>> threaded(q, CpuBackend<>{cpu::Threads{2}});
      const Eigen::MatrixXf a = threaded.run(x), b = reference.run(x);
      REQUIRE(std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0);
    }
  }
}

TEST_CASE("each conv layer's codes equal direct integer loops over its input codes", "[model]") {
  const FloatModel fm = small_cnn();
  const Eigen::MatrixXf calib = rmsmp_test::random_inputs(3 * 12 * 12, 8, -1.0f, 1.0f);
  for (int bits : {8, 4}) {
    QuantizeOptions options;
    options.activation_bits = bits;
    const QuantizedModel q = quantize_model(fm, calib, DynamicRowMix::from<Mix60_35_5>(), options);
    const Tensor<float> x = from_chw_columns(calib.leftCols(2), q.input_shape());
    const std::vector<LayerOutput> out = ModelExecutor<>(q).run_layers(x);
    const QuantizedTensor input_codes = quantize_tensor(x, q.input_params);
    int checked = 0;
    for (std::size_t i = 0; i < q.layers.size(); ++i) {
      const QuantizedModelLayer& l = q.layers[i];
      if (l.op != LayerOp::conv2d) continue;
      const QuantizedTensor& in = l.input == model_input ? input_codes : std::get<QuantizedTensor>(out[static_cast<std::size_t>(l.input)]);
      const QuantizedTensor& y = std::get<QuantizedTensor>(out[i]);
      for (int n = 0; n < 2; ++n) {
        const std::vector<int> expected = direct_integer_conv(l, in, n);
        const std::size_t per_sample = l.output_shape.size();
        for (std::size_t k = 0; k < per_sample; ++k) {
          INFO(l.name << " sample " << n << " element " << k);
          REQUIRE(static_cast<int>(y.codes.data[static_cast<std::size_t>(n) * per_sample + k]) == expected[k]);
        }
      }
      ++checked;
    }
    CHECK(checked == 6);
  }
}

TEST_CASE("quantized models stay close to the float model", "[model]") {
  // All Fixed-8 weights and 8-bit activations: a few percent of error at most. The 60/35/5 mix
  // and 4-bit activations cost more, but the output must still follow the float model.
  struct Case {
    DynamicRowMix mix;
    int bits;
    double tolerance;
  };
  const std::vector<Case> cases = {{DynamicRowMix({{{SchemeKind::fixed, 8}, 100}}), 8, 0.05},
                                   {DynamicRowMix::from<Mix60_35_5>(), 8, 0.25},
                                   {DynamicRowMix::from<Mix60_35_5>(), 4, 0.6}};
  for (const bool cnn : {true, false}) {
    const FloatModel fm = cnn ? small_cnn() : small_mlp();
    const std::size_t features = cnn ? 3 * 12 * 12 : 64;
    const Eigen::MatrixXf calib = rmsmp_test::random_inputs(features, 32, -1.0f, 1.0f);
    const Eigen::MatrixXf x = rmsmp_test::random_inputs(features, 16, -1.0f, 1.0f);
    const Eigen::MatrixXf reference = run_float(fm, x);
    for (const Case& c : cases)
      for (CalibrationMethod method : {CalibrationMethod::max, CalibrationMethod::percentile, CalibrationMethod::min_squared_error}) {
        QuantizeOptions options;
        options.activation_bits = c.bits;
        options.calibration.method = method;
        const QuantizedModel q = quantize_model(fm, calib, c.mix, options);
        const ModelExecutor<CpuBackend<>> exec(q);
        const double error = relative_rms(exec.run(x), reference);
        INFO((cnn ? "cnn" : "mlp") << ", " << c.bits << "-bit, " << calibration_method_name(method) << ": relative error " << error);
        CHECK(error < c.tolerance);
        // Per-layer report: every reported layer is finite and the first layer is the closest.
        const std::vector<LayerError> errors = compare_layers(fm, exec, x);
        REQUIRE(!errors.empty());
        for (const LayerError& e : errors) {
          CHECK(std::isfinite(e.relative()));
          CHECK_FALSE(q.layers[e.layer].relu_folded);  // reported under its ReLU
          CHECK(q.layers[e.layer].name == e.name);
        }
        CHECK(errors.size() == q.layers.size() - (cnn ? 5 : 2));  // minus the layers with a ReLU folded in
      }
  }
}

TEST_CASE("ReLUs fold into the layer before them only when nothing else reads it", "[model]") {
  const FloatModel fm = small_cnn();
  const QuantizedModel q = quantize_model(fm, rmsmp_test::random_inputs(3 * 12 * 12, 4), DynamicRowMix::from<Mix60_35_5>());
  auto layer = [&](const std::string& name) -> const QuantizedModelLayer& {
    for (const QuantizedModelLayer& l : q.layers)
      if (l.name == name) return l;
    FAIL("no layer " << name);
    return q.layers.front();
  };
  for (const char* name : {"conv1", "conv2", "conv4", "add3", "add5"}) CHECK(layer(name).relu_folded);
  for (const char* name : {"relu1", "relu2", "relu3", "relu4", "relu5"}) CHECK(layer(name).passthrough);
  CHECK_FALSE(layer("relu6").passthrough);  // after a pool: a ReLU of its own
  CHECK_FALSE(layer("conv5").relu_folded);
  CHECK(layer("fc").gemm->float_output());
  // A folded layer clamps at its zero point: no output code below it.
  CHECK(layer("conv1").gemm->clamp_lo == layer("conv1").output.zero_point);

  // If a second layer reads the conv, the ReLU must not fold.
  FloatModel two_readers;
  two_readers.input.shape = {2, 6, 6};
  two_readers.layers.push_back(conv_layer("c", 2, 4, 3, 1, 1));
  two_readers.layers.push_back(simple_layer(LayerOp::relu, "r"));
  two_readers.layers.push_back(simple_layer(LayerOp::add, "sum", "r", "c"));
  const QuantizedModel q2 =
      quantize_model(two_readers, rmsmp_test::random_inputs(72, 8, -1.0f, 1.0f), DynamicRowMix({{{SchemeKind::fixed, 8}, 100}}));
  CHECK_FALSE(q2.layers[0].relu_folded);
  CHECK_FALSE(q2.layers[1].passthrough);
  // The model ends in an add: its output is dequantized codes, close to the float output
  // (Fixed-8 weights, so the error is the activations' rounding).
  const Eigen::MatrixXf x = rmsmp_test::random_inputs(72, 3, -1.0f, 1.0f);
  CHECK(relative_rms(run(q2, x), run_float(two_readers, x)) < 0.03);
}

TEST_CASE("the weight quantizer sees the layer's weights and im2col'd inputs", "[model]") {
  const FloatModel fm = small_cnn();
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  std::vector<std::string> seen;
  QuantizeOptions options;
  options.max_assignment_columns = 100;
  options.weights = quantize_by_assignment([&](const LayerContext& ctx) {
    seen.emplace_back(ctx.layer);
    CHECK(ctx.inputs.rows() == ctx.weights.cols());
    CHECK(ctx.inputs.cols() <= 100);
    if (ctx.layer != "fc") CHECK(ctx.inputs.cols() >= 50);  // conv: 4 samples x many positions, thinned
    else CHECK(ctx.inputs.cols() == 4);                        // linear: one column per sample
    return assign_rows_in_order(ctx);
  });
  const QuantizedModel q = quantize_model(fm, rmsmp_test::random_inputs(3 * 12 * 12, 4), mix, options);
  CHECK(seen == std::vector<std::string>{"conv1", "conv2", "conv3", "conv4", "conv5", "down", "fc"});
  CHECK(q.layers[0].gemm->weights.cols() == 3 * 3 * 3);  // K = C_in * kh * kw
  CHECK(q.layers[0].gemm->weights.assignment() == assign_in_order(mix, 8));
  // The conv's im2col columns: column 0 of conv1 is the top-left window of sample 0, whose
  // first row (c = 0, i = 0, j = 0) lies in the padding.
  options.weights = [&](const LayerContext& ctx) {
    if (ctx.layer == "conv1") {
      CHECK(ctx.inputs(0, 0) == 0.0f);
      CHECK(ctx.inputs(4, 0) != 0.0f);  // (c = 0, i = 1, j = 1): pixel (0, 0) of channel 0
    }
    return MixedRowMatrix<>(ctx.mix, ctx.weights, assign_rows_in_order(ctx));
  };
  const Eigen::MatrixXf one = rmsmp_test::random_inputs(3 * 12 * 12, 1, 0.5f, 1.0f);
  quantize_model(fm, one, mix, options);

  // The layer quantizer as a weight quantizer, on conv2's weights and calibration-like inputs:
  // both rules keep the mix's row counts; on the same costs the optimal rule has no more
  // output error sum ||(W - Q) X||^2 than the papers' rule (recomputed here from the
  // dequantized matrices), and compensation lowers it further.
  const FloatLayer& conv2 = fm.layers[2];
  const Eigen::MatrixXf w = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      conv2.weight.data.data(), 8, 72);
  const Eigen::MatrixXf inputs = rmsmp_test::random_inputs(72, 200, 0.0f, 1.0f);
  const LayerContext ctx{"conv2", w, inputs, mix};
  auto output_error = [&](const MixedRowMatrix<>& quantized) {
    check_assignment(quantized.assignment(), mix);
    return ((w.cast<double>() - quantized.dequantize().cast<double>()) * inputs.cast<double>()).squaredNorm();
  };
  LayerQuantizerOptions rule;
  rule.rule = AssignmentRule::papers;
  const double papers = output_error(hessian_weight_quantizer(rule)(ctx));
  const double optimal = output_error(hessian_weight_quantizer()(ctx));
  rule.rule = AssignmentRule::optimal;
  rule.compensate = true;
  const double compensated = output_error(hessian_weight_quantizer(rule)(ctx));
  CHECK(optimal <= papers * (1.0 + 1e-6));
  CHECK(compensated < optimal);
  CHECK_THROWS_AS(quantize_by_assignment(assign_rows_in_order, ScaleMethod::min_hessian_error), Error);

  const Eigen::MatrixXf calib = rmsmp_test::random_inputs(3 * 12 * 12, 2);
  options.weights = quantize_by_assignment([](const LayerContext&) { return RowAssignment{}; });
  CHECK_THROWS_AS(quantize_model(fm, calib, mix, options), Error);  // no schemes
  options.weights = quantize_by_assignment([](const LayerContext& c) {
    return RowAssignment(static_cast<std::size_t>(c.weights.rows()), SchemeId{SchemeKind::fixed, 8});
  });
  CHECK_THROWS_AS(quantize_model(fm, calib, mix, options), Error);  // counts do not match the mix
  options.weights = [](const LayerContext& c) { return MixedRowMatrix<>(c.weights.topRows(2), assign_in_order(c.mix, 2)); };
  CHECK_THROWS_AS(quantize_model(fm, calib, mix, options), Error);  // wrong shape
  options.weights = [](const LayerContext& c) {
    return MixedRowMatrix<>(c.weights, assign_in_order(c.mix, static_cast<int>(c.weights.rows())));  // all_schemes order
  };
  CHECK_THROWS_AS(quantize_model(fm, calib, mix, options), Error);
  options.weights = nullptr;
  CHECK_THROWS_AS(quantize_model(fm, calib, mix, options), Error);
}

TEST_CASE("evaluate counts top-1 hits in batches", "[model]") {
  const FloatModel fm = small_mlp();
  const Eigen::MatrixXf x = rmsmp_test::random_inputs(64, 37, -1.0f, 1.0f);
  const QuantizedModel q = quantize_model(fm, x, DynamicRowMix({{{SchemeKind::fixed, 8}, 100}}));
  const ModelExecutor<CpuBackend<>> exec(q);
  const std::vector<int> predicted = predicted_classes(exec.run(x));
  std::vector<int> labels = predicted;
  for (std::size_t i = 0; i < labels.size(); i += 3) labels[i] = (labels[i] + 1) % 10;  // 13 wrong
  std::size_t calls = 0;
  const Evaluation e = evaluate(exec, x, labels, 5, [&](std::size_t done, std::size_t total) {
    ++calls;
    CHECK(total == 37);
    CHECK(done <= total);
  });
  CHECK(e.samples == 37);
  CHECK(e.correct == 37 - 13);
  CHECK(calls == 8);
  CHECK_THROWS_AS(evaluate(exec, x, std::vector<int>(3, 0)), Error);
}

TEST_CASE("bad models, options and inputs are refused", "[model]") {
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  const Eigen::MatrixXf calib = rmsmp_test::random_inputs(3 * 12 * 12, 2);
  auto refused = [&](FloatModel m, const std::string& why) {
    INFO(why);
    CHECK_THROWS_AS(quantize_model(m, calib, mix), Error);
    CHECK_THROWS_AS(run_float(m, calib), Error);
  };
  FloatModel m = small_cnn();
  m.layers[2].weight.shape[1] = 7;
  refused(m, "conv in-channels mismatch");
  m = small_cnn();
  m.layers.back().weight = rmsmp_test::random_float_tensor({10, 15}, 1.0f);
  refused(m, "linear in-features mismatch");
  m = small_cnn();
  m.layers[5].other = "nowhere";
  refused(m, "unknown operand");
  m = small_cnn();
  m.layers[5].other = "conv4";
  refused(m, "operand from a later layer");
  m = small_cnn();
  m.layers[11].other = "relu1";
  refused(m, "add operands of different shapes");
  m = small_cnn();
  m.layers[3].name = "conv1";
  refused(m, "duplicate name");
  m = small_cnn();
  m.layers[0].bias.shape = {7};
  refused(m, "bias shape");
  m = small_cnn();
  m.layers[0].weight.data[3] = std::nanf("");
  refused(m, "NaN weight");
  m = small_cnn();
  m.layers[0].weight.data.pop_back();
  refused(m, "weight data shorter than its shape");
  m = small_cnn();
  m.layers[13].padding_h = 2;
  refused(m, "pool padding above half the kernel");
  m = small_cnn();
  m.layers[0].stride_w = 0;
  refused(m, "stride 0");
  m = small_cnn();
  m.layers.insert(m.layers.begin() + 18, linear_layer("early", 16, 4));
  m.layers[18].input = "relu5";
  refused(m, "linear on a [C, H, W] map");
  m = small_cnn();
  m.layers.clear();
  refused(m, "no layers");
  m = small_cnn();
  m.input.shape = {3, 12};
  refused(m, "input shape with two dimensions");

  const FloatModel good = small_cnn();
  CHECK_THROWS_AS(quantize_model(good, Eigen::MatrixXf(3 * 12 * 12, 0), mix), Error);       // no calibration data
  CHECK_THROWS_AS(quantize_model(good, Eigen::MatrixXf::Zero(10, 2), mix), Error);          // wrong sample size
  QuantizeOptions options;
  options.activation_bits = 5;
  CHECK_THROWS_AS(quantize_model(good, calib, mix, options), Error);
  options = {};
  options.calibration.method = CalibrationMethod::percentile;
  options.calibration.percentile = 120;
  CHECK_THROWS_AS(quantize_model(good, calib, mix, options), Error);

  const QuantizedModel q = quantize_model(good, calib, mix);
  const ModelExecutor<> exec(q);
  CHECK_THROWS_AS(exec.run(Eigen::MatrixXf::Zero(100, 1)), Error);  // wrong input size
  Eigen::MatrixXf bad = calib;
  bad(5, 1) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(exec.run(bad), Error);

  // A damaged quantized model is refused before it runs.
  auto damaged = [&](auto&& damage, const std::string& why) {
    INFO(why);
    QuantizedModel d = q;
    damage(d);
    CHECK_THROWS_AS(validate(d), Error);
    CHECK_THROWS_AS(ModelExecutor<>(d), Error);
  };
  damaged([](QuantizedModel& d) { d.layers[3].input = 7; }, "source after the layer");
  damaged([](QuantizedModel& d) { d.layers[5].other = -2; }, "bad operand index");
  damaged([](QuantizedModel& d) { d.layers[2].gemm->bias.pop_back(); }, "bias count");
  damaged([](QuantizedModel& d) { d.layers[2].gemm->requantize[0].shift = 70; }, "shift out of range");
  damaged([](QuantizedModel& d) { d.layers[2].output.zero_point = 300; }, "zero point out of range");
  damaged([](QuantizedModel& d) { d.layers[2].gemm->clamp_hi = 300; }, "clamp beyond the code range");
  damaged([](QuantizedModel& d) { d.layers[13].output.scale *= 2; }, "pool changing the scale");
  damaged([](QuantizedModel& d) { d.layers[13].window.padding_h = 5; }, "pool window");
  damaged([](QuantizedModel& d) { d.layers[7].output_shape.height = 5; }, "conv output shape");
  damaged([](QuantizedModel& d) { d.layers[2].gemm->to_float = std::vector<float>(8, 1.0f); }, "float output inside the model");
  damaged([](QuantizedModel& d) { d.layers[1].passthrough = false; d.layers[1].op = LayerOp::flatten; }, "op change");
  damaged([](QuantizedModel& d) { d.input.shape = {3, 12, 11}; }, "input shape");
  damaged([](QuantizedModel& d) { d.mix = {{SchemeId{SchemeKind::fixed, 8}, 100}}; }, "weights not matching the mix");
  damaged([](QuantizedModel& d) { d.layers.clear(); }, "no layers");
}

TEST_CASE("same_bits tells layer outputs apart by codes, parameters, shape and float bytes", "[model_runtime]") {
  QuantizedTensor q{Tensor<std::uint8_t>(TensorShape{2, 1, 1}, 1), ActivationParams{0.5f, 3, 8}};
  q.codes.data = {1, 2};
  CHECK(same_bits(LayerOutput{q}, LayerOutput{q}));
  QuantizedTensor other_code = q;
  other_code.codes.data[1] = 3;
  CHECK_FALSE(same_bits(LayerOutput{q}, LayerOutput{other_code}));
  QuantizedTensor other_zero = q;
  other_zero.params.zero_point = 4;
  CHECK_FALSE(same_bits(LayerOutput{q}, LayerOutput{other_zero}));
  QuantizedTensor other_shape = q;
  other_shape.codes.shape = TensorShape{1, 2, 1};
  CHECK_FALSE(same_bits(LayerOutput{q}, LayerOutput{other_shape}));

  Tensor<float> f(TensorShape{2, 1, 1}, 1);
  f.data = {0.0f, 1.0f};
  Tensor<float> negative_zero = f;
  negative_zero.data[0] = -0.0f;  // equal as numbers, different bits
  CHECK(same_bits(LayerOutput{f}, LayerOutput{f}));
  CHECK_FALSE(same_bits(LayerOutput{f}, LayerOutput{negative_zero}));
  CHECK_FALSE(same_bits(LayerOutput{q}, LayerOutput{f}));
}

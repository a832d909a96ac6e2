// Layers against independent computations: float Conv2d/Linear against direct loops, the
// quantized layers against the float layer within the quantization error bound, and the
// integer ops (pools, ReLU, residual add, flatten) against exact brute force.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "model_test_support.hpp"
#include "rmsmp/rmsmp.hpp"
#include "test_support.hpp"

using namespace rmsmp;
using rmsmp_test::model_rng;

namespace {

int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(model_rng()); }

QuantizedTensor random_codes(TensorShape shape, int batch, ActivationParams p) {
  QuantizedTensor t{Tensor<std::uint8_t>(shape, batch), p};
  for (auto& q : t.codes.data) q = static_cast<std::uint8_t>(uniform(0, activation_max<std::uint8_t>(p.bits)));
  return t;
}

/// One-layer model reading `in` ([C, H, W]).
FloatModel single_layer_model(TensorShape in, FloatLayer layer) {
  FloatModel m;
  m.input.shape = {in.channels, in.height, in.width};
  m.layers.push_back(std::move(layer));
  return m;
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

struct Geometry {
  int C, H, W, O, k, stride, pad;
};

}  // namespace

TEST_CASE("float conv2d through im2col equals direct loops", "[layers]") {
  for (const Geometry g : {Geometry{3, 8, 8, 4, 3, 1, 1}, Geometry{2, 7, 9, 5, 3, 2, 1}, Geometry{4, 5, 5, 3, 1, 1, 0},
                           Geometry{1, 9, 6, 2, 5, 2, 2}, Geometry{3, 4, 4, 2, 4, 1, 0}}) {
    const FloatLayer conv = rmsmp_test::conv_layer("c", g.C, g.O, g.k, g.stride, g.pad);
    const FloatModel m = single_layer_model({g.C, g.H, g.W}, conv);
    const Eigen::MatrixXf x = rmsmp_test::random_inputs(static_cast<std::size_t>(g.C * g.H * g.W), 3, -1.0f, 1.0f);
    const Eigen::MatrixXf y = run_float(m, x);
    for (int n = 0; n < 3; ++n) {
      std::vector<double> xs(static_cast<std::size_t>(x.rows()));
      for (Eigen::Index i = 0; i < x.rows(); ++i) xs[static_cast<std::size_t>(i)] = x(i, n);
      int OH = 0, OW = 0;
      const std::vector<double> expected = rmsmp_test::direct_conv2d(xs, g.C, g.H, g.W, as_double(conv.weight.data),
                                                                     as_double(conv.bias.data), g.O, g.k, g.k, g.stride,
                                                                     g.pad, OH, OW);
      REQUIRE(static_cast<std::size_t>(y.rows()) == expected.size());
      for (std::size_t i = 0; i < expected.size(); ++i) REQUIRE(y(static_cast<Eigen::Index>(i), n) == Approx(expected[i]).margin(1e-5));
    }
  }
}

TEST_CASE("non-square conv kernels follow the weight's kh and kw", "[layers]") {
  FloatLayer conv = rmsmp_test::conv_layer("c", 2, 3, 1, 1, 0);
  conv.weight = rmsmp_test::random_float_tensor({3, 2, 3, 2}, 0.5f);
  conv.kernel_h = 3;
  conv.kernel_w = 2;
  conv.padding_h = 1;
  const FloatModel m = single_layer_model({2, 5, 6}, conv);
  const Eigen::MatrixXf x = rmsmp_test::random_inputs(60, 1, -1.0f, 1.0f);
  const Eigen::MatrixXf y = run_float(m, x);
  // Independent: kh = 3, kw = 2, padding (1, 0): output 5 x 5.
  REQUIRE(y.rows() == 3 * 5 * 5);
  for (int o = 0; o < 3; ++o)
    for (int oh = 0; oh < 5; ++oh)
      for (int ow = 0; ow < 5; ++ow) {
        double s = conv.bias.data[static_cast<std::size_t>(o)];
        for (int c = 0; c < 2; ++c)
          for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 2; ++j) {
              const int h = oh - 1 + i, w = ow + j;
              if (h < 0 || h >= 5) continue;
              s += static_cast<double>(conv.weight.data[static_cast<std::size_t>(((o * 2 + c) * 3 + i) * 2 + j)]) *
                   x((c * 5 + h) * 6 + w, 0);
            }
        REQUIRE(y((o * 5 + oh) * 5 + ow, 0) == Approx(s).margin(1e-5));
      }
}

TEST_CASE("quantized linear and conv2d stay within the quantization error bound", "[layers]") {
  // y - y^ = sum (w - w^) x + w^ (x - x^) + (b - b^), so
  // |y - y^| <= sum |w - w^| |x| + |w^| |x - x^| + |b - b^|, every term computed here from the
  // quantized model's weights and input parameters, plus float rounding of the output.
  struct Case {
    std::string what;
    TensorShape in;
    FloatLayer layer;
    int k, stride, pad;
  };
  const std::vector<Case> cases = {
      {"linear", {48, 1, 1}, rmsmp_test::linear_layer("fc", 48, 20), 1, 1, 0},
      {"conv 3x3 pad 1", {3, 8, 8}, rmsmp_test::conv_layer("c", 3, 16, 3, 1, 1), 3, 1, 1},
      {"conv 3x3 stride 2", {4, 9, 7}, rmsmp_test::conv_layer("c", 4, 20, 3, 2, 1), 3, 2, 1},
  };
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  for (const Case& c : cases)
    for (int bits : {8, 4}) {
      SECTION(c.what + ", " + std::to_string(bits) + "-bit input") {
        const FloatModel m = single_layer_model(c.in, c.layer);
        const Eigen::MatrixXf x = rmsmp_test::random_inputs(c.in.size(), 4, -1.0f, 1.0f);
        QuantizeOptions options;
        options.input_bits = bits;
        const QuantizedModel q = quantize_model(m, x, mix, options);
        const Eigen::MatrixXf y = run(q, x);
        const Eigen::MatrixXf w_hat = q.layers[0].gemm->weights.dequantize();
        const std::vector<float> row_scales = q.layers[0].gemm->weights.row_scales();
        const ActivationParams p = q.input_params;
        const int O = static_cast<int>(w_hat.rows());
        const int C = c.in.channels, H = c.in.height, W = c.in.width;
        const int kh = c.layer.op == LayerOp::conv2d ? c.k : 1;
        const int OH = (H + 2 * c.pad - kh) / c.stride + 1, OW = (W + 2 * c.pad - kh) / c.stride + 1;
        REQUIRE(y.rows() == O * OH * OW);
        for (int n = 0; n < x.cols(); ++n)
          for (int o = 0; o < O; ++o)
            for (int oh = 0; oh < OH; ++oh)
              for (int ow = 0; ow < OW; ++ow) {
                double exact = c.layer.bias.data[static_cast<std::size_t>(o)], bound = 0.0;
                for (int ch = 0; ch < C; ++ch)
                  for (int i = 0; i < kh; ++i)
                    for (int j = 0; j < kh; ++j) {
                      const int h = oh * c.stride - c.pad + i, w = ow * c.stride - c.pad + j;
                      if (h < 0 || h >= H || w < 0 || w >= W) continue;
                      const int k = (ch * kh + i) * kh + j;
                      const double xv = x((ch * H + h) * W + w, n);
                      const double code = std::clamp(std::round(xv / p.scale) + p.zero_point, 0.0,
                                                     static_cast<double>(activation_max<std::uint8_t>(bits)));
                      const double x_hat = static_cast<double>(p.scale) * (code - p.zero_point);
                      const double wv = c.layer.weight.data[static_cast<std::size_t>(o * C * kh * kh + k)];
                      exact += wv * xv;
                      bound += std::fabs(wv - w_hat(o, k)) * std::fabs(xv) + std::fabs(w_hat(o, k)) * std::fabs(xv - x_hat);
                    }
                bound += 0.5 * row_scales[static_cast<std::size_t>(o)] * p.scale;  // bias rounding
                bound += 1e-5 * (1.0 + std::fabs(exact));                          // float arithmetic
                const double got = y((o * OH + oh) * OW + ow, n);
                INFO("output " << o << " at " << oh << "," << ow << " sample " << n);
                REQUIRE(std::fabs(got - exact) <= bound);
              }
      }
    }
}

TEST_CASE("max pool on codes equals quantizing the float max pool", "[layers]") {
  const ActivationParams p{0.037f, 21, 8};
  for (const Window2d win : {Window2d{2, 2, 2, 2, 0, 0}, Window2d{3, 3, 2, 2, 1, 1}, Window2d{3, 2, 1, 2, 1, 1}}) {
    const QuantizedTensor x = random_codes({3, 7, 8}, 2, p);
    const QuantizedTensor y = max_pool2d(x, win);
    const Tensor<float> real = max_pool2d(dequantize_tensor(x), win);
    const QuantizedTensor expected = quantize_tensor(real, p);
    REQUIRE(y.codes.shape == expected.codes.shape);
    REQUIRE(y.codes.data == expected.codes.data);
    // The float pool itself against brute force (padding never wins: -infinity).
    const Tensor<float> xf = dequantize_tensor(x);
    for (int n = 0; n < 2; ++n)
      for (int oh = 0; oh < real.shape.height; ++oh)
        for (int ow = 0; ow < real.shape.width; ++ow)
          for (int c = 0; c < 3; ++c) {
            float best = -std::numeric_limits<float>::infinity();
            for (int h = oh * win.stride_h - win.padding_h; h < oh * win.stride_h - win.padding_h + win.kernel_h; ++h)
              for (int w = ow * win.stride_w - win.padding_w; w < ow * win.stride_w - win.padding_w + win.kernel_w; ++w)
                if (h >= 0 && h < 7 && w >= 0 && w < 8) best = std::max(best, xf(n, h, w, c));
            REQUIRE(real(n, oh, ow, c) == best);
          }
  }
}

TEST_CASE("average pool on codes is the exact mean rounded half up", "[layers]") {
  for (int bits : {8, 4}) {
    const ActivationParams p{0.05f, bits == 8 ? 100 : 3, bits};
    for (const Window2d win : {Window2d{2, 2, 2, 2, 0, 0}, Window2d{3, 3, 1, 1, 1, 1}, Window2d{3, 3, 2, 2, 1, 1}}) {
      const QuantizedTensor x = random_codes({2, 6, 7}, 2, p);
      const QuantizedTensor y = avg_pool2d(x, win);
      const Tensor<float> real = avg_pool2d(dequantize_tensor(x), win);
      REQUIRE(y.params.scale == p.scale);
      REQUIRE(y.params.zero_point == p.zero_point);
      for (int n = 0; n < 2; ++n)
        for (int oh = 0; oh < y.codes.shape.height; ++oh)
          for (int ow = 0; ow < y.codes.shape.width; ++ow)
            for (int c = 0; c < 2; ++c) {
              long sum = 0;
              for (int i = 0; i < win.kernel_h; ++i)
                for (int j = 0; j < win.kernel_w; ++j) {
                  const int h = oh * win.stride_h - win.padding_h + i, w = ow * win.stride_w - win.padding_w + j;
                  sum += (h >= 0 && h < 6 && w >= 0 && w < 7) ? x.codes(n, h, w, c) : p.zero_point;
                }
              const long d = win.kernel_h * win.kernel_w;
              const auto expected = static_cast<int>(std::floor(static_cast<long double>(sum) / d + 0.5L));
              REQUIRE(y.codes(n, oh, ow, c) == expected);
              // Within half a code of the float pool of the real values (padding = real 0).
              REQUIRE(std::fabs(static_cast<double>(p.scale) * (y.codes(n, oh, ow, c) - p.zero_point) - real(n, oh, ow, c)) <=
                      0.5 * p.scale + 1e-6);
            }
    }
  }
}

TEST_CASE("global average pool averages the whole map", "[layers]") {
  const ActivationParams p{0.1f, 7, 8};
  const QuantizedTensor x = random_codes({5, 4, 3}, 3, p);
  const QuantizedTensor y = global_avg_pool(x);
  REQUIRE(y.codes.shape == TensorShape{5, 1, 1});
  const Tensor<float> xf = dequantize_tensor(x);
  const Tensor<float> yf = global_avg_pool(xf);
  for (int n = 0; n < 3; ++n)
    for (int c = 0; c < 5; ++c) {
      long sum = 0;
      double real = 0.0;
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 3; ++w) {
          sum += x.codes(n, h, w, c);
          real += xf(n, h, w, c);
        }
      REQUIRE(y.codes(n, 0, 0, c) == static_cast<int>(std::floor(static_cast<long double>(sum) / 12 + 0.5L)));
      REQUIRE(yf(n, 0, 0, c) == Approx(real / 12).margin(1e-6));
    }
}

TEST_CASE("residual add rounds once, exactly as specified, for every pair of codes", "[layers]") {
  struct Params {
    ActivationParams a, b, out;
    bool relu;
  };
  for (const Params& ps : {Params{{0.02f, 128, 8}, {0.013f, 0, 8}, {0.031f, 90, 8}, false},
                           Params{{0.5f, 0, 8}, {0.001f, 200, 8}, {0.4f, 0, 8}, true},
                           Params{{0.02f, 3, 8}, {0.07f, 255, 8}, {0.3f, 7, 4}, false}}) {
    const AddRescale r = AddRescale::from_params(ps.a, ps.b, ps.out, ps.relu);
    const double ma = static_cast<double>(ps.a.scale) / ps.out.scale, mb = static_cast<double>(ps.b.scale) / ps.out.scale;
    const int hi = activation_max<std::uint8_t>(ps.out.bits), lo = ps.relu ? ps.out.zero_point : 0;
    QuantizedTensor a{Tensor<std::uint8_t>({256, 1, 1}, 256), ps.a}, b{Tensor<std::uint8_t>({256, 1, 1}, 256), ps.b};
    for (int i = 0; i < 256; ++i)
      for (int j = 0; j < 256; ++j) {
        a.codes(i, 0, 0, j) = static_cast<std::uint8_t>(i);
        b.codes(i, 0, 0, j) = static_cast<std::uint8_t>(j);
      }
    const QuantizedTensor y = add(a, b, r, ps.out);
    for (int i = 0; i < 256; ++i)
      for (int j = 0; j < 256; ++j) {
        const int ta = i - ps.a.zero_point, tb = j - ps.b.zero_point;
        const std::int64_t rounded =
            rmsmp_test::round_half_up_shift(static_cast<rmsmp_test::int128>(ta) * r.multiplier_a +
                                                static_cast<rmsmp_test::int128>(tb) * r.multiplier_b,
                                            1, r.shift);
        const auto expected = static_cast<int>(std::clamp<std::int64_t>(rounded + ps.out.zero_point, lo, hi));
        REQUIRE(y.codes(i, 0, 0, j) == expected);
        // And the integer result is the real sum to within half a code (plus the multipliers'
        // 2^-30 relative error) wherever it is not clamped.
        const double real_code = ta * ma + tb * mb + ps.out.zero_point;
        if (real_code > lo + 1 && real_code < hi - 1) REQUIRE(std::fabs(expected - real_code) <= 0.5 + 1e-6);
      }
  }
}

TEST_CASE("relu on codes clamps at the zero point", "[layers]") {
  const ActivationParams p{0.1f, 40, 8};
  const QuantizedTensor x = random_codes({4, 3, 3}, 2, p);
  const QuantizedTensor y = relu(x);
  const QuantizedTensor expected = quantize_tensor(relu(dequantize_tensor(x)), p);
  REQUIRE(y.codes.data == expected.codes.data);
}

TEST_CASE("flatten produces torch.flatten order", "[layers]") {
  const Eigen::MatrixXf x = rmsmp_test::random_inputs(3 * 4 * 5, 2);
  const Tensor<float> t = from_chw_columns(x, {3, 4, 5});
  const Tensor<float> f = flatten(t);
  REQUIRE(f.shape == TensorShape{60, 1, 1});
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 60; ++i) REQUIRE(f.data[static_cast<std::size_t>(n * 60 + i)] == x(i, n));
  REQUIRE(to_chw_columns(t) == x);
}

TEST_CASE("layers refuse bad shapes and parameters", "[layers]") {
  const ActivationParams p{0.1f, 0, 8};
  const QuantizedTensor a = random_codes({2, 4, 4}, 1, p), b = random_codes({2, 4, 3}, 1, p);
  CHECK_THROWS_AS(add(a, b, AddRescale::from_params(p, p, p, false), p), Error);
  CHECK_THROWS_AS(add(dequantize_tensor(a), dequantize_tensor(b)), Error);
  CHECK_THROWS_AS(max_pool2d(a, Window2d{2, 2, 1, 1, 2, 2}), Error);   // padding above half the kernel
  CHECK_THROWS_AS(avg_pool2d(a, Window2d{5, 5, 1, 1, 0, 0}), Error);   // kernel larger than the input
  CHECK_THROWS_AS(max_pool2d(a, Window2d{2, 2, 0, 1, 0, 0}), Error);   // stride 0
  CHECK_THROWS_AS(im2col(a.codes, Window2d{0, 1, 1, 1, 0, 0}, std::uint8_t{0}), Error);
  CHECK_THROWS_AS(AddRescale::from_params({1e6f, 0, 8}, p, {1e-6f, 0, 8}, false), Error);  // multiplier >= 2^31
  CHECK_THROWS_AS(AddRescale::from_params(p, p, {0.1f, 16, 4}, false), Error);             // zero point outside 4 bits
  CHECK_THROWS_AS(from_chw_columns(Eigen::MatrixXf(7, 1), {2, 2, 2}), Error);
}

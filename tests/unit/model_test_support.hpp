// Shared by the layer and model tests: random float models and tensors, and independent
// float references (direct loops, no im2col) for Conv2d and Linear.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/rmsmp.hpp"

namespace rmsmp_test {

inline std::mt19937& model_rng() {
  static std::mt19937 rng(20261126);
  return rng;
}

inline rmsmp::FloatTensor random_float_tensor(std::vector<std::int64_t> shape, float spread) {
  rmsmp::FloatTensor t{std::move(shape), {}};
  t.data.resize(static_cast<std::size_t>(t.numel()));
  std::normal_distribution<float> d(0.0f, spread);
  for (float& v : t.data) v = d(model_rng());
  return t;
}

inline rmsmp::FloatLayer conv_layer(std::string name, int in, int out, int k, int stride, int pad, bool bias = true) {
  rmsmp::FloatLayer l;
  l.op = rmsmp::LayerOp::conv2d;
  l.name = std::move(name);
  l.weight = random_float_tensor({out, in, k, k}, 1.0f / std::sqrt(static_cast<float>(in * k * k)));
  if (bias) l.bias = random_float_tensor({out}, 0.1f);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.padding_h = l.padding_w = pad;
  return l;
}

inline rmsmp::FloatLayer linear_layer(std::string name, int in, int out, bool bias = true) {
  rmsmp::FloatLayer l;
  l.op = rmsmp::LayerOp::linear;
  l.name = std::move(name);
  l.weight = random_float_tensor({out, in}, 1.0f / std::sqrt(static_cast<float>(in)));
  if (bias) l.bias = random_float_tensor({out}, 0.1f);
  return l;
}

inline rmsmp::FloatLayer simple_layer(rmsmp::LayerOp op, std::string name, std::string input = {}, std::string other = {}) {
  rmsmp::FloatLayer l;
  l.op = op;
  l.name = std::move(name);
  l.input = std::move(input);
  l.other = std::move(other);
  return l;
}

inline rmsmp::FloatLayer pool_layer(rmsmp::LayerOp op, std::string name, int k, int stride, int pad) {
  rmsmp::FloatLayer l = simple_layer(op, std::move(name));
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.padding_h = l.padding_w = pad;
  return l;
}

/// Random samples as columns, values in [lo, hi].
inline Eigen::MatrixXf random_inputs(std::size_t features, int samples, float lo = 0.0f, float hi = 1.0f) {
  Eigen::MatrixXf x(static_cast<Eigen::Index>(features), samples);
  std::uniform_real_distribution<float> d(lo, hi);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = d(model_rng());
  return x;
}

/// Conv2d by direct loops over PyTorch's layouts: x [C, H, W] per sample (channels-first),
/// weight [O, C, kh, kw], result [O, OH, OW], in double.
inline std::vector<double> direct_conv2d(const std::vector<double>& x, int C, int H, int W, const std::vector<double>& weight,
                                         const std::vector<double>& bias, int O, int kh, int kw, int stride, int pad,
                                         int& OH, int& OW) {
  OH = (H + 2 * pad - kh) / stride + 1;
  OW = (W + 2 * pad - kw) / stride + 1;
  std::vector<double> y(static_cast<std::size_t>(O * OH * OW), 0.0);
  for (int o = 0; o < O; ++o)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        double s = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
        for (int c = 0; c < C; ++c)
          for (int i = 0; i < kh; ++i)
            for (int j = 0; j < kw; ++j) {
              const int h = oh * stride - pad + i, w = ow * stride - pad + j;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              s += weight[static_cast<std::size_t>(((o * C + c) * kh + i) * kw + j)] *
                   x[static_cast<std::size_t>((c * H + h) * W + w)];
            }
        y[static_cast<std::size_t>((o * OH + oh) * OW + ow)] = s;
      }
  return y;
}

/// input [3, 12, 12]
/// conv1 3->8 3x3 p1, relu1
/// conv2 8->8 3x3 p1, relu2, conv3 8->8 3x3 p1, add3 = conv3 + relu1, relu3   (residual block)
/// conv4 8->16 3x3 s2 p1, relu4, conv5 16->16 3x3 p1,
/// down = conv 1x1 s2 of relu3, add5 = conv5 + down, relu5                    (downsampling block)
/// maxpool 2x2, avgpool 3x3 s1 p1, relu6 (standalone), gap, flatten, fc 16->10
inline rmsmp::FloatModel small_cnn() {
  rmsmp::FloatModel m;
  m.input.shape = {3, 12, 12};
  auto& L = m.layers;
  L.push_back(conv_layer("conv1", 3, 8, 3, 1, 1));
  L.push_back(simple_layer(rmsmp::LayerOp::relu, "relu1"));
  L.push_back(conv_layer("conv2", 8, 8, 3, 1, 1));
  L.push_back(simple_layer(rmsmp::LayerOp::relu, "relu2"));
  L.push_back(conv_layer("conv3", 8, 8, 3, 1, 1, false));
  L.push_back(simple_layer(rmsmp::LayerOp::add, "add3", "", "relu1"));
  L.push_back(simple_layer(rmsmp::LayerOp::relu, "relu3"));
  L.push_back(conv_layer("conv4", 8, 16, 3, 2, 1));
  L.push_back(simple_layer(rmsmp::LayerOp::relu, "relu4"));
  L.push_back(conv_layer("conv5", 16, 16, 3, 1, 1));
  rmsmp::FloatLayer down = conv_layer("down", 8, 16, 1, 2, 0);
  down.input = "relu3";
  L.push_back(down);
  L.push_back(simple_layer(rmsmp::LayerOp::add, "add5", "conv5", "down"));
  L.push_back(simple_layer(rmsmp::LayerOp::relu, "relu5"));
  L.push_back(pool_layer(rmsmp::LayerOp::max_pool2d, "maxpool", 2, 2, 0));
  L.push_back(pool_layer(rmsmp::LayerOp::avg_pool2d, "avgpool", 3, 1, 1));
  L.push_back(simple_layer(rmsmp::LayerOp::relu, "relu6"));
  L.push_back(simple_layer(rmsmp::LayerOp::global_avg_pool, "gap"));
  L.push_back(simple_layer(rmsmp::LayerOp::flatten, "flatten"));
  L.push_back(linear_layer("fc", 16, 10));
  return m;
}

/// input [1, 8, 8] -> flatten -> fc1 64->32 -> relu -> fc2 32->10 -> relu (folded into fc2's float output)
inline rmsmp::FloatModel small_mlp() {
  rmsmp::FloatModel m;
  m.input.shape = {1, 8, 8};
  m.layers.push_back(simple_layer(rmsmp::LayerOp::flatten, "flatten"));
  m.layers.push_back(linear_layer("fc1", 64, 32));
  m.layers.push_back(simple_layer(rmsmp::LayerOp::relu, "relu1"));
  m.layers.push_back(linear_layer("fc2", 32, 10));
  m.layers.push_back(simple_layer(rmsmp::LayerOp::relu, "relu2"));
  return m;
}

}  // namespace rmsmp_test

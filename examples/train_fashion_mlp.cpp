// train_fashion_mlp — trains a small float MLP (784-256-128-10, ReLU) on Fashion-MNIST with
// plain mini-batch SGD (Eigen), and writes it as a float model directory (model.json + .npy)
// for `rmsmp quantize`. No Python needed; deterministic (fixed seed).
//
//   train_fashion_mlp <train-images> <train-labels> <out-dir> [epochs]
#include <Eigen/Core>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/io/float_model_manifest.hpp"
#include "rmsmp/io/idx.hpp"
#include "rmsmp/rmsmp.hpp"

namespace {

using Matrix = Eigen::MatrixXf;

struct Dense {
  Matrix w;  // out x in
  Eigen::VectorXf b;
  Matrix vw;  // momentum
  Eigen::VectorXf vb;
  Dense(int in, int out, std::mt19937& rng) : w(out, in), b(Eigen::VectorXf::Zero(out)), vw(Matrix::Zero(out, in)), vb(Eigen::VectorXf::Zero(out)) {
    std::normal_distribution<float> d(0.0f, std::sqrt(2.0f / static_cast<float>(in)));
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = d(rng);
  }
};

rmsmp::FloatLayer to_layer(const Dense& d, const std::string& name) {
  rmsmp::FloatLayer l;
  l.op = rmsmp::LayerOp::linear;
  l.name = name;
  l.weight.shape = {d.w.rows(), d.w.cols()};
  l.weight.data.resize(static_cast<std::size_t>(d.w.size()));
  for (Eigen::Index r = 0; r < d.w.rows(); ++r)
    for (Eigen::Index c = 0; c < d.w.cols(); ++c) l.weight.data[static_cast<std::size_t>(r * d.w.cols() + c)] = d.w(r, c);
  l.bias.shape = {d.b.size()};
  l.bias.data.assign(d.b.data(), d.b.data() + d.b.size());
  return l;
}

rmsmp::FloatLayer plain(rmsmp::LayerOp op, const std::string& name) {
  rmsmp::FloatLayer l;
  l.op = op;
  l.name = name;
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: train_fashion_mlp <train-images> <train-labels> <out-dir> [epochs]\n");
    return 2;
  }
  try {
    const rmsmp::NdArray images = rmsmp::read_idx(argv[1]);
    const rmsmp::NdArray label_array = rmsmp::read_idx(argv[2]);
    if (images.shape.size() != 3 || images.shape[1] != 28 || images.shape[2] != 28 || label_array.shape.size() != 1 ||
        label_array.shape[0] != images.shape[0])
      throw rmsmp::Error("expected images [N, 28, 28] and labels [N]");
    const int epochs = argc == 5 ? std::stoi(argv[4]) : 4;
    const auto pixels = images.values<std::uint8_t>();
    const auto labels = label_array.values<std::uint8_t>();
    const auto N = static_cast<Eigen::Index>(images.shape[0]);
    Matrix x(784, N);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(pixels[static_cast<std::size_t>(i)]) / 255.0f;

    std::mt19937 rng(12345);
    std::vector<Dense> layers;
    layers.emplace_back(784, 256, rng);
    layers.emplace_back(256, 128, rng);
    layers.emplace_back(128, 10, rng);
    const int batch = 128;
    std::vector<Eigen::Index> order(static_cast<std::size_t>(N));
    std::iota(order.begin(), order.end(), 0);
    for (int epoch = 0; epoch < epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      const float lr = 0.05f * (epoch + 1 == epochs ? 0.3f : 1.0f);
      double loss = 0.0;
      std::size_t correct = 0;
      for (Eigen::Index start = 0; start + batch <= N; start += batch) {
        Matrix xb(784, batch);
        Matrix yb = Matrix::Zero(10, batch);
        for (int j = 0; j < batch; ++j) {
          const Eigen::Index n = order[static_cast<std::size_t>(start + j)];
          xb.col(j) = x.col(n);
          yb(labels[static_cast<std::size_t>(n)], j) = 1.0f;
        }
        // forward
        std::vector<Matrix> a{xb};
        for (std::size_t l = 0; l < layers.size(); ++l) {
          Matrix z = (layers[l].w * a.back()).colwise() + layers[l].b;
          if (l + 1 < layers.size()) z = z.cwiseMax(0.0f);
          a.push_back(std::move(z));
        }
        Matrix p = a.back();
        for (int j = 0; j < batch; ++j) {
          Eigen::Index best = 0;
          p.col(j).maxCoeff(&best);
          correct += yb(best, j) == 1.0f ? 1 : 0;
          const float m = p.col(j).maxCoeff();
          p.col(j) = (p.col(j).array() - m).exp().matrix();
          p.col(j) /= p.col(j).sum();
          Eigen::Index label = 0;
          yb.col(j).maxCoeff(&label);
          loss -= std::log(std::max(1e-12f, p(label, j)));
        }
        // backward
        Matrix delta = (p - yb) / static_cast<float>(batch);
        for (std::size_t l = layers.size(); l-- > 0;) {
          const Matrix gw = delta * a[l].transpose();
          const Eigen::VectorXf gb = delta.rowwise().sum();
          if (l > 0) delta = ((layers[l].w.transpose() * delta).array() * (a[l].array() > 0.0f).cast<float>()).matrix();
          layers[l].vw = 0.9f * layers[l].vw - lr * gw;
          layers[l].vb = 0.9f * layers[l].vb - lr * gb;
          layers[l].w += layers[l].vw;
          layers[l].b += layers[l].vb;
        }
      }
      std::printf("epoch %d: loss %.4f, train accuracy %.2f%%\n", epoch + 1, loss / static_cast<double>(N),
                  100.0 * static_cast<double>(correct) / static_cast<double>(N));
    }

    rmsmp::FloatModel model;
    model.input.shape = {1, 28, 28};
    model.input.scale = 1.0f / 255.0f;
    model.class_names = {"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"};
    model.layers.push_back(plain(rmsmp::LayerOp::flatten, "flatten"));
    model.layers.push_back(to_layer(layers[0], "fc1"));
    model.layers.push_back(plain(rmsmp::LayerOp::relu, "relu1"));
    model.layers.push_back(to_layer(layers[1], "fc2"));
    model.layers.push_back(plain(rmsmp::LayerOp::relu, "relu2"));
    model.layers.push_back(to_layer(layers[2], "fc3"));
    rmsmp::save_float_model(model, argv[3]);
    std::printf("wrote %s\n", argv[3]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

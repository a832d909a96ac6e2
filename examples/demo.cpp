// rmsmp demo: quantize one random layer with the paper's 60/35/5 row mix and with single-
// scheme baselines; print the weight error and the footprint per scheme, then run the layer
// through the reference kernel and compare its output with the float layer.
//
// Row assignment by Hessian sensitivity and weight shape is a later step of the project; here
// rows are assigned in order, which is fair because the random rows are exchangeable.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/rmsmp.hpp"

namespace {

using namespace rmsmp;

// Rows like a trained layer's: bell-shaped (Laplacian) rows of varying width, some with an
// outlier, and a few flat (uniform) rows.
Eigen::MatrixXf random_layer(int rows, int cols, std::mt19937& rng) {
  Eigen::MatrixXf w(rows, cols);
  std::uniform_real_distribution<float> width(0.01f, 0.08f);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::exponential_distribution<float> magnitude(1.0f);
  for (int r = 0; r < rows; ++r) {
    const float b = width(rng);
    const bool flat = r % 7 == 3;
    for (int k = 0; k < cols; ++k) {
      const float sign = unit(rng) < 0 ? -1.0f : 1.0f;
      w(r, k) = flat ? 2.0f * b * unit(rng) : sign * b * magnitude(rng);
    }
    if (r % 5 == 0) w(r, r % cols) = 8.0f * b;  // an outlier weight
  }
  return w;
}

double relative_error(const Eigen::MatrixXf& approx, const Eigen::MatrixXf& exact) {
  return static_cast<double>((approx - exact).norm() / exact.norm());
}

template <class Mix>
void report(const char* title, const Eigen::MatrixXf& w, const Eigen::MatrixXf& x_float,
            const Activations<std::uint8_t>& x) {
  const int rows = static_cast<int>(w.rows());
  const MixedRowMatrix<Mix> q(w, assign_in_order<Mix>(rows), ScaleMethod::min_squared_error);
  const Eigen::MatrixXf wq = q.dequantize();

  // Layer output through the integer reference kernel, float out.
  const auto y = reference::gemm(q, x.view(), OutputPipeline(to_float_from_scales(q.row_scales(), x.params.scale)));
  const Eigen::MatrixXf y_float = w * x_float;

  std::printf("\n%s: %.2f code bits/weight, %.2f stored bits/weight, weight error %.4f, output error %.4f\n", title,
              q.bits_per_weight(), q.storage_bits_per_weight(), relative_error(wq, w), relative_error(y, y_float));
  std::printf("  %-8s %6s %12s %14s %10s\n", "scheme", "rows", "code bytes", "weight error", "shifts?");
  for (const RowGroup& g : q.groups()) {
    if (g.rows() == 0) continue;
    Eigen::MatrixXf exact(static_cast<Eigen::Index>(g.rows()), w.cols());
    Eigen::MatrixXf approx(static_cast<Eigen::Index>(g.rows()), w.cols());
    for (std::size_t i = 0; i < g.rows(); ++i) {
      exact.row(static_cast<Eigen::Index>(i)) = w.row(g.original_row(i));
      approx.row(static_cast<Eigen::Index>(i)) = wq.row(g.original_row(i));
    }
    std::printf("  %-8s %6zu %12zu %14.4f %10s\n", display_name(g.scheme()).c_str(), g.rows(), g.packed_codes().size(),
                relative_error(approx, exact), g.codebook().multiply_free ? "yes" : "no");
  }
}

}  // namespace

int main() {
  constexpr int rows = 256, cols = 576, samples = 16;  // a 3x3 conv with 64 input channels
  std::mt19937 rng(2021);
  const Eigen::MatrixXf w = random_layer(rows, cols, rng);

  // Post-ReLU activations: non-negative, uint8 with zero point 0.
  Eigen::MatrixXf x_float(cols, samples);
  std::exponential_distribution<float> act(2.0f);
  for (int n = 0; n < samples; ++n)
    for (int k = 0; k < cols; ++k) x_float(k, n) = act(rng);
  const ActivationParams params = activation_params_for_range<std::uint8_t>(0.0f, x_float.maxCoeff());
  const Activations<std::uint8_t> x = quantize_activations<std::uint8_t>(x_float, params);

  std::printf("rmsmp %s demo: one %d x %d layer, %d samples, uint8 activations (scale %.5f)\n", version_string, rows,
              cols, samples, static_cast<double>(params.scale));
  std::printf("errors are relative Frobenius norms against the float weights / float layer output\n");

  report<Mix60_35_5>("RMSMP mix 60% PoT-4 / 35% Fixed-4 / 5% Fixed-8", w, x_float, x);
  report<RowMix<Share<SP2<4>, 60>, Share<Fixed<4>, 35>, Share<Fixed<8>, 5>>>(
      "MSQ-style mix 60% SP2-4 / 35% Fixed-4 / 5% Fixed-8", w, x_float, x);
  report<RowMix<Share<Fixed<4>, 100>>>("all Fixed-4", w, x_float, x);
  report<RowMix<Share<PoT<4>, 100>>>("all PoT-4", w, x_float, x);
  report<RowMix<Share<SP2<4>, 100>>>("all SP2-4", w, x_float, x);
  report<RowMix<Share<Fixed<8>, 100>>>("all Fixed-8", w, x_float, x);
  return 0;
}

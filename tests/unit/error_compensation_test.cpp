// Unit tests for rmsmp/quantize/error_compensation.hpp. The blocked, factored implementation is
// compared with the textbook optimal-brain-surgeon step written out here in double: after
// quantizing column j, the columns not yet quantized move by -(w_j - q_j) / [G^-1]_jj [G^-1]_{:,j}
// with G the damped Hessian restricted to those columns, G^-1 inverted explicitly.
#include <catch2/catch.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <random>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/error_compensation.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace {

using rmsmp::DynamicRowMix;
using CodeMatrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;

/// Correlated inputs: a random mixing of independent Gaussians with a decaying spectrum, so
/// that H is far from diagonal and compensation has something to use.
Eigen::MatrixXf correlated_inputs(int k, int samples, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Eigen::MatrixXf mixing(k, k), z(k, samples);
  for (Eigen::Index i = 0; i < mixing.size(); ++i) mixing.data()[i] = normal(rng);
  for (int c = 0; c < k; ++c) mixing.col(c) *= std::pow(0.93f, static_cast<float>(c));
  for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
  return mixing * z;
}

/// Rows alternate Gaussian and Laplace weights, with different magnitudes per row.
Eigen::MatrixXf realistic_weights(int rows, int k, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::exponential_distribution<float> expo(1.0f);
  std::bernoulli_distribution sign(0.5);
  std::uniform_real_distribution<float> magnitude(0.01f, 0.1f);
  Eigen::MatrixXf w(rows, k);
  for (int r = 0; r < rows; ++r) {
    const float m = magnitude(rng);
    for (int c = 0; c < k; ++c) w(r, c) = m * (r % 2 == 0 ? normal(rng) : (sign(rng) ? 1.0f : -1.0f) * expo(rng));
  }
  return w;
}

Eigen::MatrixXd hessian_of(const Eigen::MatrixXf& x) {
  const Eigen::MatrixXd xd = x.cast<double>();
  return xd * xd.transpose() / static_cast<double>(x.cols());
}

std::vector<float> mse_scales(const Eigen::MatrixXf& w, const rmsmp::RowAssignment& a) {
  std::vector<float> scales;
  for (Eigen::Index r = 0; r < w.rows(); ++r) {
    std::vector<float> row(static_cast<std::size_t>(w.cols()));
    for (Eigen::Index k = 0; k < w.cols(); ++k) row[static_cast<std::size_t>(k)] = w(r, k);
    scales.push_back(rmsmp::choose_row_scale(rmsmp::make_codebook(a[static_cast<std::size_t>(r)]), row,
                                             rmsmp::ScaleMethod::min_squared_error));
  }
  return scales;
}

/// The textbook sequential update, one row at a time, explicit inverses of the remaining block.
CodeMatrix textbook_codes(const Eigen::MatrixXf& w, const Eigen::MatrixXd& damped, const rmsmp::RowAssignment& a,
                          const std::vector<float>& scales) {
  const Eigen::Index rows = w.rows(), k = w.cols();
  CodeMatrix codes(rows, k);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const rmsmp::CodeBook book = rmsmp::make_codebook(a[static_cast<std::size_t>(r)]);
    const float scale = scales[static_cast<std::size_t>(r)];
    Eigen::VectorXd row = w.row(r).transpose().cast<double>();
    for (Eigen::Index j = 0; j < k; ++j) {
      std::vector<float> one{static_cast<float>(row[j])};
      std::vector<std::uint8_t> code(1);
      rmsmp::encode_row(book, one, scale, code);
      codes(r, j) = code[0];
      const double q = static_cast<double>(scale * static_cast<float>(book.level[code[0]]));
      const Eigen::Index rest = k - j;
      const Eigen::MatrixXd g_inverse = damped.bottomRightCorner(rest, rest).inverse();
      row.tail(rest) -= (row[j] - q) / g_inverse(0, 0) * g_inverse.col(0);
    }
  }
  return codes;
}

double output_error(const Eigen::MatrixXf& w, const Eigen::MatrixXf& q, const Eigen::MatrixXf& x) {
  return ((w.cast<double>() - q.cast<double>()) * x.cast<double>()).squaredNorm();
}

}  // namespace

TEST_CASE("inverse_cholesky_upper is the upper Cholesky factor of the inverse") {
  std::mt19937 rng(3);
  for (int k : {20, 300}) {  // 300: several blocks of the blocked triangular inverse
    const Eigen::MatrixXd h = rmsmp::detail::damped_hessian(hessian_of(correlated_inputs(k, 2 * k, rng)), 0.01);
    const Eigen::MatrixXd u = rmsmp::detail::inverse_cholesky_upper(h);
    CHECK(u.triangularView<Eigen::StrictlyLower>().toDenseMatrix().cwiseAbs().maxCoeff() == 0.0);
    CHECK(u.diagonal().minCoeff() > 0.0);
    const Eigen::MatrixXd identity = u.transpose() * u * h;
    CHECK((identity - Eigen::MatrixXd::Identity(k, k)).cwiseAbs().maxCoeff() < 1e-8);
  }
}

TEST_CASE("damped_hessian adds relative damping and revives dead inputs") {
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(3, 3);
  h(0, 0) = 4.0;
  h(2, 2) = 2.0;
  const Eigen::MatrixXd d = rmsmp::detail::damped_hessian(h, 0.5);
  // Dead input 1 becomes 1, then 0.5 * mean(4, 1, 2) is added to every diagonal entry.
  CHECK(d(0, 0) == Approx(4.0 + 0.5 * 7.0 / 3.0));
  CHECK(d(1, 1) == Approx(1.0 + 0.5 * 7.0 / 3.0));
  CHECK(d(2, 2) == Approx(2.0 + 0.5 * 7.0 / 3.0));
}

TEST_CASE("compensated_codes matches the textbook column-by-column update") {
  std::mt19937 rng(21);
  const DynamicRowMix mix = DynamicRowMix::from<rmsmp::Mix60_35_5>();
  for (int block : {1, 5, 64}) {
    const Eigen::MatrixXf w = realistic_weights(20, 23, rng);
    const Eigen::MatrixXf x = correlated_inputs(23, 80, rng);
    const Eigen::MatrixXd h = hessian_of(x);
    rmsmp::RowAssignment a = rmsmp::assign_in_order(mix, 20);
    std::shuffle(a.begin(), a.end(), rng);
    const std::vector<float> scales = mse_scales(w, a);
    const CodeMatrix got = rmsmp::compensated_codes(w, h, a, scales, {0.01, block});
    Eigen::MatrixXd damped = h;
    damped.diagonal().array() += 0.01 * h.diagonal().mean();
    const CodeMatrix want = textbook_codes(w, damped, a, scales);
    INFO("block " << block);
    // Float against double arithmetic may flip a weight that lands on a rounding midpoint.
    CHECK((got.cast<int>() - want.cast<int>()).cwiseAbs().count() <= 1);
  }
}

TEST_CASE("Error compensation lowers the layer-output error of realistic random layers") {
  std::mt19937 rng(33);
  const DynamicRowMix mix = DynamicRowMix::from<rmsmp::Mix60_35_5>();
  for (int trial = 0; trial < 3; ++trial) {
    const int rows = 64, k = 96, samples = 400;
    const Eigen::MatrixXf w = realistic_weights(rows, k, rng);
    const Eigen::MatrixXf x = correlated_inputs(k, samples, rng);
    rmsmp::RowAssignment a = rmsmp::assign_in_order(mix, rows);
    std::shuffle(a.begin(), a.end(), rng);
    const std::vector<float> scales = mse_scales(w, a);

    const rmsmp::MixedRowMatrix<> plain(mix, w, a, rmsmp::ScaleMethod::min_squared_error);
    const CodeMatrix codes = rmsmp::compensated_codes(w, hessian_of(x), a, scales);
    const auto compensated = rmsmp::MixedRowMatrix<>::from_codes(mix, a, scales, codes);  // valid: counts, code books
    const double before = output_error(w, plain.dequantize(), x);
    const double after = output_error(w, compensated.dequantize(), x);
    std::printf("error compensation, random %dx%d layer, %d correlated samples: output error %.4g -> %.4g (%.2fx lower)\n",
                rows, k, samples, before, after, before / after);
    CHECK(after < 0.8 * before);
  }
}

TEST_CASE("compensated_codes refuses bad input") {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Ones(2, 3);
  const Eigen::MatrixXd h = Eigen::MatrixXd::Identity(3, 3);
  const rmsmp::RowAssignment a(2, rmsmp::Fixed<4>::id);
  const std::vector<float> scales{0.1f, 0.1f};
  CHECK_THROWS_WITH(rmsmp::compensated_codes(w, Eigen::MatrixXd::Identity(4, 4), a, scales), Catch::Contains("K = 3"));
  CHECK_THROWS_WITH(rmsmp::compensated_codes(w, h, rmsmp::RowAssignment(1, rmsmp::Fixed<4>::id), scales),
                    Catch::Contains("number of rows"));
  CHECK_THROWS_WITH(rmsmp::compensated_codes(w, h, a, std::vector<float>{0.1f, 0.0f}), Catch::Contains("row 1"));
  CHECK_THROWS_WITH(rmsmp::compensated_codes(w, h, a, scales, {-1.0, 8}), Catch::Contains("damping"));
  CHECK_THROWS_WITH(rmsmp::compensated_codes(w, h, a, scales, {0.01, 0}), Catch::Contains("block_size"));
  CHECK_THROWS_WITH(rmsmp::compensated_codes(w, -h, a, scales), Catch::Contains("negative diagonal"));
  Eigen::MatrixXd indefinite = h;
  indefinite(0, 1) = indefinite(1, 0) = 5.0;
  CHECK_THROWS_WITH(rmsmp::compensated_codes(w, indefinite, a, scales, {0.0, 8}), Catch::Contains("positive definite"));
}

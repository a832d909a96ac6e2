// Unit tests for rmsmp/model/layer_quantizer.hpp. Costs and output errors are recomputed
// here in double from the definitions (d = w - dequantized row, d^T H d with H = X X^T / S);
// the optimal rule is checked against a brute force over all assignments with the mix's counts.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "brute_force_assignment.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/hessian.hpp"
#include "rmsmp/model/layer_quantizer.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/row_mix.hpp"

namespace {

using rmsmp::AssignmentRule;
using rmsmp::DynamicRowMix;
using rmsmp::LayerQuantizerOptions;
using rmsmp::Mix60_35_5;

struct Layer {
  Eigen::MatrixXf w, x;
};

/// Gaussian and Laplace rows of varied magnitude; correlated, partly non-negative inputs.
Layer random_layer(int rows, int k, int samples, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::exponential_distribution<float> expo(1.0f);
  std::bernoulli_distribution sign(0.5);
  std::uniform_real_distribution<float> magnitude(0.02f, 0.2f);
  Layer l{Eigen::MatrixXf(rows, k), Eigen::MatrixXf(k, samples)};
  for (int r = 0; r < rows; ++r) {
    const float m = magnitude(rng);
    for (int c = 0; c < k; ++c) l.w(r, c) = m * (r % 2 == 0 ? normal(rng) : (sign(rng) ? 1.0f : -1.0f) * expo(rng));
  }
  Eigen::MatrixXf mixing(k, k), z(k, samples);
  for (Eigen::Index i = 0; i < mixing.size(); ++i) mixing.data()[i] = normal(rng);
  for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
  l.x = mixing * z;
  l.x.topRows(k / 2) = l.x.topRows(k / 2).cwiseMax(0.0f);  // ReLU outputs feeding the layer
  return l;
}

Eigen::MatrixXd hessian_of(const Eigen::MatrixXf& x) {
  const Eigen::MatrixXd xd = x.cast<double>();
  return xd * xd.transpose() / static_cast<double>(x.cols());
}

double row_cost(const Eigen::VectorXd& d, const Eigen::MatrixXd& h) { return d.dot(h * d); }

/// Row r rounded with `id` at `scale`, as dequantized floats (independent of the quantizer's
/// internals: encode_row and the code book).
Eigen::VectorXd rounding_error(const Eigen::MatrixXf& w, Eigen::Index r, rmsmp::SchemeId id, float scale) {
  const rmsmp::CodeBook book = rmsmp::make_codebook(id);
  std::vector<float> row(static_cast<std::size_t>(w.cols()));
  for (Eigen::Index k = 0; k < w.cols(); ++k) row[static_cast<std::size_t>(k)] = w(r, k);
  std::vector<std::uint8_t> codes(row.size());
  rmsmp::encode_row(book, row, scale, codes);
  Eigen::VectorXd d(w.cols());
  for (Eigen::Index k = 0; k < w.cols(); ++k)
    d[k] = static_cast<double>(row[static_cast<std::size_t>(k)]) -
           static_cast<double>(scale * static_cast<float>(book.level[codes[static_cast<std::size_t>(k)]]));
  return d;
}

template <class Mix>
double total_output_error(const Layer& l, const rmsmp::MixedRowMatrix<Mix>& m) {
  return ((l.w.cast<double>() - m.dequantize().template cast<double>()) * l.x.cast<double>()).squaredNorm() /
             static_cast<double>(l.x.cols());
}

using rmsmp_test::brute_force_min;

}  // namespace

TEST_CASE("quantize_layer reports the Hessian-weighted cost of every row and scheme") {
  std::mt19937 rng(1);
  const Layer l = random_layer(40, 24, 64, rng);
  const Eigen::MatrixXd h = hessian_of(l.x);
  const auto q = rmsmp::quantize_layer<Mix60_35_5>(l.w, l.x);
  const rmsmp::LayerQuantizationReport& rep = q.report;
  REQUIRE(rep.costs.rows() == 40);
  REQUIRE(rep.costs.cols() == 3);
  CHECK(rep.schemes == std::vector<rmsmp::SchemeId>{rmsmp::PoT<4>::id, rmsmp::Fixed<4>::id, rmsmp::Fixed<8>::id});
  const Eigen::VectorXd importance = h.diagonal();
  for (Eigen::Index r = 0; r < 40; ++r)
    for (Eigen::Index j = 0; j < 3; ++j) {
      const rmsmp::SchemeId id = rep.schemes[static_cast<std::size_t>(j)];
      const float scale = rep.candidate_scales(r, j);
      // The scale is the Hessian-weighted search's choice for this row ...
      std::vector<float> row(24);
      for (Eigen::Index k = 0; k < 24; ++k) row[static_cast<std::size_t>(k)] = l.w(r, k);
      CHECK(scale == rmsmp::choose_row_scale_weighted(rmsmp::make_codebook(id), row,
                                                      std::vector<double>(importance.data(), importance.data() + 24)));
      // ... and the cost is d^T H d of plain rounding at that scale.
      CHECK(rep.costs(r, j) == Approx(row_cost(rounding_error(l.w, r, id, scale), h)).epsilon(1e-4));
    }
  // Fixed-8 rounding is much finer than 4-bit rounding.
  CHECK(rep.costs.col(2).sum() < 0.05 * rep.costs.col(1).sum());
  CHECK(rep.output_error == Approx(rep.assigned_cost));
  CHECK(rep.output_error == Approx(total_output_error(l, q.matrix)).epsilon(1e-4));
  CHECK(q.matrix.assignment() == rep.assignment);
  CHECK(q.matrix.row_scales() == rep.scales);
  // Plain rounding: every level is encode_row's at the row's scale.
  for (Eigen::Index r = 0; r < 40; ++r) {
    const rmsmp::CodeBook book = rmsmp::make_codebook(rep.assignment[static_cast<std::size_t>(r)]);
    std::vector<float> row(24);
    for (Eigen::Index k = 0; k < 24; ++k) row[static_cast<std::size_t>(k)] = l.w(r, k);
    std::vector<std::uint8_t> codes(24);
    rmsmp::encode_row(book, row, rep.scales[static_cast<std::size_t>(r)], codes);
    int mismatches = 0;
    for (int k = 0; k < 24; ++k) mismatches += q.matrix.level(static_cast<int>(r), k) != book.level[codes[static_cast<std::size_t>(k)]];
    CHECK(mismatches == 0);
  }
}

TEST_CASE("quantize_layer with the optimal rule reaches the brute-force optimum") {
  std::mt19937 rng(2);
  const DynamicRowMix mix({{rmsmp::SP2<4>::id, 50}, {rmsmp::Fixed<4>::id, 30}, {rmsmp::Fixed<8>::id, 20}});
  for (int trial = 0; trial < 4; ++trial) {
    const Layer l = random_layer(9, 12, 30, rng);
    const auto optimal = rmsmp::quantize_layer(mix, l.w, l.x, {AssignmentRule::optimal});
    const auto papers = rmsmp::quantize_layer(mix, l.w, l.x, {AssignmentRule::papers});
    REQUIRE_NOTHROW(rmsmp::check_assignment(optimal.matrix.assignment(), mix));
    REQUIRE_NOTHROW(rmsmp::check_assignment(papers.matrix.assignment(), mix));
    const double best = brute_force_min(optimal.report.costs, mix.row_counts(9));
    CHECK(optimal.report.assigned_cost == Approx(best).epsilon(1e-12));
    CHECK(optimal.report.assigned_cost <= papers.report.assigned_cost + 1e-15);
    CHECK(optimal.report.output_error == Approx(total_output_error(l, optimal.matrix)).epsilon(1e-4));
  }
}

TEST_CASE("quantize_layer with compensation lowers the output error and keeps a valid matrix") {
  std::mt19937 rng(3);
  const Layer l = random_layer(64, 80, 300, rng);
  LayerQuantizerOptions options;
  const auto plain = rmsmp::quantize_layer<Mix60_35_5>(l.w, l.x, options);
  options.compensate = true;
  const auto compensated = rmsmp::quantize_layer<Mix60_35_5>(l.w, l.x, options);
  // Same costs, same assignment and grids; only the codes differ.
  CHECK(compensated.report.assignment == plain.report.assignment);
  CHECK(compensated.report.scales == plain.report.scales);
  const double before = total_output_error(l, plain.matrix);
  const double after = total_output_error(l, compensated.matrix);
  CHECK(compensated.report.output_error == Approx(after).epsilon(1e-4));
  const double energy = (l.w.cast<double>() * l.x.cast<double>()).squaredNorm() / 300.0;
  std::printf("quantize_layer 64x80, 300 samples: output error %.4g -> %.4g with compensation (%.2fx), %.3g%% of the output energy\n",
              before, after, before / after, 100.0 * after / energy);
  CHECK(after < 0.8 * before);
  const auto counts = Mix60_35_5::row_counts(64);
  CHECK(compensated.matrix.bits_per_weight() == Approx((counts[0] * 4 + counts[1] * 4 + counts[2] * 8) / 64.0));
}

TEST_CASE("quantize_layer from an accumulated Hessian agrees with quantize_layer from samples") {
  std::mt19937 rng(4);
  const Layer l = random_layer(30, 20, 90, rng);  // S > K: the costs come from H, not from X
  rmsmp::LayerHessian h(20);
  h.add_samples(l.x.leftCols(40));
  h.add_samples(l.x.rightCols(50));
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  const auto from_h = rmsmp::quantize_layer(mix, l.w, h);
  const auto from_x = rmsmp::quantize_layer(mix, l.w, l.x);
  CHECK((from_h.report.costs - from_x.report.costs).cwiseAbs().maxCoeff() <= 1e-4 * from_x.report.costs.maxCoeff());
  CHECK(from_h.report.candidate_scales == from_x.report.candidate_scales);
}

TEST_CASE("quantize_layer honours the scale method") {
  std::mt19937 rng(5);
  const Layer l = random_layer(20, 16, 40, rng);
  for (rmsmp::ScaleMethod method : {rmsmp::ScaleMethod::max_abs, rmsmp::ScaleMethod::min_squared_error}) {
    LayerQuantizerOptions options;
    options.scale_method = method;
    const auto q = rmsmp::quantize_layer<Mix60_35_5>(l.w, l.x, options);
    for (Eigen::Index r = 0; r < 20; ++r) {
      std::vector<float> row(16);
      for (Eigen::Index k = 0; k < 16; ++k) row[static_cast<std::size_t>(k)] = l.w(r, k);
      for (Eigen::Index j = 0; j < 3; ++j)
        CHECK(q.report.candidate_scales(r, j) ==
              rmsmp::choose_row_scale(rmsmp::make_codebook(q.report.schemes[static_cast<std::size_t>(j)]), row, method));
    }
  }
}

TEST_CASE("quantize_layer refuses bad input") {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(10, 6);
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(6, 12);
  CHECK_THROWS_WITH(rmsmp::quantize_layer<Mix60_35_5>(w, Eigen::MatrixXf::Random(7, 12)), Catch::Contains("depth 7") && Catch::Contains("K = 6"));
  CHECK_THROWS_WITH(rmsmp::quantize_layer<Mix60_35_5>(w, Eigen::MatrixXf(6, 0)), Catch::Contains("no calibration samples"));
  CHECK_THROWS_WITH(rmsmp::quantize_layer<Mix60_35_5>(w, rmsmp::LayerHessian(5)), Catch::Contains("no calibration samples"));
  rmsmp::LayerHessian h(5);
  h.add_samples(Eigen::MatrixXf::Random(5, 3));
  CHECK_THROWS_WITH(rmsmp::quantize_layer<Mix60_35_5>(w, h), Catch::Contains("depth 5"));
  Eigen::MatrixXf bad = w;
  bad(4, 2) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(rmsmp::quantize_layer<Mix60_35_5>(bad, x), Catch::Contains("row 4"));
}

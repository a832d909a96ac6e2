// Unit tests for rmsmp/quantize/weighted_scale_search.hpp. The expected scale comes from a
// brute-force search: every candidate clip, every weight encoded with encode_row, the
// weighted squared error summed directly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/quantize/weighted_scale_search.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace {

using rmsmp::CodeBook;

double weighted_error(const CodeBook& book, const std::vector<float>& w, const std::vector<double>& h, float scale) {
  std::vector<std::uint8_t> codes(w.size());
  rmsmp::encode_row(book, w, scale, codes);
  double e = 0.0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double d = static_cast<double>(w[k]) - static_cast<double>(scale) * book.level[codes[k]];
    e += h[k] * d * d;
  }
  return e;
}

/// The least weighted error over the candidates clip = max|w| (100 - i) / 100.
double brute_force_best(const CodeBook& book, const std::vector<float>& w, const std::vector<double>& h) {
  double max_abs = 0.0;
  for (float v : w) max_abs = std::max(max_abs, static_cast<double>(std::fabs(v)));
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 100; ++i) {
    const float scale = static_cast<float>(max_abs * (100 - i) / 100 / book.max_level);
    best = std::min(best, weighted_error(book, w, h, scale));
  }
  return best;
}

std::vector<float> random_row(std::mt19937& rng, int k, bool laplace) {
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::exponential_distribution<float> expo(20.0f);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> w(static_cast<std::size_t>(k));
  for (float& v : w) v = laplace ? (sign(rng) ? 1.0f : -1.0f) * expo(rng) : normal(rng);
  return w;
}

}  // namespace

TEST_CASE("Hessian-weighted scale search reaches the brute-force least weighted error") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> spread(0.0, 3.0);
  for (rmsmp::SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (int trial = 0; trial < 6; ++trial) {
      const int k = 1 + trial * 37;
      const std::vector<float> w = random_row(rng, k, trial % 2 == 1);
      std::vector<double> h(static_cast<std::size_t>(k));
      for (double& v : h) v = std::exp(spread(rng)) - 1.0;  // includes near-zero importances
      const float scale = rmsmp::choose_row_scale_weighted(book, w, h);
      INFO(rmsmp::display_name(id) << " K=" << k);
      const double best = brute_force_best(book, w, h);
      CHECK(weighted_error(book, w, h, scale) <= best * (1.0 + 1e-9) + 1e-300);
    }
  }
}

TEST_CASE("With unit column weights the search matches min_squared_error") {
  std::mt19937 rng(5);
  for (rmsmp::SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (int trial = 0; trial < 4; ++trial) {
      const std::vector<float> w = random_row(rng, 64 + trial, trial % 2 == 0);
      const std::vector<double> ones(w.size(), 1.0);
      const float weighted = rmsmp::choose_row_scale_weighted(book, w, ones);
      const float plain = rmsmp::choose_row_scale(book, w, rmsmp::ScaleMethod::min_squared_error);
      INFO(rmsmp::display_name(id));
      // The same candidate, or a different one with the same error (an exact tie).
      CHECK(weighted_error(book, w, ones, weighted) == Approx(weighted_error(book, w, ones, plain)).epsilon(1e-12));
    }
  }
}

TEST_CASE("Hessian-weighted search ignores columns of zero weight and handles zero rows") {
  const CodeBook book = rmsmp::make_codebook(rmsmp::Fixed<4>::id);
  // The outlier 10 sits on a dead input: the search must clip it away and fit the rest.
  const std::vector<float> w = {10.0f, 0.7f, -0.7f, 0.35f, 0.1f};
  const std::vector<double> h = {0.0, 1.0, 1.0, 1.0, 1.0};
  const float scale = rmsmp::choose_row_scale_weighted(book, w, h);
  CHECK(scale * 7.0f < 1.0f);
  CHECK(weighted_error(book, w, h, scale) == Approx(brute_force_best(book, w, h)));

  const std::vector<float> zero(8, 0.0f);
  CHECK(rmsmp::choose_row_scale_weighted(book, zero, std::vector<double>(8, 1.0)) == 1.0f);
  // No column matters: every candidate ties, the largest clip (max_abs) is kept.
  CHECK(rmsmp::choose_row_scale_weighted(book, w, std::vector<double>(5, 0.0)) ==
        rmsmp::choose_row_scale(book, w, rmsmp::ScaleMethod::max_abs));
}

TEST_CASE("Hessian-weighted search refuses bad input") {
  const CodeBook book = rmsmp::make_codebook(rmsmp::PoT<4>::id);
  const std::vector<float> w = {0.5f, -0.25f};
  CHECK_THROWS_WITH(rmsmp::choose_row_scale_weighted(book, w, std::vector<double>{1.0}), Catch::Contains("1 column weights"));
  CHECK_THROWS_WITH(rmsmp::choose_row_scale_weighted(book, w, std::vector<double>{1.0, -1.0}),
                    Catch::Contains("non-negative"));
  CHECK_THROWS_WITH(rmsmp::choose_row_scale_weighted(book, std::vector<float>{1.0f, std::numeric_limits<float>::infinity()},
                                                     std::vector<double>{1.0, 1.0}),
                    Catch::Contains("infinite"));
  std::vector<std::uint8_t> codes(2);
  CHECK_THROWS_WITH(rmsmp::choose_row_scale(book, w, rmsmp::ScaleMethod::min_hessian_error), Catch::Contains("Hessian"));
  CHECK_THROWS_WITH(rmsmp::quantize_row(book, w, codes, rmsmp::ScaleMethod::min_hessian_error), Catch::Contains("Hessian"));
}

// Unit tests for rmsmp/quantize/row_quantizer.hpp.
//
// Every expectation is computed independently of the quantizer: the rounding rule is checked
// against a brute-force nearest-level search over every code of the code book, the error
// bounds against the largest gap of the code book's non-negative levels.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace {

using rmsmp::CodeBook;
using rmsmp::ScaleMethod;
using rmsmp::SchemeId;

using rmsmp_test::inf_f;
using rmsmp_test::nan_f;
using rmsmp_test::num;


std::string method_name(ScaleMethod m) { return m == ScaleMethod::max_abs ? "max_abs" : "min_squared_error"; }

int level_of(const CodeBook& book, std::uint8_t code) { return book.level[code]; }

struct Nearest {
  int level = 0;
  std::uint8_t code = 0;
};

/// Which of two integer levels is nearer to x, decided exactly: |x - a| < |x - b| holds iff
/// (b - a) * (2x - (a + b)) < 0, and 2x and a + b are exact in double. Returns -1 when a is
/// nearer, +1 when b is nearer, 0 on an exact tie (or a == b).
int nearer(double x, int a, int b) {
  if (a == b) return 0;
  const double twice_x = 2.0 * x;
  const double sum = static_cast<double>(a) + static_cast<double>(b);
  if (twice_x == sum) return 0;
  const bool below_midpoint = twice_x < sum;
  return (b > a) == below_midpoint ? -1 : 1;
}

/// Brute force: scan every code, keep the level nearest to x; on an exact tie keep the larger
/// magnitude. Then the canonical code is the smallest code with that level (which excludes
/// the negative-zero code sign_bit|0, since code 0 comes first).
Nearest brute_force_nearest(const CodeBook& book, double x) {
  int best = book.level[0];
  for (int c = 1; c < book.code_count; ++c) {
    const int level = book.level[static_cast<std::size_t>(c)];
    const int n = nearer(x, best, level);
    if (n > 0 || (n == 0 && std::abs(level) > std::abs(best))) best = level;
  }
  for (int c = 0; c < book.code_count; ++c)
    if (book.level[static_cast<std::size_t>(c)] == best) return {best, static_cast<std::uint8_t>(c)};
  FAIL("brute force found no code for level " << best);
  return {};
}

/// Distinct non-negative levels of a code book, ascending.
std::vector<int> non_negative_levels(const CodeBook& book) {
  std::vector<int> levels;
  for (int c = 0; c < book.code_count; ++c) {
    const int level = book.level[static_cast<std::size_t>(c)];
    if (level >= 0 && std::find(levels.begin(), levels.end(), level) == levels.end()) levels.push_back(level);
  }
  std::sort(levels.begin(), levels.end());
  return levels;
}

int largest_gap(const CodeBook& book) {
  const std::vector<int> levels = non_negative_levels(book);
  int gap = 0;
  for (std::size_t i = 1; i < levels.size(); ++i) gap = std::max(gap, levels[i] - levels[i - 1]);
  return gap;
}

int largest_level(const CodeBook& book) { return non_negative_levels(book).back(); }

/// Encodes `weights` with encode_row and checks every code against the brute force.
void check_encode_against_brute_force(const CodeBook& book, const std::vector<float>& weights, float scale) {
  std::vector<std::uint8_t> codes(weights.size(), 0xEE);
  rmsmp::encode_row(book, weights, scale, codes);
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const double x = static_cast<double>(weights[k]) / static_cast<double>(scale);
    const Nearest want = brute_force_nearest(book, x);
    INFO(rmsmp::display_name(book.id) << " column " << k << ": w = " << num(weights[k]) << ", scale = " << num(scale)
                                      << ", x = w/scale = " << num(x) << "; expected level " << want.level
                                      << " (code " << int{want.code} << "), got code " << int{codes[k]});
    CHECK(static_cast<int>(codes[k]) < book.code_count);
    CHECK(codes[k] != book.sign_bit());  // never the negative-zero code
    CHECK(level_of(book, codes[k]) == want.level);
    CHECK(codes[k] == want.code);
  }
}

/// Squared error of a quantized row, in double: sum (w - scale * level)^2.
double squared_error(const CodeBook& book, std::span<const float> w, float scale, std::span<const std::uint8_t> codes) {
  double error = 0.0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double d = static_cast<double>(w[k]) - static_cast<double>(scale) * level_of(book, codes[k]);
    error += d * d;
  }
  return error;
}

struct Quantized {
  float scale = 0.0f;
  std::vector<std::uint8_t> codes;
};

Quantized quantize(const CodeBook& book, const std::vector<float>& w, ScaleMethod method) {
  Quantized q;
  q.codes.assign(w.size(), 0xEE);
  q.scale = rmsmp::quantize_row(book, w, q.codes, method);
  return q;
}

/// Largest violation of |w - dequantized| <= scale * gap / 2 (plus float rounding of the
/// dequantized value), as a ratio error / allowed: <= 1 passes. Reports the worst weight.
void check_error_bound(const CodeBook& book, const std::vector<float>& w, const Quantized& q) {
  const double half_gap = 0.5 * largest_gap(book);
  double worst_ratio = 0.0;
  std::size_t worst = 0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    const float deq = rmsmp::dequantize_code(book, q.scale, q.codes[k]);
    REQUIRE(std::isfinite(deq));
    const double error = std::fabs(static_cast<double>(w[k]) - static_cast<double>(deq));
    const double allowed = static_cast<double>(q.scale) * half_gap * (1.0 + 1e-12) +
                           static_cast<double>(FLT_EPSILON) * (std::fabs(static_cast<double>(w[k])) +
                                                               std::fabs(static_cast<double>(deq)));
    const double ratio = error / allowed;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = k;
    }
  }
  if (w.empty()) return;
  INFO(rmsmp::display_name(book.id) << ": worst weight column " << worst << " w = " << num(w[worst])
                                    << ", dequantized = " << num(rmsmp::dequantize_code(book, q.scale, q.codes[worst]))
                                    << ", scale = " << num(q.scale) << ", largest level gap = " << largest_gap(book)
                                    << ", error/allowed = " << worst_ratio);
  CHECK(worst_ratio <= 1.0);
}

double max_abs(const std::vector<float>& w) {
  double m = 0.0;
  for (float v : w) m = std::max(m, std::fabs(static_cast<double>(v)));
  return m;
}

enum class Distribution { gaussian, uniform, laplace_outliers, one_sided, sparse };

const char* distribution_name(Distribution d) {
  switch (d) {
    case Distribution::gaussian: return "gaussian";
    case Distribution::uniform: return "uniform";
    case Distribution::laplace_outliers: return "laplace+outliers";
    case Distribution::one_sided: return "one-sided";
    case Distribution::sparse: return "sparse";
  }
  return "?";
}

std::vector<float> random_row(std::mt19937& rng, Distribution d, std::size_t n, double magnitude) {
  std::vector<float> w(n);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::exponential_distribution<double> expo(1.0);
  std::bernoulli_distribution coin(0.5);
  std::bernoulli_distribution rare(0.02);
  for (auto& v : w) {
    double x = 0.0;
    switch (d) {
      case Distribution::gaussian: x = gauss(rng); break;
      case Distribution::uniform: x = uni(rng); break;
      case Distribution::laplace_outliers:
        x = (coin(rng) ? 1.0 : -1.0) * expo(rng);
        if (rare(rng)) x *= 25.0;
        break;
      case Distribution::one_sided: x = std::fabs(gauss(rng)) + 0.1; break;
      case Distribution::sparse: x = rare(rng) || rare(rng) ? gauss(rng) : 0.0; break;
    }
    v = static_cast<float>(x * magnitude);
  }
  return w;
}

}  // namespace

// -------------------------------------------------------------------------------------------
// Rounding rule
// -------------------------------------------------------------------------------------------

TEST_CASE("encode_row: hand-picked values, midpoints (ties) and their float neighbours match brute force",
          "[row_quantizer][rounding]") {
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    const std::vector<int> levels = non_negative_levels(book);
    REQUIRE(levels.size() >= 2);
    REQUIRE(levels.front() == 0);
    const int top = levels.back();

    // scale = 1 makes x = w exactly; the other scales have few mantissa bits, so w = x * scale
    // is exact in float and w / scale gives x back exactly in double.
    for (const float scale : {1.0f, 0.375f, 0.0625f, 80.0f, 3.0f * 0x1p-20f, 5.0f * 0x1p+20f}) {
      std::vector<float> w;
      auto add_x = [&](float x) {
        const float wx = x * scale;
        w.push_back(wx);
        w.push_back(std::nextafter(wx, -inf_f));
        w.push_back(std::nextafter(wx, inf_f));
      };
      for (std::size_t i = 0; i < levels.size(); ++i) {
        for (const float sign : {1.0f, -1.0f}) {
          add_x(sign * static_cast<float>(levels[i]));
          if (i + 1 < levels.size()) add_x(sign * 0.5f * static_cast<float>(levels[i] + levels[i + 1]));  // tie
          if (i + 1 < levels.size()) add_x(sign * (0.25f * static_cast<float>(levels[i]) + 0.75f * static_cast<float>(levels[i + 1])));
        }
      }
      for (const float x : {0.0f, -0.0f, 0x1p-30f, -0x1p-30f, static_cast<float>(top) + 0.5f,
                            static_cast<float>(top) + 1.0f, -static_cast<float>(top) - 1.0f, 1e6f, -1e6f})
        add_x(x);
      w.push_back(FLT_MAX);
      w.push_back(-FLT_MAX);
      w.push_back(std::numeric_limits<float>::denorm_min());
      w.push_back(-std::numeric_limits<float>::denorm_min());
      INFO("scale " << num(scale));
      check_encode_against_brute_force(book, w, scale);
    }
  }
}

TEST_CASE("encode_row: explicit expectations for Fixed-4, PoT-4 and SP2-3", "[row_quantizer][rounding]") {
  // Written out by hand from the documented rule, not from the quantizer.
  SECTION("Fixed-4: round half away from zero, saturate at +-7") {
    const CodeBook book = rmsmp::Fixed<4>::codebook;
    const std::vector<float> w = {0.49f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 6.5f, 7.49f, 100.0f, -100.0f, -0.49f};
    const std::vector<int> want = {0, 1, 2, 3, -1, -3, 7, 7, 7, -7, 0};
    std::vector<std::uint8_t> codes(w.size());
    rmsmp::encode_row(book, w, 1.0f, codes);
    for (std::size_t k = 0; k < w.size(); ++k) {
      INFO("w = " << w[k]);
      CHECK(level_of(book, codes[k]) == want[k]);
    }
    CHECK(codes[10] == 0);  // -0.49 -> +0 code, not 0b1000
    CHECK(codes[4] == 0x9);  // -1 = sign | 1
  }
  SECTION("PoT-4: levels 0,1,2,4,...,64; ties to the larger power") {
    const CodeBook book = rmsmp::PoT<4>::codebook;
    const std::vector<float> w = {0.5f, 0.49f, 1.5f, 3.0f, 2.99f, 6.0f, 48.0f, 47.9f, 96.0f, 1000.0f, -3.0f, -0.5f};
    const std::vector<int> want = {1, 0, 2, 4, 2, 8, 64, 32, 64, 64, -4, -1};
    std::vector<std::uint8_t> codes(w.size());
    rmsmp::encode_row(book, w, 1.0f, codes);
    for (std::size_t k = 0; k < w.size(); ++k) {
      INFO("w = " << w[k]);
      CHECK(level_of(book, codes[k]) == want[k]);
    }
  }
  SECTION("SP2-3: duplicate level 1 gets its smallest code") {
    const CodeBook book = rmsmp::SP2<3>::codebook;
    // Levels by code: 0,1,1,2,0,-1,-1,-2.
    REQUIRE(level_of(book, 1) == 1);
    REQUIRE(level_of(book, 2) == 1);
    const std::vector<float> w = {1.0f, 0.5f, -1.0f, 1.5f, -1.5f, 0.49f, 7.0f};
    const std::vector<std::uint8_t> want = {1, 1, 5, 3, 7, 0, 3};
    std::vector<std::uint8_t> codes(w.size());
    rmsmp::encode_row(book, w, 1.0f, codes);
    for (std::size_t k = 0; k < w.size(); ++k) {
      INFO("w = " << w[k]);
      CHECK(int{codes[k]} == int{want[k]});
    }
  }
}

TEST_CASE("encode_row: random values and scales match brute force", "[row_quantizer][rounding]") {
  std::mt19937 rng(20240611u);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    const double top = largest_level(book);
    std::uniform_real_distribution<double> xdist(-1.3 * top, 1.3 * top);
    std::uniform_real_distribution<double> log_scale(-20.0, 20.0);
    for (int trial = 0; trial < 20; ++trial) {
      const float scale = static_cast<float>(std::pow(10.0, log_scale(rng)));
      std::vector<float> w(150);
      for (auto& v : w) v = static_cast<float>(xdist(rng) * scale);
      // Snap some values onto exact midpoints of x (only exact when scale allows it; the
      // brute force is told the real x either way).
      for (std::size_t k = 0; k < w.size(); k += 5) {
        const double x = std::round(2.0 * xdist(rng)) / 2.0;
        w[k] = static_cast<float>(x * scale);
      }
      INFO("trial " << trial);
      check_encode_against_brute_force(book, w, scale);
    }
  }
}

TEST_CASE("quantize_row: codes match brute force at the chosen scale, both methods", "[row_quantizer][rounding]") {
  std::mt19937 rng(7u);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
      for (int trial = 0; trial < 4; ++trial) {
        const std::vector<float> w = random_row(rng, Distribution::laplace_outliers, 97, 0.05);
        const Quantized q = quantize(book, w, method);
        INFO(method_name(method) << " trial " << trial);
        check_encode_against_brute_force(book, w, q.scale);
        std::vector<std::uint8_t> again(w.size());
        rmsmp::encode_row(book, w, q.scale, again);
        CHECK(again == q.codes);
      }
    }
  }
}

TEST_CASE("encode_row: rejects a bad scale or mismatched lengths", "[row_quantizer][errors]") {
  const CodeBook book = rmsmp::Fixed<4>::codebook;
  const std::vector<float> w = {1.0f, 2.0f, 3.0f};
  std::vector<std::uint8_t> codes(3);
  for (const float bad : {0.0f, -0.0f, -1.0f, nan_f, inf_f, -inf_f}) {
    INFO("scale " << bad);
    REQUIRE_THROWS_AS(rmsmp::encode_row(book, w, bad, codes), rmsmp::Error);
    REQUIRE_THROWS_WITH(rmsmp::encode_row(book, w, bad, codes), Catch::Contains("scale"));
  }
  std::vector<std::uint8_t> short_codes(2);
  REQUIRE_THROWS_AS(rmsmp::encode_row(book, w, 1.0f, short_codes), rmsmp::Error);
}

// -------------------------------------------------------------------------------------------
// Error bounds
// -------------------------------------------------------------------------------------------

TEST_CASE("max_abs: every weight within scale * largest_gap / 2, top level reproduces max|w|",
          "[row_quantizer][error_bound]") {
  std::mt19937 rng(12345u);
  std::uniform_real_distribution<double> log_mag(-8.0, 8.0);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    const int top = largest_level(book);
    for (Distribution d : {Distribution::gaussian, Distribution::uniform, Distribution::laplace_outliers,
                           Distribution::one_sided, Distribution::sparse}) {
      for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, std::size_t{301}}) {
        const double magnitude = std::pow(10.0, log_mag(rng));
        const std::vector<float> w = random_row(rng, d, n, magnitude);
        const double m = max_abs(w);
        if (m == 0.0) continue;  // sparse rows may be all zero; tested separately
        const Quantized q = quantize(book, w, ScaleMethod::max_abs);
        INFO(rmsmp::display_name(id) << " " << distribution_name(d) << " n = " << n << " magnitude " << num(magnitude)
                                     << " max|w| = " << num(m) << " scale " << num(q.scale));
        REQUIRE(std::isnormal(q.scale));
        REQUIRE(q.scale > 0.0f);
        check_error_bound(book, w, q);
        // scale * top level reproduces max|w| (float rounding of the scale and of the product).
        CHECK(std::fabs(static_cast<double>(q.scale) * top - m) <= 2.0 * FLT_EPSILON * m);
        // The max-abs weight itself maps to +-top and dequantizes to itself within float rounding.
        const auto it = std::max_element(w.begin(), w.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); });
        const std::size_t k = static_cast<std::size_t>(it - w.begin());
        CHECK(std::abs(level_of(book, q.codes[k])) == top);
        CHECK(std::fabs(static_cast<double>(rmsmp::dequantize_code(book, q.scale, q.codes[k])) - *it) <=
              2.0 * FLT_EPSILON * m);
      }
    }
  }
}

TEST_CASE("min_squared_error: squared error never exceeds max_abs's, scale stays on the clip grid",
          "[row_quantizer][error_bound]") {
  std::mt19937 rng(99u);
  std::uniform_real_distribution<double> log_mag(-6.0, 6.0);
  int improved = 0;
  int rows = 0;
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (Distribution d : {Distribution::gaussian, Distribution::uniform, Distribution::laplace_outliers,
                           Distribution::one_sided, Distribution::sparse}) {
      for (int trial = 0; trial < 6; ++trial) {
        const std::size_t n = trial % 2 == 0 ? 256 : 33;
        const std::vector<float> w = random_row(rng, d, n, std::pow(10.0, log_mag(rng)));
        const Quantized qa = quantize(book, w, ScaleMethod::max_abs);
        const Quantized qm = quantize(book, w, ScaleMethod::min_squared_error);
        const double ea = squared_error(book, w, qa.scale, qa.codes);
        const double em = squared_error(book, w, qm.scale, qm.codes);
        INFO(rmsmp::display_name(id) << " " << distribution_name(d) << " trial " << trial << ": max_abs scale "
                                     << num(qa.scale) << " error " << num(ea) << "; mse scale " << num(qm.scale)
                                     << " error " << num(em));
        CHECK(em <= ea);
        // The clip candidates are max|w| * (100 - i) / 100, i = 0..99: the scale never grows
        // and never drops below 1/100 of the max_abs scale.
        CHECK(qm.scale <= qa.scale);
        CHECK(static_cast<double>(qm.scale) >= 0.01 * static_cast<double>(qa.scale) * (1.0 - 1e-6));
        // Codes are the nearest levels at the chosen scale.
        bool all_nearest = true;
        for (std::size_t k = 0; k < n; ++k)
          all_nearest = all_nearest &&
                        level_of(book, qm.codes[k]) ==
                            brute_force_nearest(book, static_cast<double>(w[k]) / static_cast<double>(qm.scale)).level;
        CHECK(all_nearest);
        ++rows;
        if (em < ea) ++improved;
      }
    }
  }
  // The search must actually do something on heavy-tailed rows.
  INFO(improved << " of " << rows << " rows improved");
  CHECK(improved > rows / 4);
}

TEST_CASE("min_squared_error: result is the best clip of the documented grid (brute-force search)",
          "[row_quantizer][error_bound]") {
  std::mt19937 rng(4242u);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    const int top = largest_level(book);
    for (Distribution d : {Distribution::gaussian, Distribution::laplace_outliers}) {
      const std::vector<float> w = random_row(rng, d, 40, 0.3);
      const double m = max_abs(w);
      double best = std::numeric_limits<double>::infinity();
      for (int i = 0; i < rmsmp::mse_clip_candidates; ++i) {
        const double clip = m * (rmsmp::mse_clip_candidates - i) / rmsmp::mse_clip_candidates;
        const float scale = static_cast<float>(clip / top);
        double error = 0.0;
        for (float v : w) {
          const double dd = static_cast<double>(v) -
                            static_cast<double>(scale) * brute_force_nearest(book, static_cast<double>(v) / scale).level;
          error += dd * dd;
        }
        best = std::min(best, error);
      }
      const Quantized q = quantize(book, w, ScaleMethod::min_squared_error);
      const double got = squared_error(book, w, q.scale, q.codes);
      INFO(rmsmp::display_name(id) << " " << distribution_name(d) << ": best on grid " << num(best) << ", got "
                                   << num(got));
      CHECK(got <= best * (1.0 + 1e-12));
      CHECK(got >= best * (1.0 - 1e-12));
    }
  }
}

// -------------------------------------------------------------------------------------------
// Edge rows
// -------------------------------------------------------------------------------------------

TEST_CASE("edge rows: all zero (including -0) -> scale 1, codes 0", "[row_quantizer][edge]") {
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
      for (const std::vector<float>& w :
           {std::vector<float>(1, 0.0f), std::vector<float>(17, 0.0f), std::vector<float>{0.0f, -0.0f, -0.0f, 0.0f}}) {
        INFO(rmsmp::display_name(id) << " " << method_name(method) << " n = " << w.size());
        const Quantized q = quantize(book, w, method);
        CHECK(q.scale == 1.0f);
        CHECK(rmsmp::choose_row_scale(book, w, method) == 1.0f);
        for (std::uint8_t c : q.codes) CHECK(int{c} == 0);
      }
    }
  }
}

TEST_CASE("edge rows: max|w| around 1e-30 quantizes like a normal row", "[row_quantizer][edge]") {
  std::mt19937 rng(31u);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
      for (const double magnitude : {1e-30, 3e-31, 2e-29}) {
        std::vector<float> w = random_row(rng, Distribution::gaussian, 64, magnitude);
        w[5] = 1e-40f;  // a subnormal weight inside a normal row just rounds to 0
        const Quantized q = quantize(book, w, method);
        INFO(rmsmp::display_name(id) << " " << method_name(method) << " magnitude " << magnitude << " scale "
                                     << num(q.scale));
        REQUIRE(std::isfinite(q.scale));
        REQUIRE(q.scale > 0.0f);
        CHECK(std::isnormal(q.scale));
        for (std::size_t k = 0; k < w.size(); ++k) CHECK(std::isfinite(rmsmp::dequantize_code(book, q.scale, q.codes[k])));
        CHECK(level_of(book, q.codes[5]) == 0);
        if (method == ScaleMethod::max_abs) {
          check_error_bound(book, w, q);
          // Relative to the row: max error <= max|w| * gap / (2 * top level), like any row.
          double worst = 0.0;
          for (std::size_t k = 0; k < w.size(); ++k)
            worst = std::max(worst, std::fabs(static_cast<double>(w[k]) -
                                              rmsmp::dequantize_code(book, q.scale, q.codes[k])));
          CHECK(worst / max_abs(w) <= 0.5 * largest_gap(book) / largest_level(book) * (1.0 + 1e-5));
        } else {
          const Quantized qa = quantize(book, w, ScaleMethod::max_abs);
          CHECK(squared_error(book, w, q.scale, q.codes) <= squared_error(book, w, qa.scale, qa.codes));
        }
      }
    }
  }
}

TEST_CASE("edge rows: subnormal rows flush to scale 1 and codes 0", "[row_quantizer][edge]") {
  const float denorm = std::numeric_limits<float>::denorm_min();
  const std::vector<std::vector<float>> rows = {
      {1e-44f, -1e-44f, 0.0f, 5e-45f},
      {-1e-44f},
      {denorm, -denorm, denorm},
      {FLT_MIN / 2.0f, -FLT_MIN / 4.0f, 1e-44f},
  };
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
      for (std::size_t r = 0; r < rows.size(); ++r) {
        INFO(rmsmp::display_name(id) << " " << method_name(method) << " row " << r);
        REQUIRE(std::fpclassify(static_cast<float>(max_abs(rows[r]))) == FP_SUBNORMAL);
        const Quantized q = quantize(book, rows[r], method);
        CHECK(q.scale == 1.0f);
        for (std::uint8_t c : q.codes) {
          CHECK(int{c} == 0);
          CHECK(rmsmp::dequantize_code(book, q.scale, c) == 0.0f);
        }
      }
    }
  }
}

TEST_CASE("edge rows: a scale that would underflow float flushes, one that does not quantizes normally",
          "[row_quantizer][edge]") {
  // max|w| is normal here, but max|w| / top level may fall below FLT_MIN for wide schemes.
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    const int top = largest_level(book);
    for (const double m : {1e-37, 4e-38, 2.5e-38, 1.5e-38}) {
      const std::vector<float> w = {static_cast<float>(m), static_cast<float>(-m / 3), static_cast<float>(m / 2), 0.0f};
      const double true_max = max_abs(w);
      const double ideal_scale = true_max / top;
      if (ideal_scale > FLT_MIN / 1.01 && ideal_scale < FLT_MIN * 1.01) continue;  // too close to call
      for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
        const Quantized q = quantize(book, w, method);
        INFO(rmsmp::display_name(id) << " " << method_name(method) << " max|w| = " << num(true_max)
                                     << " ideal scale " << num(ideal_scale) << " got " << num(q.scale));
        if (ideal_scale < FLT_MIN) {
          CHECK(q.scale == 1.0f);
          for (std::uint8_t c : q.codes) CHECK(int{c} == 0);
        } else {
          CHECK(std::isnormal(q.scale));
          CHECK(q.scale < 1e-30f);
          if (method == ScaleMethod::max_abs) check_error_bound(book, w, q);
        }
      }
    }
  }
}

TEST_CASE("edge rows: values near FLT_MAX give a finite scale and finite dequantized values",
          "[row_quantizer][edge]") {
  std::mt19937 rng(77u);
  std::uniform_real_distribution<double> uni(-3.4e38, 3.4e38);
  std::vector<std::vector<float>> rows = {
      {3.4e38f, -3.4e38f, 1.0f, -2.5e38f, 0.0f},
      {FLT_MAX},
      {-FLT_MAX},
      {FLT_MAX, -FLT_MAX, FLT_MAX / 3.0f, 1e-30f},
      {3.3e38f, 1e38f, -3.0e38f},
  };
  std::vector<float> random(200);
  for (auto& v : random) v = static_cast<float>(uni(rng));
  random[17] = -FLT_MAX;
  rows.push_back(random);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    const int top = largest_level(book);
    for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const std::vector<float>& w = rows[r];
        const Quantized q = quantize(book, w, method);
        INFO(rmsmp::display_name(id) << " " << method_name(method) << " row " << r << " scale " << num(q.scale));
        REQUIRE(std::isfinite(q.scale));
        REQUIRE(q.scale > 0.0f);
        CHECK(static_cast<double>(q.scale) * top <= static_cast<double>(FLT_MAX));
        // Every code of the book, not only the ones used, dequantizes to a finite value.
        for (int c = 0; c < book.code_count; ++c)
          CHECK(std::isfinite(rmsmp::dequantize_code(book, q.scale, static_cast<std::uint8_t>(c))));
        if (method == ScaleMethod::max_abs) {
          check_error_bound(book, w, q);
          const auto it =
              std::max_element(w.begin(), w.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); });
          const std::size_t k = static_cast<std::size_t>(it - w.begin());
          CHECK(std::fabs(static_cast<double>(rmsmp::dequantize_code(book, q.scale, q.codes[k])) - *it) <=
                4.0 * FLT_EPSILON * std::fabs(static_cast<double>(*it)));
        } else {
          const Quantized qa = quantize(book, w, ScaleMethod::max_abs);
          CHECK(squared_error(book, w, q.scale, q.codes) <= squared_error(book, w, qa.scale, qa.codes));
        }
      }
    }
  }
}

TEST_CASE("edge rows: rows of length 1 reproduce their weight", "[row_quantizer][edge]") {
  std::mt19937 rng(5u);
  std::uniform_real_distribution<double> log_mag(-30.0, 30.0);
  std::bernoulli_distribution coin(0.5);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    const int top = largest_level(book);
    for (int trial = 0; trial < 40; ++trial) {
      const float v = static_cast<float>((coin(rng) ? 1.0 : -1.0) * std::pow(10.0, log_mag(rng)));
      for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
        const std::vector<float> w = {v};
        const Quantized q = quantize(book, w, method);
        INFO(rmsmp::display_name(id) << " " << method_name(method) << " w = " << num(v) << " scale " << num(q.scale)
                                     << " code " << int{q.codes[0]});
        REQUIRE(q.codes.size() == 1);
        CHECK(level_of(book, q.codes[0]) == (v > 0 ? top : -top));
        CHECK(std::fabs(static_cast<double>(rmsmp::dequantize_code(book, q.scale, q.codes[0])) - v) <=
              2.0 * FLT_EPSILON * std::fabs(static_cast<double>(v)));
      }
    }
  }
}

TEST_CASE("edge rows: empty row", "[row_quantizer][edge]") {
  const std::vector<float> w;
  std::vector<std::uint8_t> codes;
  for (SchemeId id : rmsmp::all_schemes)
    for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
      INFO(rmsmp::display_name(id));
      const float scale = rmsmp::quantize_row(rmsmp::make_codebook(id), w, codes, method);
      CHECK(std::isfinite(scale));
      CHECK(scale > 0.0f);
    }
}

TEST_CASE("edge rows: NaN and infinite weights are rejected with the column named", "[row_quantizer][errors]") {
  using Catch::Contains;
  for (SchemeId id : {rmsmp::SchemeId{rmsmp::SchemeKind::fixed, 4}, rmsmp::SchemeId{rmsmp::SchemeKind::pot, 4},
                      rmsmp::SchemeId{rmsmp::SchemeKind::sp2, 5}, rmsmp::SchemeId{rmsmp::SchemeKind::fixed, 8}}) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (const float bad : {nan_f, -nan_f, inf_f, -inf_f}) {
      const char* word = std::isnan(bad) ? "NaN" : "infinite";
      for (const std::size_t pos : {std::size_t{0}, std::size_t{3}, std::size_t{9}}) {
        std::vector<float> w = {0.5f, -1.0f, 2.0f, 0.25f, 3.0f, -4.0f, 1.0f, 0.0f, 7.0f, -2.0f};
        w[pos] = bad;
        std::vector<std::uint8_t> codes(w.size());
        const std::string column = "column " + std::to_string(pos);
        INFO(rmsmp::display_name(id) << ": " << bad << " at " << column);
        for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
          REQUIRE_THROWS_AS(rmsmp::quantize_row(book, w, codes, method), rmsmp::Error);
          REQUIRE_THROWS_WITH(rmsmp::quantize_row(book, w, codes, method), Contains(column) && Contains(word));
          REQUIRE_THROWS_WITH(rmsmp::choose_row_scale(book, w, method), Contains(column) && Contains(word));
        }
        REQUIRE_THROWS_WITH(rmsmp::quantize_row<rmsmp::PoT<4>>(w, codes), Contains(column) && Contains(word));
        // rmsmp::Error is also a std::invalid_argument.
        REQUIRE_THROWS_AS(rmsmp::quantize_row<rmsmp::Fixed<4>>(w, codes), std::invalid_argument);
      }
    }
  }
}

// -------------------------------------------------------------------------------------------
// Determinism and the compile-time spelling
// -------------------------------------------------------------------------------------------

TEST_CASE("quantize_row is deterministic and the compile-time spelling agrees", "[row_quantizer]") {
  std::mt19937 rng(2024u);
  for (SchemeId id : rmsmp::all_schemes) {
    const CodeBook book = rmsmp::make_codebook(id);
    for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
      const std::vector<float> w = random_row(rng, Distribution::laplace_outliers, 129, 0.02);
      const std::vector<float> copy = w;
      const Quantized a = quantize(book, w, method);
      const Quantized b = quantize(book, copy, method);
      INFO(rmsmp::display_name(id) << " " << method_name(method));
      CHECK(std::memcmp(&a.scale, &b.scale, sizeof(float)) == 0);
      CHECK(a.codes == b.codes);
    }
  }
  std::vector<float> w = random_row(rng, Distribution::gaussian, 50, 1.0);
  std::vector<std::uint8_t> c1(w.size()), c2(w.size());
  const float s1 = rmsmp::quantize_row<rmsmp::SP2<4>>(w, c1);  // default: min_squared_error
  const float s2 = rmsmp::quantize_row(rmsmp::SP2<4>::codebook, w, c2, ScaleMethod::min_squared_error);
  CHECK(s1 == s2);
  CHECK(c1 == c2);
  const float s3 = rmsmp::quantize_row<rmsmp::Fixed<3>>(w, c1, ScaleMethod::max_abs);
  const float s4 = rmsmp::quantize_row(rmsmp::Fixed<3>::codebook, w, c2, ScaleMethod::max_abs);
  CHECK(s3 == s4);
  CHECK(c1 == c2);
}

// Unit tests for rmsmp/pack/mixed_row_matrix.hpp (with pack/packed_codes.hpp and
// quantize/assignment.hpp): construction from weights with shuffled assignments, per-row
// agreement with quantize_row, packing, footprint, from_codes round trips, and every
// rejected input.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/pack/packed_codes.hpp"
#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/quantize/row_quantizer.hpp"
#include "rmsmp/scheme/row_mix.hpp"
#include "rmsmp/scheme/scheme.hpp"

namespace {

using Catch::Contains;
using rmsmp::DynamicRowMix;
using rmsmp::RowAssignment;
using rmsmp::ScaleMethod;
using rmsmp::SchemeId;
using rmsmp::SchemeKind;

constexpr SchemeId fixed2{SchemeKind::fixed, 2};
constexpr SchemeId fixed4{SchemeKind::fixed, 4};
constexpr SchemeId fixed5{SchemeKind::fixed, 5};
constexpr SchemeId fixed8{SchemeKind::fixed, 8};
constexpr SchemeId pot2{SchemeKind::pot, 2};
constexpr SchemeId pot3{SchemeKind::pot, 3};
constexpr SchemeId pot4{SchemeKind::pot, 4};
constexpr SchemeId sp2_3{SchemeKind::sp2, 3};
constexpr SchemeId sp2_4{SchemeKind::sp2, 4};

using SmallMix = rmsmp::RowMix<rmsmp::Share<rmsmp::PoT<2>, 25>, rmsmp::Share<rmsmp::Fixed<5>, 25>,
                               rmsmp::Share<rmsmp::SP2<3>, 50>>;

constexpr int test_rows[] = {1, 7, 20, 100, 257};
constexpr int test_cols[] = {1, 2, 3, 15, 16, 17, 63, 64, 65, 255};

const char* method_name(ScaleMethod m) { return m == ScaleMethod::max_abs ? "max_abs" : "min_squared_error"; }

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

/// Rows with different magnitudes and shapes: gaussian, heavy-tailed with outliers, zero rows.
Eigen::MatrixXf random_weights(int rows, int cols, std::mt19937& rng) {
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::uniform_real_distribution<float> log_mag(-4.0f, 1.0f);
  std::uniform_int_distribution<int> kind(0, 9);
  Eigen::MatrixXf w(rows, cols);
  for (int r = 0; r < rows; ++r) {
    const float magnitude = std::pow(10.0f, log_mag(rng));
    const int k = kind(rng);
    for (int c = 0; c < cols; ++c) {
      float v = gauss(rng) * magnitude;
      if (k == 0) v = 0.0f;                                  // an all-zero row
      if (k == 1 && c % 11 == 3) v *= 30.0f;                 // outliers
      if (k == 2) v = std::fabs(v);                          // one-sided
      w(r, c) = v;
    }
  }
  return w;
}

/// A valid assignment for `mix` with the rows permuted at random (exact counts kept).
RowAssignment shuffled_assignment(const DynamicRowMix& mix, int rows, std::mt19937& rng) {
  RowAssignment a = rmsmp::assign_in_order(mix, rows);
  std::shuffle(a.begin(), a.end(), rng);
  return a;
}

std::size_t expected_row_bytes(int bits, std::size_t cols) { return bits <= 4 ? (cols + 1) / 2 : cols; }

/// Packs codes by the documented layout: <= 4 bits two per byte, even column in the low nibble.
std::vector<std::uint8_t> expected_packing(int bits, const std::vector<std::uint8_t>& codes) {
  if (bits > 4) return codes;
  std::vector<std::uint8_t> out((codes.size() + 1) / 2, 0);
  for (std::size_t k = 0; k < codes.size(); ++k)
    out[k / 2] = static_cast<std::uint8_t>(out[k / 2] | (k % 2 == 0 ? codes[k] : codes[k] << 4));
  return out;
}

/// Everything a matrix must satisfy, checked against quantize_row on each row alone.
template <class Mix>
void verify_matrix(const rmsmp::MixedRowMatrix<Mix>& m, const Eigen::MatrixXf& w, const RowAssignment& a,
                   ScaleMethod method, const std::vector<SchemeId>& group_schemes) {
  const int rows = static_cast<int>(w.rows());
  const int cols = static_cast<int>(w.cols());
  REQUIRE(m.rows() == rows);
  REQUIRE(m.cols() == cols);
  REQUIRE(m.group_count() == group_schemes.size());
  REQUIRE(m.groups().size() == group_schemes.size());
  CHECK(m.assignment() == a);

  // Groups: scheme, size, layout, and the row permutation.
  std::vector<int> seen(static_cast<std::size_t>(rows), 0);
  std::size_t expected_storage = 0;
  double total_bits = 0.0;
  for (std::size_t g = 0; g < group_schemes.size(); ++g) {
    const rmsmp::RowGroup& group = m.group(g);
    INFO("group " << g << " (" << rmsmp::display_name(group_schemes[g]) << ")");
    REQUIRE(group.scheme() == group_schemes[g]);
    CHECK(group.codebook().id == group_schemes[g]);
    const auto count = static_cast<std::size_t>(std::count(a.begin(), a.end(), group_schemes[g]));
    REQUIRE(group.rows() == count);
    CHECK(group.columns() == static_cast<std::size_t>(cols));
    const std::size_t rb = expected_row_bytes(group_schemes[g].bits, static_cast<std::size_t>(cols));
    CHECK(group.row_bytes() == rb);
    CHECK(group.packed_codes().size() == count * rb);
    CHECK(group.scales().size() == count);
    CHECK(group.original_rows().size() == count);
    for (std::size_t i = 0; i < group.rows(); ++i) {
      const int r = group.original_row(i);
      REQUIRE(r >= 0);
      REQUIRE(r < rows);
      ++seen[static_cast<std::size_t>(r)];
      CHECK(a[static_cast<std::size_t>(r)] == group_schemes[g]);
      const rmsmp::RowLocation loc = m.location(r);
      CHECK(loc.group == g);
      CHECK(loc.index == i);
    }
    expected_storage += count * (rb + sizeof(float) + sizeof(std::int32_t));
    total_bits += static_cast<double>(count) * group_schemes[g].bits;
  }
  for (int r = 0; r < rows; ++r) {
    INFO("original row " << r);
    CHECK(seen[static_cast<std::size_t>(r)] == 1);  // bijection
  }
  CHECK(m.storage_bytes() == expected_storage);
  if (rows > 0) {
    CHECK(m.bits_per_weight() == Approx(total_bits / rows).epsilon(1e-12));
    CHECK(m.storage_bits_per_weight() ==
          Approx(8.0 * static_cast<double>(expected_storage) / (static_cast<double>(rows) * cols)).epsilon(1e-12));
  } else {
    CHECK(m.bits_per_weight() == 0.0);
    CHECK(m.storage_bits_per_weight() == 0.0);
  }
  const auto fp = m.footprint();
  REQUIRE(fp.size() == group_schemes.size());
  for (std::size_t g = 0; g < fp.size(); ++g) {
    CHECK(fp[g].scheme == group_schemes[g]);
    CHECK(fp[g].rows == m.group(g).rows());
    CHECK(fp[g].code_bytes == m.group(g).packed_codes().size());
  }

  // Rows: each equals quantize_row on that row alone.
  const Eigen::MatrixXi levels = m.levels();
  const Eigen::MatrixXf deq = m.dequantize();
  const std::vector<float> scales = m.row_scales();
  REQUIRE(levels.rows() == rows);
  REQUIRE(levels.cols() == cols);
  REQUIRE(deq.rows() == rows);
  REQUIRE(deq.cols() == cols);
  REQUIRE(scales.size() == static_cast<std::size_t>(rows));
  std::vector<float> row(static_cast<std::size_t>(cols));
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(cols));
  for (int r = 0; r < rows; ++r) {
    const SchemeId id = a[static_cast<std::size_t>(r)];
    const rmsmp::CodeBook book = rmsmp::make_codebook(id);
    for (int k = 0; k < cols; ++k) row[static_cast<std::size_t>(k)] = w(r, k);
    const float scale = rmsmp::quantize_row(book, row, codes, method);
    const rmsmp::RowLocation loc = m.location(r);
    const rmsmp::RowGroup& group = m.group(loc.group);
    INFO("row " << r << " (" << rmsmp::display_name(id) << ", " << method_name(method) << "), group " << loc.group
                << " index " << loc.index << ", K = " << cols);
    CHECK(m.scheme_of_row(r) == id);
    CHECK(same_bits(m.scale_of_row(r), scale));
    CHECK(same_bits(scales[static_cast<std::size_t>(r)], scale));
    CHECK(same_bits(group.scale(loc.index), scale));
    bool codes_ok = true, levels_ok = true, deq_ok = true;
    for (int k = 0; k < cols; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      const int level = book.level[codes[kk]];
      codes_ok = codes_ok && group.code(loc.index, kk) == codes[kk];
      levels_ok = levels_ok && group.level(loc.index, kk) == level && m.level(r, k) == level && levels(r, k) == level;
      deq_ok = deq_ok && same_bits(deq(r, k), scale * static_cast<float>(level));
    }
    CHECK(codes_ok);
    CHECK(levels_ok);
    CHECK(deq_ok);
    // Packed bytes, including the zero padding nibble of an odd K.
    const auto packed = group.packed_row(loc.index);
    const std::vector<std::uint8_t> want = expected_packing(id.bits, codes);
    REQUIRE(packed.size() == want.size());
    CHECK(std::equal(packed.begin(), packed.end(), want.begin()));
    if (id.bits <= 4 && cols % 2 == 1) CHECK((packed.back() >> 4) == 0);
  }
}

/// Codes of a matrix as a rows x cols code matrix (original row order).
template <class Mix>
typename rmsmp::MixedRowMatrix<Mix>::CodeMatrix code_matrix(const rmsmp::MixedRowMatrix<Mix>& m) {
  typename rmsmp::MixedRowMatrix<Mix>::CodeMatrix codes(m.rows(), m.cols());
  for (int r = 0; r < m.rows(); ++r) {
    const rmsmp::RowLocation loc = m.location(r);
    for (int k = 0; k < m.cols(); ++k) codes(r, k) = m.group(loc.group).code(loc.index, static_cast<std::size_t>(k));
  }
  return codes;
}

template <class Mix>
void check_same_groups(const rmsmp::MixedRowMatrix<Mix>& x, const rmsmp::MixedRowMatrix<Mix>& y) {
  REQUIRE(x.rows() == y.rows());
  REQUIRE(x.cols() == y.cols());
  REQUIRE(x.group_count() == y.group_count());
  for (std::size_t g = 0; g < x.group_count(); ++g) {
    const rmsmp::RowGroup& a = x.group(g);
    const rmsmp::RowGroup& b = y.group(g);
    INFO("group " << g);
    CHECK(a.scheme() == b.scheme());
    REQUIRE(a.rows() == b.rows());
    // Compared as vectors: std::equal on empty spans would hand memcmp a null pointer.
    CHECK(std::vector<int>(a.original_rows().begin(), a.original_rows().end()) ==
          std::vector<int>(b.original_rows().begin(), b.original_rows().end()));
    CHECK(std::equal(a.scales().begin(), a.scales().end(), b.scales().begin(), same_bits));
    REQUIRE(a.packed_codes().size() == b.packed_codes().size());
    CHECK(std::vector<std::uint8_t>(a.packed_codes().begin(), a.packed_codes().end()) ==
          std::vector<std::uint8_t>(b.packed_codes().begin(), b.packed_codes().end()));
  }
}

template <class Mix>
void check_from_codes_round_trip(const rmsmp::MixedRowMatrix<Mix>& m) {
  const auto back = rmsmp::MixedRowMatrix<Mix>::from_codes(m.assignment(), m.row_scales(), code_matrix(m));
  check_same_groups(m, back);
  CHECK(back.levels() == m.levels());
  CHECK(back.dequantize() == m.dequantize());
  CHECK(back.storage_bytes() == m.storage_bytes());
}

/// Row-level round trip: every row keeps its scheme, scale, codes and packed bytes, whatever
/// group layout the rebuilt matrix chose (from_codes without a mix uses the no-mix layout:
/// groups in all_schemes order, absent schemes dropped).
template <class Mix>
void check_from_codes_rows_round_trip(const rmsmp::MixedRowMatrix<Mix>& m) {
  const auto back = rmsmp::MixedRowMatrix<Mix>::from_codes(m.assignment(), m.row_scales(), code_matrix(m));
  REQUIRE(back.rows() == m.rows());
  REQUIRE(back.cols() == m.cols());
  CHECK(back.assignment() == m.assignment());
  CHECK(back.levels() == m.levels());
  CHECK(back.dequantize() == m.dequantize());
  CHECK(back.storage_bytes() == m.storage_bytes());
  for (int r = 0; r < m.rows(); ++r) {
    INFO("row " << r);
    CHECK(same_bits(back.scale_of_row(r), m.scale_of_row(r)));
    const auto x = m.group(m.location(r).group).packed_row(m.location(r).index);
    const auto y = back.group(back.location(r).group).packed_row(back.location(r).index);
    REQUIRE(x.size() == y.size());
    CHECK(std::equal(x.begin(), x.end(), y.begin()));
  }
}

std::vector<SchemeId> schemes_of(const DynamicRowMix& mix) {
  std::vector<SchemeId> s;
  for (const auto& e : mix.entries()) s.push_back(e.scheme);
  return s;
}

}  // namespace

// -------------------------------------------------------------------------------------------
// Construction
// -------------------------------------------------------------------------------------------

TEST_CASE("MixedRowMatrix<Mix60_35_5>: shuffled assignments, every M x K", "[mixed_row_matrix]") {
  std::mt19937 rng(60355u);
  const DynamicRowMix mix = DynamicRowMix::from<rmsmp::Mix60_35_5>();
  const std::vector<SchemeId> groups = {pot4, fixed4, fixed8};
  int case_index = 0;
  for (int rows : test_rows)
    for (int cols : test_cols) {
      const ScaleMethod method = (case_index++ % 2 == 0) ? ScaleMethod::min_squared_error : ScaleMethod::max_abs;
      const Eigen::MatrixXf w = random_weights(rows, cols, rng);
      const RowAssignment a = shuffled_assignment(mix, rows, rng);
      INFO("M = " << rows << ", K = " << cols << ", " << method_name(method));
      const rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5> m(w, a, method);
      verify_matrix(m, w, a, method, groups);
      // Group sizes are the mix's exact row counts.
      const auto counts = rmsmp::Mix60_35_5::row_counts(rows);
      for (std::size_t g = 0; g < 3; ++g) CHECK(m.group(g).rows() == static_cast<std::size_t>(counts[g]));
      check_from_codes_round_trip(m);
    }
}

TEST_CASE("MixedRowMatrix<RowMix<PoT-2, Fixed-5, SP2-3>>: 2-, 3- and 5-bit packing", "[mixed_row_matrix]") {
  std::mt19937 rng(2553u);
  const DynamicRowMix mix = DynamicRowMix::from<SmallMix>();
  for (int rows : {1, 4, 20, 33})
    for (int cols : {1, 2, 3, 17, 64, 65}) {
      const Eigen::MatrixXf w = random_weights(rows, cols, rng);
      const RowAssignment a = shuffled_assignment(mix, rows, rng);
      INFO("M = " << rows << ", K = " << cols);
      const rmsmp::MixedRowMatrix<SmallMix> m(w, a, ScaleMethod::min_squared_error);
      verify_matrix(m, w, a, ScaleMethod::min_squared_error, {pot2, fixed5, sp2_3});
      check_from_codes_round_trip(m);
    }
}

TEST_CASE("MixedRowMatrix<> with a DynamicRowMix: groups in the mix's order", "[mixed_row_matrix]") {
  std::mt19937 rng(777u);
  const DynamicRowMix mix({{sp2_4, 50}, {pot3, 30}, {fixed8, 20}});
  int case_index = 0;
  for (int rows : test_rows)
    for (int cols : test_cols) {
      const ScaleMethod method = (case_index++ % 2 == 0) ? ScaleMethod::min_squared_error : ScaleMethod::max_abs;
      const Eigen::MatrixXf w = random_weights(rows, cols, rng);
      const RowAssignment a = shuffled_assignment(mix, rows, rng);
      INFO("M = " << rows << ", K = " << cols << ", " << method_name(method));
      const rmsmp::MixedRowMatrix<> m(mix, w, a, method);
      verify_matrix(m, w, a, method, schemes_of(mix));
      const auto counts = mix.row_counts(rows);
      for (std::size_t g = 0; g < 3; ++g) CHECK(m.group(g).rows() == static_cast<std::size_t>(counts[g]));
      check_from_codes_rows_round_trip(m);
      // With the mix, the rebuilt matrix has the very same groups.
      check_same_groups(m, rmsmp::MixedRowMatrix<>::from_codes(mix, m.assignment(), m.row_scales(), code_matrix(m)));
    }
}

TEST_CASE("MixedRowMatrix<> without a mix: any supported scheme per row, groups in all_schemes order",
          "[mixed_row_matrix]") {
  std::mt19937 rng(4321u);
  for (int rows : test_rows)
    for (int cols : test_cols) {
      RowAssignment a(static_cast<std::size_t>(rows));
      // Use a random subset of schemes, so some groups are absent.
      std::vector<SchemeId> subset;
      for (SchemeId id : rmsmp::all_schemes)
        if (std::bernoulli_distribution(0.5)(rng)) subset.push_back(id);
      if (subset.empty()) subset.push_back(fixed4);
      for (auto& s : a) s = subset[std::uniform_int_distribution<std::size_t>(0, subset.size() - 1)(rng)];
      std::vector<SchemeId> present;
      for (SchemeId id : rmsmp::all_schemes)  // independent of the code: all_schemes order, present only
        if (std::find(a.begin(), a.end(), id) != a.end()) present.push_back(id);
      const Eigen::MatrixXf w = random_weights(rows, cols, rng);
      INFO("M = " << rows << ", K = " << cols);
      const rmsmp::MixedRowMatrix<> m(w, a, ScaleMethod::min_squared_error);
      verify_matrix(m, w, a, ScaleMethod::min_squared_error, present);
      check_from_codes_round_trip(m);
    }
}

TEST_CASE("MixedRowMatrix: every scheme in a dynamic matrix, max_abs", "[mixed_row_matrix]") {
  std::mt19937 rng(13u);
  RowAssignment a;
  for (int rep = 0; rep < 3; ++rep)
    for (SchemeId id : rmsmp::all_schemes) a.push_back(id);
  std::shuffle(a.begin(), a.end(), rng);
  for (int cols : {1, 5, 16, 31}) {
    const Eigen::MatrixXf w = random_weights(static_cast<int>(a.size()), cols, rng);
    const rmsmp::MixedRowMatrix<> m(w, a, ScaleMethod::max_abs);
    INFO("K = " << cols);
    verify_matrix(m, w, a, ScaleMethod::max_abs,
                  std::vector<SchemeId>(rmsmp::all_schemes.begin(), rmsmp::all_schemes.end()));
    check_from_codes_round_trip(m);
  }
}

TEST_CASE("MixedRowMatrix: zero rows", "[mixed_row_matrix][edge]") {
  for (int cols : {1, 17}) {
    INFO("K = " << cols);
    const Eigen::MatrixXf w(0, cols);
    const RowAssignment none;
    const rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5> s(w, none);
    CHECK(s.rows() == 0);
    CHECK(s.cols() == cols);
    CHECK(s.group_count() == 3);
    for (std::size_t g = 0; g < 3; ++g) CHECK(s.group(g).rows() == 0);
    CHECK(s.bits_per_weight() == 0.0);
    CHECK(s.storage_bytes() == 0);
    CHECK(s.storage_bits_per_weight() == 0.0);
    CHECK(s.dequantize().rows() == 0);
    CHECK(s.dequantize().cols() == cols);
    CHECK(s.levels().size() == 0);
    CHECK(s.assignment().empty());
    CHECK(s.row_scales().empty());
    check_from_codes_round_trip(s);

    const rmsmp::MixedRowMatrix<> d(w, none);
    CHECK(d.rows() == 0);
    CHECK(d.group_count() == 0);
    CHECK(d.storage_bytes() == 0);
    const rmsmp::MixedRowMatrix<> dm(DynamicRowMix({{fixed4, 100}}), w, none);
    CHECK(dm.rows() == 0);
    CHECK(dm.group_count() == 1);
  }
}

TEST_CASE("MixedRowMatrix: bits per weight and storage", "[mixed_row_matrix]") {
  std::mt19937 rng(42u);
  SECTION("100-row 60/35/5 layer: exactly 4.2 bits per weight") {
    for (int cols : {1, 7, 64}) {
      const Eigen::MatrixXf w = random_weights(100, cols, rng);
      const RowAssignment a = shuffled_assignment(DynamicRowMix::from<rmsmp::Mix60_35_5>(), 100, rng);
      const rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5> m(w, a, ScaleMethod::max_abs);
      INFO("K = " << cols);
      CHECK(m.group(0).rows() == 60);
      CHECK(m.group(1).rows() == 35);
      CHECK(m.group(2).rows() == 5);
      CHECK(m.bits_per_weight() == 4.2);
      // 95 rows of ceil(K/2) bytes, 5 rows of K bytes, 8 bytes (scale + row index) per row.
      const std::size_t k = static_cast<std::size_t>(cols);
      CHECK(m.storage_bytes() == 95 * ((k + 1) / 2) + 5 * k + 100 * 8);
    }
  }
  SECTION("all Fixed-4: exactly 4.0") {
    const DynamicRowMix mix({{fixed4, 100}});
    const Eigen::MatrixXf w = random_weights(37, 9, rng);
    const rmsmp::MixedRowMatrix<> m(mix, w, rmsmp::assign_in_order(mix, 37));
    CHECK(m.bits_per_weight() == 4.0);
    CHECK(m.storage_bytes() == 37u * 5u + 37u * 8u);
    const rmsmp::MixedRowMatrix<> n(w, RowAssignment(37, fixed4));
    CHECK(n.bits_per_weight() == 4.0);
  }
  SECTION("7-row 60/35/5 layer: row counts 4/3/0 by largest remainder") {
    const Eigen::MatrixXf w = random_weights(7, 3, rng);
    const RowAssignment a = shuffled_assignment(DynamicRowMix::from<rmsmp::Mix60_35_5>(), 7, rng);
    CHECK(std::count(a.begin(), a.end(), pot4) == 4);
    CHECK(std::count(a.begin(), a.end(), fixed4) == 3);
    const rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5> m(w, a);
    CHECK(m.bits_per_weight() == 4.0);
    CHECK(m.group(2).rows() == 0);
  }
}

TEST_CASE("MixedRowMatrix: identical input gives identical bytes", "[mixed_row_matrix]") {
  std::mt19937 rng(9u);
  const Eigen::MatrixXf w = random_weights(40, 33, rng);
  const RowAssignment a = shuffled_assignment(DynamicRowMix::from<rmsmp::Mix60_35_5>(), 40, rng);
  const rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5> x(w, a);
  const rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5> y(w, a);
  check_same_groups(x, y);
}

TEST_CASE("from_codes: every code of every scheme, including the negative zero", "[mixed_row_matrix][from_codes]") {
  for (SchemeId id : rmsmp::all_schemes) {
    const rmsmp::CodeBook book = rmsmp::make_codebook(id);
    const int n = book.code_count;
    for (int cols : {n, n + 1}) {  // even and odd K
      rmsmp::MixedRowMatrix<>::CodeMatrix codes(2, cols);
      for (int k = 0; k < cols; ++k) {
        codes(0, k) = static_cast<std::uint8_t>(k % n);
        codes(1, k) = static_cast<std::uint8_t>((n - 1 - k % n));
      }
      const std::vector<float> scales = {0.5f, 3.0f};
      const auto m = rmsmp::MixedRowMatrix<>::from_codes(RowAssignment(2, id), scales, codes);
      INFO(rmsmp::display_name(id) << " K = " << cols);
      REQUIRE(m.group_count() == 1);
      for (int r = 0; r < 2; ++r)
        for (int k = 0; k < cols; ++k) {
          INFO("r " << r << " k " << k);
          const std::uint8_t c = codes(r, k);
          CHECK(m.group(0).code(static_cast<std::size_t>(r), static_cast<std::size_t>(k)) == c);
          CHECK(m.level(r, k) == book.level[c]);
          CHECK(m.dequantize()(r, k) == scales[static_cast<std::size_t>(r)] * static_cast<float>(book.level[c]));
        }
      // The sign|0 code decodes to level 0.
      CHECK(m.level(0, book.code_count / 2) == 0);
      if (id.bits <= 4 && cols % 2 == 1) CHECK((m.group(0).packed_row(0).back() >> 4) == 0);
    }
  }
}

// -------------------------------------------------------------------------------------------
// Rejected input
// -------------------------------------------------------------------------------------------

TEST_CASE("MixedRowMatrix: assignment length differs from the row count", "[mixed_row_matrix][errors]") {
  std::mt19937 rng(1u);
  const Eigen::MatrixXf w = random_weights(100, 8, rng);
  const RowAssignment a20 = rmsmp::assign_in_order<rmsmp::Mix60_35_5>(20);
  using M = rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5>;
  REQUIRE_THROWS_AS(M(w, a20), rmsmp::Error);
  REQUIRE_THROWS_WITH(M(w, a20), Contains("100 rows") && Contains("20"));
  const DynamicRowMix mix({{fixed4, 100}});
  REQUIRE_THROWS_AS(rmsmp::MixedRowMatrix<>(mix, w, rmsmp::assign_in_order(mix, 99)), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::MixedRowMatrix<>(w, RowAssignment(101, fixed4)), rmsmp::Error);
  REQUIRE_THROWS_AS(rmsmp::MixedRowMatrix<>(w, RowAssignment{}), rmsmp::Error);
}

TEST_CASE("MixedRowMatrix: wrong counts for a static mix name the scheme and the needed count",
          "[mixed_row_matrix][errors]") {
  std::mt19937 rng(2u);
  const Eigen::MatrixXf w = random_weights(100, 4, rng);
  using M = rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5>;
  RowAssignment a = rmsmp::assign_in_order<rmsmp::Mix60_35_5>(100);
  REQUIRE_NOTHROW(M(w, a, ScaleMethod::max_abs));
  // One Fixed-8 row turned into PoT-4: 61 PoT-4 rows.
  RowAssignment b = a;
  b[99] = pot4;
  std::shuffle(b.begin(), b.end(), rng);
  REQUIRE_THROWS_AS(M(w, b), rmsmp::Error);
  REQUIRE_THROWS_WITH(M(w, b), Contains("PoT-4") && Contains("needs exactly 60") && Contains("61"));
  // One Fixed-4 row turned into Fixed-8: 34 Fixed-4 rows.
  RowAssignment c = a;
  c[60] = fixed8;
  REQUIRE_THROWS_WITH(M(w, c), Contains("Fixed-4") && Contains("needs exactly 35"));
  // All rows PoT-4.
  REQUIRE_THROWS_WITH(M(w, RowAssignment(100, pot4)), Contains("needs exactly 60"));
}

TEST_CASE("MixedRowMatrix: a scheme outside the mix", "[mixed_row_matrix][errors]") {
  std::mt19937 rng(3u);
  const Eigen::MatrixXf w = random_weights(20, 4, rng);
  RowAssignment a = rmsmp::assign_in_order<rmsmp::Mix60_35_5>(20);
  a[7] = sp2_4;
  using M = rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5>;
  REQUIRE_THROWS_AS(M(w, a), rmsmp::Error);
  REQUIRE_THROWS_WITH(M(w, a), Contains("row 7") && Contains("SP2-4") && Contains("does not contain"));
  const DynamicRowMix mix({{fixed4, 50}, {pot4, 50}});
  RowAssignment d = rmsmp::assign_in_order(mix, 20);
  d[3] = fixed8;
  REQUIRE_THROWS_WITH(rmsmp::MixedRowMatrix<>(mix, w, d), Contains("row 3") && Contains("Fixed-8"));
  // Also through from_codes.
  const M::CodeMatrix codes = M::CodeMatrix::Zero(20, 4);
  REQUIRE_THROWS_AS(M::from_codes(a, std::vector<float>(20, 1.0f), codes), rmsmp::Error);
}

TEST_CASE("MixedRowMatrix<>: unsupported SchemeIds are rejected", "[mixed_row_matrix][errors]") {
  std::mt19937 rng(4u);
  const Eigen::MatrixXf w = random_weights(6, 5, rng);
  for (SchemeId bad : {SchemeId{SchemeKind::pot, 5}, SchemeId{SchemeKind::fixed, 9}, SchemeId{SchemeKind::sp2, 2},
                       SchemeId{SchemeKind::fixed, 1}, SchemeId{SchemeKind::fixed, 0}, SchemeId{SchemeKind::sp2, 6},
                       SchemeId{SchemeKind::pot, 1}}) {
    RowAssignment a(6, fixed4);
    a[4] = bad;
    INFO(rmsmp::display_name(bad));
    REQUIRE_THROWS_AS(rmsmp::MixedRowMatrix<>(w, a), rmsmp::Error);
    REQUIRE_THROWS_WITH(rmsmp::MixedRowMatrix<>(w, a),
                        Contains("row 4") && Contains(rmsmp::display_name(bad)) && Contains("not support"));
    REQUIRE_THROWS_AS(rmsmp::MixedRowMatrix<>::from_codes(a, std::vector<float>(6, 1.0f),
                                                          rmsmp::MixedRowMatrix<>::CodeMatrix::Zero(6, 5)),
                      rmsmp::Error);
  }
}

TEST_CASE("MixedRowMatrix: K = 0 is rejected", "[mixed_row_matrix][errors]") {
  using M = rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5>;
  for (int rows : {0, 1, 20}) {
    INFO("M = " << rows);
    const Eigen::MatrixXf w(rows, 0);
    REQUIRE_THROWS_AS(M(w, rmsmp::assign_in_order<rmsmp::Mix60_35_5>(rows)), rmsmp::Error);
    REQUIRE_THROWS_WITH(M(w, rmsmp::assign_in_order<rmsmp::Mix60_35_5>(rows)), Contains("K"));
    REQUIRE_THROWS_AS(rmsmp::MixedRowMatrix<>(w, RowAssignment(static_cast<std::size_t>(rows), fixed4)), rmsmp::Error);
    REQUIRE_THROWS_AS(M::from_codes(rmsmp::assign_in_order<rmsmp::Mix60_35_5>(rows),
                                    std::vector<float>(static_cast<std::size_t>(rows), 1.0f), M::CodeMatrix(rows, 0)),
                      rmsmp::Error);
  }
}

TEST_CASE("MixedRowMatrix: non-finite weights name the row and the column", "[mixed_row_matrix][errors]") {
  std::mt19937 rng(5u);
  const RowAssignment a = rmsmp::assign_in_order<rmsmp::Mix60_35_5>(20);
  using M = rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5>;
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    for (const auto& [r, c] : {std::pair{3, 5}, std::pair{0, 0}, std::pair{19, 8}}) {
      Eigen::MatrixXf w = random_weights(20, 9, rng);
      w(r, c) = bad;
      const char* word = std::isnan(bad) ? "NaN" : "infinite";
      INFO(bad << " at (" << r << ", " << c << ")");
      for (ScaleMethod method : {ScaleMethod::max_abs, ScaleMethod::min_squared_error}) {
        REQUIRE_THROWS_AS(M(w, a, method), rmsmp::Error);
        REQUIRE_THROWS_WITH(M(w, a, method), Contains("row " + std::to_string(r)) &&
                                                 Contains("column " + std::to_string(c)) && Contains(word));
      }
      REQUIRE_THROWS_WITH(rmsmp::MixedRowMatrix<>(w, RowAssignment(20, pot3)),
                          Contains("row " + std::to_string(r)) && Contains("column " + std::to_string(c)));
    }
  }
}

TEST_CASE("from_codes: codes that do not fit, bad scales, mismatched sizes", "[mixed_row_matrix][from_codes][errors]") {
  using M = rmsmp::MixedRowMatrix<rmsmp::Mix60_35_5>;
  const RowAssignment a = rmsmp::assign_in_order<rmsmp::Mix60_35_5>(20);  // 12 PoT-4, 7 Fixed-4, 1 Fixed-8
  const std::vector<float> ones(20, 1.0f);
  M::CodeMatrix codes = M::CodeMatrix::Constant(20, 5, std::uint8_t{15});
  REQUIRE_NOTHROW(M::from_codes(a, ones, codes));
  SECTION("a 4-bit row with code 16") {
    codes(2, 3) = 16;
    REQUIRE_THROWS_AS(M::from_codes(a, ones, codes), rmsmp::Error);
    REQUIRE_THROWS_WITH(M::from_codes(a, ones, codes), Contains("16") && Contains("4 bits"));
    codes(2, 3) = 255;
    REQUIRE_THROWS_AS(M::from_codes(a, ones, codes), rmsmp::Error);
  }
  SECTION("the Fixed-8 row accepts every byte") {
    REQUIRE(a[19] == fixed8);
    for (int k = 0; k < 5; ++k) codes(19, k) = static_cast<std::uint8_t>(251 + k);
    const M m = M::from_codes(a, ones, codes);
    CHECK(m.level(19, 4) == rmsmp::Fixed<8>::codebook.level[255]);
    CHECK(m.level(19, 4) == -127);
  }
  SECTION("a 2-bit row with code 4") {
    const RowAssignment b(3, fixed2);
    rmsmp::MixedRowMatrix<>::CodeMatrix c = rmsmp::MixedRowMatrix<>::CodeMatrix::Constant(3, 3, std::uint8_t{3});
    REQUIRE_NOTHROW(rmsmp::MixedRowMatrix<>::from_codes(b, {1.0f, 1.0f, 1.0f}, c));
    c(1, 2) = 4;
    REQUIRE_THROWS_WITH(rmsmp::MixedRowMatrix<>::from_codes(b, {1.0f, 1.0f, 1.0f}, c),
                        Contains("4") && Contains("2 bits"));
  }
  SECTION("non-positive or non-finite scales") {
    for (const float bad : {0.0f, -0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
      std::vector<float> scales = ones;
      scales[6] = bad;
      INFO("scale " << bad);
      REQUIRE_THROWS_AS(M::from_codes(a, scales, codes), rmsmp::Error);
      REQUIRE_THROWS_WITH(M::from_codes(a, scales, codes), Contains("row 6") && Contains("scale"));
    }
  }
  SECTION("sizes disagree") {
    REQUIRE_THROWS_AS(M::from_codes(a, std::vector<float>(19, 1.0f), codes), rmsmp::Error);
    REQUIRE_THROWS_AS(M::from_codes(a, ones, M::CodeMatrix::Zero(21, 5)), rmsmp::Error);
    REQUIRE_THROWS_AS(rmsmp::MixedRowMatrix<>::from_codes(RowAssignment(3, fixed4), {1.0f, 1.0f},
                                                          rmsmp::MixedRowMatrix<>::CodeMatrix::Zero(3, 2)),
                      rmsmp::Error);
  }
}

// -------------------------------------------------------------------------------------------
// DynamicRowMix and check_assignment
// -------------------------------------------------------------------------------------------

TEST_CASE("DynamicRowMix: constructor rejects bad mixes", "[row_mix][errors]") {
  CHECK_NOTHROW(DynamicRowMix({{pot4, 60}, {fixed4, 35}, {fixed8, 5}}));
  CHECK_NOTHROW(DynamicRowMix({{fixed4, 100}}));
  REQUIRE_THROWS_WITH(DynamicRowMix({{pot4, 60}, {fixed4, 35}}), Contains("95"));
  REQUIRE_THROWS_WITH(DynamicRowMix({{pot4, 60}, {fixed4, 35}, {fixed8, 6}}), Contains("101"));
  REQUIRE_THROWS_AS(DynamicRowMix({{pot4, 60}, {fixed4, 35}, {fixed8, 6}}), rmsmp::Error);
  REQUIRE_THROWS_WITH(DynamicRowMix({{pot4, 50}, {pot4, 50}}), Contains("PoT-4") && Contains("twice"));
  REQUIRE_THROWS_AS(DynamicRowMix({{pot4, 50}, {fixed4, 25}, {pot4, 25}}), rmsmp::Error);
  REQUIRE_THROWS_WITH(DynamicRowMix({{pot4, 100}, {fixed4, 0}}), Contains("Fixed-4") && Contains("0%"));
  REQUIRE_THROWS_AS(DynamicRowMix({{fixed4, 101}}), rmsmp::Error);
  REQUIRE_THROWS_AS(DynamicRowMix({{fixed4, 101}, {pot4, -1}}), rmsmp::Error);
  REQUIRE_THROWS_AS(DynamicRowMix(std::vector<DynamicRowMix::Entry>{}), rmsmp::Error);
  for (SchemeId bad : {SchemeId{SchemeKind::pot, 5}, SchemeId{SchemeKind::fixed, 9}, SchemeId{SchemeKind::sp2, 2},
                       SchemeId{SchemeKind::fixed, 1}}) {
    INFO(rmsmp::display_name(bad));
    REQUIRE_THROWS_AS(DynamicRowMix({{bad, 100}}), rmsmp::Error);
    REQUIRE_THROWS_WITH(DynamicRowMix({{fixed4, 50}, {bad, 50}}),
                        Contains("unsupported") && Contains(rmsmp::display_name(bad)));
  }
}

TEST_CASE("check_assignment with a DynamicRowMix", "[assignment]") {
  std::mt19937 rng(6u);
  const std::vector<DynamicRowMix> mixes = {
      DynamicRowMix({{pot4, 60}, {fixed4, 35}, {fixed8, 5}}),
      DynamicRowMix({{sp2_3, 33}, {pot2, 33}, {fixed5, 34}}),
      DynamicRowMix({{fixed2, 1}, {fixed4, 99}}),
      DynamicRowMix({{fixed8, 100}}),
  };
  for (std::size_t i = 0; i < mixes.size(); ++i) {
    const DynamicRowMix& mix = mixes[i];
    for (int rows : {0, 1, 2, 3, 7, 20, 99, 100, 101, 257}) {
      INFO("mix " << i << " rows " << rows);
      RowAssignment a = shuffled_assignment(mix, rows, rng);
      REQUIRE(a.size() == static_cast<std::size_t>(rows));
      CHECK_NOTHROW(rmsmp::check_assignment(a, mix));
      // Counts sum to the row count; each within one row of its exact share.
      for (std::size_t s = 0; s < mix.scheme_count(); ++s) {
        const auto n = static_cast<double>(std::count(a.begin(), a.end(), mix.scheme(s)));
        CHECK(std::fabs(n - rows * mix.percent(s) / 100.0) < 1.0);
      }
      if (rows == 0) continue;
      // A foreign scheme.
      RowAssignment b = a;
      b[static_cast<std::size_t>(rows - 1)] = sp2_4;
      REQUIRE_THROWS_AS(rmsmp::check_assignment(b, mix), rmsmp::Error);
      REQUIRE_THROWS_WITH(rmsmp::check_assignment(b, mix),
                          Contains("row " + std::to_string(rows - 1)) && Contains("SP2-4"));
      // Move one row to another scheme of the mix: counts are off.
      if (mix.scheme_count() > 1) {
        RowAssignment c = a;
        const SchemeId from = c[0];
        const SchemeId to = from == mix.scheme(0) ? mix.scheme(1) : mix.scheme(0);
        c[0] = to;
        REQUIRE_THROWS_AS(rmsmp::check_assignment(c, mix), rmsmp::Error);
        REQUIRE_THROWS_WITH(rmsmp::check_assignment(c, mix), Contains("needs exactly"));
      }
    }
  }
}

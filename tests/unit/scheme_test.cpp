// Every code of every scheme, checked against the level sets as the papers define them
// (fractions of the row scale), written here independently of the library's integer tables.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <vector>

#include "rmsmp/scheme/scheme.hpp"

using namespace rmsmp;

namespace {

// The paper's magnitude for a magnitude index, as a fraction of alpha (the row's clip).
double paper_magnitude(SchemeId id, int index) {
  const int m = id.bits - 1;  // magnitude bits
  switch (id.kind) {
    case SchemeKind::fixed:
      return static_cast<double>(index) / ((1 << m) - 1);
    case SchemeKind::pot:
      // {0} U {2^-j : j = 0 .. 2^m - 2}; index 1 is the smallest non-zero level.
      return index == 0 ? 0.0 : std::ldexp(1.0, index - ((1 << m) - 1));
    case SchemeKind::sp2: {
      const int m2 = m / 2, m1 = m - m2;
      const int i1 = index >> m2, i2 = index & ((1 << m2) - 1);
      const double q1 = i1 == 0 ? 0.0 : std::ldexp(1.0, -i1);
      const double q2 = i2 == 0 ? 0.0 : std::ldexp(1.0, -i2);
      (void)m1;
      return q1 + q2;
    }
  }
  return -1;
}

std::set<int> distinct_levels(const CodeBook& book) {
  std::set<int> s;
  for (int c = 0; c < book.code_count; ++c) s.insert(book.level[static_cast<std::size_t>(c)]);
  return s;
}

}  // namespace

TEST_CASE("every code of every scheme decodes to the paper's level times max_level", "[scheme]") {
  for (SchemeId id : all_schemes) {
    const CodeBook book = make_codebook(id);
    CAPTURE(display_name(id));
    REQUIRE(book.code_count == (1 << id.bits));
    // The integer levels are the paper's fractions scaled so the largest is max_level.
    double largest = 0;
    for (int i = 0; i < book.code_count / 2; ++i) largest = std::max(largest, paper_magnitude(id, i));
    REQUIRE(largest == 1.0);
    for (int code = 0; code < book.code_count; ++code) {
      CAPTURE(code);
      const int index = code & ((1 << (id.bits - 1)) - 1);
      const bool negative = (code >> (id.bits - 1)) != 0;
      const double expected = (negative ? -1.0 : 1.0) * paper_magnitude(id, index) * book.max_level;
      REQUIRE(static_cast<double>(book.level[static_cast<std::size_t>(code)]) == expected);
      REQUIRE(std::abs(static_cast<int>(book.level[static_cast<std::size_t>(code)])) <= 127);
    }
    for (std::size_t unused = static_cast<std::size_t>(book.code_count); unused < book.level.size(); ++unused)
      REQUIRE(book.level[unused] == 0);
    REQUIRE(book.multiply_free == (id.kind != SchemeKind::fixed));
    REQUIRE(book.sign_bit() == (1u << (id.bits - 1)));
  }
}

TEST_CASE("4-bit level sets are the ones the papers list", "[scheme]") {
  REQUIRE(distinct_levels(Fixed<4>::codebook) ==
          std::set<int>{-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7});
  REQUIRE(distinct_levels(PoT<4>::codebook) ==
          std::set<int>{-64, -32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32, 64});
  REQUIRE(distinct_levels(SP2<4>::codebook) == std::set<int>{-8, -6, -5, -4, -2, -1, 0, 1, 2, 4, 5, 6, 8});
  REQUIRE(distinct_levels(Fixed<8>::codebook).size() == 255);
  REQUIRE(Fixed<8>::codebook.max_level == 127);
  REQUIRE(PoT<4>::codebook.max_level == 64);
  REQUIRE(SP2<4>::codebook.max_level == 8);
  REQUIRE(Fixed<4>::codebook.max_level == 7);
}

TEST_CASE("supported schemes are exactly Fixed-2..8, PoT-2..4, SP2-3..5", "[scheme]") {
  int supported = 0;
  for (SchemeKind kind : {SchemeKind::fixed, SchemeKind::pot, SchemeKind::sp2})
    for (int bits = -1; bits <= 12; ++bits) {
      const SchemeId id{kind, bits};
      const bool expected = (kind == SchemeKind::fixed && bits >= 2 && bits <= 8) ||
                            (kind == SchemeKind::pot && bits >= 2 && bits <= 4) ||
                            (kind == SchemeKind::sp2 && bits >= 3 && bits <= 5);
      CAPTURE(static_cast<int>(kind), bits);
      REQUIRE(is_supported(id) == expected);
      supported += expected;
    }
  REQUIRE(supported == static_cast<int>(all_schemes.size()));
  for (SchemeId id : all_schemes) REQUIRE(is_supported(id));
}

TEST_CASE("scheme tokens round-trip and reject everything else", "[scheme]") {
  for (SchemeId id : all_schemes) {
    CAPTURE(token(id));
    REQUIRE(parse_scheme(token(id)) == id);
  }
  REQUIRE(token(PoT<4>::id) == "pot4");
  REQUIRE(token(Fixed<8>::id) == "fixed8");
  REQUIRE(token(SP2<4>::id) == "sp2_4");
  REQUIRE(display_name(SP2<4>::id) == "SP2-4");
  for (const char* bad : {"", "pot", "pot5", "fixed9", "fixed1", "sp2_2", "sp24", "POT4", "pot4 ", "pot44", "fixedx"}) {
    CAPTURE(bad);
    REQUIRE_FALSE(parse_scheme(bad).has_value());
  }
}

// The rule that turns shares into exact row counts, and its static and dynamic spellings.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

#include "rmsmp/quantize/assignment.hpp"
#include "rmsmp/scheme/row_mix.hpp"

using namespace rmsmp;

namespace {

// Largest-remainder apportionment written the textbook way: sort by remainder.
std::vector<int> hamilton(long rows, const std::vector<int>& percents) {
  std::vector<int> counts(percents.size());
  std::vector<std::size_t> order(percents.size());
  long given = 0;
  for (std::size_t i = 0; i < percents.size(); ++i) {
    counts[i] = static_cast<int>((rows * percents[i]) / 100);
    given += counts[i];
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return (rows * percents[a]) % 100 > (rows * percents[b]) % 100;
  });
  for (long i = 0; i < rows - given; ++i) ++counts[order[static_cast<std::size_t>(i)]];
  return counts;
}

using Mix65_30_5 = RowMix<Share<PoT<4>, 65>, Share<Fixed<4>, 30>, Share<Fixed<8>, 5>>;
using MixSp2 = RowMix<Share<SP2<4>, 60>, Share<Fixed<4>, 35>, Share<Fixed<8>, 5>>;
using MixThirds = RowMix<Share<PoT<4>, 33>, Share<Fixed<4>, 33>, Share<SP2<4>, 34>>;
using MixOne = RowMix<Share<Fixed<4>, 100>>;

template <class Mix>
void check_mix_counts() {
  const std::vector<int> percents(Mix::percents.begin(), Mix::percents.end());
  const DynamicRowMix dynamic = DynamicRowMix::from<Mix>();
  for (int rows = 0; rows <= 2048; ++rows) {
    CAPTURE(rows);
    const auto counts = Mix::row_counts(rows);
    const std::vector<int> got(counts.begin(), counts.end());
    REQUIRE(got == hamilton(rows, percents));
    REQUIRE(dynamic.row_counts(rows) == got);
    REQUIRE(std::accumulate(got.begin(), got.end(), 0) == rows);
    for (std::size_t i = 0; i < got.size(); ++i) {
      const double exact = rows * percents[i] / 100.0;
      REQUIRE(got[i] >= std::floor(exact));
      REQUIRE(got[i] <= std::floor(exact) + 1);
    }
  }
}

}  // namespace

TEST_CASE("row counts follow the largest-remainder rule for every layer size", "[row_mix]") {
  check_mix_counts<Mix60_35_5>();
  check_mix_counts<Mix65_30_5>();
  check_mix_counts<MixSp2>();
  check_mix_counts<MixThirds>();
  check_mix_counts<MixOne>();
}

TEST_CASE("row counts of typical layers", "[row_mix]") {
  // Hand-computed: 64 rows of 60/35/5 -> exact 38.4, 22.4, 3.2; floors 38+22+3 = 63; the one
  // left over goes to the largest remainder (40, 40, 20): the tie goes to PoT-4, listed first.
  REQUIRE(Mix60_35_5::row_counts(64) == std::array<int, 3>{39, 22, 3});
  REQUIRE(Mix60_35_5::row_counts(100) == std::array<int, 3>{60, 35, 5});
  REQUIRE(Mix60_35_5::row_counts(512) == std::array<int, 3>{307, 179, 26});
  REQUIRE(Mix60_35_5::row_counts(1) == std::array<int, 3>{1, 0, 0});
  REQUIRE(Mix60_35_5::row_counts(0) == std::array<int, 3>{0, 0, 0});
  static_assert(Mix60_35_5::row_counts(4096) == std::array<int, 3>{2458, 1433, 205});
}

TEST_CASE("static mix exposes its schemes in order", "[row_mix]") {
  REQUIRE(Mix60_35_5::scheme_count == 3);
  REQUIRE(Mix60_35_5::schemes[0] == PoT<4>::id);
  REQUIRE(Mix60_35_5::schemes[1] == Fixed<4>::id);
  REQUIRE(Mix60_35_5::schemes[2] == Fixed<8>::id);
  REQUIRE(Mix60_35_5::index_of(Fixed<8>::id) == 2);
  REQUIRE(Mix60_35_5::index_of(SP2<4>::id) == 3);
}

TEST_CASE("assign_in_order satisfies its own mix and check_assignment catches wrong counts", "[row_mix]") {
  const DynamicRowMix mix = DynamicRowMix::from<Mix60_35_5>();
  for (int rows : {0, 1, 19, 20, 64, 1000}) {
    RowAssignment a = assign_in_order<Mix60_35_5>(rows);
    REQUIRE(a.size() == static_cast<std::size_t>(rows));
    REQUIRE_NOTHROW(check_assignment(a, mix));
    if (rows >= 20) {
      std::swap(a.front(), a.back());  // still the same counts
      REQUIRE_NOTHROW(check_assignment(a, mix));
      *std::find(a.begin(), a.end(), PoT<4>::id) = Fixed<8>::id;  // one PoT-4 row too few
      REQUIRE_THROWS_WITH(check_assignment(a, mix), Catch::Contains("PoT-4") && Catch::Contains("needs exactly"));
      *std::find(a.begin(), a.end(), PoT<4>::id) = SP2<4>::id;
      REQUIRE_THROWS_WITH(check_assignment(a, mix), Catch::Contains("SP2-4") && Catch::Contains("does not contain"));
    }
  }
}

TEST_CASE("a mix's text form round-trips and bad text is refused with the part that is wrong", "[row_mix]") {
  const DynamicRowMix papers = DynamicRowMix::from<Mix60_35_5>();
  REQUIRE(to_string(papers) == "pot4:60,fixed4:35,fixed8:5");
  REQUIRE(display_name(papers) == "PoT-4 60%, Fixed-4 35%, Fixed-8 5%");
  for (const char* text : {"pot4:60,fixed4:35,fixed8:5", "fixed4:100", "sp2_4:30,pot3:20,fixed2:50", "fixed8:1,fixed4:99"}) {
    const DynamicRowMix mix = parse_row_mix(text);
    REQUIRE(to_string(mix) == text);
    REQUIRE(to_string(parse_row_mix(to_string(mix))) == text);
  }
  const DynamicRowMix parsed = parse_row_mix("pot4:60,fixed4:35,fixed8:5");
  REQUIRE(parsed.scheme_count() == 3);
  REQUIRE(parsed.scheme(0) == PoT<4>::id);
  REQUIRE(parsed.percent(2) == 5);

  struct Bad {
    const char* text;
    const char* message;
  };
  for (const Bad& bad : {Bad{"", "empty"}, Bad{"fixed4", "'fixed4' is not <scheme>:<percent>"},
                         Bad{"pot9:100", "unknown scheme 'pot9'"}, Bad{"fixed4:", "no whole-number percent"},
                         Bad{"fixed4:1x0", "no whole-number percent"}, Bad{"fixed4:-100", "must be 1..100"},
                         Bad{"fixed4:99999999999", "no whole-number percent"}, Bad{"pot4:50,fixed4:40", "not 100%"},
                         Bad{"fixed4:50,fixed4:50", "listed twice"}, Bad{"fixed4:100,", "is not <scheme>:<percent>"},
                         Bad{" fixed4:100", "unknown scheme ' fixed4'"}, Bad{"fixed4:0,fixed8:100", "must be 1..100"}}) {
    INFO(bad.text);
    REQUIRE_THROWS_AS(parse_row_mix(bad.text), Error);
    REQUIRE_THROWS_WITH(parse_row_mix(bad.text), Catch::Contains(bad.message));
  }
}

TEST_CASE("the public error helpers throw rmsmp::Error with the message", "[row_mix]") {
  REQUIRE_THROWS_WITH(fail("bad input"), "rmsmp: bad input");
  REQUIRE_NOTHROW(require(true, "never shown"));
  REQUIRE_THROWS_WITH(require(false, std::string("shown")), "rmsmp: shown");
  int built = 0;
  const auto message = [&] { ++built; return std::string("lazy"); };
  REQUIRE_NOTHROW(require(true, message));
  REQUIRE(built == 0);
  REQUIRE_THROWS_WITH(require(false, message), "rmsmp: lazy");
  REQUIRE(built == 1);
}

// The RTL backend's host side, without a simulator: the weight fields the lanes store decode
// (by the lanes' own arithmetic, written out here) to the code book's levels, the scheme to
// lane-type map, and the cycle model's closed form where no pass waits for the output.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>

#include "rmsmp/rmsmp.hpp"

using namespace rmsmp;

namespace {

/// What a lane computes for weight field f and activation 1 (rtl/rmsmp_term_*.sv).
int lane_level(rtl::LaneType type, std::uint32_t f) {
  switch (type) {
    case rtl::LaneType::pot: {
      const int index = static_cast<int>(f & 7u);
      const int magnitude = index == 0 ? 0 : 1 << (index - 1);
      return (f & 8u) ? -magnitude : magnitude;
    }
    case rtl::LaneType::sp2: {
      const int a = (f & 0x20u) ? 1 << ((f >> 3) & 3u) : 0;
      const int b = (f & 0x04u) ? 1 << (f & 3u) : 0;
      return (f & 0x40u) ? -(a + b) : a + b;
    }
    case rtl::LaneType::fixed4:
      return static_cast<int>(f & 0xFu) - ((f & 0x8u) ? 16 : 0);
    case rtl::LaneType::fixed8:
      return static_cast<int>(f & 0xFFu) - ((f & 0x80u) ? 256 : 0);
  }
  return 0;
}

}  // namespace

TEST_CASE("every code of every scheme is stored so that its lane computes the code book level", "[rtl]") {
  for (SchemeId id : all_schemes) {
    const CodeBook book = make_codebook(id);
    const rtl::LaneType type = rtl::lane_type_of(id);
    for (int code = 0; code < book.code_count; ++code) {
      const std::uint32_t field = rtl::detail::lane_field(id, static_cast<std::uint8_t>(code));
      INFO(display_name(id) << " code " << code << " field " << field);
      REQUIRE(field < (1u << rtl::weight_field_bits(type)));
      REQUIRE(lane_level(type, field) == book.level[static_cast<std::size_t>(code)]);
    }
  }
}

TEST_CASE("schemes map to the lane type that has their hardware", "[rtl]") {
  REQUIRE(rtl::lane_type_of(PoT<4>::id) == rtl::LaneType::pot);
  REQUIRE(rtl::lane_type_of(PoT<2>::id) == rtl::LaneType::pot);
  REQUIRE(rtl::lane_type_of(SP2<5>::id) == rtl::LaneType::sp2);
  REQUIRE(rtl::lane_type_of(Fixed<4>::id) == rtl::LaneType::fixed4);
  REQUIRE(rtl::lane_type_of(Fixed<2>::id) == rtl::LaneType::fixed4);
  REQUIRE(rtl::lane_type_of(Fixed<5>::id) == rtl::LaneType::fixed8);
  REQUIRE(rtl::lane_type_of(Fixed<8>::id) == rtl::LaneType::fixed8);
  constexpr rtl::EngineParams no_sp2{{6, 0, 4, 1}, 4, 8, 32, 64, 64, 64};
  STATIC_REQUIRE(rtl::mix_runs_on<Mix60_35_5>(no_sp2));
  STATIC_REQUIRE_FALSE(rtl::mix_runs_on<RowMix<Share<SP2<4>, 50>, Share<Fixed<4>, 50>>>(no_sp2));
}

TEST_CASE("the cycle model has the closed form when beats per column cover a pass's results", "[rtl]") {
  // With B = ceil(K / K_PAR) >= capture_latency + (results of any pass), no pass waits: the
  // first column loads in B cycles, every column then computes P passes of B (the next one
  // loads meanwhile), and the last pass drains S_last results through the output latency:
  // B + N P B + S_last + capture_latency + output_latency - 1.
  constexpr rtl::EngineParams p{{4, 3, 2, 1}, 4, 8, 32, 1024, 1024, 1024};
  for (int K : {60, 61, 100, 257})
    for (int N : {1, 2, 5})
      for (std::array<int, 4> rows : {std::array<int, 4>{4, 3, 2, 1}, {9, 0, 5, 1}, {1, 0, 0, 0}, {13, 10, 3, 7}}) {
        const std::int64_t B = (K + 3) / 4;
        int P = 0;
        for (std::size_t t = 0; t < 4; ++t) P = std::max(P, (rows[t] + p.lanes[t] - 1) / p.lanes[t]);
        int s_last = 0;
        for (std::size_t t = 0; t < 4; ++t) s_last += std::max(0, std::min(p.lanes[t], rows[t] - (P - 1) * p.lanes[t]));
        REQUIRE(B >= rtl::capture_latency + p.total_lanes());
        const std::int64_t expected = B + N * P * B + s_last + rtl::capture_latency + rtl::output_latency - 1;
        INFO("K " << K << " N " << N << " rows " << rows[0] << "/" << rows[1] << "/" << rows[2] << "/" << rows[3]);
        REQUIRE(rtl::predicted_cycles(p, rows, K, N) == static_cast<std::uint64_t>(expected));
      }
}

TEST_CASE("the cycle model charges a pass the output time when its results outnumber the beats", "[rtl]") {
  // K <= K_PAR: one beat per pass, so each pass waits for the previous pass's S results
  // plus the capture latency: a column of P equal passes costs P (capture_latency + S).
  constexpr rtl::EngineParams p{{8, 0, 0, 0}, 4, 8, 32, 64, 64, 64};
  const std::array<int, 4> rows{64, 0, 0, 0};  // 8 passes of 8 results
  const std::uint64_t one = rtl::predicted_cycles(p, rows, 4, 1);
  const std::uint64_t two = rtl::predicted_cycles(p, rows, 4, 2);
  REQUIRE(two - one == 8 * (rtl::capture_latency + 8));
  REQUIRE(rtl::predicted_cycles(p, {0, 0, 0, 0}, 4, 3) == 0);
}

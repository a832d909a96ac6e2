// Core types through a binary section: exact round trips, and payloads that pass the
// container's checksum but describe invalid objects are still rejected.
#include <catch2/catch.hpp>

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <random>
#include <vector>

#include "rmsmp/io/serialize.hpp"

using namespace rmsmp;

namespace {

Eigen::MatrixXf random_weights(int rows, int cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  Eigen::MatrixXf w(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < cols; ++k) w(r, k) = normal(rng);
  return w;
}

// A shuffled assignment, so original rows and group order really differ.
template <class Mix>
RowAssignment shuffled_assignment(int rows, unsigned seed) {
  RowAssignment a = assign_in_order<Mix>(rows);
  std::shuffle(a.begin(), a.end(), std::mt19937(seed));
  return a;
}

template <class MixA, class MixB>
void require_identical(const MixedRowMatrix<MixA>& a, const MixedRowMatrix<MixB>& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  REQUIRE(a.group_count() == b.group_count());
  for (std::size_t g = 0; g < a.group_count(); ++g) {
    const RowGroup& x = a.group(g);
    const RowGroup& y = b.group(g);
    CHECK(x.scheme() == y.scheme());
    CHECK(std::vector<int>(x.original_rows().begin(), x.original_rows().end()) ==
          std::vector<int>(y.original_rows().begin(), y.original_rows().end()));
    REQUIRE(x.rows() == y.rows());
    for (std::size_t i = 0; i < x.rows(); ++i)
      CHECK(std::bit_cast<std::uint32_t>(x.scale(i)) == std::bit_cast<std::uint32_t>(y.scale(i)));
    CHECK(std::vector<std::uint8_t>(x.packed_codes().begin(), x.packed_codes().end()) ==
          std::vector<std::uint8_t>(y.packed_codes().begin(), y.packed_codes().end()));
  }
  CHECK(a.levels() == b.levels());
  CHECK(a.dequantize() == b.dequantize());
}

ByteReader reader_of(const ByteWriter& w) { return ByteReader(w.bytes(), "payload"); }

// A hand-made one-group Fixed-4 matrix payload with the given fields.
ByteWriter fixed4_payload(std::uint32_t rows, std::uint32_t cols, std::vector<std::int32_t> original,
                          std::vector<float> scales, std::vector<std::uint8_t> packed) {
  ByteWriter w;
  w.write_u32(rows);
  w.write_u32(cols);
  w.write_u32(1);
  write(w, SchemeId{SchemeKind::fixed, 4});
  w.write_u32(static_cast<std::uint32_t>(original.size()));
  for (auto r : original) w.write_i32(r);
  for (float s : scales) w.write_f32(s);
  w.write_bytes(packed);
  return w;
}

// The largest single allocation while watch_allocations is set. A reader that allocates by a
// size field it has not bounded may well succeed on a big machine; the test below has to see
// the request itself.
std::atomic<bool> watch_allocations{false};
std::atomic<std::size_t> largest_allocation{0};

void note_allocation(std::size_t n) {
  if (!watch_allocations.load(std::memory_order_relaxed)) return;
  std::size_t seen = largest_allocation.load(std::memory_order_relaxed);
  while (n > seen && !largest_allocation.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
  }
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define RMSMP_TEST_ASAN 1
#elif defined(__has_feature)  // Clang
#if __has_feature(address_sanitizer)
#define RMSMP_TEST_ASAN 1
#endif
#endif
#ifdef RMSMP_TEST_ASAN
// AddressSanitizer owns operator new (a replacement here is bypassed by part of the program and
// then frees what ASan allocated); it reports every allocation to a hook instead.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
namespace {
const int allocation_hooks = __sanitizer_install_malloc_and_free_hooks(
    [](const volatile void*, std::size_t n) { note_allocation(n); }, [](const volatile void*) {});
}  // namespace
#else
// Not inlined: GCC would otherwise pair a new-expression with the free() inside and warn
// (-Wmismatched-new-delete) about what is, with both replaced, a matching pair.
[[gnu::noinline]] void* operator new(std::size_t n) {
  note_allocation(n);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

TEST_CASE("scalar parameters round-trip exactly", "[serialize]") {
  ByteWriter w;
  const ActivationParams p{0.0123f, -7, 8};
  const ActivationParams p4{3.5f, 15, 4};
  const FixedPointMultiplier m = FixedPointMultiplier::from_real(0.000123456);
  const DynamicRowMix mix({{SchemeId{SchemeKind::pot, 4}, 60}, {SchemeId{SchemeKind::sp2, 5}, 35},
                           {SchemeId{SchemeKind::fixed, 8}, 5}});
  write(w, p);
  write(w, p4);
  write(w, m);
  write(w, mix);
  ByteReader r = reader_of(w);
  const ActivationParams q = read_activation_params(r);
  CHECK(std::bit_cast<std::uint32_t>(q.scale) == std::bit_cast<std::uint32_t>(p.scale));
  CHECK(q.zero_point == p.zero_point);
  CHECK(q.bits == p.bits);
  const ActivationParams q4 = read_activation_params(r);
  CHECK((q4.scale == p4.scale && q4.zero_point == 15 && q4.bits == 4));
  const FixedPointMultiplier n = read_fixed_point_multiplier(r);
  CHECK((n.multiplier == m.multiplier && n.shift == m.shift));
  const DynamicRowMix back = read_row_mix(r);
  REQUIRE(back.scheme_count() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back.scheme(i) == mix.scheme(i));
    CHECK(back.percent(i) == mix.percent(i));
  }
  CHECK(r.at_end());
}

TEST_CASE("invalid scalar parameters are rejected", "[serialize]") {
  const auto activation = [](float scale, int zero_point, int bits) {
    ByteWriter w;
    write(w, ActivationParams{scale, zero_point, bits});
    ByteReader r = reader_of(w);
    return read_activation_params(r);
  };
  CHECK_THROWS_WITH(activation(0.0f, 0, 8), Catch::Contains("payload: activation scale"));
  CHECK_THROWS_AS(activation(std::numeric_limits<float>::infinity(), 0, 8), Error);
  CHECK_THROWS_WITH(activation(1.0f, 0, 6), Catch::Contains("activation bits 6"));
  CHECK_THROWS_WITH(activation(1.0f, 256, 8), Catch::Contains("zero point 256"));

  const auto multiplier = [](std::int32_t mult, std::int32_t shift) {
    ByteWriter w;
    w.write_i32(mult);
    w.write_i32(shift);
    ByteReader r = reader_of(w);
    return read_fixed_point_multiplier(r);
  };
  CHECK_THROWS_WITH(multiplier(-1, 3), Catch::Contains("negative"));
  CHECK_THROWS_WITH(multiplier(5, 63), Catch::Contains("shift 63"));

  const auto mix = [](std::vector<std::uint8_t> bytes) {
    ByteReader r(bytes, "mix");
    return read_row_mix(r);
  };
  CHECK_THROWS_WITH(mix({0, 0, 0, 0}), Catch::Contains("0 schemes"));
  CHECK_THROWS_WITH(mix({1, 0, 0, 0, 3, 4, 100}), Catch::Contains("unknown scheme kind 3"));
  CHECK_THROWS_WITH(mix({1, 0, 0, 0, 1, 5, 100}), Catch::Contains("unsupported scheme PoT-5"));
  CHECK_THROWS_WITH(mix({1, 0, 0, 0, 0, 4, 90}), Catch::Contains("mix: row mix: shares add up to 90%"));
  CHECK_THROWS_WITH(mix({2, 0, 0, 0, 0, 4, 50, 0, 4, 50}), Catch::Contains("listed twice"));
}

TEST_CASE("mixed-row matrices round-trip exactly through a file", "[serialize]") {
  const int rows = 41, cols = 27;  // odd K: every 4-bit row ends with a padding nibble
  const Eigen::MatrixXf w = random_weights(rows, cols, 3);
  const MixedRowMatrix<Mix60_35_5> fixed_mix(w, shuffled_assignment<Mix60_35_5>(rows, 1));
  const DynamicRowMix sp2_mix({{SchemeId{SchemeKind::sp2, 4}, 50}, {SchemeId{SchemeKind::fixed, 2}, 50}});
  RowAssignment sp2_rows(rows);
  for (int r = 0; r < rows; ++r) sp2_rows[static_cast<std::size_t>(r)] = sp2_mix.scheme(static_cast<std::size_t>(r % 2));
  const std::vector<int> counts = sp2_mix.row_counts(rows);
  sp2_rows.assign(static_cast<std::size_t>(counts[0]), sp2_mix.scheme(0));
  sp2_rows.resize(rows, sp2_mix.scheme(1));
  std::shuffle(sp2_rows.begin(), sp2_rows.end(), std::mt19937(9));
  const MixedRowMatrix<> with_mix(sp2_mix, w, sp2_rows);
  RowAssignment any(rows);
  for (int r = 0; r < rows; ++r) any[static_cast<std::size_t>(r)] = all_schemes[static_cast<std::size_t>(r) % all_schemes.size()];
  const MixedRowMatrix<> no_mix(w, any);

  const auto path = std::filesystem::temp_directory_path() / "rmsmp_serialize_test.bin";
  {
    BinaryFileWriter file("rmsmp-test", 1);
    write(file.add_section("static"), fixed_mix);
    write(file.add_section("dynamic"), with_mix);
    ByteWriter& s = file.add_section("any");
    write(s, sp2_mix);
    write(s, no_mix);
    file.save(path);
  }
  const BinaryFileReader file = BinaryFileReader::open(path, "rmsmp-test", 1);
  std::filesystem::remove(path);

  ByteReader s = file.section("static");
  require_identical(read_mixed_row_matrix<Mix60_35_5>(s), fixed_mix);
  s.expect_end();
  s = file.section("static");
  require_identical(read_mixed_row_matrix(s, DynamicRowMix::from<Mix60_35_5>()), fixed_mix);

  ByteReader d = file.section("dynamic");
  require_identical(read_mixed_row_matrix(d, sp2_mix), with_mix);
  d = file.section("dynamic");
  // Without the mix the same rows come back, grouped in all_schemes order instead.
  const MixedRowMatrix<> regrouped = read_mixed_row_matrix(d);
  CHECK(regrouped.levels() == with_mix.levels());
  CHECK(regrouped.assignment() == with_mix.assignment());
  CHECK(regrouped.row_scales() == with_mix.row_scales());

  ByteReader a = file.section("any");
  const DynamicRowMix mix_back = read_row_mix(a);
  CHECK(mix_back.scheme(0) == sp2_mix.scheme(0));
  require_identical(read_mixed_row_matrix(a), no_mix);
  a.expect_end();
}

TEST_CASE("matrix payloads that describe no valid matrix are rejected", "[serialize]") {
  const float s = 0.5f;
  const auto read = [](const ByteWriter& w) {
    ByteReader r(w.bytes(), "m");
    return read_mixed_row_matrix(r);
  };
  // 2 x 3 Fixed-4: each row packs into 2 bytes, the last high nibble is padding.
  CHECK_NOTHROW(read(fixed4_payload(2, 3, {1, 0}, {s, s}, {0x21, 0x03, 0x54, 0x06})));
  CHECK_THROWS_WITH(read(fixed4_payload(2, 3, {1, 1}, {s, s}, {0x21, 0x03, 0x54, 0x06})),
                    Catch::Contains("original row 1 appears twice"));
  CHECK_THROWS_WITH(read(fixed4_payload(2, 3, {0, 2}, {s, s}, {0x21, 0x03, 0x54, 0x06})),
                    Catch::Contains("original row 2 is outside [0, 2)"));
  CHECK_THROWS_WITH(read(fixed4_payload(2, 3, {0, 1}, {s, -s}, {0x21, 0x03, 0x54, 0x06})),
                    Catch::Contains("row 1 has scale"));
  CHECK_THROWS_WITH(read(fixed4_payload(2, 3, {0, 1}, {s, s}, {0x21, 0x13, 0x54, 0x06})),
                    Catch::Contains("row 0 has a non-zero padding nibble"));
  CHECK_THROWS_WITH(read(fixed4_payload(3, 3, {0, 1}, {s, s}, {0x21, 0x03, 0x54, 0x06, 0, 0, 0, 0, 0, 0, 0, 0})),
                    Catch::Contains("hold 2 of the matrix's 3 rows"));
  CHECK_THROWS_WITH(read(fixed4_payload(2, 0, {0, 1}, {s, s}, {})), Catch::Contains("need 1 <= cols"));
  CHECK_THROWS_WITH(read(fixed4_payload(2, 3, {0, 1}, {s, s}, {0x21, 0x03, 0x54})), Catch::Contains("m: truncated"));
  CHECK_THROWS_WITH(read(fixed4_payload(1u << 30, 1u << 30, {}, {}, {})), Catch::Contains("cannot fit"));

  // A static mix checks the stored rows against its exact counts.
  ByteWriter two_rows = fixed4_payload(2, 3, {1, 0}, {s, s}, {0x21, 0x03, 0x54, 0x06});
  ByteReader r(two_rows.bytes(), "m");
  CHECK_THROWS_AS(read_mixed_row_matrix<Mix60_35_5>(r), Error);
}

TEST_CASE("a matrix of 0 rows allocates nothing for its columns", "[serialize]") {
  // Found by the serialize fuzzer (tests/fuzz/corpus/serialize/slow-unit-d8a1...): 16 bytes
  // saying 0 rows of 1.7e9 columns passed the size check, as 0 rows need no bytes, and the
  // reader then allocated a buffer of one row's codes, 1.7 GB, before reading any group.
  const auto largest_allocation_reading = [](const ByteWriter& w, bool loads) {
    ByteReader r(w.bytes(), "m");
    largest_allocation = 0;
    watch_allocations = true;
    if (loads) CHECK(read_mixed_row_matrix(r).rows() == 0);
    else CHECK_THROWS_AS(read_mixed_row_matrix(r), Error);
    watch_allocations = false;
    return largest_allocation.load();
  };
  constexpr std::uint32_t wide = 100'000'000;
  ByteWriter truncated;  // the fuzzer's input, with fewer columns: 6 groups promised, none there
  for (std::uint32_t v : {0u, wide, 6u}) truncated.write_u32(v);
  CHECK(largest_allocation_reading(truncated, false) < (1u << 20));
  CHECK(largest_allocation_reading(fixed4_payload(0, wide, {}, {}, {}), true) < (1u << 20));
}

TEST_CASE("damaged matrix payloads load or throw, never crash", "[serialize][fuzz]") {
  const int rows = 23, cols = 9;
  const MixedRowMatrix<Mix60_35_5> m(random_weights(rows, cols, 5), shuffled_assignment<Mix60_35_5>(rows, 2));
  ByteWriter w;
  write(w, m);
  const std::vector<std::uint8_t> good(w.bytes().begin(), w.bytes().end());

  // Parsed straight from the payload, bypassing the container's checksum: the reader's own
  // checks must hold on their own.
  for (std::size_t n = 0; n < good.size(); ++n) {
    ByteReader r(std::span<const std::uint8_t>(good).first(n), "m");
    CHECK_THROWS_AS(read_mixed_row_matrix(r), Error);
  }
  std::mt19937 rng(77);
  int loaded = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    auto bad = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) bad[rng() % bad.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    try {
      ByteReader r(bad, "m");
      const MixedRowMatrix<> back = read_mixed_row_matrix(r);
      CHECK(back.rows() <= rows);
      ++loaded;
    } catch (const Error&) {
    }
  }
  // Flipped code bits still make valid codes, so many damaged payloads load: the container's
  // checksum is what catches those.
  CHECK(loaded > 0);
}

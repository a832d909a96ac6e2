// The CPU backend against the reference kernel, bit for bit, on every architecture this
// machine can run (generic everywhere; AVX2 and AVX-512 VNNI where present), and the AVX-512
// VNNI kernel on emulated instructions everywhere.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "avx512_emulated_kernel.hpp"
#include "random_operands.hpp"
#include "rmsmp/rmsmp.hpp"

using namespace rmsmp;
using namespace rmsmp_test;

namespace {

std::mt19937 rng(20261207);

using Sp2Mix = RowMix<Share<SP2<4>, 60>, Share<Fixed<3>, 25>, Share<SP2<5>, 15>>;
using AllFixed8 = RowMix<Share<Fixed<8>, 100>>;

/// One way of running the CPU kernels: CpuBackend on an architecture this machine runs, or
/// the AVX-512 VNNI kernel on emulated instructions (no arch), run as CpuBackend runs a
/// kernel: check_gemm_arguments, then cpu::detail::run_gemm. Lane-tile kernels run once per
/// LaneOrder (`order`), since the tests' matrices are small enough for the default to be
/// by_row every time.
struct Path {
  std::string name;
  std::optional<cpu::ArchId> arch;  // none: the emulated AVX-512 VNNI kernel
  std::optional<cpu::LaneOrder> order = std::nullopt;

  cpu::WeightLayout layout() const { return arch ? cpu::layout_for(*arch) : cpu::WeightLayout::lane_tiles; }

  template <class Mix, ActivationValue T, class Pipeline>
  void gemm(const MixedRowMatrix<Mix>& w, const ActivationView<T>& x, const Pipeline& pipeline,
            const OutputView<typename Pipeline::output_type>& y) const {
    if (arch && !order) {
      CpuBackend<>(*arch).gemm(w, x, pipeline, y);
      return;
    }
    check_gemm_arguments(w, x, pipeline, y);
    run(packed(w), x, pipeline, y);
  }
  template <class Mix>
  cpu::PreparedMatrix<Mix> prepare(const MixedRowMatrix<Mix>& w) const {
    return order ? cpu::PreparedMatrix<Mix>(w, layout(), *order) : cpu::PreparedMatrix<Mix>(w, layout());
  }
  template <class Mix>
  cpu::PackedWeights packed(const MixedRowMatrix<Mix>& w) const {
    return order ? cpu::PackedWeights(w, layout(), *order) : cpu::PackedWeights(w, layout());
  }
  template <class Mix, ActivationValue T, class Pipeline>
  void gemm(const cpu::PreparedMatrix<Mix>& w, const ActivationView<T>& x, const Pipeline& pipeline,
            const OutputView<typename Pipeline::output_type>& y) const {
    if (arch) {
      CpuBackend<>(*arch).gemm(w, x, pipeline, y);
      return;
    }
    check_gemm_arguments(w.matrix(), x, pipeline, y);
    run(w.packed(), x, pipeline, y);
  }
  template <class W, ActivationValue T, class Pipeline>
  auto gemm(const W& w, const ActivationView<T>& x, const Pipeline& pipeline) const {
    using Out = typename Pipeline::output_type;
    Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic> y(rows(w), x.cols);
    gemm(w, x, pipeline, OutputView<Out>::of(y));
    return y;
  }

 private:
  template <ActivationValue T, class Pipeline>
  void run(const cpu::PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
           const OutputView<typename Pipeline::output_type>& y) const {
    if (arch)
      cpu::detail::with_kernel(*arch, [&]<class Kernel>(Kernel) { cpu::detail::run_gemm<Kernel>(w, x, pipeline, y); });
    else
      cpu::detail::run_gemm<cpu::detail::avx512_vnni_emulated_kernel>(w, x, pipeline, y);
  }
  template <class Mix>
  static int rows(const MixedRowMatrix<Mix>& m) {
    return m.rows();
  }
  template <class Mix>
  static int rows(const cpu::PreparedMatrix<Mix>& m) {
    return m.matrix().rows();
  }
};

/// Every architecture the machine can run (the others are reported and skipped), then the
/// emulated AVX-512 VNNI kernel.
std::vector<Path> paths_under_test() {
  std::vector<Path> paths;
  auto add = [&](const std::string& name, std::optional<cpu::ArchId> arch) {
    const Path path{name, arch};
    if (path.layout() != cpu::WeightLayout::lane_tiles) return paths.push_back(path);
    for (cpu::LaneOrder order : {cpu::LaneOrder::by_scheme, cpu::LaneOrder::by_row})
      paths.push_back({name + " " + std::string(cpu::lane_order_name(order)), arch, order});
  };
  for (cpu::ArchId a : cpu::all_archs) {
    if (cpu::can_run(a))
      add(std::string(cpu::arch_name(a)), a);
    else
      WARN("skipping the native " << cpu::arch_name(a) << " path: "
                                  << (cpu::kernel_compiled(a) ? "not supported by this machine" : "no kernel in this build"));
  }
  add("avx512_vnni_emulated", std::nullopt);
  return paths;
}

/// Every runnable arch, through both the matrix and the prepared entry points, equals the
/// reference exactly.
template <class Mix, ActivationValue T, class Pipeline>
void expect_same_as_reference(const std::vector<Path>& paths, const MixedRowMatrix<Mix>& w,
                              const Activations<T>& x, const Pipeline& pipeline) {
  const auto expected = reference::gemm(w, x.view(), pipeline);
  for (const Path& path : paths) {
    CAPTURE(path.name);
    const cpu::PreparedMatrix<Mix> prepared = path.prepare(w);
    REQUIRE(bit_equal(path.gemm(w, x.view(), pipeline), expected));
    REQUIRE(bit_equal(path.gemm(prepared, x.view(), pipeline), expected));
  }
}

template <class Mix, ActivationValue T>
void check_all_pipelines(const std::vector<Path>& archs, const MixedRowMatrix<Mix>& w, const Activations<T>& x) {
  const int M = w.rows();
  const std::vector<float> scales = w.row_scales();
  BiasAdd bias;
  for (int r = 0; r < M; ++r) bias.bias.push_back(uniform(rng, -(1 << 20), 1 << 20));
  const Requantize requant = requantize_from_scales(scales, x.params.scale, 0.05f * static_cast<float>(uniform(rng, 1, 40)), -4);

  expect_same_as_reference(archs, w, x, OutputPipeline<>{});
  expect_same_as_reference(archs, w, x,
                           OutputPipeline(bias, requant, relu_for<std::int8_t>(-4), SaturatingCast<std::int8_t>{}));
  expect_same_as_reference(archs, w, x, OutputPipeline(SaturatingCast<std::uint8_t>{}));
  expect_same_as_reference(archs, w, x, OutputPipeline(bias, to_float_from_scales(scales, x.params.scale)));
}

template <class Mix>
void check_matrix(const std::vector<Path>& archs, const MixedRowMatrix<Mix>& w, int N) {
  const int K = w.cols();
  for (int zp : {0, 128, 255}) check_all_pipelines(archs, w, random_activations<std::uint8_t>(rng, K, N, {0.02f, zp, 8}));
  check_all_pipelines(archs, w, random_activations<std::uint8_t>(rng, K, N, {0.1f, uniform(rng, 0, 15), 4}));
  for (int zp : {-128, 0, 127}) check_all_pipelines(archs, w, random_activations<std::int8_t>(rng, K, N, {0.02f, zp, 8}));
}

constexpr int Ms[] = {1, 2, 7, 31, 64, 100, 257};
constexpr int Ks[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255, 1000};
constexpr int Ns[] = {1, 2, 3, 8};

}  // namespace

TEST_CASE("architecture detection and forcing", "[cpu]") {
  REQUIRE(cpu::can_run(cpu::ArchId::generic));
  REQUIRE(cpu::can_run(cpu::best_available_arch()));
  REQUIRE(cpu::runnable_archs().front() == cpu::ArchId::generic);
  REQUIRE(CpuBackend<>().arch() == cpu::best_available_arch());
  REQUIRE(CpuBackend<cpu::generic>().arch() == cpu::ArchId::generic);
  if (cpu::can_run(cpu::ArchId::avx2))
    REQUIRE(CpuBackend<cpu::avx2>().arch() == cpu::ArchId::avx2);
  else
    REQUIRE_THROWS_AS(CpuBackend<cpu::avx2>(), Error);
  if (cpu::can_run(cpu::ArchId::avx512_vnni)) {
    REQUIRE(CpuBackend<cpu::avx512_vnni>().arch() == cpu::ArchId::avx512_vnni);
    REQUIRE(cpu::best_available_arch() == cpu::ArchId::avx512_vnni);
  } else {
    REQUIRE_THROWS_AS(CpuBackend<>(cpu::ArchId::avx512_vnni), Error);
    REQUIRE_THROWS_AS(CpuBackend<cpu::avx512_vnni>(), Error);
  }
  // A kernel that is compiled in runs exactly where the machine supports its instructions.
  for (cpu::ArchId a : cpu::all_archs)
    if (cpu::kernel_compiled(a)) REQUIRE(cpu::can_run(a) == cpu::machine_supports(a));
  for (cpu::ArchId a : cpu::all_archs)
    INFO(cpu::arch_name(a) << ": compiled " << cpu::kernel_compiled(a) << ", machine " << cpu::machine_supports(a));
}

TEST_CASE("lane tiles hold every row once, by scheme in quartets of one scheme or by row in row order, with every "
          "level and zero padding",
          "[cpu]") {
  using L = cpu::LaneTiles;
  // Many groups of few rows (random_dynamic), Sp2Mix (2-, 3-, 4- and 5-bit codes) and rows
  // counts that leave partial quartets, slices and tiles.
  for (int M : {1, 3, 5, 17, 33, 60, 100})
    for (int K : {1, 7, 8, 9, 64, 147, 200}) {
      CAPTURE(M, K);
      const MixedRowMatrix<> dynamic = random_dynamic(rng, M, K);
      const MixedRowMatrix<Sp2Mix> sp2 = random_static<Sp2Mix>(rng, M, K);
      for (const cpu::LaneOrder order : {cpu::LaneOrder::by_scheme, cpu::LaneOrder::by_row})
      for (const auto* w : {&dynamic, static_cast<const MixedRowMatrix<>*>(nullptr)}) {
        CAPTURE(cpu::lane_order_name(order));
        const bool by_row = order == cpu::LaneOrder::by_row;
        const cpu::PackedWeights p = w != nullptr ? cpu::PackedWeights(*w, cpu::WeightLayout::lane_tiles, order)
                                                  : cpu::PackedWeights(sp2, cpu::WeightLayout::lane_tiles, order);
        auto level_of = [&](int row, std::size_t k) { return w != nullptr ? w->level(row, static_cast<int>(k)) : sp2.level(row, static_cast<int>(k)); };
        auto scheme_of = [&](int row) { return w != nullptr ? w->scheme_of_row(row) : sp2.scheme_of_row(row); };
        const L& t = p.lane_tiles();
        REQUIRE(p.layout() == cpu::WeightLayout::lane_tiles);
        REQUIRE(p.groups().empty());
        REQUIRE(t.order == order);
        REQUIRE(t.tiles.size() == (by_row ? (static_cast<std::size_t>(M) + 31) / 32 : t.tiles.size()));
        REQUIRE(t.steps == (static_cast<std::size_t>(K) + 7) / 8);
        REQUIRE(t.steps * L::step_columns <= p.padded_cols());
        REQUIRE(reinterpret_cast<std::uintptr_t>(t.data.data()) % 64 == 0);
        std::vector<int> seen(static_cast<std::size_t>(M), 0);
        bool byte_tiles_began = false;
        for (std::size_t i = 0; i < t.tiles.size(); ++i) {
          const L::Tile& tile = t.tiles[i];
          REQUIRE(tile.offset % 64 == 0);
          REQUIRE((tile.slices == 1 || tile.slices == 2));
          if (tile.slices == 1 && i + 1 < t.tiles.size()) REQUIRE(t.tiles[i + 1].nibbles != tile.nibbles);
          byte_tiles_began = byte_tiles_began || !tile.nibbles;
          REQUIRE(tile.nibbles == !byte_tiles_began);  // nibble tiles first
          for (std::size_t lane = 0; lane < L::tile_lanes; ++lane) {
            const int row = t.rows_of(i)[lane];
            if (lane >= tile.slices * L::slice_lanes) REQUIRE(row == -1);
            if (row < 0) continue;
            CAPTURE(i, lane, row);
            ++seen[static_cast<std::size_t>(row)];
            if (by_row) REQUIRE(row == static_cast<int>(i * L::tile_lanes + lane));
            REQUIRE(tile.nibbles == (!by_row && scheme_of(row).bits <= 4));
            if (tile.nibbles)  // every used lane of a quartet has the scheme of its first used lane
              for (std::size_t other = lane / L::quartet * L::quartet; other < lane; ++other)
                if (t.rows_of(i)[other] >= 0) REQUIRE(scheme_of(t.rows_of(i)[other]) == scheme_of(row));
            std::int64_t sum = 0;
            for (std::size_t k = 0; k < t.steps * L::step_columns; ++k) {
              const int expected = k < static_cast<std::size_t>(K) ? level_of(row, k) : 0;
              if (k < static_cast<std::size_t>(K) || !tile.nibbles) REQUIRE(t.level(i, lane, k) == expected);
              sum += expected;
            }
            REQUIRE(t.sums_of(i)[lane] == sum);
          }
        }
        REQUIRE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
      }
    }
}

TEST_CASE("packed weights hold every level, zero padding, row sums and original rows", "[cpu]") {
  for (int K : {1, 17, 64, 65, 200}) {
    CAPTURE(K);
    const MixedRowMatrix<> w = random_dynamic(rng, 60, K);
    const cpu::PackedWeights p(w, cpu::WeightLayout::rows);
    REQUIRE(p.layout() == cpu::WeightLayout::rows);
    REQUIRE(p.lane_tiles().tiles.empty());
    REQUIRE(p.rows() == 60);
    REQUIRE(p.cols() == K);
    REQUIRE(p.padded_cols() % cpu::PackedWeights::block == 0);
    REQUIRE(p.padded_cols() >= static_cast<std::size_t>(K));
    REQUIRE(p.padded_cols() < static_cast<std::size_t>(K) + cpu::PackedWeights::block);
    REQUIRE(p.groups().size() == w.group_count());
    for (std::size_t gi = 0; gi < p.groups().size(); ++gi) {
      const cpu::PackedGroup& g = p.groups()[gi];
      const RowGroup& src = w.group(gi);
      REQUIRE(g.scheme == src.scheme());
      REQUIRE(g.nibbles == (src.scheme().bits <= 4));
      REQUIRE(g.rows == src.rows());
      REQUIRE(reinterpret_cast<std::uintptr_t>(g.data.data()) % 64 == 0);
      REQUIRE(g.row_stride % 32 == 0);
      for (std::size_t i = 0; i < g.rows; ++i) {
        REQUIRE(g.original_rows[i] == src.original_row(i));
        std::int64_t sum = 0;
        for (std::size_t k = 0; k < p.padded_cols(); ++k) {
          const int expected = k < static_cast<std::size_t>(K) ? src.level(i, k) : 0;
          REQUIRE(g.level(i, k, cpu::PackedWeights::block) == expected);
          sum += expected;
        }
        REQUIRE(g.row_sums[i] == sum);
      }
    }
  }
}

TEST_CASE("cpu gemm equals the reference on every shape, mix, activation type and pipeline", "[cpu]") {
  const auto archs = paths_under_test();
  std::size_t n_index = 0;
  for (int M : Ms)
    for (int K : Ks) {
      CAPTURE(M, K);
      // N rotates through {1, 2, 3, 8} so every (M, K) sees a different N per matrix kind.
      auto next_n = [&] { return Ns[n_index++ % std::size(Ns)]; };
      check_matrix(archs, random_static<Mix60_35_5>(rng, M, K), next_n());
      check_matrix(archs, random_static<Sp2Mix>(rng, M, K), next_n());
      check_matrix(archs, random_static<AllFixed8>(rng, M, K), next_n());
      check_matrix(archs, random_dynamic(rng, M, K), next_n());
    }
}

TEST_CASE("every N on a few shapes, and strided views", "[cpu]") {
  const auto archs = paths_under_test();
  for (int N : Ns)
    for (int K : {33, 130}) {
      CAPTURE(N, K);
      check_matrix(archs, random_dynamic(rng, 13, K), N);
    }
  // Views with padding between columns, for the activations and for the output: int8 (always
  // copied by the kernels) and uint8 with K a multiple of 8 (read in place by the lane tiles).
  auto check_strided = [&](auto value, int K) {
    using T = decltype(value);
    const int M = 21, N = 3;
    CAPTURE(K, std::is_signed_v<T>);
    const auto w = random_static<Mix60_35_5>(rng, M, K);
    const Activations<T> big = random_activations<T>(rng, K + 5, N, {0.02f, std::is_signed_v<T> ? -3 : 3, 8});
    const ActivationView<T> x{big.values.data(), K, N, K + 5, big.params};
    Eigen::MatrixXi expected(M, N);
    reference::gemm(w, x, OutputPipeline<>{}, OutputView<int>::of(expected));
    for (const Path& path : archs) {
      CAPTURE(path.name);
      std::vector<std::int32_t> out(static_cast<std::size_t>((M + 4) * N), -1);
      path.gemm(w, x, OutputPipeline<>{}, OutputView<std::int32_t>{out.data(), M, N, M + 4});
      for (int n = 0; n < N; ++n) {
        for (int m = 0; m < M; ++m) REQUIRE(out[static_cast<std::size_t>(n * (M + 4) + m)] == expected(m, n));
        for (int m = M; m < M + 4; ++m) REQUIRE(out[static_cast<std::size_t>(n * (M + 4) + m)] == -1);  // untouched
      }
    }
  };
  check_strided(std::int8_t{}, 70);
  check_strided(std::uint8_t{}, 72);
  check_strided(std::uint8_t{}, 70);
}

namespace {

struct ExtremeCase {
  SchemeId scheme;
  int code;  // every weight of row 0 (row 1 gets the negated code)
  int x;
  ActivationParams params;
  bool is_signed;
};

void check_extreme(const std::vector<Path>& archs, const ExtremeCase& c) {
  const CodeBook book = make_codebook(c.scheme);
  const int max_x = c.params.bits == 4 ? 15 : 255;
  const std::int64_t K64 = max_safe_depth(book.max_level, max_x);
  const int K = static_cast<int>(K64);
  CAPTURE(display_name(c.scheme), c.code, c.x, c.params.zero_point, c.params.bits, K);
  // Row 0: +level, row 1: -level (the sign bit), row 2: zeros, row 3: the "negative zero".
  const RowAssignment a(4, c.scheme);
  CodeMatrix codes(4, K);
  codes.row(0).setConstant(static_cast<std::uint8_t>(c.code));
  codes.row(1).setConstant(static_cast<std::uint8_t>(c.code | book.sign_bit()));
  codes.row(2).setZero();
  codes.row(3).setConstant(book.sign_bit());
  const auto w = MixedRowMatrix<>::from_codes(a, {1.0f, 1.0f, 1.0f, 1.0f}, codes);
  const std::int64_t expected = K64 * book.level[static_cast<std::size_t>(c.code)] * (c.x - c.params.zero_point);
  REQUIRE((expected == 2147483647LL - (2147483647LL % (book.max_level * max_x)) ||
           expected == -(2147483647LL - (2147483647LL % (book.max_level * max_x)))));
  auto run = [&](auto tag) {
    using T = decltype(tag);
    Activations<T> x{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>::Constant(K, 2, static_cast<T>(c.x)), c.params};
    const Eigen::MatrixXi ref = reference::gemm(w, x.view(), OutputPipeline<>{});
    REQUIRE(ref(0, 0) == expected);
    REQUIRE(ref(1, 1) == -expected);
    // One more column could overflow: refused, like the reference (even with zero codes).
    const MixedRowMatrix<> wider =
        MixedRowMatrix<>::from_codes({c.scheme}, {1.0f}, CodeMatrix::Constant(1, K + 1, 0));
    Activations<T> x1{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>::Constant(K + 1, 1, static_cast<T>(c.x)),
                      c.params};
    REQUIRE_THROWS_WITH(reference::gemm(wider, x1.view(), OutputPipeline<>{}), Catch::Contains("overflow"));
    for (const Path& path : archs) {
      CAPTURE(path.name);
      REQUIRE(bit_equal(path.gemm(w, x.view(), OutputPipeline<>{}), ref));
      REQUIRE_THROWS_WITH(path.gemm(wider, x1.view(), OutputPipeline<>{}), Catch::Contains("overflow"));
    }
  };
  if (c.is_signed)
    run(std::int8_t{});
  else
    run(std::uint8_t{});
}

}  // namespace

TEST_CASE("extreme levels and activations at the largest safe K", "[cpu]") {
  const auto archs = paths_under_test();
  // |acc| = K * max_level * max|x - zp|: the largest accumulator the contract allows.
  const ExtremeCase cases[] = {
      {Fixed<8>::id, 127, 255, {1.0f, 0, 8}, false},    // widened path, +127 * 255
      {Fixed<8>::id, 127, 0, {1.0f, 255, 8}, false},    // +127 * -255
      {Fixed<8>::id, 127, 127, {1.0f, -128, 8}, true},  // int8: +127 * 255
      {Fixed<8>::id, 127, -128, {1.0f, 127, 8}, true},  // int8: +127 * -255
      {PoT<4>::id, 7, 255, {1.0f, 0, 8}, false},        // vpmaddubsw at its limit: 2 * 64 * 255 = 32640
      {Fixed<7>::id, 63, 0, {1.0f, 255, 8}, false},     // 8-bit rows, vpmaddubsw
      {SP2<4>::id, 3, 255, {1.0f, 0, 8}, false},        // level 8
  };
  for (const ExtremeCase& c : cases) check_extreme(archs, c);
}

TEST_CASE("extreme levels with 4-bit activations at the largest safe K (1.1 million)", "[cpu][slow]") {
  // 4-bit x: vpmaddubsw is exact even for level 127 (2 * 127 * 15 < 32767), so Fixed-8 rows use it.
  check_extreme(paths_under_test(), {Fixed<8>::id, 127, 15, {1.0f, 0, 4}, false});
  check_extreme(paths_under_test(), {Fixed<8>::id, 127, 0, {1.0f, 15, 4}, false});
}

TEST_CASE("zero-row layers and all-zero rows", "[cpu]") {
  const auto archs = paths_under_test();
  const MixedRowMatrix<Mix60_35_5> empty(Eigen::MatrixXf(0, 8), assign_in_order<Mix60_35_5>(0));
  const auto x = random_activations<std::uint8_t>(rng, 8, 3, {0.1f, 7, 8});
  const MixedRowMatrix<Mix60_35_5> zeros(Eigen::MatrixXf::Zero(20, 8), assign_in_order<Mix60_35_5>(20));
  for (const Path& path : archs) {
    CAPTURE(path.name);
    const auto y = path.gemm(empty, x.view(), OutputPipeline<>{});
    REQUIRE(y.rows() == 0);
    REQUIRE(y.cols() == 3);
    const auto yz = path.gemm(zeros, x.view(), OutputPipeline(BiasAdd{std::vector<std::int32_t>(20, 5)}));
    REQUIRE((yz.array() == 5).all());
  }
  // No columns of activations.
  const auto none = random_activations<std::uint8_t>(rng, 8, 0, {0.1f, 7, 8});
  expect_same_as_reference(archs, zeros, none, OutputPipeline<>{});
}

TEST_CASE("the cpu backend refuses what the reference refuses", "[cpu]") {
  const int M = 20, K = 10;
  const auto m = random_static<Mix60_35_5>(rng, M, K);
  const auto x = random_activations<std::uint8_t>(rng, K, 2, {0.1f, 0, 8});
  const auto short_x = random_activations<std::uint8_t>(rng, K - 1, 2, {0.1f, 0, 8});
  for (cpu::ArchId a : cpu::runnable_archs()) {
    CAPTURE(cpu::arch_name(a));
    const CpuBackend<> backend(a);
    const auto prepared = backend.prepare(m);
    REQUIRE_THROWS_WITH(backend.gemm(m, short_x.view(), OutputPipeline<>{}), Catch::Contains("K = 9"));
    REQUIRE_THROWS_WITH(backend.gemm(prepared, short_x.view(), OutputPipeline<>{}), Catch::Contains("K = 9"));
    Eigen::MatrixXi wrong(M + 1, 2);
    REQUIRE_THROWS_WITH(backend.gemm(m, x.view(), OutputPipeline<>{}, OutputView<int>::of(wrong)),
                        Catch::Contains("output is 21 x 2"));
    REQUIRE_THROWS_WITH(backend.gemm(prepared, x.view(), OutputPipeline<>{}, OutputView<int>::of(wrong)),
                        Catch::Contains("output is 21 x 2"));
    REQUIRE_THROWS_AS(backend.gemm(m, x.view(), OutputPipeline(BiasAdd{std::vector<std::int32_t>(M - 1)})), Error);
    REQUIRE_THROWS_AS(backend.gemm(prepared, x.view(), OutputPipeline(ToFloat{std::vector<float>(M + 1)})), Error);
    REQUIRE_THROWS_AS(backend.gemm(m, x.view(), OutputPipeline(Clamp{5, 4})), Error);

    auto four = random_activations<std::uint8_t>(rng, K, 2, {0.1f, 0, 4});
    REQUIRE_NOTHROW(backend.gemm(prepared, four.view(), OutputPipeline<>{}));
    four.values(3, 1) = 16;
    REQUIRE_THROWS_WITH(backend.gemm(prepared, four.view(), OutputPipeline<>{}), Catch::Contains("4-bit"));

    auto bad_zp = random_activations<std::int8_t>(rng, K, 2, {0.1f, 0, 8});
    bad_zp.params.zero_point = 128;
    REQUIRE_THROWS_WITH(backend.gemm(m, bad_zp.view(), OutputPipeline<>{}), Catch::Contains("zero point"));

    // The low-level kernel still refuses wrong shapes (memory safety without the full check).
    Eigen::MatrixXi y(M, 2);
    REQUIRE_THROWS_AS(cpu::gemm(a, prepared.packed(), short_x.view(), OutputPipeline<>{}, OutputView<int>::of(y)), Error);
    REQUIRE_THROWS_AS(cpu::gemm(a, prepared.packed(), x.view(), OutputPipeline<>{}, OutputView<int>::of(wrong)), Error);
    REQUIRE_NOTHROW(cpu::gemm(a, prepared.packed(), x.view(), OutputPipeline<>{}, OutputView<int>::of(y)));
    REQUIRE(y == reference::gemm(m, x.view(), OutputPipeline<>{}));
  }
}

namespace {

using Emulated = cpu::detail::avx512_vnni_emulated_impl::emulated_instructions;
using Bytes64 = std::array<std::uint8_t, 64>;

Bytes64 bytes_of(const Emulated::vec& v) {
  alignas(64) Bytes64 out{};
  Emulated::store_si512(out.data(), v);
  return out;
}

std::uint32_t dword_at(const Bytes64& b, int j) {  // little-endian, as x86 lanes
  const auto k = static_cast<std::size_t>(4 * j);
  return static_cast<std::uint32_t>(b[k]) | static_cast<std::uint32_t>(b[k + 1]) << 8 |
         static_cast<std::uint32_t>(b[k + 2]) << 16 | static_cast<std::uint32_t>(b[k + 3]) << 24;
}

}  // namespace

TEST_CASE("emulated AVX-512 instructions on the edge cases of their definitions", "[cpu]") {
  alignas(64) Bytes64 a{}, b{}, c{};
  // vpdpbusd: four products 255 * -128 added to INT32_MAX, modulo 2^32 (no saturation).
  a.fill(255);
  b.fill(0x80);
  for (int j = 0; j < 16; ++j)
    for (int i = 0; i < 4; ++i) c[static_cast<std::size_t>(4 * j + i)] = i == 3 ? 0x7F : 0xFF;
  const Bytes64 dot = bytes_of(Emulated::dpbusd_epi32(Emulated::load_si512(c.data()), Emulated::load_si512(a.data()),
                                                       Emulated::load_si512(b.data())));
  for (int j = 0; j < 16; ++j) REQUIRE(dword_at(dot, j) == 2147483647u - 4u * 255u * 128u);
  // vpshufb: index bit 7 gives 0; otherwise the low 4 bits pick a byte of the same 128-bit lane.
  for (std::size_t j = 0; j < 64; ++j) {
    a[j] = static_cast<std::uint8_t>(j + 100);
    b[j] = static_cast<std::uint8_t>((j * 7) % 256 | (j % 5 == 0 ? 0x80 : 0x00) | (j % 3 == 0 ? 0x70 : 0x00));
  }
  const Bytes64 shuffled = bytes_of(Emulated::shuffle_epi8(Emulated::load_si512(a.data()), Emulated::load_si512(b.data())));
  for (std::size_t j = 0; j < 64; ++j)
    REQUIRE(shuffled[j] == ((b[j] & 0x80) != 0 ? 0 : a[16 * (j / 16) + (b[j] & 0x0F)]));
  // vpsrlvw: counts above 15 give 0, 15 keeps the top bit; words are little-endian.
  a.fill(0xFF);
  for (std::size_t w = 0; w < 32; ++w) {
    b[2 * w] = static_cast<std::uint8_t>(w < 16 ? w : w * 8);  // 0..15, then 128..248
    b[2 * w + 1] = 0;
  }
  const Bytes64 shifted = bytes_of(Emulated::srlv_epi16(Emulated::load_si512(a.data()), Emulated::load_si512(b.data())));
  for (std::size_t w = 0; w < 32; ++w) {
    const unsigned expected = w < 16 ? 0xFFFFu >> w : 0u;
    REQUIRE((shifted[2 * w] | shifted[2 * w + 1] << 8) == static_cast<int>(expected));
  }
}

TEST_CASE("emulated AVX-512 instructions equal the real ones", "[cpu]") {
#if RMSMP_CPU_X86_KERNELS
  if (!cpu::can_run(cpu::ArchId::avx512_vnni)) {
    WARN("skipped: this machine has no AVX-512 VNNI, so the emulation is checked only against Intel's "
         "definitions (previous test case) and through the kernel tests");
    return;
  }
  namespace native = cpu::detail::avx512_vnni_impl;
  namespace emulated = cpu::detail::avx512_vnni_emulated_impl;
  static_assert(native::probed_instructions == emulated::probed_instructions);
  constexpr std::size_t out_bytes = 64 * native::probed_instructions;
  alignas(64) std::array<std::uint8_t, out_bytes> from_cpu{}, from_emulation{};
  alignas(64) Bytes64 a{}, b{}, c{};
  int trials_equal = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    for (std::size_t i = 0; i < 64; ++i) {
      a[i] = static_cast<std::uint8_t>(uniform(rng, 0, 255));
      c[i] = static_cast<std::uint8_t>(uniform(rng, 0, 255));
      // A third of the trials with shift counts of 0..20 (vpsrlvw), a third with shuffle
      // indices that set only bit 7 and the low nibble (vpshufb), the rest fully random.
      const int kind = trial % 3;
      b[i] = static_cast<std::uint8_t>(kind == 0   ? (i % 2 == 0 ? uniform(rng, 0, 20) : 0)
                                       : kind == 1 ? (uniform(rng, 0, 15) | (uniform(rng, 0, 1) << 7))
                                                   : uniform(rng, 0, 255));
    }
    native::probe_instructions<native::native_instructions>(a.data(), b.data(), c.data(), from_cpu.data());
    emulated::probe_instructions<emulated::emulated_instructions>(a.data(), b.data(), c.data(), from_emulation.data());
    if (from_cpu == from_emulation) {
      ++trials_equal;
      continue;
    }
    for (std::size_t i = 0; i < out_bytes; ++i) {
      CAPTURE(trial, i / 64, i % 64);  // instruction (slot of probe_instructions), byte
      REQUIRE(from_cpu[i] == from_emulation[i]);
    }
  }
  // One assertion for the whole comparison, so that a run shows it happened (not skipped).
  REQUIRE(trials_equal == 3000);
#else
  WARN("skipped: no x86 kernels in this build");
#endif
}

TEST_CASE("column panels, full tiles and every column tail", "[cpu]") {
  const auto archs = paths_under_test();
  // N = 5, 6, 7: a full 4-column tile and then a 1-, 2- or 3-column tile (AVX-512), or a
  // 2-column tile and a 1-column tile (AVX2).
  for (int N : {5, 6, 7}) {
    CAPTURE(N);
    check_matrix(archs, random_static<Mix60_35_5>(rng, 9, 100), N);
  }
  // K = 6000: panels of panel_columns(6016) columns, so N = 70 takes several panels and a
  // last, narrower one; M = 9: two 4-row tiles and a single row.
  const std::size_t panel = cpu::detail::panel_columns(6016);
  REQUIRE(panel < 70);
  const auto w = random_static<Mix60_35_5>(rng, 9, 6000);
  expect_same_as_reference(archs, w, random_activations<std::uint8_t>(rng, 6000, 70, {0.02f, 7, 8}), OutputPipeline<>{});
  expect_same_as_reference(archs, w, random_activations<std::int8_t>(rng, 6000, 70, {0.02f, -9, 8}),
                           OutputPipeline(SaturatingCast<std::int8_t>{}));
  // Small K with many rows: the outer-product tiles' panels (outer_panel_columns) are narrow,
  // so N = 30 takes three panels, the last one narrower; 300 rows leave partial 16-row tiles.
  REQUIRE(cpu::detail::outer_panel_columns(300, 128) < 15);
  const auto small_k = random_static<Mix60_35_5>(rng, 300, 100);
  expect_same_as_reference(archs, small_k, random_activations<std::uint8_t>(rng, 100, 30, {0.02f, 7, 8}),
                           OutputPipeline<>{});
  expect_same_as_reference(archs, small_k, random_activations<std::int8_t>(rng, 100, 30, {0.02f, -9, 8}),
                           OutputPipeline(SaturatingCast<std::int8_t>{}));
}

TEST_CASE("AVX2 takes outer-product tiles for small K and at least 4 columns, where vpmaddubsw is exact", "[cpu]") {
  if (!cpu::can_run(cpu::ArchId::avx2)) {
    WARN("skipping: this machine cannot run the avx2 path");
    return;
  }
  // One group per scheme, in the order of the assignment.
  const RowAssignment a{PoT<4>::id, Fixed<4>::id, Fixed<8>::id};
  const cpu::PackedWeights w(MixedRowMatrix<>::from_codes(a, {1.0f, 1.0f, 1.0f}, CodeMatrix::Zero(3, 64)),
                             cpu::WeightLayout::rows);
  auto outer = [&](SchemeId s, std::size_t cols, std::size_t depth, int max_x) {
    for (const cpu::PackedGroup& g : w.groups())
      if (g.scheme == s) return cpu::detail::avx2_kernel::tiling(g, cols, depth, max_x).outer;
    FAIL("no group of this scheme");
    return false;
  };
  const std::size_t most_k = 64 * cpu::detail::avx2_impl::outer_max_blocks;
  CHECK(outer(PoT<4>::id, 4, 1, 255));
  CHECK(outer(Fixed<4>::id, 784, most_k, 255));
  CHECK_FALSE(outer(Fixed<4>::id, 784, most_k + 1, 255));
  CHECK_FALSE(outer(PoT<4>::id, 3, 64, 255));      // fewer columns than one outer tile
  CHECK_FALSE(outer(Fixed<8>::id, 784, 64, 255));  // 2 * 127 * 255 saturates vpmaddubsw
  CHECK(outer(Fixed<8>::id, 784, 64, 15));         // but not with 4-bit activations
  // Quads of 4 columns cover K, not blocks of 64.
  const cpu::PackedGroup& first = w.groups()[0];
  CHECK(cpu::detail::avx2_kernel::tiling(first, 784, 147, 255).quads == 37);
  CHECK(cpu::detail::avx2_kernel::tiling(first, 784, 148, 255).quads == 37);
  CHECK(cpu::detail::avx2_kernel::tiling(first, 784, 149, 255).quads == 38);
  // The generic kernel has inner-product tiles only.
  CHECK_FALSE(cpu::detail::generic_kernel::tiling(first, 784, 64, 255).outer);
}

TEST_CASE("work units cover every tile of every panel once, and the prologue every item once", "[cpu]") {
  for (std::size_t threads = 1; threads <= 5; ++threads)
    for (std::size_t tiles : {1u, 2u, 7u, 64u, 1025u})
      for (std::size_t panels : {1u, 3u, 40u})
        for (double tile_work : {100.0, 1e5, 3e6, 5e7}) {
          CAPTURE(threads, tiles, panels, tile_work);
          const double work = tile_work * static_cast<double>(tiles * panels);
          const cpu::detail::WorkUnits plan = cpu::detail::plan_units(threads, tiles, panels, work);
          REQUIRE(plan.tiles == tiles);
          REQUIRE(plan.panels == panels);
          REQUIRE(plan.unit_tiles >= 1);
          REQUIRE(plan.unit_tiles <= tiles);
          if (threads == 1) {  // the loop of a call without threads: a unit per panel
            REQUIRE(plan.prologue_units == 1);
            REQUIRE(plan.unit_tiles == tiles);
          } else {
            // Units of about 4 Mi multiply-adds at most (or one tile), and enough of them for
            // every thread to take several.
            REQUIRE(static_cast<double>(plan.unit_tiles - 1) * tile_work < static_cast<double>(1 << 22));
            REQUIRE(plan.units() - plan.prologue_units >= std::min(tiles * panels, 4 * threads));
          }
          std::vector<int> computed(tiles * panels, 0);
          for (std::size_t u = plan.prologue_units; u < plan.units(); ++u) {
            const std::size_t p = plan.panel_of(u);
            const cpu::detail::ItemRange share = plan.tile_share(u);
            REQUIRE(p < panels);
            REQUIRE(share.begin < share.end);
            REQUIRE(share.end <= tiles);
            REQUIRE(share.end - share.begin <= plan.unit_tiles);
            for (std::size_t t = share.begin; t < share.end; ++t) ++computed[p * tiles + t];
            if (u > plan.prologue_units) REQUIRE(plan.panel_of(u - 1) <= p);  // panel by panel
          }
          REQUIRE(std::all_of(computed.begin(), computed.end(), [](int c) { return c == 1; }));
          for (std::size_t items : {0u, 1u, 5u, 196u, 1000u}) {
            std::size_t next = 0;  // the shares follow one another, from 0 to items
            for (std::size_t u = 0; u < plan.prologue_units; ++u) {
              const cpu::detail::ItemRange share = plan.prologue_share(items, u);
              REQUIRE(share.begin == next);
              REQUIRE(share.end >= share.begin);
              next = share.end;
            }
            REQUIRE(next == items);
          }
        }
}

TEST_CASE("int16 partial sums: the longest chunk of blocks the levels and activations allow", "[cpu]") {
  // Each block adds two vpmaddubsw pair sums (one per 32-byte vector) into every int16 lane,
  // each at most 2 * max_level * max_x: a chunk may hold the most pair sums whose worst case
  // stays within 32767, and one more block must not fit.
  for (SchemeId s : all_schemes)
    for (int max_x : {15, 255}) {
      const int L = make_codebook(s).max_level;
      CAPTURE(display_name(s), max_x);
      const auto chunk = static_cast<long>(cpu::detail::int16_chunk_blocks(L, max_x));
      REQUIRE(2 * chunk * 2 * L * max_x <= 32767);
      REQUIRE(2 * (chunk + 1) * 2 * L * max_x > 32767);
    }
  // Outer-product tiles add one pair sum per lane and quad of columns: int16_pair_sums quads.
  for (SchemeId s : all_schemes)
    for (int max_x : {15, 255}) {
      const int L = make_codebook(s).max_level;
      CAPTURE(display_name(s), max_x);
      const auto pairs = static_cast<long>(cpu::detail::int16_pair_sums(L, max_x));
      REQUIRE(pairs * 2 * L * max_x <= 32767);
      REQUIRE((pairs + 1) * 2 * L * max_x > 32767);
    }
  // Both sides of the bound are among the supported schemes with 8-bit activations.
  REQUIRE(cpu::detail::int16_chunk_blocks(make_codebook(Fixed<4>::id).max_level, 255) >= 1);
  REQUIRE(cpu::detail::int16_chunk_blocks(make_codebook(PoT<4>::id).max_level, 255) == 0);
}

TEST_CASE("extreme levels and activations over several int16 chunks, on both sides of the bound", "[cpu]") {
  const auto archs = paths_under_test();
  // Chunks of 1 (Fixed-6), 2 (Fixed-5), 4 (Fixed-4, SP2-4: 8 * 4080 = 32640, the closest to
  // 32767) and 8 blocks (PoT-3) with 8-bit activations; Fixed-7, PoT-4 (0: int32 after every
  // product) and Fixed-8 (widened) beside them in the same matrix. With 4-bit activations
  // PoT-4 and Fixed-8 take chunks too.
  const SchemeId schemes[] = {Fixed<4>::id, Fixed<5>::id, Fixed<6>::id, Fixed<7>::id,
                              Fixed<8>::id, SP2<4>::id,   PoT<3>::id,   PoT<4>::id};
  // K = 64 and 209 (1 and 4 blocks): AVX2's outer-product tiles (N >= 4), whose int16 lanes
  // take one pair sum per quad of columns: chunks of 9 (Fixed-4) and 8 (SP2-4) quads of 16 or
  // 64. 17 rows: a 16-row outer tile plus one row.
  for (int K : {64, 64 * 3 + 17, 64 * 9 + 17, 1024})
    for (int rows_per_scheme : {3, 5, 17}) {  // less than a 4-row tile, a tile plus one row
      CAPTURE(K, rows_per_scheme);
      RowAssignment a;
      for (SchemeId s : schemes) a.insert(a.end(), static_cast<std::size_t>(rows_per_scheme), s);
      CodeMatrix codes(static_cast<Eigen::Index>(a.size()), K);
      Eigen::Index row = 0;
      for (SchemeId s : schemes) {
        const CodeBook book = make_codebook(s);
        int max_code = 0;
        while (book.level[static_cast<std::size_t>(max_code)] != book.max_level) ++max_code;
        const auto plus = static_cast<std::uint8_t>(max_code), minus = static_cast<std::uint8_t>(max_code | book.sign_bit());
        codes.row(row++).setConstant(plus);   // every pair sum at +2 * L * max_x
        codes.row(row++).setConstant(minus);  // and at -2 * L * max_x
        for (int r = 2; r < rows_per_scheme; ++r, ++row)
          for (int k = 0; k < K; ++k) codes(row, k) = uniform(rng, 0, 1) != 0 ? plus : minus;
      }
      const auto w = MixedRowMatrix<>::from_codes(a, std::vector<float>(a.size(), 1.0f), codes);
      for (int N : {1, 5, 9}) {  // one column (no expansion), then expanded levels and column tails
        CAPTURE(N);
        auto constant = [&](auto value, ActivationParams p) {
          using T = decltype(value);
          return Activations<T>{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>::Constant(K, N, value), p};
        };
        auto near_max = [&](ActivationParams p) {  // the largest two codes
          auto x = constant(std::uint8_t{0}, p);
          const int hi = activation_max<std::uint8_t>(p.bits);
          for (int n = 0; n < N; ++n)
            for (int k = 0; k < K; ++k) x.values(k, n) = static_cast<std::uint8_t>(uniform(rng, hi - 1, hi));
          return x;
        };
        // Offset-binary 255 (or 15) everywhere: the kernels' largest products.
        expect_same_as_reference(archs, w, constant(std::uint8_t{255}, {1.0f, 0, 8}), OutputPipeline<>{});
        expect_same_as_reference(archs, w, constant(std::uint8_t{255}, {1.0f, 255, 8}), OutputPipeline<>{});
        expect_same_as_reference(archs, w, constant(std::int8_t{127}, {1.0f, -128, 8}), OutputPipeline<>{});
        expect_same_as_reference(archs, w, constant(std::uint8_t{15}, {1.0f, 0, 4}), OutputPipeline<>{});
        expect_same_as_reference(archs, w, near_max({1.0f, 3, 8}), OutputPipeline<>{});
        expect_same_as_reference(archs, w, near_max({1.0f, 0, 4}), OutputPipeline<>{});
      }
    }
}

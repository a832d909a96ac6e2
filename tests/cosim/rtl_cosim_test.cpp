// Cosimulation: the Verilated RTL engines against the reference kernel and the CPU backend,
// bit for bit, on random ragged shapes, every scheme each engine has, both activation widths,
// every output pipeline, with and without random input gaps and output back-pressure; and
// the cycle model against the engine's cycle count.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "rmsmp/kernel/rtl/backend.hpp"
#include "rmsmp/rmsmp.hpp"
#include "rmsmp_rtl_engines.hpp"

using namespace rmsmp;

namespace {

std::mt19937 rng(20261126);

int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool chance(double p) { return std::bernoulli_distribution(p)(rng); }

using CodeMatrix = MixedRowMatrix<>::CodeMatrix;

template <rtl::EngineParams P>
std::vector<SchemeId> schemes_of() {
  std::vector<SchemeId> out;
  for (SchemeId s : all_schemes)
    if (P.runs(s)) out.push_back(s);
  return out;
}

/// Random codes; some rows all zero, some all at the extreme (largest magnitude, either sign).
CodeMatrix random_codes(const RowAssignment& a, int K) {
  CodeMatrix codes(static_cast<Eigen::Index>(a.size()), K);
  for (std::size_t r = 0; r < a.size(); ++r) {
    const CodeBook book = make_codebook(a[r]);
    int extreme = 0;
    for (int c = 0; c < book.code_count; ++c)
      if (book.level[static_cast<std::size_t>(c)] == book.max_level) extreme = c;
    const int kind = uniform(0, 9);
    for (int k = 0; k < K; ++k) {
      int code = uniform(0, book.code_count - 1);
      if (kind == 0) code = 0;
      if (kind == 1) code = extreme | (uniform(0, 1) ? book.sign_bit() : 0);
      codes(static_cast<Eigen::Index>(r), k) = static_cast<std::uint8_t>(code);
    }
  }
  return codes;
}

template <rtl::EngineParams P>
MixedRowMatrix<> random_matrix(int M, int K) {
  const std::vector<SchemeId> schemes = schemes_of<P>();
  RowAssignment a(static_cast<std::size_t>(M));
  for (auto& s : a) s = schemes[static_cast<std::size_t>(uniform(0, static_cast<int>(schemes.size()) - 1))];
  std::vector<float> scales(a.size());
  for (auto& s : scales) s = std::uniform_real_distribution<float>(1e-3f, 1e-1f)(rng);
  return MixedRowMatrix<>::from_codes(a, scales, random_codes(a, K));
}

template <ActivationValue T>
Activations<T> random_activations(int K, int N, ActivationParams p) {
  Activations<T> x{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>(K, N), p};
  const int lo = activation_min<T>(p.bits);
  const int hi = activation_max<T>(p.bits);
  const int kind = uniform(0, 3);
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) {
      int v = uniform(lo, hi);
      if (kind == 0) v = uniform(0, 1) ? lo : hi;  // extremes
      x.values(k, n) = static_cast<T>(v);
    }
  return x;
}

template <class Out>
using Matrix = Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic>;

/// The first (row, column) where a and b differ, as text; empty when they are bit-identical.
template <class Out>
std::string first_difference(const Matrix<Out>& a, const Matrix<Out>& b) {
  for (Eigen::Index n = 0; n < a.cols(); ++n)
    for (Eigen::Index m = 0; m < a.rows(); ++m)
      if (std::memcmp(&a(m, n), &b(m, n), sizeof(Out)) != 0) {
        std::ostringstream s;
        s << "row " << m << ", column " << n << ": " << +a(m, n) << " vs " << +b(m, n);
        return s.str();
      }
  return {};
}

struct CaseCounter {
  int cases = 0;
  int multi_run = 0;
  int stalled = 0;
  int split = 0;  ///< cases whose K ran in several chunks
};

/// Runs one case through the engine and compares with the reference and the CPU backend. On a
/// mismatch it reruns with no output stage to tell the accumulator from the output pipeline.
template <rtl::EngineParams P, class Mix, ActivationValue T, class Pipeline>
void check_case(const rtl::RtlBackend<P>& engine, const MixedRowMatrix<Mix>& w, const Activations<T>& x,
                const Pipeline& pipeline, CaseCounter& counter) {
  using Out = typename Pipeline::output_type;
  const Matrix<Out> expected = reference::gemm(w, x.view(), pipeline);
  Matrix<Out> got(w.rows(), x.view().cols);
  const rtl::RunStatistics stats = engine.gemm(w, x.view(), pipeline, OutputView<Out>::of(got));
  std::string diff = first_difference(got, expected);
  if (!diff.empty()) {
    const OutputPipeline<> raw;
    const auto raw_expected = reference::gemm(w, x.view(), raw);
    const std::string raw_diff = first_difference(engine.gemm(w, x.view(), raw), raw_expected);
    diff = raw_diff.empty() ? "output pipeline stage, " + diff : "accumulator stage, " + raw_diff;
  }
  INFO("M " << w.rows() << ", K " << w.cols() << ", N " << x.view().cols << ", zero point " << x.params.zero_point
            << ", " << x.params.bits << "-bit " << (std::is_signed_v<T> ? "int8" : "uint8") << ", input gaps "
            << engine.traffic().input_gap << ", output stalls " << engine.traffic().output_stall);
  INFO("first difference from the reference: " << diff);
  REQUIRE(diff.empty());
  REQUIRE(first_difference(CpuBackend<>().gemm(w, x.view(), pipeline), got).empty());

  // The cycle model: exact without stalls, and each stall cycle costs at most one cycle.
  INFO("cycles " << stats.cycles << ", predicted " << stats.predicted_cycles << ", stalls " << stats.stall_cycles);
  if (stats.stall_cycles == 0) {
    REQUIRE(stats.cycles == stats.predicted_cycles);
  } else {
    REQUIRE(stats.cycles >= stats.predicted_cycles);
    REQUIRE(stats.cycles <= stats.predicted_cycles + stats.stall_cycles);
    ++counter.stalled;
  }
  if (w.rows() > 0) REQUIRE(stats.runs >= 1);
  if (stats.runs > 1) ++counter.multi_run;

  // K chunks: none for an empty call, else as many as the deepest chunk the engine takes
  // needs; the host runs the output stage exactly when there is more than one.
  const int K = w.cols();
  const int N = x.view().cols;
  const int chunk = rtl::RtlBackend<P>::max_chunk_depth(w, x.view());
  INFO("K chunks " << stats.k_chunks << ", deepest chunk " << chunk);
  REQUIRE(chunk <= std::min(P.act_depth, P.weight_depth) * P.k_par);
  REQUIRE(stats.k_chunks == (w.rows() == 0 || N == 0 ? 0 : (K + chunk - 1) / chunk));
  REQUIRE(stats.host_output_calls == (stats.k_chunks > 1 ? 1 : 0));
  REQUIRE(stats.gemm_calls == 1);
  if (stats.k_chunks > 1) ++counter.split;
  ++counter.cases;
}

template <rtl::EngineParams P, class Mix, ActivationValue T>
void check_all_pipelines(const rtl::RtlBackend<P>& engine, const MixedRowMatrix<Mix>& w, const Activations<T>& x,
                         CaseCounter& counter) {
  const int M = w.rows();
  const std::vector<float> scales = w.row_scales();
  BiasAdd bias;
  for (int r = 0; r < M; ++r) bias.bias.push_back(chance(0.1) ? (uniform(0, 1) ? 1 : -1) * ((1 << 20) - 1) : uniform(-5000, 5000));
  Requantize requant = requantize_from_scales(scales, x.params.scale, 0.02f * static_cast<float>(uniform(1, 40)), uniform(-20, 20));
  // Extreme multipliers too: shift 0 (identity-like), the largest shift, the largest multiplier.
  for (auto& m : requant.multipliers) {
    const int kind = uniform(0, 9);
    if (kind == 0) m = {uniform(0, 3), 0};
    if (kind == 1) m = {2147483647, 62};
    if (kind == 2) m = {2147483647, uniform(20, 40)};
  }
  const Clamp clamp{uniform(-300, 0), uniform(0, 300)};

  switch (uniform(0, 6)) {
    case 0: return check_case(engine, w, x, OutputPipeline<>{}, counter);
    case 1: return check_case(engine, w, x, OutputPipeline(bias, requant, relu_for<std::int8_t>(requant.output_zero_point), SaturatingCast<std::int8_t>{}), counter);
    case 2: return check_case(engine, w, x, OutputPipeline(bias, requant, clamp, SaturatingCast<std::uint8_t>{}), counter);
    case 3: return check_case(engine, w, x, OutputPipeline(requant), counter);
    case 4: return check_case(engine, w, x, OutputPipeline(bias, clamp, to_float_from_scales(scales, x.params.scale)), counter);
    case 5: return check_case(engine, w, x, OutputPipeline(SaturatingCast<std::int8_t>{}), counter);
    default: return check_case(engine, w, x, OutputPipeline(bias, clamp), counter);
  }
}

rtl::Traffic random_traffic() {
  constexpr double levels[] = {0.0, 0.0, 0.3, 0.8};
  return {levels[uniform(0, 3)], levels[uniform(0, 3)], static_cast<std::uint64_t>(uniform(1, 1 << 30))};
}

/// N random columns of the engine's activation kind (4-bit codes, or uint8 / int8) through
/// a random output pipeline.
template <rtl::EngineParams P>
void check_with_random_activations(const rtl::RtlBackend<P>& engine, const MixedRowMatrix<>& w, int N, CaseCounter& counter) {
  const int K = w.cols();
  if constexpr (P.act_bits == 4) {
    check_all_pipelines(engine, w, random_activations<std::uint8_t>(K, N, {0.05f, uniform(0, 15), 4}), counter);
  } else {
    if (chance(0.5))
      check_all_pipelines(engine, w, random_activations<std::uint8_t>(K, N, {0.02f, uniform(0, 255), 8}), counter);
    else
      check_all_pipelines(engine, w, random_activations<std::int8_t>(K, N, {0.02f, uniform(-128, 127), 8}), counter);
  }
}

template <rtl::EngineParams P>
void random_cases(rtl::RtlBackend<P>& engine, int count, CaseCounter& counter) {
  const int total_lanes = P.total_lanes();
  for (int c = 0; c < count; ++c) {
    // Ragged shapes: M from 0 to a few passes (often below the lane count), K below and
    // above multiples of K_PAR, N from 1 to 4.
    const int M = chance(0.05) ? 0 : uniform(1, chance(0.3) ? total_lanes : 4 * total_lanes);
    const int K = uniform(1, chance(0.2) ? 3 * P.k_par : 24 * P.k_par);
    const int N = uniform(1, 4);
    engine.set_traffic(random_traffic());
    const MixedRowMatrix<> w = random_matrix<P>(M, K);
    check_with_random_activations(engine, w, N, counter);
  }
}

}  // namespace

TEST_CASE("engine a8 (8-bit activations, all lane types) matches the reference on random cases", "[cosim]") {
  rtl::RtlBackend<rtl::engines::a8> engine(rtl::engines::make_a8());
  CaseCounter counter;
  random_cases(engine, 1500, counter);
  INFO("cases " << counter.cases << ", with stalls " << counter.stalled);
  REQUIRE(counter.cases == 1500);
  REQUIRE(counter.stalled > 100);
}

TEST_CASE("engine b4 (4-bit activations, no SP2 lanes) matches the reference on random cases", "[cosim]") {
  rtl::RtlBackend<rtl::engines::b4> engine(rtl::engines::make_b4());
  CaseCounter counter;
  random_cases(engine, 1500, counter);
  REQUIRE(counter.cases == 1500);
  REQUIRE(counter.stalled > 100);
}

TEST_CASE("a matrix larger than the weight memories runs in several loads", "[cosim]") {
  rtl::RtlBackend<rtl::engines::a8> engine(rtl::engines::make_a8());
  CaseCounter counter;
  constexpr rtl::EngineParams P = rtl::engines::a8;
  for (int c = 0; c < 6; ++c) {
    engine.set_traffic(c % 2 == 0 ? rtl::Traffic{} : random_traffic());
    // K = 400: 100 beats per column, so 256-word weight memories hold 2 passes of rows per
    // load. M is drawn above what one load holds: a lane kind runs at least M / total_lanes
    // passes, however the mix splits the rows among the kinds.
    const int K = uniform(300, P.act_depth * P.k_par);
    const int passes_per_load = P.weight_depth / ((K + P.k_par - 1) / P.k_par);
    const int M = uniform(passes_per_load * P.total_lanes() + 1, (passes_per_load + 2) * P.total_lanes());
    const MixedRowMatrix<> w = random_matrix<P>(M, K);
    check_all_pipelines(engine, w, random_activations<std::uint8_t>(K, uniform(1, 3), {0.02f, uniform(0, 255), 8}), counter);
  }
  REQUIRE(counter.multi_run == 6);
}

template <rtl::EngineParams P>
void deep_cases(rtl::RtlBackend<P>& engine, int count, int max_K, CaseCounter& counter) {
  for (int c = 0; c < count; ++c) {
    // Deeper than one activation bank (and, for b4, often beyond one chunk's accumulator
    // bound), ragged against K_PAR; M up to two passes of lanes.
    const int K = uniform(P.act_depth * P.k_par + 1, max_K);
    const int M = uniform(1, 2 * P.total_lanes());
    engine.set_traffic(random_traffic());
    const MixedRowMatrix<> w = random_matrix<P>(M, K);
    const int N = uniform(1, 3);
    check_with_random_activations(engine, w, N, counter);
  }
}

TEST_CASE("K deeper than an activation bank runs in K chunks summed on the host", "[cosim]") {
  CaseCounter counter;
  rtl::RtlBackend<rtl::engines::a8> a8(rtl::engines::make_a8());
  deep_cases(a8, 40, 1800, counter);
  rtl::RtlBackend<rtl::engines::b4> b4(rtl::engines::make_b4());
  deep_cases(b4, 40, 1200, counter);
  INFO("cases " << counter.cases << ", split " << counter.split << ", with stalls " << counter.stalled);
  REQUIRE(counter.split == 80);
  REQUIRE(counter.stalled > 10);
}

TEST_CASE("the backend's totals add up every call", "[cosim]") {
  rtl::RtlBackend<rtl::engines::a8> engine(rtl::engines::make_a8());
  rtl::RunStatistics sum;
  std::uint64_t macs = 0;
  for (int K : {40, 700, 9}) {
    const auto w = random_matrix<rtl::engines::a8>(17, K);
    const auto x = random_activations<std::uint8_t>(K, 2, {0.02f, 7, 8});
    Matrix<std::int32_t> y(17, 2);
    const rtl::RunStatistics s = engine.gemm(w, x.view(), OutputPipeline<>{}, OutputView<std::int32_t>::of(y));
    REQUIRE(y == reference::gemm(w, x.view(), OutputPipeline<>{}));
    sum.cycles += s.cycles;
    sum.runs += s.runs;
    sum.k_chunks += s.k_chunks;
    sum.host_output_calls += s.host_output_calls;
    macs += static_cast<std::uint64_t>(17 * K * 2);
  }
  const rtl::RunStatistics& t = engine.totals();
  REQUIRE(t.gemm_calls == 3);
  REQUIRE(t.cycles == sum.cycles);
  REQUIRE(t.runs == sum.runs);
  REQUIRE(t.k_chunks == sum.k_chunks);
  REQUIRE(t.host_output_calls == 1);
  // Utilization is useful MACs over lane slots; the merged value must say the same.
  const double lane_slots = static_cast<double>(rtl::engines::a8.total_lanes() * rtl::engines::a8.k_par) * static_cast<double>(t.cycles);
  REQUIRE(t.lane_utilization == Approx(static_cast<double>(macs) / lane_slots));
  engine.reset_totals();
  REQUIRE(engine.totals().gemm_calls == 0);
}

TEST_CASE("static mixes run on the engine that has their lanes", "[cosim]") {
  rtl::RtlBackend<rtl::engines::b4> b4(rtl::engines::make_b4());
  rtl::RtlBackend<rtl::engines::a8> a8(rtl::engines::make_a8());
  CaseCounter counter;
  for (int M : {1, 11, 20, 64}) {
    const int K = uniform(1, 80);
    RowAssignment a = assign_in_order<Mix60_35_5>(M);
    std::shuffle(a.begin(), a.end(), rng);
    std::vector<float> scales(a.size(), 0.01f);
    const auto w = MixedRowMatrix<Mix60_35_5>::from_codes(a, scales, random_codes(a, K));
    check_all_pipelines(b4, w, random_activations<std::uint8_t>(K, 2, {0.05f, uniform(0, 15), 4}), counter);
    using Msq = RowMix<Share<SP2<4>, 70>, Share<Fixed<4>, 30>>;
    RowAssignment b = assign_in_order<Msq>(M);
    const auto v = MixedRowMatrix<Msq>::from_codes(b, scales, random_codes(b, K));
    check_all_pipelines(a8, v, random_activations<std::int8_t>(K, 2, {0.02f, uniform(-128, 127), 8}), counter);
  }
  REQUIRE(counter.cases == 8);
}

TEST_CASE("extreme codes at the engine's accumulator limit", "[cosim]") {
  // b4 has 20-bit accumulators: Fixed-8 rows with 4-bit activations (zero point 0 or 15) reach
  // K * 127 * 15, which must stay <= 2^19 - 1: K = 275 is the largest depth.
  rtl::RtlBackend<rtl::engines::b4> engine(rtl::engines::make_b4());
  const int K = 275;
  REQUIRE(K * 127 * 15 <= (1 << 19) - 1);
  REQUIRE((K + 1) * 127 * 15 > (1 << 19) - 1);
  RowAssignment a(4, SchemeId{SchemeKind::fixed, 8});
  CodeMatrix codes(4, K);
  codes.row(0).setConstant(0x7F);  // +127
  codes.row(1).setConstant(0xFF);  // -127
  codes.row(2).setConstant(0x7F);
  codes.row(3).setConstant(0xFF);
  const auto w = MixedRowMatrix<>::from_codes(a, std::vector<float>(4, 1.0f), codes);
  for (int zp : {0, 15}) {
    Activations<std::uint8_t> x{Matrix<std::uint8_t>::Constant(K, 2, static_cast<std::uint8_t>(15 - zp)), {0.1f, zp, 4}};
    const auto expected = reference::gemm(w, x.view(), OutputPipeline<>{});
    REQUIRE(std::abs(expected(0, 0)) == K * 127 * 15);
    Matrix<std::int32_t> got(4, 2);
    REQUIRE(engine.gemm(w, x.view(), OutputPipeline<>{}, OutputView<std::int32_t>::of(got)).k_chunks == 1);
    REQUIRE(got == expected);
  }
  // One deeper and the engine's accumulators could overflow: K is split into two chunks the
  // 20-bit accumulators hold, and the host's int32 sum is the reference's.
  const auto deeper = MixedRowMatrix<>::from_codes(RowAssignment(1, SchemeId{SchemeKind::fixed, 8}), {1.0f},
                                                   CodeMatrix::Constant(1, K + 1, 0x7F));
  Activations<std::uint8_t> x{Matrix<std::uint8_t>::Constant(K + 1, 1, 15), {0.1f, 0, 4}};
  REQUIRE(rtl::RtlBackend<rtl::engines::b4>::max_chunk_depth(deeper, x.view()) <= K);
  Matrix<std::int32_t> deep_result(1, 1);
  const rtl::RunStatistics s = engine.gemm(deeper, x.view(), OutputPipeline<>{}, OutputView<std::int32_t>::of(deep_result));
  REQUIRE(deep_result(0, 0) == (K + 1) * 127 * 15);
  REQUIRE(s.k_chunks == 2);
  REQUIRE(s.host_output_calls == 1);
}

TEST_CASE("calls the engine cannot run are refused with rmsmp::Error", "[cosim]") {
  rtl::RtlBackend<rtl::engines::b4> b4(rtl::engines::make_b4());
  rtl::RtlBackend<rtl::engines::a8> a8(rtl::engines::make_a8());
  // SP2 rows on an engine without SP2 lanes (a run-time mix).
  RowAssignment only_sp2(3, SchemeId{SchemeKind::sp2, 4});
  const auto w = MixedRowMatrix<>::from_codes(only_sp2, std::vector<float>(3, 1.0f), random_codes(only_sp2, 10));
  const auto x4 = random_activations<std::uint8_t>(10, 2, {0.1f, 3, 4});
  REQUIRE_THROWS_WITH(b4.gemm(w, x4.view(), OutputPipeline<>{}), Catch::Contains("SP2 lanes"));
  // Activation width mismatch, both ways.
  const auto x8 = random_activations<std::uint8_t>(10, 2, {0.1f, 3, 8});
  const auto fixed = random_matrix<rtl::engines::b4>(5, 10);
  REQUIRE_THROWS_WITH(b4.gemm(fixed, x8.view(), OutputPipeline<>{}), Catch::Contains("4-bit activations"));
  REQUIRE_THROWS_WITH(a8.gemm(fixed, x4.view(), OutputPipeline<>{}), Catch::Contains("8-bit activations"));
  // The contract's own checks come first, as for every backend.
  REQUIRE_THROWS_AS(a8.gemm(fixed, random_activations<std::uint8_t>(9, 2, {0.1f, 3, 8}).view(), OutputPipeline<>{}), Error);
  // A simulator of another configuration.
  REQUIRE_THROWS_WITH(rtl::RtlBackend<rtl::engines::a8>(rtl::engines::make_b4()), Catch::Contains("simulator was built as"));
}

TEST_CASE("one small traced case (waveform with RMSMP_RTL_TRACE=ON and RMSMP_RTL_TRACE_FILE set)", "[cosim]") {
  rtl::RtlBackend<rtl::engines::a8> engine(rtl::engines::make_a8(), rtl::Traffic{0.3, 0.3, 7});
  CaseCounter counter;
  const auto w = random_matrix<rtl::engines::a8>(13, 9);
  check_case(engine, w, random_activations<std::uint8_t>(9, 2, {0.02f, 100, 8}), OutputPipeline<>{}, counter);
  REQUIRE(counter.cases == 1);
}

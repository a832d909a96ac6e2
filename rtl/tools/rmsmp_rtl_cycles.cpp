// rmsmp_rtl_cycles: the numbers in docs/rtl.md. Runs one layer through each verilated engine
// (measured cycles next to the cycle model, simulation speed), then prints the cycle model for
// layer shapes on a 60/35/5-proportioned array.
#include <ctime>
#include <cstdio>
#include <random>
#include <vector>

#include "rmsmp/rmsmp.hpp"
#include "rmsmp_rtl_engines.hpp"

using namespace rmsmp;

namespace {

std::mt19937 rng(7);

template <rtl::EngineParams P, ActivationValue T>
void measure(const char* name, rtl::RtlBackend<P>& engine, const DynamicRowMix& mix, int M, int K, int N) {
  const RowAssignment rows = [&] {
    RowAssignment a;
    const std::vector<int> counts = mix.row_counts(M);
    for (std::size_t i = 0; i < counts.size(); ++i) a.insert(a.end(), static_cast<std::size_t>(counts[i]), mix.scheme(i));
    return a;
  }();
  MixedRowMatrix<>::CodeMatrix codes(M, K);
  for (int r = 0; r < M; ++r)
    for (int k = 0; k < K; ++k)
      codes(r, k) = static_cast<std::uint8_t>(std::uniform_int_distribution<int>(0, (1 << rows[static_cast<std::size_t>(r)].bits) - 1)(rng));
  const auto w = MixedRowMatrix<>::from_codes(mix, rows, std::vector<float>(static_cast<std::size_t>(M), 0.01f), codes);
  Activations<T> x{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>(K, N), {0.1f, 0, P.act_bits}};
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) x.values(k, n) = static_cast<T>(std::uniform_int_distribution<int>(0, (1 << P.act_bits) - 1)(rng));
  Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic> y(M, N);
  // CPU time, not wall time: the machine is shared. Five calls, the last one's statistics.
  const std::clock_t start = std::clock();
  rtl::RunStatistics s;
  for (int repeat = 0; repeat < 5; ++repeat)
    s = engine.gemm(w, x.view(), OutputPipeline<>{}, OutputView<std::int32_t>::of(y));
  const double seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC / 5.0;
  const bool exact = y == reference::gemm(w, x.view(), OutputPipeline<>{});
  std::printf("| %s | %d x %d x %d | %llu | %llu | %llu | %d | %.2f | %.1f | %s |\n", name, M, K, N,
              static_cast<unsigned long long>(s.cycles), static_cast<unsigned long long>(s.predicted_cycles),
              static_cast<unsigned long long>(s.load_cycles), s.runs, s.lane_utilization,
              static_cast<double>(s.cycles + s.load_cycles) / seconds / 1e6, exact ? "yes" : "NO");
}

}  // namespace

int main() {
  std::printf("Verilated engines, one layer each, no stalls (cycles = streaming; load = weight/parameter writes)\n\n");
  std::printf("| engine | M x K x N | cycles | model | load cycles | loads | lane utilization | sim Mcycles per CPU second | equals reference |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  rtl::RtlBackend<rtl::engines::a8> a8(rtl::engines::make_a8());
  rtl::RtlBackend<rtl::engines::b4> b4(rtl::engines::make_b4());
  const DynamicRowMix all4({{PoT<4>::id, 34}, {SP2<4>::id, 25}, {Fixed<4>::id, 25}, {Fixed<8>::id, 16}});
  const DynamicRowMix rmsmp_mix = DynamicRowMix::from<Mix60_35_5>();
  measure<rtl::engines::a8, std::uint8_t>("a8", a8, all4, 48, 256, 16);
  measure<rtl::engines::b4, std::uint8_t>("b4", b4, rmsmp_mix, 44, 256, 16);

  // The model for an array proportioned like the 60/35/5 mix: 12 PoT, 7 Fixed-4, 1 Fixed-8
  // lanes, K_PAR 4, 4-bit activations (the engine synthesized by rtl_resources).
  constexpr rtl::EngineParams array{{12, 0, 7, 1}, 4, 4, 32, 1 << 20, 1 << 20, 1 << 20};  // memories that hold any of these layers
  std::printf("\nCycle model, 12 PoT / 7 Fixed-4 / 1 Fixed-8 lanes, K_PAR 4, 60/35/5 rows\n\n");
  std::printf("| layer (M x K x N) | rows PoT/F4/F8 | cycles | MACs per cycle | of peak (80) |\n|---|---|---|---|---|\n");
  struct Shape { const char* name; int M, K, N; };
  for (const Shape& s : {Shape{"conv 3x3 64->64, 56x56", 64, 576, 3136}, Shape{"conv 3x3 256->256, 14x14", 256, 2304, 196},
                         Shape{"conv 3x3 512->512, 7x7", 512, 4608, 49}, Shape{"fc 512->1000, batch 1", 1000, 512, 1},
                         Shape{"fc 512->1000, batch 64", 1000, 512, 64}}) {
    const auto counts = Mix60_35_5::row_counts(s.M);
    const std::array<int, 4> rows{counts[0], 0, counts[1], counts[2]};
    const std::uint64_t cycles = rtl::predicted_cycles(array, rows, s.K, s.N);
    const double macs = static_cast<double>(s.M) * s.K * s.N;
    std::printf("| %s (%d x %d x %d) | %d/%d/%d | %llu | %.1f | %.0f%% |\n", s.name, s.M, s.K, s.N, counts[0], counts[1],
                counts[2], static_cast<unsigned long long>(cycles), macs / static_cast<double>(cycles),
                100.0 * macs / static_cast<double>(cycles) / 80.0);
  }
  return 0;
}

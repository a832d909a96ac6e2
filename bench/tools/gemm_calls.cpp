// rmsmp_gemm_calls M K N calls [threads [rows [min_work]]]: `calls` CpuBackend gemm calls (uint8
// activations, raw int32 output) on one M x K x N shape, for counting with perf:
//
//   perf stat -e instructions:u,cycles:u ./rmsmp_gemm_calls 512 4608 196 20
//
// rows: `mix` (default: 60/35/5 PoT-4 / Fixed-4 / Fixed-8), or every row `pot4`, `fixed4` or
// `fixed8`, to compare the kernels' cost per scheme group (docs/benchmarks.md). min_work:
// cpu::Threads::min_work_per_thread (default: the library's), 0 to let every call use its
// threads however small.
// Run once with calls = 0 and subtract: that is the setup (random codes, packing). Instruction
// counts do not depend on what else runs on the machine, so they compare two versions of the
// kernels where timings on a shared machine cannot.
// It also prints the fastest and the median wall time of one call: on a shared machine the
// fastest of many calls is the least disturbed (other tenants only ever add time).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/rmsmp.hpp"

namespace {

template <class Mix>
int run(const rmsmp::RowAssignment& assignment, int K, int N, int calls, rmsmp::cpu::Threads threads) {
  using namespace rmsmp;
  const auto M = static_cast<int>(assignment.size());
  std::mt19937 rng(1);
  typename MixedRowMatrix<Mix>::CodeMatrix codes(M, K);
  for (int r = 0; r < M; ++r) {
    const auto mask = static_cast<std::uint32_t>((1 << assignment[static_cast<std::size_t>(r)].bits) - 1);
    for (int k = 0; k < K; ++k) codes(r, k) = static_cast<std::uint8_t>(rng() & mask);
  }
  const auto matrix = MixedRowMatrix<Mix>::from_codes(assignment, std::vector<float>(static_cast<std::size_t>(M), 0.01f), codes);
  Activations<std::uint8_t> x{Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>(K, N), {0.02f, 3, 8}};
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) x.values(k, n) = static_cast<std::uint8_t>(rng() & 0xFF);
  const CpuBackend<> backend(threads);
  const auto prepared = backend.prepare(matrix);
  Eigen::MatrixXi y(M, N);
  long long checksum = 0;
  std::vector<double> call_ms;
  for (int i = 0; i < calls; ++i) {
    const auto start = std::chrono::steady_clock::now();
    backend.gemm(prepared, x.view(), OutputPipeline<>{}, OutputView<int>::of(y));
    call_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    checksum += y(i % M, i % N);
  }
  std::printf("%s, %d calls, checksum %lld\n", std::string(cpu::arch_name(backend.arch())).c_str(), calls, checksum);
  if (!call_ms.empty()) {
    std::sort(call_ms.begin(), call_ms.end());
    std::printf("per call: fastest %.3f ms, median %.3f ms\n", call_ms.front(), call_ms[call_ms.size() / 2]);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rmsmp;
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s M K N calls [threads [mix|pot4|fixed4|fixed8 [min_work]]]\n", argv[0]);
    return 2;
  }
  const int M = std::atoi(argv[1]), K = std::atoi(argv[2]), N = std::atoi(argv[3]), calls = std::atoi(argv[4]);
  cpu::Threads threads{argc > 5 ? std::atoi(argv[5]) : 1};
  const std::string rows = argc > 6 ? argv[6] : "mix";
  if (argc > 7) threads.min_work_per_thread = std::strtoull(argv[7], nullptr, 10);
  if (M < 0 || K < 1 || N < 0 || calls < 0 || threads.count < 1) {
    std::fprintf(stderr, "M, N and calls must be at least 0, K and threads at least 1\n");
    return 2;
  }
  if (rows == "mix") return run<Mix60_35_5>(assign_in_order<Mix60_35_5>(M), K, N, calls, threads);
  const auto M_rows = static_cast<std::size_t>(M);
  if (rows == "pot4") return run<DynamicRowMix>(RowAssignment(M_rows, PoT<4>::id), K, N, calls, threads);
  if (rows == "fixed4") return run<DynamicRowMix>(RowAssignment(M_rows, Fixed<4>::id), K, N, calls, threads);
  if (rows == "fixed8") return run<DynamicRowMix>(RowAssignment(M_rows, Fixed<8>::id), K, N, calls, threads);
  std::fprintf(stderr, "unknown rows '%s': mix, pot4, fixed4 or fixed8\n", rows.c_str());
  return 2;
}

// rmsmp_gemm_calls M K N calls [threads]: `calls` CpuBackend gemm calls (60/35/5 mix, uint8
// activations, raw int32 output) on one M x K x N shape, for counting with perf:
//
//   perf stat -e instructions:u,cycles:u ./rmsmp_gemm_calls 512 4608 196 20
//
// Run once with calls = 0 and subtract: that is the setup (random codes, packing). Instruction
// counts do not depend on what else runs on the machine, so they compare two versions of the
// kernels where timings on a shared machine cannot.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/rmsmp.hpp"

int main(int argc, char** argv) {
  using namespace rmsmp;
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s M K N calls [threads]\n", argv[0]);
    return 2;
  }
  const int M = std::atoi(argv[1]), K = std::atoi(argv[2]), N = std::atoi(argv[3]), calls = std::atoi(argv[4]);
  const int threads = argc > 5 ? std::atoi(argv[5]) : 1;
  std::mt19937 rng(1);
  const RowAssignment assignment = assign_in_order<Mix60_35_5>(M);
  MixedRowMatrix<Mix60_35_5>::CodeMatrix codes(M, K);
  for (int r = 0; r < M; ++r) {
    const auto mask = static_cast<std::uint32_t>((1 << assignment[static_cast<std::size_t>(r)].bits) - 1);
    for (int k = 0; k < K; ++k) codes(r, k) = static_cast<std::uint8_t>(rng() & mask);
  }
  const auto matrix = MixedRowMatrix<Mix60_35_5>::from_codes(assignment, std::vector<float>(static_cast<std::size_t>(M), 0.01f), codes);
  Activations<std::uint8_t> x{Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>(K, N), {0.02f, 3, 8}};
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) x.values(k, n) = static_cast<std::uint8_t>(rng() & 0xFF);
  const CpuBackend<> backend(cpu::Threads{threads});
  const auto prepared = backend.prepare(matrix);
  Eigen::MatrixXi y(M, N);
  long long checksum = 0;
  for (int i = 0; i < calls; ++i) {
    backend.gemm(prepared, x.view(), OutputPipeline<>{}, OutputView<int>::of(y));
    checksum += y(i % M, i % N);
  }
  std::printf("%s, %d calls, checksum %lld\n", std::string(cpu::arch_name(backend.arch())).c_str(), calls, checksum);
  return 0;
}

// rmsmp_bench: GEMV/GEMM microbenchmarks. Names are BM_<op>/<impl>/<shape> so a script can
// pair implementations measured side by side in one run. Counters: ops/s (2*M*K*N per call)
// and weight_bytes/s (bytes of packed weights, row sums and row indices read per call).
//
// The weights are random codes (quantizing a 4096 x 4096 layer is not what is measured here).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "rmsmp/rmsmp.hpp"

namespace {

using namespace rmsmp;

struct Shape {
  int M, K, N;
  std::string name() const { return std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N); }
};

template <class Mix>
MixedRowMatrix<Mix> random_matrix(int M, int K, std::mt19937& rng) {
  const RowAssignment assignment = assign_in_order<Mix>(M);
  typename MixedRowMatrix<Mix>::CodeMatrix codes(M, K);
  for (int r = 0; r < M; ++r) {
    const int code_count = 1 << assignment[static_cast<std::size_t>(r)].bits;
    std::uniform_int_distribution<int> code(0, code_count - 1);
    for (int k = 0; k < K; ++k) codes(r, k) = static_cast<std::uint8_t>(code(rng));
  }
  return MixedRowMatrix<Mix>::from_codes(assignment, std::vector<float>(static_cast<std::size_t>(M), 0.01f), codes);
}

Activations<std::uint8_t> random_activations(int K, int N, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(0, 255);
  Activations<std::uint8_t> x{Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>(K, N), {0.02f, 3, 8}};
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) x.values(k, n) = static_cast<std::uint8_t>(value(rng));
  return x;
}

void set_counters(benchmark::State& state, const Shape& s, double weight_bytes) {
  const double ops = 2.0 * s.M * s.K * s.N;
  state.counters["ops/s"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["weight_bytes/s"] = benchmark::Counter(weight_bytes, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Mix>
void bm_cpu(benchmark::State& state, Shape s) {
  std::mt19937 rng(1);
  const auto matrix = random_matrix<Mix>(s.M, s.K, rng);
  const auto x = random_activations(s.K, s.N, rng);
  const CpuBackend<> backend;
  const auto prepared = backend.prepare(matrix);
  Eigen::MatrixXi y(s.M, s.N);
  for (auto _ : state) {
    backend.gemm(prepared, x.view(), OutputPipeline<>{}, OutputView<int>::of(y));
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, s, static_cast<double>(prepared.packed().storage_bytes()));
  state.SetLabel(std::string(cpu::arch_name(backend.arch())));
}

void bm_reference(benchmark::State& state, Shape s) {
  std::mt19937 rng(1);
  const auto matrix = random_matrix<Mix60_35_5>(s.M, s.K, rng);
  const auto x = random_activations(s.K, s.N, rng);
  Eigen::MatrixXi y(s.M, s.N);
  for (auto _ : state) {
    reference::gemm(matrix, x.view(), OutputPipeline<>{}, OutputView<int>::of(y));
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, s, static_cast<double>(matrix.storage_bytes()));
}

void bm_eigen(benchmark::State& state, Shape s) {
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(s.M, s.K);
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(s.K, s.N);
  Eigen::MatrixXf y(s.M, s.N);
  for (auto _ : state) {
    y.noalias() = w * x;
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, s, 4.0 * s.M * s.K);
}

using MixFixed4 = RowMix<Share<Fixed<4>, 100>>;
using MixFixed8 = RowMix<Share<Fixed<8>, 100>>;

const bool registered = [] {
  // Eigen's own threads would blur the single-thread comparison.
  Eigen::setNbThreads(1);
  const Shape shapes[] = {{4096, 4096, 1}, {4096, 4096, 64}, {512, 4608, 196}};
  for (const Shape& s : shapes) {
    const std::string op = s.N == 1 ? "BM_gemv" : "BM_gemm";
    benchmark::RegisterBenchmark((op + "/rmsmp_mix/" + s.name()).c_str(), bm_cpu<Mix60_35_5>, s)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((op + "/rmsmp_fixed4/" + s.name()).c_str(), bm_cpu<MixFixed4>, s)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((op + "/rmsmp_fixed8/" + s.name()).c_str(), bm_cpu<MixFixed8>, s)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((op + "/eigen_f32/" + s.name()).c_str(), bm_eigen, s)->Unit(benchmark::kMicrosecond);
    if (s.N == 1)  // the scalar oracle is too slow to time on the large GEMMs
      benchmark::RegisterBenchmark((op + "/reference/" + s.name()).c_str(), bm_reference, s)->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace

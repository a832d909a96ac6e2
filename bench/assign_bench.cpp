// rmsmp_assign_bench: post-training quantization of one layer (quantize_layer) on one core.
//
// The target case: a 4096 x 4096 layer, 512 calibration samples, the 60/35/5 mix,
// the optimal rule and the Hessian-weighted scale search, with and without error compensation
// (targets: under 3 s without, under 30 s with). The phases are also timed on their own.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <memory>
#include <random>
#include <string>

#include "rmsmp/rmsmp.hpp"

namespace {

struct Layer {
  Eigen::MatrixXf w, x;
};

/// Gaussian and Laplace rows of varied magnitude; inputs with correlated, partly non-negative
/// channels (a rank-256 mixing plus independent noise), like the outputs of a previous layer.
const Layer& layer(int rows, int depth, int samples) {
  static std::unique_ptr<Layer> cached;
  static std::string key;
  const std::string want = std::to_string(rows) + "x" + std::to_string(depth) + "x" + std::to_string(samples);
  if (cached && key == want) return *cached;
  std::mt19937 rng(2024);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::exponential_distribution<float> expo(1.0f);
  std::bernoulli_distribution sign(0.5);
  std::uniform_real_distribution<float> magnitude(0.005f, 0.05f);
  cached = std::make_unique<Layer>();
  cached->w.resize(rows, depth);
  for (int r = 0; r < rows; ++r) {
    const float m = magnitude(rng);
    for (int k = 0; k < depth; ++k)
      cached->w(r, k) = m * (r % 2 == 0 ? normal(rng) : (sign(rng) ? 1.0f : -1.0f) * expo(rng));
  }
  const int rank = 256;
  Eigen::MatrixXf mixing(depth, rank), z(rank, samples), noise(depth, samples);
  for (Eigen::Index i = 0; i < mixing.size(); ++i) mixing.data()[i] = normal(rng);
  for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
  for (Eigen::Index i = 0; i < noise.size(); ++i) noise.data()[i] = normal(rng);
  cached->x = mixing * z / 16.0f + noise;
  cached->x.topRows(depth / 2) = cached->x.topRows(depth / 2).cwiseMax(0.0f);
  key = want;
  return *cached;
}

void bm_quantize_layer(benchmark::State& state, bool compensate) {
  const Layer& l = layer(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), static_cast<int>(state.range(2)));
  rmsmp::LayerQuantizerOptions options;
  options.compensate = compensate;
  double output_error = 0.0;
  for (auto _ : state) {
    const auto q = rmsmp::quantize_layer<rmsmp::Mix60_35_5>(l.w, l.x, options);
    output_error = q.report.output_error;
    benchmark::DoNotOptimize(q.matrix.rows());
  }
  // Relative to the mean squared output of the float layer (not timed).
  const double energy = (l.w * l.x).squaredNorm() / static_cast<double>(l.x.cols());
  state.counters["rel_output_error"] = output_error / energy;
}

void bm_layer_hessian(benchmark::State& state) {
  const Layer& l = layer(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), static_cast<int>(state.range(2)));
  for (auto _ : state) {
    rmsmp::LayerHessian h(static_cast<int>(l.x.rows()));
    h.add_samples(l.x);
    benchmark::DoNotOptimize(h.matrix()(0, 0));
  }
}

void bm_compensated_codes(benchmark::State& state) {
  const Layer& l = layer(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), static_cast<int>(state.range(2)));
  const auto plain = rmsmp::quantize_layer<rmsmp::Mix60_35_5>(l.w, l.x);
  rmsmp::LayerHessian h(static_cast<int>(l.x.rows()));
  h.add_samples(l.x);
  const Eigen::MatrixXd hessian = h.matrix();
  for (auto _ : state) {
    const auto codes = rmsmp::compensated_codes(l.w, hessian, plain.report.assignment, plain.report.scales);
    benchmark::DoNotOptimize(codes(0, 0));
  }
}

/// One of the plain path's three cost products, sum_n (D X)_in^2 for a 4096 x 4096 error matrix,
/// on the AVX2 kernel and on Eigen's product (the generic path), in blocks of 96 rows as
/// quantize_layer hands them over.
void bm_cost_product(benchmark::State& state, rmsmp::cpu::ArchId arch) {
  if (!rmsmp::cpu::can_run(arch)) {
    state.SkipWithError("this machine cannot run that path");
    return;
  }
  const Layer& l = layer(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), static_cast<int>(state.range(2)));
  const Eigen::Ref<const Eigen::MatrixXf> samples(l.x);
  const rmsmp::detail::SampleEnergy energy(samples, arch);
  const rmsmp::detail::RowMajorMatrixXf d = l.w * 0.01f;
  constexpr Eigen::Index block = 96;
  for (auto _ : state) {
    double sum = 0.0;
    for (Eigen::Index first = 0; first < d.rows(); first += block)
      sum += energy(d.middleRows(first, std::min(block, d.rows() - first))).sum();
    benchmark::DoNotOptimize(sum);
  }
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(d.rows()) * static_cast<double>(d.cols()) *
                                                    static_cast<double>(l.x.cols()) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

#define RMSMP_ASSIGN_SHAPES Args({4096, 4096, 512})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1)

BENCHMARK_CAPTURE(bm_quantize_layer, plain, false)->RMSMP_ASSIGN_SHAPES;
BENCHMARK_CAPTURE(bm_quantize_layer, compensated, true)->RMSMP_ASSIGN_SHAPES;
BENCHMARK(bm_layer_hessian)->RMSMP_ASSIGN_SHAPES;
BENCHMARK(bm_compensated_codes)->RMSMP_ASSIGN_SHAPES;
BENCHMARK_CAPTURE(bm_cost_product, avx2, rmsmp::cpu::ArchId::avx2)->RMSMP_ASSIGN_SHAPES;
BENCHMARK_CAPTURE(bm_cost_product, generic, rmsmp::cpu::ArchId::generic)->RMSMP_ASSIGN_SHAPES;

}  // namespace

int main(int argc, char** argv) {
  Eigen::setNbThreads(1);  // one core, as the target says
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

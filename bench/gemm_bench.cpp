// rmsmp_bench: GEMV/GEMM microbenchmarks. Names are BM_<op>/<impl>/<shape> so a script
// (bench/ratios.py) can pair implementations measured side by side in one run. Counters:
// ops/s (2*M*K*N per call, the same for every implementation, padding not counted) and
// weight_bytes/s (bytes of weights read per call: packed weights, row sums and row indices for
// rmsmp, M*K int8 for oneDNN, M*K float for Eigen).
//
// Implementations (all single-threaded, see main()):
//   rmsmp_mix     CpuBackend, Mix60_35_5 (PoT-4 / Fixed-4 / Fixed-8 rows)
//   rmsmp_fixed4  CpuBackend, every row Fixed-4
//   rmsmp_fixed8  CpuBackend, every row Fixed-8
//   rmsmp_mix_by_scheme, rmsmp_mix_by_row
//                 rmsmp_mix with the lane tiles packed in that cpu::LaneOrder instead of the
//                 default for the shape (only where the best kernel reads lane tiles)
//   reference     reference::gemm (scalar oracle), only GEMV hot and shapes of <= 40 Mops
//   eigen_f32     Eigen float W * X
//   onednn_s8     oneDNN int8 matmul, u8 activations x s8 weights -> s32 (onednn_bench.cpp)
//   onednn_s8_ba  GEMV only: the same with the weight layout forced to ba (see onednn_bench.cpp)
// rmsmp runs with OutputPipeline<> (raw int32 accumulators, the activation zero point already
// subtracted), like oneDNN's s32 destination with a source zero point: same work, same output.
//
// The weights are random codes (quantizing the layer is not what is measured here).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common.hpp"
#include "rmsmp/rmsmp.hpp"

#if RMSMP_BENCH_HAVE_DNNL
#include <omp.h>

#include "oneapi/dnnl/dnnl.hpp"
#endif

namespace rmsmp_bench {
namespace {

using namespace rmsmp;

template <class Mix>
std::unique_ptr<MixedRowMatrix<Mix>> random_matrix(int M, int K, std::mt19937& rng) {
  const RowAssignment assignment = assign_in_order<Mix>(M);
  typename MixedRowMatrix<Mix>::CodeMatrix codes(M, K);
  for (int r = 0; r < M; ++r) {
    const auto mask = static_cast<std::uint32_t>((1 << assignment[static_cast<std::size_t>(r)].bits) - 1);
    for (int k = 0; k < K; ++k) codes(r, k) = static_cast<std::uint8_t>(rng() & mask);
  }
  return std::make_unique<MixedRowMatrix<Mix>>(MixedRowMatrix<Mix>::from_codes(
      assignment, std::vector<float>(static_cast<std::size_t>(M), 0.01f), codes));
}

Activations<std::uint8_t> random_activations(int K, int N, std::mt19937& rng) {
  Activations<std::uint8_t> x{Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>(K, N), {0.02f, 3, 8}};
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) x.values(k, n) = static_cast<std::uint8_t>(rng() & 0xFF);
  return x;
}

template <class Mix>
struct RmsmpSetup {
  CpuBackend<> backend;
  std::vector<std::unique_ptr<MixedRowMatrix<Mix>>> matrices;  // must outlive `prepared`
  std::vector<std::unique_ptr<cpu::PreparedMatrix<Mix>>> prepared;
  Activations<std::uint8_t> x;
  double bytes_per_copy = 0;
};

template <class Mix>
std::unique_ptr<RmsmpSetup<Mix>> make_rmsmp_setup(const Case& c, std::optional<cpu::LaneOrder> order) {
  std::mt19937 rng(1);
  auto setup = std::make_unique<RmsmpSetup<Mix>>(
      RmsmpSetup<Mix>{CpuBackend<>(cpu::Threads{c.threads}), {}, {}, random_activations(c.s.K, c.s.N, rng), 0});
  auto add_copy = [&] {
    setup->matrices.push_back(random_matrix<Mix>(c.s.M, c.s.K, rng));
    const MixedRowMatrix<Mix>& m = *setup->matrices.back();
    setup->prepared.push_back(
        order ? std::make_unique<cpu::PreparedMatrix<Mix>>(m, cpu::layout_for(setup->backend.arch()), *order)
              : std::make_unique<cpu::PreparedMatrix<Mix>>(setup->backend.prepare(m)));
  };
  add_copy();
  setup->bytes_per_copy = static_cast<double>(setup->prepared.front()->packed().storage_bytes());
  const int copies = c.cold ? cold_copies(static_cast<std::size_t>(setup->bytes_per_copy)) : 1;
  while (static_cast<int>(setup->prepared.size()) < copies) add_copy();
  Eigen::MatrixXi y(c.s.M, c.s.N);  // one untimed call per copy (cold_copies)
  for (const auto& w : setup->prepared) setup->backend.gemm(*w, setup->x.view(), OutputPipeline<>{}, OutputView<int>::of(y));
  return setup;
}

template <class Mix>
void bm_cpu_in(benchmark::State& state, const Case& c, std::optional<cpu::LaneOrder> order) {
  const std::string key = setup_key(c) + (order ? "/" + std::string(cpu::lane_order_name(*order)) : "");
  const auto& setup = one_slot<RmsmpSetup<Mix>>(key, [&] { return make_rmsmp_setup<Mix>(c, order); });
  Eigen::MatrixXi y(c.s.M, c.s.N);
  const std::size_t copies = setup.prepared.size();
  std::size_t i = 0;
  for (auto _ : state) {
    setup.backend.gemm(*setup.prepared[i], setup.x.view(), OutputPipeline<>{}, OutputView<int>::of(y));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    if (++i == copies) i = 0;
  }
  set_counters(state, c.s, setup.bytes_per_copy);
  std::string label(cpu::arch_name(setup.backend.arch()));
  if (c.threads > 1) label.append(" threads=").append(std::to_string(c.threads));
  if (c.cold) label.append(" ").append(copies_label(static_cast<int>(copies), setup.bytes_per_copy * static_cast<double>(copies)));
  state.SetLabel(label);
}

template <class Mix>
void bm_cpu(benchmark::State& state, Case c) {
  bm_cpu_in<Mix>(state, c, std::nullopt);
}

template <cpu::LaneOrder Order>
void bm_cpu_ordered(benchmark::State& state, Case c) {
  bm_cpu_in<Mix60_35_5>(state, c, Order);
}

void bm_reference(benchmark::State& state, Case c) {
  std::mt19937 rng(1);
  const auto matrix = random_matrix<Mix60_35_5>(c.s.M, c.s.K, rng);
  const auto x = random_activations(c.s.K, c.s.N, rng);
  Eigen::MatrixXi y(c.s.M, c.s.N);
  for (auto _ : state) {
    reference::gemm(*matrix, x.view(), OutputPipeline<>{}, OutputView<int>::of(y));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, c.s, static_cast<double>(matrix->storage_bytes()));
}

struct EigenSetup {
  std::vector<Eigen::MatrixXf> w;
  Eigen::MatrixXf x;
};

void bm_eigen(benchmark::State& state, Case c) {
  const auto& setup = one_slot<EigenSetup>(setup_key(c), [&] {
    auto e = std::make_unique<EigenSetup>();
    const double bytes = 4.0 * c.s.M * c.s.K;
    const int copies = c.cold ? cold_copies(static_cast<std::size_t>(bytes)) : 1;
    for (int i = 0; i < copies; ++i) e->w.push_back(Eigen::MatrixXf::Random(c.s.M, c.s.K));
    e->x = Eigen::MatrixXf::Random(c.s.K, c.s.N);
    Eigen::MatrixXf y(c.s.M, c.s.N);  // one untimed call per copy (cold_copies)
    for (const auto& w : e->w) y.noalias() = w * e->x;
    return e;
  });
  Eigen::MatrixXf y(c.s.M, c.s.N);
  const std::size_t copies = setup.w.size();
  std::size_t i = 0;
  for (auto _ : state) {
    y.noalias() = setup.w[i] * setup.x;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    if (++i == copies) i = 0;
  }
  const double bytes = 4.0 * c.s.M * c.s.K;
  set_counters(state, c.s, bytes);
  if (c.cold) state.SetLabel(copies_label(static_cast<int>(copies), bytes * static_cast<double>(copies)));
}

using MixFixed4 = RowMix<Share<Fixed<4>, 100>>;
using MixFixed8 = RowMix<Share<Fixed<8>, 100>>;

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"BM_gemv", "4096x4096x1_hot", {4096, 4096, 1}, false});
  out.push_back({"BM_gemv", "4096x4096x1_cold", {4096, 4096, 1}, true});
  struct Named {
    const char* prefix;
    Shape s;
  };
  // The ResNet-18 convolutions for a 224 x 224 image, batch 1, as GEMMs (im2col):
  // M = output channels, K = input channels * kh * kw, N = output H * W.
  const Named gemms[] = {
      {"", {4096, 4096, 64}},
      {"", {512, 4608, 196}},
      {"resnet18_conv1_", {64, 147, 12544}},         // 7x7 s2, 3 -> 64, 112 x 112
      {"resnet18_layer1_3x3_", {64, 576, 3136}},     // 3x3, 64 -> 64, 56 x 56
      {"resnet18_layer2_3x3s2_", {128, 576, 784}},   // 3x3 s2, 64 -> 128, 28 x 28
      {"resnet18_layer2_3x3_", {128, 1152, 784}},    // 3x3, 128 -> 128
      {"resnet18_layer2_down_", {128, 64, 784}},     // 1x1 s2 downsample, 64 -> 128
      {"resnet18_layer3_3x3s2_", {256, 1152, 196}},  // 3x3 s2, 128 -> 256, 14 x 14
      {"resnet18_layer3_3x3_", {256, 2304, 196}},    // 3x3, 256 -> 256
      {"resnet18_layer3_down_", {256, 128, 196}},    // 1x1 s2 downsample, 128 -> 256
      {"resnet18_layer4_3x3s2_", {512, 2304, 49}},   // 3x3 s2, 256 -> 512, 7 x 7
      {"resnet18_layer4_3x3_", {512, 4608, 49}},     // 3x3, 512 -> 512
      {"resnet18_layer4_down_", {512, 256, 49}},     // 1x1 s2 downsample, 256 -> 512
  };
  std::set<std::tuple<int, int, int>> seen;
  for (const Named& g : gemms)
    if (seen.insert({g.s.M, g.s.K, g.s.N}).second) out.push_back({"BM_gemm", g.prefix + g.s.dims(), g.s, false});
  return out;
}

void register_all() {
  register_stream_read();
  for (const Case& c : cases()) {
    auto reg = [&](const char* impl, void (*fn)(benchmark::State&, Case)) {
      // Real time, not CPU time: a multi-threaded call's work is not all on the timing thread.
      benchmark::RegisterBenchmark((c.op + "/" + impl + "/" + c.name).c_str(), fn, c)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    };
    reg("rmsmp_mix", bm_cpu<Mix60_35_5>);
    reg("rmsmp_fixed4", bm_cpu<MixFixed4>);
    reg("rmsmp_fixed8", bm_cpu<MixFixed8>);
    if (cpu::layout_for(cpu::best_available_arch()) == cpu::WeightLayout::lane_tiles) {
      reg("rmsmp_mix_by_scheme", bm_cpu_ordered<cpu::LaneOrder::by_scheme>);
      reg("rmsmp_mix_by_row", bm_cpu_ordered<cpu::LaneOrder::by_row>);
    }
    // The scalar oracle takes ~1 ns per multiply-add: time it only where a call stays short
    // (GEMV hot and the 1x1 downsample layers); the large GEMMs would take seconds per run.
    if (!c.cold && c.s.ops() <= 40e6) reg("reference", bm_reference);
    reg("eigen_f32", bm_eigen);
#if RMSMP_BENCH_HAVE_DNNL
    reg("onednn_s8", bm_onednn);
    if (c.op == "BM_gemv") reg("onednn_s8_ba", bm_onednn_ba);
#endif
    // The scaling target: 2 threads on the two large GEMMs and the cold GEMV, next to
    // 1 thread.
    if (c.name == "4096x4096x64" || c.name == "512x4608x196" || c.name == "4096x4096x1_cold") {
      Case two = c;
      two.threads = 2;
      two.name += "_threads2";
      benchmark::RegisterBenchmark((two.op + "/rmsmp_mix/" + two.name).c_str(), bm_cpu<Mix60_35_5>, two)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace rmsmp_bench

int main(int argc, char** argv) {
  // One thread per library, so that every implementation is measured single-threaded like
  // rmsmp's CpuBackend and no two thread pools compete for the 2 cores. Debian's oneDNN uses
  // the OpenMP runtime (DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP, libgomp): set its thread count
  // before the first oneDNN call. Eigen is single-threaded unless compiled with OpenMP; pin it
  // anyway (this file is compiled with -fopenmp when oneDNN is found).
#if RMSMP_BENCH_HAVE_DNNL
  omp_set_num_threads(1);
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                            std::to_string(v->patch) + " (OpenMP, 1 thread)");
#endif
  Eigen::setNbThreads(1);
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::AddCustomContext("llc_bytes", std::to_string(rmsmp_bench::last_level_cache_bytes()));
  rmsmp_bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// Shared pieces of rmsmp_bench: the benchmark cases, random data, counters, the cache-size
// query for the cold GEMV runs and a one-slot cache for the (expensive) setup.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

namespace rmsmp_bench {

/// Y[M x N] = W[M x K] * X[K x N]; every implementation computes this and counts 2*M*K*N ops.
struct Shape {
  int M, K, N;
  std::string dims() const { return std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N); }
  double ops() const { return 2.0 * M * K * N; }
};

/// One benchmarked problem: BM_<op>/<impl>/<name>.
struct Case {
  std::string op;    // "BM_gemv" or "BM_gemm"
  std::string name;  // shape part of the benchmark name, e.g. "4096x4096x1_hot"
  Shape s;
  bool cold = false;  // rotate through copies of the weights that do not fit in the last-level cache
  int threads = 1;    // threads of rmsmp's CpuBackend (the peers always run on one)
};

inline void set_counters(benchmark::State& state, const Shape& s, double weight_bytes) {
  state.counters["ops/s"] = benchmark::Counter(s.ops(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["weight_bytes/s"] = benchmark::Counter(weight_bytes, benchmark::Counter::kIsIterationInvariantRate);
}

/// Last-level cache size in bytes: benchmark's CPUInfo (sysfs), else sysconf, else 64 MiB.
/// On this KVM guest sysfs reports the 32 MiB L3 of one CCD while sysconf reports 256 MiB
/// (the whole package); a core only caches in its CCD's L3, so CPUInfo is asked first.
inline std::size_t last_level_cache_bytes() {
  std::size_t best = 0;
  int best_level = 0;
  for (const auto& c : benchmark::CPUInfo::Get().caches)
    if (c.type != "Instruction" && c.level >= best_level && c.size > 0) {
      best_level = c.level;
      best = static_cast<std::size_t>(c.size);
    }
  if (best_level >= 3) return best;
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0) return static_cast<std::size_t>(l3);
  return std::size_t{64} << 20;
}

/// How many copies of `bytes_per_copy` weights the cold runs rotate through: together at
/// least twice the last-level cache (so a cyclic walk misses in it every time), at least 2.
/// Every setup reads each copy once (one untimed call) before the timing starts: on a virtual
/// machine the first read of freshly written memory can be 10 times slower than later ones
/// (rmsmp_fixed4's cold GEMV on the Zen 5 guest: 6.95 ms per call over the first 31 calls,
/// 0.78 ms over 890), and "cold" means "not in any cache", not "never read".
inline int cold_copies(std::size_t bytes_per_copy) {
  const std::size_t target = 2 * last_level_cache_bytes();
  const std::size_t n = (target + bytes_per_copy - 1) / std::max<std::size_t>(bytes_per_copy, 1);
  return static_cast<int>(std::max<std::size_t>(n, 2));
}

inline std::string copies_label(int copies, double total_bytes) {
  return "copies=" + std::to_string(copies) + " (" + std::to_string(static_cast<long long>(total_bytes / (1 << 20))) +
         " MiB)";
}

/// Benchmark calls each function several times while it searches for an iteration count; the
/// setup (random weights, packing, copies for the cold runs) is done once per benchmark and
/// kept in one slot per type, released when the next benchmark of that type needs the slot.
template <class T>
const T& one_slot(const std::string& key, const std::function<std::unique_ptr<T>()>& make) {
  static std::string slot_key;
  static std::unique_ptr<T> slot;
  if (!slot || slot_key != key) {
    slot.reset();
    slot = make();
    slot_key = key;
  }
  return *slot;
}

inline std::string setup_key(const Case& c) { return c.op + "/" + c.name; }

/// Benchmarks of the other libraries (oneDNN lives in its own file so that it can be left out).
void bm_onednn(benchmark::State& state, Case c);
void bm_onednn_ba(benchmark::State& state, Case c);

/// BM_stream_read/{avx2,avx512}_loads (stream_bench.cpp): one core's read bandwidth, the bound
/// of the cold GEMVs, in the same run.
void register_stream_read();

}  // namespace rmsmp_bench

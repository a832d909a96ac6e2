// BM_stream_read: how fast one core reads memory, measured in the same run as the kernels.
//
// A cold GEMV reads every weight byte once per call from memory and does little else, so its
// bound is the read bandwidth of one core, not the machine's peak. This benchmark reads a
// buffer of twice the last-level cache (every pass misses in it) with 32-byte (AVX2) or
// 64-byte (AVX-512) loads, summing them into independent accumulators so that the loads, not
// the adds, set the pace. Compare a cold GEMV's weight_bytes/s with its bytes/s.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "common.hpp"
#include "rmsmp/core/cpu_arch.hpp"

namespace rmsmp_bench {
namespace {

struct AlignedBuffer {
  struct Free {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<std::byte[], Free> data;
  std::size_t bytes = 0;
};

/// The buffer: twice the last-level cache, whole 256-byte strides, every page written once
/// (not left as the shared zero page).
const AlignedBuffer& stream_buffer() {
  static const AlignedBuffer buffer = [] {
    AlignedBuffer b;
    b.bytes = (2 * last_level_cache_bytes() + 255) / 256 * 256;
    b.data.reset(static_cast<std::byte*>(::operator new[](b.bytes, std::align_val_t{64})));
    std::memset(b.data.get(), 0x5a, b.bytes);
    return b;
  }();
  return buffer;
}

/// GCC/Clang vector types of 64-bit lanes (the size of a vector attribute cannot depend on a
/// template parameter, hence one specialization per width).
template <std::size_t Bytes>
struct u64_vector;
template <>
struct u64_vector<32> {
  typedef std::uint64_t type __attribute__((vector_size(32), may_alias));
};
template <>
struct u64_vector<64> {
  typedef std::uint64_t type __attribute__((vector_size(64), may_alias));
};

/// The sum of the 64-bit words of p[0, bytes) (bytes a multiple of 256, p 64-byte aligned),
/// read VectorBytes at a time into four accumulators. Always inlined into the target-specific
/// functions below, so that the vector type compiles to their loads (vmovdqa / vmovdqa64).
template <std::size_t VectorBytes>
[[gnu::always_inline]] inline std::uint64_t sum_of_loads(const std::byte* p, std::size_t bytes) {
  using vec = typename u64_vector<VectorBytes>::type;
  constexpr std::size_t per_step = 256 / VectorBytes;
  vec acc[4] = {};
  for (std::size_t i = 0; i < bytes; i += 256)
#pragma GCC unroll 8
    for (std::size_t j = 0; j < per_step; ++j) acc[j % 4] += *reinterpret_cast<const vec*>(p + i + j * VectorBytes);
  const vec total = acc[0] + acc[1] + acc[2] + acc[3];
  std::uint64_t sum = 0;
  for (std::size_t lane = 0; lane < VectorBytes / 8; ++lane) sum += total[lane];
  return sum;
}

[[gnu::target("avx2")]] std::uint64_t read_avx2(const std::byte* p, std::size_t bytes) { return sum_of_loads<32>(p, bytes); }
[[gnu::target("avx512f")]] std::uint64_t read_avx512(const std::byte* p, std::size_t bytes) {
  return sum_of_loads<64>(p, bytes);
}

/// Arch avx2: 32-byte loads; avx512_vnni: 64-byte loads (run where dispatch would run that
/// kernel, though the loads need only AVX-512 F).
template <rmsmp::cpu::ArchId Arch>
void bm_stream_read(benchmark::State& state) {
  if (!rmsmp::cpu::machine_supports(Arch)) {
    state.SkipWithError("this machine cannot run these loads");
    return;
  }
  const AlignedBuffer& buffer = stream_buffer();
  for (auto _ : state) {
    const std::uint64_t sum = Arch == rmsmp::cpu::ArchId::avx512_vnni ? read_avx512(buffer.data.get(), buffer.bytes)
                                                                      : read_avx2(buffer.data.get(), buffer.bytes);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["bytes/s"] =
      benchmark::Counter(static_cast<double>(buffer.bytes), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(buffer.bytes >> 20) + " MiB (2 x last-level cache)");
}

}  // namespace

void register_stream_read() {
  benchmark::RegisterBenchmark("BM_stream_read/avx2_loads", bm_stream_read<rmsmp::cpu::ArchId::avx2>)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_stream_read/avx512_loads", bm_stream_read<rmsmp::cpu::ArchId::avx512_vnni>)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

}  // namespace rmsmp_bench

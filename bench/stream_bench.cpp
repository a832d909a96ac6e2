// BM_stream_read: how fast one core reads memory, measured in the same run as the kernels.
//
// A cold GEMV reads every weight byte once per call from memory and does little else, so its
// bound is the read bandwidth of one core, not the machine's peak. This benchmark reads a
// buffer of twice the last-level cache (every pass misses in it) with 32-byte (AVX2) or
// 64-byte (AVX-512) loads, summing them into independent accumulators so that the loads, not
// the adds, set the pace. Compare a cold GEMV's weight_bytes/s with its bytes/s.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "common.hpp"
#include "rmsmp/kernel/cpu/arch.hpp"

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

[[gnu::target("avx2")]] std::uint64_t read_avx2(const std::byte* p, std::size_t bytes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i < bytes; i += 256) {
    const auto* v = reinterpret_cast<const __m256i*>(p + i);
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(v + 0));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(v + 1));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(v + 2));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(v + 3));
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(v + 4));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(v + 5));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(v + 6));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(v + 7));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  return static_cast<std::uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 3));
}

[[gnu::target("avx512f")]] std::uint64_t read_avx512(const std::byte* p, std::size_t bytes) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i < bytes; i += 256) {
    const auto* v = reinterpret_cast<const __m512i*>(p + i);
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(v + 0));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(v + 1));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(v + 2));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(v + 3));
  }
  return static_cast<std::uint64_t>(
      _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3))));
}

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

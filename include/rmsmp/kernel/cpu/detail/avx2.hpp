// rmsmp/kernel/cpu/detail/avx2.hpp — the AVX2 block operations and micro-kernel.
//
// Everything here is compiled inside a target region (target_region.hpp) for AVX2 + FMA: the
// including translation unit needs no -mavx2, and nothing here runs unless
// cpu::can_run(ArchId::avx2) said so. The tiling is tile_kernel.inc, shared with AVX-512.
// Without GCC/Clang on x86 this header declares nothing (RMSMP_CPU_X86_KERNELS == 0).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rmsmp/kernel/cpu/arch.hpp"
#include "rmsmp/kernel/cpu/detail/target_region.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu::detail {

/// vpmaddubsw-style u8 x s8 pair sums stay exact (no int16 saturation) for this group and
/// these activations: 2 * max_level * max_x <= 32767.
constexpr bool pairs_fit_int16(int max_level, int max_x) { return 2 * max_level * max_x <= 32767; }

}  // namespace rmsmp::cpu::detail

#if RMSMP_CPU_X86_KERNELS
#include <immintrin.h>

RMSMP_CPU_TARGET_BEGIN("avx2,fma")

namespace rmsmp::cpu::detail::avx2_impl {

/// The AVX2 block operations for tile_kernel.inc: a block of 64 columns is two 32-byte
/// vectors. Maddubs: products through vpmaddubsw (exact only when pairs_fit_int16), otherwise
/// both operands widened to int16 first.
template <bool Maddubs>
struct ops {
  using vec = __m256i;
  using table_type = __m256i;
  static constexpr int vectors_per_block = 2;
  // 8 accumulators + 4 activation vectors + 2 level vectors + 2 constants of 16 ymm registers.
  static constexpr int tile_rows = 4;
  static constexpr int tile_cols = 2;

  /// The 16-entry level table in both 128-bit lanes (vpshufb looks up within each lane).
  static table_type table(const std::array<std::int8_t, 16>& levels) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(levels.data())));
  }

  static void activations(const std::uint8_t* x, vec (&out)[2]) {
    out[0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(x));
    out[1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(x + 32));
  }

  /// 32 bytes of nibbles -> int8 levels: out[0] from the low nibbles (columns j), out[1] from
  /// the high nibbles (columns j + 32) of a packed block.
  static void nibble_levels(const std::uint8_t* w, const table_type& table, vec (&out)[2]) {
    const __m256i bytes = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i mask = _mm256_set1_epi8(0x0F);
    out[0] = _mm256_shuffle_epi8(table, _mm256_and_si256(bytes, mask));
    out[1] = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask));
  }

  static void byte_levels(const std::uint8_t* w, vec (&out)[2]) {
    out[0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    out[1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 32));
  }

  static vec zero() { return _mm256_setzero_si256(); }

  static vec dot_accumulate(vec acc, vec x, vec w) {
    if constexpr (Maddubs) {
      // vpmaddubsw SATURATES each pair x0*w0 + x1*w1 to int16: exact only when
      // 2 * max|w| * max x <= 32767 (|level| <= 64 with 8-bit x; any level with 4-bit x).
      return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1)));
    } else {
      // Exact for every value: zero- and sign-extended to int16, then vpmaddwd (each pair at
      // most 2 * 255 * 128).
      const __m256i x0 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(x));
      const __m256i x1 = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(x, 1));
      const __m256i w0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(w));
      const __m256i w1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(w, 1));
      return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(x0, w0), _mm256_madd_epi16(x1, w1)));
    }
  }

  /// Sum of the eight int32 lanes, modulo 2^32.
  static std::uint32_t sum_lanes(vec v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));  // swap 64-bit halves
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));  // swap 32-bit neighbours
    return static_cast<std::uint32_t>(_mm_cvtsi128_si32(s));
  }
};

#include "rmsmp/kernel/cpu/detail/tile_kernel.inc"

/// Rows [i0, i0 + count) of a group (count <= 4) against `cols` activation columns:
/// out[r * cols + n] = raw dot product mod 2^32 (no zero-point correction). max_x: the
/// largest activation (255, or 15 for 4-bit activations) decides whether vpmaddubsw is exact.
inline void group_dots(const PackedGroup& g, std::size_t i0, std::size_t count, const std::uint8_t* x,
                       std::size_t x_stride, std::size_t cols, std::size_t blocks, int max_x, std::uint32_t* out) {
  if (pairs_fit_int16(g.max_level, max_x))
    group_dots_with<ops<true>>(g, i0, count, x, x_stride, cols, blocks, out);
  else
    group_dots_with<ops<false>>(g, i0, count, x, x_stride, cols, blocks, out);
}

}  // namespace rmsmp::cpu::detail::avx2_impl

RMSMP_CPU_TARGET_END

#endif  // RMSMP_CPU_X86_KERNELS

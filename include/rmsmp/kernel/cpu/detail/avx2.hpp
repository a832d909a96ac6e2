// rmsmp/kernel/cpu/detail/avx2.hpp — AVX2 helpers and the AVX2 dot-product micro-kernel.
//
// Every function here carries __attribute__((target("avx2,fma"))): the including translation
// unit needs no -mavx2, and nothing here runs unless cpu::can_run(ArchId::avx2) said so.
// Without GCC/Clang on x86 this header declares nothing (RMSMP_CPU_X86_KERNELS == 0).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rmsmp/kernel/cpu/arch.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

#if RMSMP_CPU_X86_KERNELS
#include <immintrin.h>

#define RMSMP_TARGET_AVX2 __attribute__((target("avx2,fma")))

namespace rmsmp::cpu::detail::avx2_impl {

/// The 16-entry level table in both 128-bit lanes (vpshufb looks up within each lane).
RMSMP_TARGET_AVX2 inline __m256i broadcast_table(const std::array<std::int8_t, 16>& table) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table.data())));
}

/// 32 bytes of nibbles -> int8 levels: `lo` from the low nibbles (columns j), `hi` from the
/// high nibbles (columns j + 32) of a packed block.
RMSMP_TARGET_AVX2 inline void decode_nibbles(__m256i bytes, __m256i table, __m256i& lo, __m256i& hi) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  lo = _mm256_shuffle_epi8(table, _mm256_and_si256(bytes, mask));
  hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask));
}

/// u8 x s8 -> eight int32 partial sums via vpmaddubsw. vpmaddubsw SATURATES each pair
/// x0*w0 + x1*w1 to int16, so this is exact only when 2 * max|w| * max x <= 32767
/// (|level| <= 64 with 8-bit x; any level with 4-bit x).
RMSMP_TARGET_AVX2 inline __m256i dot_maddubs(__m256i x, __m256i w) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1));
}

/// u8 x s8 -> eight int32 partial sums, exact for every value: both widened to int16
/// (zero- and sign-extension), then vpmaddwd (each pair at most 2 * 255 * 128).
RMSMP_TARGET_AVX2 inline __m256i dot_widen(__m256i x, __m256i w) {
  const __m256i x0 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(x));
  const __m256i x1 = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(x, 1));
  const __m256i w0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(w));
  const __m256i w1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(w, 1));
  return _mm256_add_epi32(_mm256_madd_epi16(x0, w0), _mm256_madd_epi16(x1, w1));
}

template <bool Maddubs>
RMSMP_TARGET_AVX2 inline __m256i dot(__m256i x, __m256i w) {
  if constexpr (Maddubs)
    return dot_maddubs(x, w);
  else
    return dot_widen(x, w);
}

/// Sum of the eight int32 lanes, modulo 2^32.
RMSMP_TARGET_AVX2 inline std::uint32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));  // swap 64-bit halves
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));  // swap 32-bit neighbours
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(s));
}

/// R rows x C activation columns: out[r * out_stride + c] = sum_k level[r][k] * x[c][k]
/// (mod 2^32) over `blocks` blocks of 64 columns. Rows start at `w`, `w_stride` bytes apart
/// (32-byte aligned); columns start at `x`, `x_stride` bytes apart (64-byte aligned).
template <int R, int C, bool Nibbles, bool Maddubs>
RMSMP_TARGET_AVX2 inline void dot_tile(const std::uint8_t* w, std::size_t w_stride, const std::uint8_t* x,
                                       std::size_t x_stride, std::size_t blocks, __m256i table, std::uint32_t* out,
                                       std::size_t out_stride) {
  __m256i acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_si256();
  for (std::size_t b = 0; b < blocks; ++b) {
    __m256i xl[C], xh[C];
    for (int c = 0; c < C; ++c) {
      const std::uint8_t* xc = x + static_cast<std::size_t>(c) * x_stride + b * 64;
      xl[c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(xc));
      xh[c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(xc + 32));
    }
    for (int r = 0; r < R; ++r) {
      const std::uint8_t* wr = w + static_cast<std::size_t>(r) * w_stride;
      __m256i wl, wh;
      if constexpr (Nibbles) {
        decode_nibbles(_mm256_load_si256(reinterpret_cast<const __m256i*>(wr + b * 32)), table, wl, wh);
      } else {
        wl = _mm256_load_si256(reinterpret_cast<const __m256i*>(wr + b * 64));
        wh = _mm256_load_si256(reinterpret_cast<const __m256i*>(wr + b * 64 + 32));
      }
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_add_epi32(dot<Maddubs>(xl[c], wl), dot<Maddubs>(xh[c], wh)));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[static_cast<std::size_t>(r) * out_stride + static_cast<std::size_t>(c)] = hsum(acc[r][c]);
}

/// Rows [i0, i0 + count) of a group (count <= 4) against `cols` activation columns:
/// out[r * cols + n] = raw dot product mod 2^32 (no zero-point correction).
template <bool Nibbles, bool Maddubs>
RMSMP_TARGET_AVX2 inline void group_dots_t(const PackedGroup& g, std::size_t i0, std::size_t count,
                                           const std::uint8_t* x, std::size_t x_stride, std::size_t cols,
                                           std::size_t blocks, std::uint32_t* out) {
  const __m256i table = broadcast_table(g.table);
  std::size_t n = 0;
  if (count == 4) {
    for (; n + 2 <= cols; n += 2)
      dot_tile<4, 2, Nibbles, Maddubs>(g.row(i0), g.row_stride, x + n * x_stride, x_stride, blocks, table, out + n, cols);
    for (; n < cols; ++n)
      dot_tile<4, 1, Nibbles, Maddubs>(g.row(i0), g.row_stride, x + n * x_stride, x_stride, blocks, table, out + n, cols);
    return;
  }
  for (std::size_t r = 0; r < count; ++r) {
    for (n = 0; n + 2 <= cols; n += 2)
      dot_tile<1, 2, Nibbles, Maddubs>(g.row(i0 + r), g.row_stride, x + n * x_stride, x_stride, blocks, table,
                                       out + r * cols + n, cols);
    for (; n < cols; ++n)
      dot_tile<1, 1, Nibbles, Maddubs>(g.row(i0 + r), g.row_stride, x + n * x_stride, x_stride, blocks, table,
                                       out + r * cols + n, cols);
  }
}

RMSMP_TARGET_AVX2 inline void group_dots(const PackedGroup& g, std::size_t i0, std::size_t count, const std::uint8_t* x,
                                         std::size_t x_stride, std::size_t cols, std::size_t blocks, bool maddubs,
                                         std::uint32_t* out) {
  if (g.nibbles) {
    if (maddubs)
      group_dots_t<true, true>(g, i0, count, x, x_stride, cols, blocks, out);
    else
      group_dots_t<true, false>(g, i0, count, x, x_stride, cols, blocks, out);
  } else {
    if (maddubs)
      group_dots_t<false, true>(g, i0, count, x, x_stride, cols, blocks, out);
    else
      group_dots_t<false, false>(g, i0, count, x, x_stride, cols, blocks, out);
  }
}

}  // namespace rmsmp::cpu::detail::avx2_impl

#endif  // RMSMP_CPU_X86_KERNELS

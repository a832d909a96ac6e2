// rmsmp/kernel/cpu/detail/avx2.hpp — the AVX2 block operations and micro-kernel.
//
// Everything here is compiled inside a target region (target_region.hpp) for AVX2 + FMA: the
// including translation unit needs no -mavx2, and nothing here runs unless
// cpu::can_run(ArchId::avx2) said so. The tiling is tile_kernel.inc, shared with AVX-512.
// Without GCC/Clang on x86 this header declares nothing (RMSMP_CPU_X86_KERNELS == 0).
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/detail/target_region.hpp"
#include "rmsmp/kernel/cpu/detail/micro_kernel.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu::detail {

/// vpmaddubsw-style u8 x s8 pair sums stay exact (no int16 saturation) for this group and
/// these activations: 2 * max_level * max_x <= 32767.
constexpr bool pairs_fit_int16(int max_level, int max_x) { return 2 * max_level * max_x <= 32767; }

/// How many vpmaddubsw pair sums, each at most 2 * max_level * max_x in magnitude, an int16
/// lane can add exactly for this group and these activations (0: not even one).
/// Fixed-4 with 8-bit activations: 32767 / 3570 = 9; PoT-4 (level 64): 0.
constexpr std::size_t int16_pair_sums(int max_level, int max_x) {
  const int pair_sum = 2 * max_level * max_x;
  if (pair_sum == 0) return std::size_t{1} << 20;  // all products 0: any length
  return static_cast<std::size_t>(32767 / pair_sum);
}

/// How many blocks of 64 columns an int16 lane of the inner-product tiles can sum exactly.
/// Each block adds two pair sums into every lane (one per 32-byte vector). Fixed-4 with 8-bit
/// activations: 4 blocks. (An outer-product tile adds one pair sum per lane and quad of
/// columns: int16_pair_sums quads.)
constexpr std::size_t int16_chunk_blocks(int max_level, int max_x) {
  constexpr std::size_t pair_sums_per_block = 2;
  return int16_pair_sums(max_level, max_x) / pair_sums_per_block;
}

}  // namespace rmsmp::cpu::detail

#if RMSMP_CPU_X86_KERNELS
#include <immintrin.h>

RMSMP_CPU_TARGET_BEGIN("avx2,fma")

namespace rmsmp::cpu::detail::avx2_impl {

/// 32 bytes zero- or sign-extended to two vectors of 16-bit lanes (bytes 0..15, 16..31).
struct widened {
  __m256i low, high;
};

/// acc + p in 16-bit (Lanes = 'w', vpaddw) or 32-bit (Lanes = 'd', vpaddd) lanes, written
/// into acc's own register. The same sum as _mm256_add_epi16/32, as one instruction the
/// compiler cannot reassociate: from the intrinsics, GCC 12 sums the products of a step
/// first, puts each new sum in a fresh register and copies it back to the accumulator's (8
/// copies per step of the 4 x 2 tile) and spills one accumulator; tied this way the inner
/// loop is loads, multiplies and adds only (docs/benchmarks.md, "Kernel choices measured").
template <char Lanes>
inline __m256i add_in_place(__m256i acc, __m256i p) {
  static_assert(Lanes == 'w' || Lanes == 'd', "add_in_place: 'w' (int16 lanes) or 'd' (int32 lanes)");
  if constexpr (Lanes == 'w')
    asm("vpaddw %[p], %[a], %[a]" : [a] "+x"(acc) : [p] "x"(p));
  else
    asm("vpaddd %[p], %[a], %[a]" : [a] "+x"(acc) : [p] "x"(p));
  return acc;
}

/// What vpmaddubsw multiplies (bytes in one vector) or vpmaddwd (bytes widened to two).
template <bool Maddubs>
struct operand {
  using type = widened;
};
template <>
struct operand<true> {
  using type = __m256i;
};

/// 32 bytes of nibbles -> int8 levels: v = 0 from the low nibbles (columns j), v = 1 from
/// the high nibbles (columns j + 32) of a packed block.
inline __m256i nibble_levels_int8(const std::uint8_t* w, const __m256i& table, int v) {
  __m256i bytes = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
  if (v == 1) bytes = _mm256_srli_epi16(bytes, 4);
  return _mm256_shuffle_epi8(table, _mm256_and_si256(bytes, _mm256_set1_epi8(0x0F)));
}

/// The AVX2 block operations for tile_kernel.inc: a block of 64 columns is two 32-byte
/// vectors. Maddubs: products through vpmaddubsw (exact only when pairs_fit_int16); otherwise
/// activations and levels are widened to int16 as they are loaded (once per tile row or
/// column, not once per product) and multiplied with vpmaddwd.
template <bool Maddubs>
struct ops {
  using vec = __m256i;
  using activation_vec = typename operand<Maddubs>::type;
  using level_vec = activation_vec;
  using table_type = __m256i;
  static constexpr int vectors_per_block = 2;
  // vpmaddubsw: 8 accumulators + 2 activation vectors + 1 level vector + 3 constants (table,
  // 0x0F, ones) + 2 temporaries; widened: 8 + 4 + 2 + 2 temporaries. Of 16 ymm registers.
  static constexpr int tile_rows = 4;
  static constexpr int tile_cols = 2;
  // Outer-product tiles (vpmaddubsw only): 2 x 4 accumulators + 2 level vectors + 1
  // broadcast + ones + 1 temporary.
  static constexpr std::size_t rows_per_vector = 8;
  static constexpr std::size_t outer_tile_rows = 16;
  static constexpr int outer_tile_cols = 4;

  /// The 16-entry level table in both 128-bit lanes (vpshufb looks up within each lane).
  static table_type table(const std::array<std::int8_t, 16>& levels) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(levels.data())));
  }

  /// 32 bytes at p as the products take them: as they are, or widened to int16 (sign- or
  /// zero-extended).
  template <bool Signed>
  static activation_vec operand(const std::uint8_t* p) {
    if constexpr (Maddubs) {
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
    } else {
      const __m128i low = _mm_load_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i high = _mm_load_si128(reinterpret_cast<const __m128i*>(p + 16));
      if constexpr (Signed)
        return {_mm256_cvtepi8_epi16(low), _mm256_cvtepi8_epi16(high)};
      else
        return {_mm256_cvtepu8_epi16(low), _mm256_cvtepu8_epi16(high)};
    }
  }

  static activation_vec activations(const std::uint8_t* x, int v) { return operand<false>(x + 32 * v); }

  static level_vec nibble_levels(const std::uint8_t* w, const table_type& table, int v) {
    const __m256i levels = nibble_levels_int8(w, table, v);
    if constexpr (Maddubs)
      return levels;
    else
      return {_mm256_cvtepi8_epi16(_mm256_castsi256_si128(levels)),
              _mm256_cvtepi8_epi16(_mm256_extracti128_si256(levels, 1))};
  }

  static level_vec byte_levels(const std::uint8_t* w, int v) { return operand<true>(w + 32 * v); }

  static void expand_nibbles(const std::uint8_t* w, const table_type& table, std::uint8_t* out) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), nibble_levels_int8(w, table, 0));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + 32), nibble_levels_int8(w, table, 1));
  }

  static activation_vec broadcast_quad(const std::uint8_t* x)
    requires Maddubs
  {
    std::int32_t quad;
    std::memcpy(&quad, x, 4);
    return _mm256_set1_epi32(quad);
  }

  static void store_lanes(std::uint32_t* out, __m256i acc) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc);
  }

  static vec zero() { return _mm256_setzero_si256(); }

  static vec dot_accumulate(vec acc, const activation_vec& x, const level_vec& w) {
    if constexpr (Maddubs) {
      // vpmaddubsw SATURATES each pair x0*w0 + x1*w1 to int16: exact only when
      // 2 * max|w| * max x <= 32767 (|level| <= 64 with 8-bit x; any level with 4-bit x).
      const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1));
      return add_in_place<'d'>(acc, p);
    } else {
      // Exact for every value: each int16 pair sum is at most 2 * 255 * 128.
      return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(x.low, w.low), _mm256_madd_epi16(x.high, w.high)));
    }
  }

  /// The lane sums of four accumulators, modulo 2^32 (vphaddd wraps): two rounds of
  /// neighbour adds within each 128-bit half leave part of sum k in lane k of each half.
  static void sum_lanes4(const vec& a, const vec& b, const vec& c, const vec& d, std::uint32_t* out) {
    const __m256i halves = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(halves), _mm256_extracti128_si256(halves, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), sums);
  }

  /// Sum of the eight int32 lanes, modulo 2^32.
  static std::uint32_t sum_lanes(vec v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));  // swap 64-bit halves
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));  // swap 32-bit neighbours
    return static_cast<std::uint32_t>(_mm_cvtsi128_si32(s));
  }
};

/// vpmaddubsw results added in int16 lanes (vpaddw) for a chunk of int16_chunk_blocks
/// blocks, then widened into int32 accumulators (vpmaddwd(ones)) once per chunk: one multiply
/// per 32 products instead of two. Exact when int16_chunk_blocks >= 1. The tile's 8 int32
/// accumulators may live on the stack: they are touched once per chunk.
struct int16_sum_ops : ops<true> {
  using vec = __m256i;  // int16 lanes
  using wide_vec = __m256i;
  static wide_vec wide_zero() { return _mm256_setzero_si256(); }
  static vec dot_accumulate(vec acc, const activation_vec& x, const level_vec& w) {
    // Int16 lanes wrap (vpaddw): int16_chunk_blocks keeps every partial sum in range.
    return add_in_place<'w'>(acc, _mm256_maddubs_epi16(x, w));
  }
  static wide_vec widen(wide_vec acc, vec partial) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(partial, _mm256_set1_epi16(1)));
  }
};

#include "rmsmp/kernel/cpu/detail/tile_kernel.inc"

/// How group g runs in a call (choose_tiling): outer-product tiles need exact vpmaddubsw pair
/// sums. `depth`: K, unpadded.
inline GroupTiling tiling(const PackedGroup& g, std::size_t cols, std::size_t depth, int max_x) {
  return choose_tiling<ops<true>>(cols, depth, pairs_fit_int16(g.max_level, max_x));
}

/// For an outer tiling: rows [i0, i0 + count) of g (count <= tiling.rows) as group_dots
/// reads them, (outer_tile_rows * blocks * 64 bytes at out); block_scratch: 64 bytes. Both
/// 64-byte aligned.
inline void interleave_tile(const PackedGroup& g, std::size_t i0, std::size_t count, std::size_t blocks,
                            std::uint8_t* block_scratch, std::uint8_t* out) {
  interleave_tile<ops<true>>(g, i0, count, blocks, block_scratch, out);
}

/// group_dots for an outer tiling. Out of line: inlined into group_dots, it changes how GCC 12
/// compiles the inner-product paths there, and those measure 6-13 % slower (fastest call on
/// 128x576x784 and 512x256x49; docs/benchmarks.md, "Kernel choices measured").
[[gnu::noinline]] inline void outer_dots(const PackedGroup& g, GroupTiling tiling, const std::uint8_t* x,
                                         std::size_t x_stride, std::size_t cols, int max_x, const std::uint8_t* levels,
                                         std::uint32_t* out) {
  // A chunk of one quad would widen after every vpmaddubsw: vpmaddwd(ones) per product, as
  // ops<true> does without the chunk loop.
  if (const std::size_t pair_sums = int16_pair_sums(g.max_level, max_x); pair_sums >= 2)
    group_rows_outer<int16_sum_ops>(levels, x, x_stride, cols, tiling.quads, pair_sums, out);
  else
    group_rows_outer<ops<true>>(levels, x, x_stride, cols, tiling.quads, 0, out);
}

/// Rows [i0, i0 + count) of a group (count <= tiling.rows, from tiling()) against `cols`
/// activation columns: raw dot products mod 2^32 (no zero-point correction), in the order
/// GroupTiling describes. max_x: the largest activation (255, or 15 for 4-bit activations)
/// decides, with the group's largest level, which products are exact. levels: for an outer
/// tiling the tile's levels from interleave_tile; otherwise scratch of 4 * blocks * 64 bytes.
/// 64-byte aligned.
inline void group_dots(const PackedGroup& g, GroupTiling tiling, std::size_t i0, std::size_t count,
                       const std::uint8_t* x, std::size_t x_stride, std::size_t cols, std::size_t blocks, int max_x,
                       std::uint8_t* levels, std::uint32_t* out) {
  if (tiling.outer) {
    outer_dots(g, tiling, x, x_stride, cols, max_x, levels, out);
    return;
  }
  if (const std::size_t chunk = int16_chunk_blocks(g.max_level, max_x); chunk >= 1)
    group_dots_with<int16_sum_ops>(g, i0, count, x, x_stride, cols, blocks, chunk, levels, out);
  else if (pairs_fit_int16(g.max_level, max_x))
    group_dots_with<ops<true>>(g, i0, count, x, x_stride, cols, blocks, blocks, levels, out);
  else
    group_dots_with<ops<false>>(g, i0, count, x, x_stride, cols, blocks, blocks, levels, out);
}

}  // namespace rmsmp::cpu::detail::avx2_impl

RMSMP_CPU_TARGET_END

namespace rmsmp::cpu::detail {

/// The AVX2 kernel (micro_kernel.hpp): inner-product tiles of 4 rows, or outer-product tiles of
/// 16 where they pay.
struct avx2_kernel {
  static constexpr std::string_view name = "avx2";
  static constexpr WeightLayout layout = WeightLayout::rows;

  static GroupTiling tiling(const PackedGroup& g, std::size_t cols, std::size_t depth, int max_x) {
    return avx2_impl::tiling(g, cols, depth, max_x);
  }
  static void interleave_tile(const PackedGroup& g, std::size_t i0, std::size_t count, std::size_t blocks,
                              std::uint8_t* block_scratch, std::uint8_t* out) {
    avx2_impl::interleave_tile(g, i0, count, blocks, block_scratch, out);
  }
  static void group_dots(const PackedGroup& g, GroupTiling tiling, std::size_t i0, std::size_t count,
                         const std::uint8_t* x, std::size_t x_stride, std::size_t cols, std::size_t blocks, int max_x,
                         std::uint8_t* levels, std::uint32_t* out) {
    avx2_impl::group_dots(g, tiling, i0, count, x, x_stride, cols, blocks, max_x, levels, out);
  }
};
static_assert(RowsKernel<avx2_kernel>);

}  // namespace rmsmp::cpu::detail

#endif  // RMSMP_CPU_X86_KERNELS

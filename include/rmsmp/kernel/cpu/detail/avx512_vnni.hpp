// rmsmp/kernel/cpu/detail/avx512_vnni.hpp — the AVX-512 VNNI micro-kernel on the real
// instructions (vpdpbusd, vpshufb, vpsrlvw).
//
// Everything here is compiled inside a target region (target_region.hpp) for AVX-512 F, BW, VL
// and VNNI: the including translation unit needs no -m flag, and nothing here runs unless
// cpu::can_run(ArchId::avx512_vnni) said so. The kernel itself is avx512_vnni_ops.inc +
// tile_kernel.inc, the same text that avx512_emulated.hpp compiles on emulated instructions.
// Without GCC/Clang on x86 this header declares nothing (RMSMP_CPU_X86_KERNELS == 0).
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "rmsmp/kernel/cpu/arch.hpp"
#include "rmsmp/kernel/cpu/detail/target_region.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

#if RMSMP_CPU_X86_KERNELS
#include <immintrin.h>

RMSMP_CPU_TARGET_BEGIN("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")

namespace rmsmp::cpu::detail::avx512_vnni_impl {

/// The instructions avx512_vnni_ops.inc is written against, as the intrinsics themselves.
/// Broadcasts and extracts use the zero-masking intrinsics with an all-ones mask (the same
/// unmasked instruction): GCC 12.1-12.2 write the plain ones with a self-initialised
/// `_mm512_undefined_*` and report "'__Y' may be used uninitialized" wherever they are inlined
/// (GCC bug 105593), in every user's build that sees these headers through a precompiled
/// header or with the warning enabled for system headers.
struct native_instructions {
  using vec = __m512i;
  static constexpr __mmask8 all_lanes4 = 0x0F, all_lanes8 = 0xFF;
  static constexpr __mmask16 all_lanes16 = 0xFFFF;
  static vec setzero_si512() { return _mm512_setzero_si512(); }
  static vec load_si512(const std::uint8_t* p) { return _mm512_load_si512(p); }
  static void store_si512(std::uint8_t* p, vec v) { _mm512_store_si512(p, v); }
  static void storeu_si512(void* p, vec v) { _mm512_storeu_si512(p, v); }
  static vec set1_epi32(std::int32_t d) { return _mm512_set1_epi32(d); }
  static vec broadcast_i64x4(const std::uint8_t* p) {
    return _mm512_maskz_broadcast_i64x4(all_lanes8, _mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static vec broadcast_i32x4(const std::int8_t* p) {
    return _mm512_maskz_broadcast_i32x4(all_lanes16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static vec set1_epi8(std::int8_t b) { return _mm512_set1_epi8(b); }
  static vec set_epi64(std::int64_t e7, std::int64_t e6, std::int64_t e5, std::int64_t e4, std::int64_t e3,
                       std::int64_t e2, std::int64_t e1, std::int64_t e0) {
    return _mm512_set_epi64(e7, e6, e5, e4, e3, e2, e1, e0);
  }
  static vec and_si512(vec a, vec b) { return _mm512_and_si512(a, b); }
  static vec srlv_epi16(vec a, vec count) { return _mm512_srlv_epi16(a, count); }
  static vec shuffle_epi8(vec table, vec index) { return _mm512_shuffle_epi8(table, index); }
  static vec dpbusd_epi32(vec src, vec u8, vec s8) { return _mm512_dpbusd_epi32(src, u8, s8); }
  /// The sum of the 16 int32 lanes modulo 2^32 (vpaddd wraps; GCC's _mm512_reduce_add_epi32
  /// adds as signed vectors, so it is not used). Not _mm512_castsi512_si256 for the low half:
  /// with it GCC 12 copies every accumulator twice per vpdpbusd in the tile loop (62 instead of
  /// 29 instructions per 16 vpdpbusd in the 4 x 4 byte tile).
  static std::uint32_t reduce_add_epi32(vec v) {
    const __m256i s8 = _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(all_lanes4, v, 0),
                                        _mm512_maskz_extracti64x4_epi64(all_lanes4, v, 1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));  // swap 64-bit halves
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));  // swap 32-bit neighbours
    return static_cast<std::uint32_t>(_mm_cvtsi128_si32(s));
  }
};

#include "rmsmp/kernel/cpu/detail/avx512_vnni_ops.inc"
#include "rmsmp/kernel/cpu/detail/tile_kernel.inc"

using ops = avx512_vnni_ops<native_instructions>;

#include "rmsmp/kernel/cpu/detail/avx512_vnni_entry.inc"

}  // namespace rmsmp::cpu::detail::avx512_vnni_impl

RMSMP_CPU_TARGET_END

#endif  // RMSMP_CPU_X86_KERNELS

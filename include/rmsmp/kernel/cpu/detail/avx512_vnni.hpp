// rmsmp/kernel/cpu/detail/avx512_vnni.hpp — the AVX-512 VNNI micro-kernel on the real
// instructions (vpdpbusd, vpshufb, vpsrlvw, vpbroadcastd).
//
// Everything here is compiled inside a target region (target_region.hpp) for AVX-512 F, BW, VL
// and VNNI: the including translation unit needs no -m flag, and nothing here runs unless
// cpu::can_run(ArchId::avx512_vnni) said so. The kernel itself is avx512_vnni_ops.inc +
// lane_tile_kernel.inc, the same text that avx512_emulated.hpp compiles on emulated
// instructions.
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

#if RMSMP_CPU_X86_KERNELS
#include <immintrin.h>

RMSMP_CPU_TARGET_BEGIN("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")

namespace rmsmp::cpu::detail::avx512_vnni_impl {

/// The instructions avx512_vnni_ops.inc is written against, as the intrinsics themselves.
/// None of them is one that GCC 12.1-12.2 write with a self-initialised `_mm512_undefined_*`
/// (broadcasts from 128/256 bits, extracts), which reports "'__Y' may be used uninitialized"
/// wherever it is inlined (GCC bug 105593).
struct native_instructions {
  using vec = __m512i;
  static vec setzero_si512() { return _mm512_setzero_si512(); }
  static vec load_si512(const std::uint8_t* p) { return _mm512_load_si512(p); }
  static void store_si512(std::uint8_t* p, vec v) { _mm512_store_si512(p, v); }
  static void storeu_si512(void* p, vec v) { _mm512_storeu_si512(p, v); }
  static vec set1_epi32(std::int32_t d) { return _mm512_set1_epi32(d); }
  static vec set1_epi8(std::int8_t b) { return _mm512_set1_epi8(b); }
  static vec and_si512(vec a, vec b) { return _mm512_and_si512(a, b); }
  static vec add_epi32(vec a, vec b) { return _mm512_add_epi32(a, b); }
  static vec srlv_epi16(vec a, vec count) { return _mm512_srlv_epi16(a, count); }
  static vec shuffle_epi8(vec table, vec index) { return _mm512_shuffle_epi8(table, index); }
  static vec dpbusd_epi32(vec src, vec u8, vec s8) { return _mm512_dpbusd_epi32(src, u8, s8); }
};

#include "rmsmp/kernel/cpu/detail/avx512_vnni_ops.inc"
#include "rmsmp/kernel/cpu/detail/lane_tile_kernel.inc"

using ops = avx512_vnni_ops<native_instructions>;

#include "rmsmp/kernel/cpu/detail/avx512_vnni_entry.inc"

}  // namespace rmsmp::cpu::detail::avx512_vnni_impl

RMSMP_CPU_TARGET_END

namespace rmsmp::cpu::detail {

/// The AVX-512 VNNI kernel (micro_kernel.hpp) on the lane-tile layout.
struct avx512_vnni_kernel {
  static constexpr std::string_view name = "avx512_vnni";
  static constexpr WeightLayout layout = WeightLayout::lane_tiles;

  static void lane_tile_dots(const LaneTiles& tiles, std::size_t t, const std::uint32_t* init, const std::uint8_t* x,
                             std::size_t x_stride, std::size_t cols, std::uint32_t* out, std::size_t prefetch_bytes) {
    avx512_vnni_impl::lane_tile_dots(tiles, t, init, x, x_stride, cols, out, prefetch_bytes);
  }
};
static_assert(LaneTileKernel<avx512_vnni_kernel>);

}  // namespace rmsmp::cpu::detail

#endif  // RMSMP_CPU_X86_KERNELS

// avx512_emulated_kernel.hpp — the AVX-512 VNNI micro-kernel on emulated
// instructions: portable C++ that computes, lane by lane, what each instruction computes.
//
// It compiles the same avx512_vnni_ops.inc + lane_tile_kernel.inc as avx512_vnni.hpp, so the
// tests run the AVX-512 kernel's tiles, column tails, nibble decoding and accumulation on any
// machine and compare it with reference::gemm. Each emulated instruction follows the
// operation Intel documents for it (vector lanes little-endian, as on x86). What this cannot
// show is that the emulation and the silicon agree: on an AVX-512 VNNI machine the tests also
// compare every instruction here with the real one, and run the native kernel. Slow (one
// scalar loop per instruction): for tests only, so it lives in tests/ and no dispatch knows
// it; the tests run it through cpu::detail::run_gemm<avx512_vnni_emulated_kernel>.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/kernel/cpu/detail/micro_kernel.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu::detail::avx512_vnni_emulated_impl {

/// A 512-bit register as 64 bytes; byte 0 is the least significant.
struct zmm {
  std::array<std::uint8_t, 64> byte{};

  std::uint16_t word(int j) const {
    return static_cast<std::uint16_t>(byte[static_cast<std::size_t>(2 * j)] |
                                      byte[static_cast<std::size_t>(2 * j + 1)] << 8);
  }
  void set_word(int j, std::uint16_t v) {
    byte[static_cast<std::size_t>(2 * j)] = static_cast<std::uint8_t>(v);
    byte[static_cast<std::size_t>(2 * j + 1)] = static_cast<std::uint8_t>(v >> 8);
  }
  std::uint32_t dword(int j) const {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | byte[static_cast<std::size_t>(4 * j + i)];
    return v;
  }
  void set_dword(int j, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte[static_cast<std::size_t>(4 * j + i)] = static_cast<std::uint8_t>(v >> (8 * i));
  }
};

/// The instructions avx512_vnni_ops.inc is written against, emulated.
struct emulated_instructions {
  using vec = zmm;

  static vec setzero_si512() { return {}; }
  static vec load_si512(const std::uint8_t* p) {
    vec r;
    for (std::size_t i = 0; i < 64; ++i) r.byte[i] = p[i];
    return r;
  }
  static void store_si512(std::uint8_t* p, const vec& v) {
    for (std::size_t i = 0; i < 64; ++i) p[i] = v.byte[i];
  }
  static void storeu_si512(void* p, const vec& v) { std::memcpy(p, v.byte.data(), 64); }
  /// vpbroadcastd: d in every 32-bit lane, little-endian.
  static vec set1_epi32(std::int32_t d) {
    vec r;
    for (int j = 0; j < 16; ++j) r.set_dword(j, static_cast<std::uint32_t>(d));
    return r;
  }
  static vec set1_epi8(std::int8_t b) {
    vec r;
    r.byte.fill(static_cast<std::uint8_t>(b));
    return r;
  }
  static vec and_si512(const vec& a, const vec& b) {
    vec r;
    for (std::size_t i = 0; i < 64; ++i) r.byte[i] = static_cast<std::uint8_t>(a.byte[i] & b.byte[i]);
    return r;
  }
  /// vpaddd: lane j = a + b modulo 2^32.
  static vec add_epi32(const vec& a, const vec& b) {
    vec r;
    for (int j = 0; j < 16; ++j) r.set_dword(j, a.dword(j) + b.dword(j));
    return r;
  }
  /// vpsrlvw: each 16-bit lane shifted right (zeros in) by its own count; counts above 15 give 0.
  static vec srlv_epi16(const vec& a, const vec& count) {
    vec r;
    for (int j = 0; j < 32; ++j) {
      const unsigned c = count.word(j);
      r.set_word(j, c > 15 ? std::uint16_t{0} : static_cast<std::uint16_t>(a.word(j) >> c));
    }
    return r;
  }
  /// vpshufb: byte j becomes 0 if bit 7 of index byte j is set, else byte (index & 15) of
  /// the 128-bit lane that holds byte j.
  static vec shuffle_epi8(const vec& table, const vec& index) {
    vec r;
    for (std::size_t j = 0; j < 64; ++j) {
      const std::uint8_t i = index.byte[j];
      r.byte[j] = (i & 0x80) != 0 ? std::uint8_t{0} : table.byte[(j & 0x30) + (i & 0x0F)];
    }
    return r;
  }
  /// vpdpbusd: int32 lane j += the four products (unsigned byte of u8) * (signed byte of s8)
  /// at bytes 4j..4j+3, each exact in 16 bits, summed without saturation (modulo 2^32).
  static vec dpbusd_epi32(const vec& src, const vec& u8, const vec& s8) {
    vec r;
    for (int j = 0; j < 16; ++j) {
      std::uint32_t sum = src.dword(j);
      for (int i = 0; i < 4; ++i) {
        const auto k = static_cast<std::size_t>(4 * j + i);
        const int product = static_cast<int>(u8.byte[k]) * static_cast<int>(static_cast<std::int8_t>(s8.byte[k]));
        sum += static_cast<std::uint32_t>(product);  // two's complement: adding modulo 2^32
      }
      r.set_dword(j, sum);
    }
    return r;
  }
};

#include "rmsmp/kernel/cpu/detail/avx512_vnni_ops.inc"
#include "rmsmp/kernel/cpu/detail/lane_tile_kernel.inc"

using ops = avx512_vnni_ops<emulated_instructions>;

// lane_tile_dots: as in avx512_vnni_impl, on emulated instructions.
#include "rmsmp/kernel/cpu/detail/avx512_vnni_entry.inc"

}  // namespace rmsmp::cpu::detail::avx512_vnni_emulated_impl

namespace rmsmp::cpu::detail {

/// The emulated twin of avx512_vnni_kernel (micro_kernel.hpp).
struct avx512_vnni_emulated_kernel {
  static constexpr std::string_view name = "avx512_vnni_emulated";
  static constexpr WeightLayout layout = WeightLayout::lane_tiles;

  static void lane_tile_dots(const LaneTiles& tiles, std::size_t t, const std::uint32_t* init, const std::uint8_t* x,
                             std::size_t x_stride, std::size_t cols, std::uint32_t* out, std::size_t prefetch_bytes) {
    avx512_vnni_emulated_impl::lane_tile_dots(tiles, t, init, x, x_stride, cols, out, prefetch_bytes);
  }
};
static_assert(LaneTileKernel<avx512_vnni_emulated_kernel>);

}  // namespace rmsmp::cpu::detail

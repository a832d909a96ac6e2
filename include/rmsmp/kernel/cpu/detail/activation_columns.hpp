// rmsmp/kernel/cpu/detail/activation_columns.hpp — the activations as every CPU kernel reads
// them: offset binary (uint8), each column zero-padded to the packed weights' depth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "rmsmp/core/activations.hpp"

namespace rmsmp::cpu::detail {

// The portable parts of the CPU backend use xsimd batches of the baseline instruction set of
// the target (SSE2 on x86-64, NEON on ARM), named explicitly so that the code is the same in
// every translation unit, whatever its -m flags.
#if XSIMD_WITH_SSE2
#define RMSMP_CPU_BASELINE_ARCH xsimd::sse2
#elif XSIMD_WITH_NEON64
#define RMSMP_CPU_BASELINE_ARCH xsimd::neon64
#elif XSIMD_WITH_NEON
#define RMSMP_CPU_BASELINE_ARCH xsimd::neon
#endif

/// Columns [n0, n1) of the activations as the kernels read them, into `buf` (columns
/// `padded_cols` bytes apart, 64-byte aligned; every byte of these columns is written): each
/// column padded with zeros to padded_cols, in offset binary (int8 x becomes x + 128 = x ^ 0x80
/// as uint8).
template <ActivationValue T>
void offset_binary_columns(const ActivationView<T>& x, std::size_t padded_cols, std::size_t n0, std::size_t n1,
                           std::uint8_t* buf) {
  const auto K = static_cast<std::size_t>(x.rows);
  for (std::size_t n = n0; n < n1; ++n) {
    const auto* src = reinterpret_cast<const std::uint8_t*>(x.column(static_cast<int>(n)));
    std::uint8_t* dst = buf + n * padded_cols;
    if constexpr (std::is_unsigned_v<T>) {
      if (K != 0) std::memcpy(dst, src, K);
    } else {
      std::size_t k = 0;
#ifdef RMSMP_CPU_BASELINE_ARCH
      using batch = xsimd::batch<std::uint8_t, RMSMP_CPU_BASELINE_ARCH>;
      const batch flip(std::uint8_t{0x80});
      for (; k + batch::size <= K; k += batch::size) (batch::load_unaligned(src + k) ^ flip).store_aligned(dst + k);
#endif
      for (; k < K; ++k) dst[k] = static_cast<std::uint8_t>(src[k] ^ 0x80);
    }
    std::memset(dst + K, 0, padded_cols - K);
  }
}

}  // namespace rmsmp::cpu::detail

// rmsmp/kernel/cpu/detail/generic.hpp — the portable micro-kernel: plain C++ on the same
// packed layout and the same arithmetic (dot product modulo 2^32) as the SIMD kernels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu::detail::generic_impl {

/// Rows [i0, i0 + count) of a group against `cols` activation columns (x: offset-binary
/// uint8, columns `x_stride` bytes apart, `blocks` * 64 values each):
/// out[n * GroupTiling{}.rows + r] = sum_k level[r][k] * x[n][k] modulo 2^32 (count <= 4).
inline void group_dots(const PackedGroup& g, std::size_t i0, std::size_t count, const std::uint8_t* x,
                       std::size_t x_stride, std::size_t cols, std::size_t blocks, std::uint32_t* out) {
  constexpr std::size_t block = PackedWeights::block, half = block / 2;
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint8_t* w = g.row(i0 + r);
    for (std::size_t n = 0; n < cols; ++n) {
      const std::uint8_t* xn = x + n * x_stride;
      std::uint32_t sum = 0;  // unsigned: wraps modulo 2^32 like the SIMD lanes, never UB
      if (g.nibbles) {
        for (std::size_t b = 0; b < blocks; ++b)
          for (std::size_t j = 0; j < half; ++j) {
            const std::uint8_t byte = w[b * half + j];
            const int lo = g.table[byte & 0x0F] * xn[b * block + j];
            const int hi = g.table[byte >> 4] * xn[b * block + half + j];
            sum += static_cast<std::uint32_t>(lo) + static_cast<std::uint32_t>(hi);
          }
      } else {
        for (std::size_t k = 0; k < blocks * block; ++k)
          sum += static_cast<std::uint32_t>(static_cast<std::int8_t>(w[k]) * xn[k]);
      }
      out[n * GroupTiling{}.rows + r] = sum;
    }
  }
}

}  // namespace rmsmp::cpu::detail::generic_impl

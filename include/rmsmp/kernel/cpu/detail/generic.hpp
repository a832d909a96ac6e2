// rmsmp/kernel/cpu/detail/generic.hpp — the portable micro-kernel: plain C++ on the same
// packed layout and the same arithmetic (dot product modulo 2^32) as the SIMD kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/cpu/detail/micro_kernel.hpp"
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

namespace rmsmp::cpu::detail {

/// The portable kernel (micro_kernel.hpp): inner-product tiles of 4 rows only.
struct generic_kernel {
  static constexpr std::string_view name = "generic";
  static constexpr WeightLayout layout = WeightLayout::rows;

  static GroupTiling tiling(const PackedGroup&, std::size_t, std::size_t, int) { return {}; }
  static void interleave_tile(const PackedGroup&, std::size_t, std::size_t, std::size_t, std::uint8_t*,
                              std::uint8_t*) {
    fail("cpu backend: the generic kernel has no outer-product tiles");  // tiling() never asks for one
  }
  static void group_dots(const PackedGroup& g, GroupTiling, std::size_t i0, std::size_t count, const std::uint8_t* x,
                         std::size_t x_stride, std::size_t cols, std::size_t blocks, int, std::uint8_t*,
                         std::uint32_t* out) {
    generic_impl::group_dots(g, i0, count, x, x_stride, cols, blocks, out);
  }
};
static_assert(RowsKernel<generic_kernel>);

}  // namespace rmsmp::cpu::detail

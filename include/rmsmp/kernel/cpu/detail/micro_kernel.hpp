// rmsmp/kernel/cpu/detail/micro_kernel.hpp — what a CPU micro-kernel provides, as concepts.
//
// A micro-kernel is a type with static functions, one per architecture (generic_kernel,
// avx2_kernel, avx512_vnni_kernel; the tests add the AVX-512 VNNI kernel on emulated
// instructions). It reads one weight layout (PackedWeights) and computes raw dot products
// modulo 2^32 of one tile; the drivers (drivers.hpp) do everything else, the same way for every
// kernel. So a new instruction set is one kernel type satisfying one of these concepts plus
// one case in with_kernel (dispatch.hpp).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu::detail {

/// A kernel of the rows layout: the rows of one group in tiles of GroupTiling::rows.
///   tiling(g, cols, depth, max_x)   how group g runs in a call of `cols` columns, K = depth
///                                   (inner-product tiles of 4 rows, or outer-product tiles)
///   interleave_tile(g, i0, count, blocks, block_scratch, out)
///                                   for an outer tiling: the tile's levels as group_dots reads
///                                   them (called once per call and tile)
///   group_dots(g, tiling, i0, count, x, x_stride, cols, blocks, max_x, levels, out)
///                                   the tile's raw dot products against `cols` columns
template <class K>
concept RowsKernel =
    K::layout == WeightLayout::rows &&
    requires(const PackedGroup& g, GroupTiling tiling, std::size_t n, int max_x, const std::uint8_t* x,
             std::uint8_t* bytes, std::uint32_t* out) {
      { K::name } -> std::convertible_to<std::string_view>;
      { K::tiling(g, n, n, max_x) } -> std::same_as<GroupTiling>;
      K::interleave_tile(g, n, n, n, bytes, bytes);
      K::group_dots(g, tiling, n, n, x, n, n, n, max_x, bytes, out);
    };

/// A kernel of the lane-tile layout: one row per int32 lane.
///   lane_tile_dots(tiles, t, init, x, x_stride, cols, out, prefetch_bytes)
///                                   out[c * LaneTiles::tile_lanes + lane] = init[lane] + the
///                                   lane's row . column c, for cols <= LaneTiles::block_columns
template <class K>
concept LaneTileKernel =
    K::layout == WeightLayout::lane_tiles &&
    requires(const LaneTiles& tiles, std::size_t n, const std::uint32_t* init, const std::uint8_t* x,
             std::uint32_t* out) {
      { K::name } -> std::convertible_to<std::string_view>;
      K::lane_tile_dots(tiles, n, init, x, n, n, out, n);
    };

template <class K>
concept MicroKernel = RowsKernel<K> || LaneTileKernel<K>;

}  // namespace rmsmp::cpu::detail

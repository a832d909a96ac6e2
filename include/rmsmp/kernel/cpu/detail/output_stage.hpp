// rmsmp/kernel/cpu/detail/output_stage.hpp — a tile's raw dot products through the output
// pipeline into Y: the zero-point correction, then pipeline.apply per output, for the tiles of
// both weight layouts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu::detail {

/// The output stage of one tile: y(row, n0 + n) = pipeline(dot - zero-point correction) for
/// its rows [i0, i0 + count) of group g, from dots[n * ColumnStride + r] (the tile's rows per
/// column, GroupTiling). Rows: the row count as a template parameter for a full slice of 4
/// rows, so that its per-row values stay in registers, or 0 for `count` (< 4) rows known only
/// at run time.
///
/// Scalar, one output at a time: Y is column-major, so a row's outputs are M apart, and the
/// pipeline's per-row parameters and int64 requantization gain nothing from SSE2 batches
/// (measured: a separate xsimd pass for the correction alone cost 8 % more instructions on
/// K = 64). Column by column: the tile's rows of one column usually share a cache line of Y,
/// while a row's outputs each take their own line (row by row, the lines of a panel fell out
/// of L1 before the next row came back to them: 47 % of the time on 128x64x784).
template <std::size_t Rows, std::size_t ColumnStride, class Pipeline>
void store_tile_outputs(const PackedGroup& g, std::size_t i0, std::size_t count, const std::uint32_t* dots,
                        std::size_t cols, std::uint32_t zpu, const Pipeline& pipeline,
                        const OutputView<typename Pipeline::output_type>& y, std::size_t n0) {
  static_assert(Rows <= 4, "store_tile_outputs: slices of at most 4 rows keep their values in registers");
  constexpr std::size_t most_rows = 4;
  const std::size_t rows = Rows == 0 ? count : Rows;
  // Zero-initialised only to keep GCC's -Wmaybe-uninitialized quiet for Rows = 0.
  int row_of[most_rows] = {};
  std::uint32_t correction[most_rows] = {};
  typename Pipeline::output_type* out[most_rows] = {};  // y(row_of[r], n0)
  for (std::size_t r = 0; r < rows; ++r) {
    row_of[r] = g.original_rows[i0 + r];
    correction[r] = zpu * static_cast<std::uint32_t>(g.row_sums[i0 + r]);
    out[r] = &y(row_of[r], static_cast<int>(n0));
  }
  const auto stride = static_cast<std::size_t>(y.column_stride);
  for (std::size_t n = 0; n < cols; ++n) {
    // The column's dots are read before any output is written: Y's int32 may alias the
    // uint32 dots, so otherwise the compiler must keep every load after the store before it.
    std::uint32_t column[most_rows] = {};  // zero-initialised for -Wmaybe-uninitialized, as above
#pragma GCC unroll 4
    for (std::size_t r = 0; r < rows; ++r) column[r] = dots[n * ColumnStride + r];
#pragma GCC unroll 4
    for (std::size_t r = 0; r < rows; ++r) {
      // Exact: the contract guarantees the true sum fits in int32, so the value modulo 2^32
      // names it uniquely.
      const auto acc = static_cast<std::int32_t>(column[r] - correction[r]);
      out[r][n * stride] = pipeline.apply(acc, row_of[r]);
    }
  }
}

/// Every output of one tile, 4 rows at a time (store_tile_outputs), for tiles of
/// ColumnStride rows.
template <std::size_t ColumnStride, class Pipeline>
void store_tile(const PackedGroup& g, std::size_t i0, std::size_t count, const std::uint32_t* dots,
                std::size_t cols, std::uint32_t zpu, const Pipeline& pipeline,
                const OutputView<typename Pipeline::output_type>& y, std::size_t n0) {
  if constexpr (ColumnStride <= 4) {  // inner-product tiles: a single slice
    if (count == 4)
      store_tile_outputs<4, ColumnStride>(g, i0, 4, dots, cols, zpu, pipeline, y, n0);
    else
      store_tile_outputs<0, ColumnStride>(g, i0, count, dots, cols, zpu, pipeline, y, n0);
    return;
  }
  for (std::size_t r = 0; r < count; r += 4) {
    if (count - r >= 4)
      store_tile_outputs<4, ColumnStride>(g, i0 + r, 4, dots + r, cols, zpu, pipeline, y, n0);
    else
      store_tile_outputs<0, ColumnStride>(g, i0 + r, count - r, dots + r, cols, zpu, pipeline, y, n0);
  }
}

/// Where the results of one lane tile go: lane lane_of[i] is row row_of[i], for i < used;
/// with rows_in_order, lane i is row row_of[0] + i.
struct LaneTileOutputs {
  std::size_t used = 0;
  bool rows_in_order = false;
  std::array<std::size_t, LaneTiles::tile_lanes> lane_of{};
  std::array<int, LaneTiles::tile_lanes> row_of{};

  LaneTileOutputs(const LaneTiles& tiles, std::size_t t) {
    const std::span<const int> rows = tiles.rows_of(t);
    for (std::size_t lane = 0; lane < tiles.tiles[t].slices * LaneTiles::slice_lanes; ++lane)
      if (rows[lane] >= 0) {
        lane_of[used] = lane;
        row_of[used] = rows[lane];
        ++used;
      }
    rows_in_order = tiles.order == LaneOrder::by_row;
  }
};

/// The output stage of one lane tile: y(row, n0 + n) = pipeline(acc) for every used lane, acc
/// = dots[n * LaneTiles::tile_lanes + lane] (the zero-point correction is already in it).
/// Column by column, for the reason given at store_tile_outputs; rows in order as runs the
/// compiler vectorises, scattered rows one by one.
template <class Pipeline>
void store_lane_tile(const LaneTileOutputs& outputs, const std::uint32_t* dots, std::size_t cols,
                     const Pipeline& pipeline, const OutputView<typename Pipeline::output_type>& y, std::size_t n0) {
  constexpr std::size_t lanes = LaneTiles::tile_lanes;
  typename Pipeline::output_type* column = &y(0, static_cast<int>(n0));
  const auto stride = static_cast<std::size_t>(y.column_stride);
  // Exact: the contract guarantees the true sum fits in int32, so the value modulo 2^32 names
  // it uniquely.
  if (outputs.rows_in_order) {
    const int first = outputs.row_of[0];
    for (std::size_t n = 0; n < cols; ++n, column += stride) {
      const std::uint32_t* d = dots + n * lanes;
      typename Pipeline::output_type* out = column + first;
      for (std::size_t i = 0; i < outputs.used; ++i)
        out[i] = pipeline.apply(static_cast<std::int32_t>(d[i]), first + static_cast<int>(i));
    }
    return;
  }
  for (std::size_t n = 0; n < cols; ++n, column += stride) {
    const std::uint32_t* d = dots + n * lanes;
    for (std::size_t i = 0; i < outputs.used; ++i)
      column[outputs.row_of[i]] = pipeline.apply(static_cast<std::int32_t>(d[outputs.lane_of[i]]), outputs.row_of[i]);
  }
}

}  // namespace rmsmp::cpu::detail

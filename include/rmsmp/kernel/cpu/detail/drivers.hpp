// rmsmp/kernel/cpu/detail/drivers.hpp — one GEMM call on packed weights, for any micro-kernel
// type: the checks every call makes, the activations' conversion, the sweep over panels and
// tiles (work_units.hpp) and the output stage (output_stage.hpp). A driver per weight layout;
// the kernel type (micro_kernel.hpp) is a template parameter, so the drivers are written once
// and each architecture's kernel is compiled into them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "rmsmp/core/activations.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/cpu/detail/activation_columns.hpp"
#include "rmsmp/kernel/cpu/detail/micro_kernel.hpp"
#include "rmsmp/kernel/cpu/detail/output_stage.hpp"
#include "rmsmp/kernel/cpu/detail/work_units.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"
#include "rmsmp/kernel/cpu/thread_pool.hpp"

namespace rmsmp::cpu::detail {

/// The kernels of the rows layout (generic, AVX2). The activations are swept in panels of
/// columns (panel_columns, or outer_panel_columns), and every panel by tiles of rows
/// (GroupTiling: 4 or 16 rows of one group); with a pool, the threads take the work in units
/// (WorkUnits). Every output is computed by one thread exactly as without a pool, so the
/// results do not depend on the thread count.
template <RowsKernel Kernel, ActivationValue T, class Pipeline>
void run_rows_layout(const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
                     const OutputView<typename Pipeline::output_type>& y, ThreadPool* pool,
                     std::size_t min_work_per_thread, std::uint32_t zpu) {
  const std::size_t Kp = w.padded_cols();
  const std::size_t blocks = Kp / PackedWeights::block;
  const auto N = static_cast<std::size_t>(x.cols);
  const int max_x = x.params.bits == 4 ? 15 : 255;

  // The tiles of the call are numbered group by group; outer-product tiles are also numbered
  // among themselves (their interleaved levels, made once per call by the prologue units,
  // follow one another in outer_levels).
  struct GroupTiles {
    GroupTiling tiling;
    std::size_t first = 0, count = 0;  // its tiles among the call's
    std::size_t first_outer = 0;       // its first tile among the outer-product tiles
  };
  std::vector<GroupTiles> groups;
  std::size_t tile_count = 0, outer_count = 0;
  for (const PackedGroup& g : w.groups()) {
    const GroupTiling tiling = Kernel::tiling(g, N, static_cast<std::size_t>(w.cols()), max_x);
    const std::size_t count = (g.rows + tiling.rows - 1) / tiling.rows;
    groups.push_back({tiling, tile_count, count, outer_count});
    tile_count += count;
    if (tiling.outer) outer_count += count;
  }
  const std::size_t outer_tile_bytes = max_tile_rows * Kp;
  const std::size_t panel = std::min(N, outer_count == 0 ? panel_columns(Kp) : outer_panel_columns(static_cast<std::size_t>(w.rows()), Kp));
  const double work = static_cast<double>(w.rows()) * static_cast<double>(Kp) * static_cast<double>(N);
  const int threads = pool == nullptr ? 1 : threads_for(pool->size(), tile_count, work, min_work_per_thread);
  const WorkUnits plan = plan_units(static_cast<std::size_t>(threads), tile_count, (N + panel - 1) / panel, work);

  // The activations as the kernels read them, written by the prologue units (not zeroed here
  // first: that was a pass over all of them on the calling thread), read-only after them.
  AlignedBytes xb(Kp * N, AlignedBytes::Uninitialized{});
  AlignedBytes outer_levels(outer_count * outer_tile_bytes);

  // Prologue unit u: its share of the activation columns and of the outer-product tiles.
  auto prologue = [&](std::size_t u) {
    const ItemRange columns = plan.prologue_share(N, u);
    offset_binary_columns(x, Kp, columns.begin, columns.end, xb.data());
    const ItemRange outer = plan.prologue_share(outer_count, u);
    AlignedBytes block_scratch(outer.begin == outer.end ? 0 : 64);
    for (std::size_t j = 0; j < groups.size(); ++j) {
      if (!groups[j].tiling.outer) continue;
      const std::size_t begin = std::max(outer.begin, groups[j].first_outer);
      const std::size_t end = std::min(outer.end, groups[j].first_outer + groups[j].count);
      for (std::size_t o = begin; o < end; ++o) {
        const std::size_t i0 = (o - groups[j].first_outer) * max_tile_rows;
        Kernel::interleave_tile(w.groups()[j], i0, std::min(max_tile_rows, w.groups()[j].rows - i0), blocks,
                        block_scratch.data(), outer_levels.data() + o * outer_tile_bytes);
      }
    }
  };
  auto make_compute = [&] {
    return [&, level_scratch = AlignedBytes(GroupTiling{}.rows * Kp),
            dots = std::vector<std::uint32_t>(max_tile_rows * panel)](std::size_t u) mutable {
      const std::size_t n0 = plan.panel_of(u) * panel;
      const std::size_t cols = std::min(panel, N - n0);
      const ItemRange share = plan.tile_share(u);
      for (std::size_t j = 0; j < groups.size(); ++j) {
        const PackedGroup& g = w.groups()[j];
        const GroupTiling tiling = groups[j].tiling;
        const std::size_t begin = std::max(share.begin, groups[j].first);
        const std::size_t end = std::min(share.end, groups[j].first + groups[j].count);
        for (std::size_t t = begin; t < end; ++t) {
          const std::size_t i0 = (t - groups[j].first) * tiling.rows;
          const std::size_t count = std::min(tiling.rows, g.rows - i0);
          std::uint8_t* levels =
              tiling.outer ? outer_levels.data() + (groups[j].first_outer + t - groups[j].first) * outer_tile_bytes
                           : level_scratch.data();
          Kernel::group_dots(g, tiling, i0, count, xb.data() + n0 * Kp, Kp, cols, blocks, max_x, levels,
                     dots.data());
          // Outer-product tiles have max_tile_rows rows (the kernels assert it), the others 4.
          if (tiling.outer)
            store_tile<max_tile_rows>(g, i0, count, dots.data(), cols, zpu, pipeline, y, n0);
          else
            store_tile<GroupTiling{}.rows>(g, i0, count, dots.data(), cols, zpu, pipeline, y, n0);
        }
      }
    };
  };
  run_units(plan, threads, pool, prologue, make_compute);
}

/// Bytes ahead of its reads that a GEMV's lane tile fetches its weight stream.
inline constexpr std::size_t gemv_prefetch_bytes = 1024;

/// The kernels of the lane-tile layout (AVX-512 VNNI). Panels of columns as in the rows
/// layout (panel_columns: the panel's activations stay in L2 while every tile passes over
/// them), every panel tile by tile, every tile LaneTiles::block_columns columns at a time, each
/// column block's outputs stored at once (its dots are still in L1). Threads as in
/// run_rows_layout.
template <LaneTileKernel Kernel, ActivationValue T, class Pipeline>
void run_lane_tiles(const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
                    const OutputView<typename Pipeline::output_type>& y, ThreadPool* pool,
                    std::size_t min_work_per_thread, std::uint32_t zpu) {
  const LaneTiles& tiles = w.lane_tiles();
  const std::size_t Kp = w.padded_cols();
  const auto N = static_cast<std::size_t>(x.cols);
  const std::size_t tile_count = tiles.tiles.size();
  const std::size_t panel = std::min(N, panel_columns(Kp));
  const double work = static_cast<double>(w.rows()) * static_cast<double>(Kp) * static_cast<double>(N);
  const int threads = pool == nullptr ? 1 : threads_for(pool->size(), tile_count, work, min_work_per_thread);
  const WorkUnits plan = plan_units(static_cast<std::size_t>(threads), tile_count, (N + panel - 1) / panel, work);
  const std::size_t prefetch_bytes = N <= 2 ? gemv_prefetch_bytes : 0;

  // uint8 activations are offset binary already, and with K a multiple of the step the kernel
  // reads exactly K bytes of a column: then it reads them where they are, with no copy.
  const bool in_place = std::is_unsigned_v<T> && static_cast<std::size_t>(x.rows) % LaneTiles::step_columns == 0;
  AlignedBytes xb(in_place ? 0 : Kp * N, AlignedBytes::Uninitialized{});
  const std::uint8_t* xs = in_place ? reinterpret_cast<const std::uint8_t*>(x.data) : xb.data();
  const std::size_t x_stride = in_place ? static_cast<std::size_t>(x.column_stride) : Kp;
  // The accumulators start at -zpu * (the lane's sum of levels), mod 2^32.
  AlignedBytes init_bytes(tile_count * LaneTiles::tile_lanes * sizeof(std::uint32_t), AlignedBytes::Uninitialized{});
  auto* init = reinterpret_cast<std::uint32_t*>(init_bytes.data());
  for (std::size_t lane = 0; lane < tile_count * LaneTiles::tile_lanes; ++lane)
    init[lane] = 0u - zpu * static_cast<std::uint32_t>(tiles.lane_sums[lane]);
  auto prologue = [&](std::size_t u) {
    if (in_place) return;
    const ItemRange columns = plan.prologue_share(N, u);
    offset_binary_columns(x, Kp, columns.begin, columns.end, xb.data());
  };
  auto make_compute = [&] {
    return [&, dots = std::vector<std::uint32_t>(LaneTiles::tile_lanes * LaneTiles::block_columns)](std::size_t u) mutable {
      const std::size_t n0 = plan.panel_of(u) * panel;
      const std::size_t n1 = std::min(N, n0 + panel);
      const ItemRange share = plan.tile_share(u);
      for (std::size_t t = share.begin; t < share.end; ++t) {
        const LaneTileOutputs outputs(tiles, t);
        for (std::size_t n = n0; n < n1; n += LaneTiles::block_columns) {
          const std::size_t cols = std::min<std::size_t>(LaneTiles::block_columns, n1 - n);
          Kernel::lane_tile_dots(tiles, t, init + t * LaneTiles::tile_lanes, xs + n * x_stride, x_stride, cols,
                         dots.data(), prefetch_bytes);
          store_lane_tile(outputs, dots.data(), cols, pipeline, y, n);
        }
      }
    };
  };
  run_units(plan, threads, pool, prologue, make_compute);
}

/// The kernel: checks, then the driver of the weights' layout.
template <MicroKernel Kernel, ActivationValue T, class Pipeline>
void run_gemm(const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
              const OutputView<typename Pipeline::output_type>& y, ThreadPool* pool = nullptr,
              std::size_t min_work_per_thread = 0) {
  // Cheap shape and parameter checks: enough for memory safety even if the caller skipped
  // check_gemm_arguments (which the backend always runs first). All on the calling thread,
  // before any work is handed out.
  rmsmp::require(w.layout() == Kernel::layout, [&] {
    return "cpu gemm: the weights are packed in the " + std::string(layout_name(w.layout())) +
           " layout but this kernel reads the " + std::string(layout_name(Kernel::layout)) +
           " layout (pack them with PackedWeights(matrix, cpu::layout_for(arch)), or use "
           "CpuBackend::prepare)";
  });
  rmsmp::require(x.rows == w.cols(), [&] {
    return "cpu gemm: the activations have K = " + std::to_string(x.rows) +
           " rows but the packed weights have K = " + std::to_string(w.cols());
  });
  rmsmp::require(y.rows == w.rows() && y.cols == x.cols, [&] {
    return "cpu gemm: the output is " + std::to_string(y.rows) + " x " + std::to_string(y.cols) + ", expected " +
           std::to_string(w.rows()) + " x " + std::to_string(x.cols);
  });
  check_activation_params<T>(x.params);
  pipeline.check(w.rows());
  if (w.rows() == 0 || x.cols == 0) return;
  // acc = sum level * (x - zp) = sum level * xu - zpu * sum level, xu - zpu = x - zp.
  const auto zpu = static_cast<std::uint32_t>(x.params.zero_point + (std::is_signed_v<T> ? 128 : 0));
  if constexpr (LaneTileKernel<Kernel>)
    run_lane_tiles<Kernel>(w, x, pipeline, y, pool, min_work_per_thread, zpu);
  else
    run_rows_layout<Kernel>(w, x, pipeline, y, pool, min_work_per_thread, zpu);
}

}  // namespace rmsmp::cpu::detail

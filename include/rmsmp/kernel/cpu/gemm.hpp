// rmsmp/kernel/cpu/gemm.hpp — the CPU backend: packed weights, run-time dispatch to the best
// micro-kernel (generic, AVX2, AVX-512 VNNI), int32 accumulation over all of K, the output pipeline once per
// output. Bit-identical to reference::gemm for every call check_gemm_arguments accepts.
//
//   cpu::gemm<Arch>(packed, x, pipeline, y)   the kernel on PackedWeights packed for it
//                                             (layout_for(Arch::id); arguments assumed
//                                             checked against the source matrix)
//   CpuBackend<> backend;                     best runnable arch (or CpuBackend<cpu::avx2>, or
//                                             CpuBackend<>{cpu::ArchId::generic} to force one)
//   auto w = backend.prepare(matrix);         pack once
//   backend.gemm(w, x, pipeline, y);          checks, then runs; as often as needed
//   backend.gemm(matrix, x, pipeline, y);     the ReferenceBackend signature: checks, packs, runs
//   CpuBackend<> mt(cpu::Threads{4});         up to 4 threads per call (thread_pool.hpp)
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/kernel/cpu/detail/avx2.hpp"
#include "rmsmp/kernel/cpu/detail/avx512_emulated.hpp"
#include "rmsmp/kernel/cpu/detail/avx512_vnni.hpp"
#include "rmsmp/kernel/cpu/detail/generic.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"
#include "rmsmp/kernel/cpu/thread_pool.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp::cpu {

namespace detail {

/// The micro-kernels: one per architecture, and the AVX-512 VNNI kernel on emulated
/// instructions (avx512_emulated.hpp), which runs anywhere and is only meant for tests.
enum class Kernel { generic, avx2, avx512_vnni, avx512_vnni_emulated };

constexpr Kernel kernel_for(ArchId a) {
  switch (a) {
    case ArchId::avx2:
      return Kernel::avx2;
    case ArchId::avx512_vnni:
      return Kernel::avx512_vnni;
    case ArchId::generic:
      break;
  }
  return Kernel::generic;
}

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

/// How `kernel` (of the rows layout) computes group g in a call with `cols` activation columns
/// and K = `depth` (all panels of the call use the same tiling): inner-product tiles of 4 rows,
/// or where the kernel has them and they pay, outer-product tiles (tile_kernel.inc).
inline GroupTiling group_tiling(Kernel kernel, const PackedGroup& g, std::size_t cols, std::size_t depth,
                                int max_x) {
  (void)g, (void)max_x;  // only the AVX2 kernel asks, and only on x86
  switch (kernel) {
#if RMSMP_CPU_X86_KERNELS
    case Kernel::avx2:
      return avx2_impl::tiling(g, cols, depth, max_x);
#endif
    default:
      return {};  // generic: inner-product rows only
  }
}

/// For an outer tiling: the levels of rows [i0, i0 + count) of group g as group_dots reads
/// them, tiling.rows * blocks * 64 bytes at `out`; block_scratch: 64 bytes. Both 64-byte
/// aligned.
inline void interleave_tile(Kernel kernel, const PackedGroup& g, std::size_t i0, std::size_t count,
                            std::size_t blocks, std::uint8_t* block_scratch, std::uint8_t* out) {
  switch (kernel) {
#if RMSMP_CPU_X86_KERNELS
    case Kernel::avx2:
      return avx2_impl::interleave_tile(g, i0, count, blocks, block_scratch, out);
#endif
    default:
      break;
  }
  throw Error("cpu backend: this kernel has no outer-product tiles");
}

/// Raw dot products of rows [i0, i0 + count) of group g (count <= tiling.rows) against `cols`
/// columns, laid out as GroupTiling says. levels: for an outer tiling, the tile's levels from
/// interleave_tile; otherwise scratch of 4 * blocks * 64 bytes for the SIMD kernels' expanded
/// nibble levels. 64-byte aligned.
inline void group_dots(Kernel kernel, const PackedGroup& g, GroupTiling tiling, std::size_t i0, std::size_t count,
                       const std::uint8_t* x, std::size_t x_stride, std::size_t cols, std::size_t blocks, int max_x,
                       std::uint8_t* levels, std::uint32_t* out) {
  switch (kernel) {
#if RMSMP_CPU_X86_KERNELS
    case Kernel::avx2:
      avx2_impl::group_dots(g, tiling, i0, count, x, x_stride, cols, blocks, max_x, levels, out);
      return;
#endif
    case Kernel::generic:
      generic_impl::group_dots(g, i0, count, x, x_stride, cols, blocks, out);
      return;
    default:
      break;
  }
  throw Error("cpu backend: this kernel is not compiled in");
}

/// The layout a kernel reads (PackedWeights).
constexpr WeightLayout layout_for(Kernel kernel) {
  return kernel == Kernel::avx512_vnni || kernel == Kernel::avx512_vnni_emulated ? WeightLayout::lane_tiles
                                                                                   : WeightLayout::rows;
}

/// A lane-tile kernel on tile t (lane_tile_kernel.inc): out[c * LaneTiles::tile_lanes + lane]
/// = init[lane] + dot product of the lane's row and column c (cols <= LaneTiles::block_columns).
inline void lane_tile_dots(Kernel kernel, const LaneTiles& tiles, std::size_t t, const std::uint32_t* init,
                           const std::uint8_t* x, std::size_t x_stride, std::size_t cols, std::uint32_t* out,
                           std::size_t prefetch_bytes) {
  switch (kernel) {
#if RMSMP_CPU_X86_KERNELS
    case Kernel::avx512_vnni:
      avx512_vnni_impl::lane_tile_dots(tiles, t, init, x, x_stride, cols, out, prefetch_bytes);
      return;
#endif
    case Kernel::avx512_vnni_emulated:
      avx512_vnni_emulated_impl::lane_tile_dots(tiles, t, init, x, x_stride, cols, out, prefetch_bytes);
      return;
    default:
      break;
  }
  throw Error("cpu backend: this kernel has no lane tiles");
}

/// How many threads a call uses: at most `threads`, one tile (GroupTiling::rows rows of one
/// group) each at least, and one per `min_work` multiply-adds at least (0: no such limit).
inline int threads_for(int threads, std::size_t tiles, double multiply_adds, std::size_t min_work) {
  double limit = std::min(static_cast<double>(threads), static_cast<double>(tiles));
  if (min_work > 0) limit = std::min(limit, std::floor(multiply_adds / static_cast<double>(min_work)));
  return limit < 1 ? 1 : static_cast<int>(limit);
}

/// Items [begin, end) of a range.
struct ItemRange {
  std::size_t begin = 0, end = 0;
};

/// How one call's work is cut into units (run_gemm). The threads take the units in order from a
/// shared counter, so a thread that starts late (a worker waking up) or runs slowly (another
/// process on its core) takes fewer units instead of holding up the call, and every thread
/// gets about the same time's work whatever a scheme's rows cost on the kernel.
///   units [0, prologue_units)   prologue unit u converts its share (prologue_share) of the
///                               activation columns and interleaves its share of the
///                               outer-product tiles
///   then, panel by panel        units of up to unit_tiles consecutive tiles of the call (all
///                               groups' tiles, group by group): tile_share
/// A compute unit starts only after every prologue unit has ended. Which thread computes a tile
/// does not change how it is computed, so results do not depend on the thread count or timing.
struct WorkUnits {
  std::size_t prologue_units = 1;
  std::size_t tiles = 0;       // tiles of the call, all groups
  std::size_t panels = 0;      // column panels of the call
  std::size_t unit_tiles = 1;  // tiles per compute unit, >= 1

  std::size_t units_per_panel() const { return (tiles + unit_tiles - 1) / unit_tiles; }
  std::size_t units() const { return prologue_units + panels * units_per_panel(); }

  /// Prologue unit u's share of `items` items: [items * u / P, items * (u + 1) / P).
  ItemRange prologue_share(std::size_t items, std::size_t u) const {
    return {items * u / prologue_units, items * (u + 1) / prologue_units};
  }
  /// The panel of compute unit u (prologue_units <= u < units()).
  std::size_t panel_of(std::size_t u) const { return (u - prologue_units) / units_per_panel(); }
  /// The tiles of compute unit u.
  ItemRange tile_share(std::size_t u) const {
    const std::size_t first = (u - prologue_units) % units_per_panel() * unit_tiles;
    return {first, std::min(tiles, first + unit_tiles)};
  }
};

/// The units of a call of `work` multiply-adds (M * padded K * N) in `tiles` tiles and `panels`
/// panels on `threads` threads. One thread: a compute unit per panel (the loop of a call
/// without threads). Several: units of at most about 4 Mi multiply-adds (about 60 us at the
/// 1-thread rate of AVX2 on 512x4608x196 here: 462 M in 7 ms), so that taking a unit (one
/// atomic increment) costs nothing next to it, and at most 1/8 of a thread's share of the
/// work (so at least 4 units per thread after rounding up to whole tiles), so that the last
/// unit to end leaves the other threads idle for a small part of the call.
inline WorkUnits plan_units(std::size_t threads, std::size_t tiles, std::size_t panels, double work) {
  WorkUnits plan{1, tiles, panels, std::max<std::size_t>(tiles, 1)};
  if (threads <= 1 || tiles == 0 || panels == 0 || work <= 0) return plan;
  plan.prologue_units = 4 * threads;
  const double unit_work = std::min(static_cast<double>(std::size_t{1} << 22), work / (8.0 * static_cast<double>(threads)));
  const double tile_work = work / (static_cast<double>(tiles) * static_cast<double>(panels));
  plan.unit_tiles = std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(unit_work / tile_work)), 1, tiles);
  return plan;
}

/// Columns of activations the kernel sweeps before moving to the next tile of rows: about
/// 192 KiB of activations, so that they stay in a core's L2 cache while every tile of rows
/// passes over them (the weights of one tile stay in L1). Always a multiple of 4 (the widest
/// register tile), at least 4.
inline std::size_t panel_columns(std::size_t padded_k) {
  constexpr std::size_t panel_bytes = std::size_t{192} << 10;
  return std::max<std::size_t>(4, panel_bytes / padded_k / 4 * 4);
}

/// Columns per panel when outer-product tiles run: few enough that the panel's int32 outputs,
/// M per column, about 16 KiB, stay in L1 while every tile writes its rows of them (a group's
/// rows are scattered over Y, so each tile writes a few values into many lines of Y). The
/// weights (interleaved once per call) and activations are small there (K <= 64 *
/// outer_max_blocks). At most panel_columns(padded_k); a multiple of 4, at least 4.
inline std::size_t outer_panel_columns(std::size_t rows, std::size_t padded_k) {
  constexpr std::size_t y_bytes = std::size_t{16} << 10;
  const std::size_t columns = y_bytes / (sizeof(std::int32_t) * std::max<std::size_t>(rows, 1)) / 4 * 4;
  return std::min(panel_columns(padded_k), std::max<std::size_t>(4, columns));
}

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

/// Runs the units of `plan` on `threads` threads (the pool's, or the calling thread alone):
/// every thread takes units in order from a shared counter; prologue(u) for the prologue
/// units, then, once every prologue unit has ended, compute(u) with a compute function that
/// make_compute() made for this thread (it owns the thread's scratch, allocated before the
/// thread takes any unit).
template <class Prologue, class MakeCompute>
void run_units(const WorkUnits& plan, int threads, ThreadPool* pool, const Prologue& prologue,
               const MakeCompute& make_compute) {
  std::atomic<std::size_t> next_unit{0}, prologue_ended{0};
  auto work_units = [&](int) {
    auto compute = make_compute();
    bool prologue_seen = false;
    for (std::size_t u = next_unit++; u < plan.units(); u = next_unit++) {
      if (u < plan.prologue_units) {
        // Counted even if it throws (none is expected): the exception reaches the caller,
        // and no thread waits for this unit forever.
        struct CountOnExit {
          std::atomic<std::size_t>& ended;
          ~CountOnExit() { ended.fetch_add(1, std::memory_order_release); }
        } count_on_exit{prologue_ended};
        prologue(u);
        continue;
      }
      if (!prologue_seen) {  // the other threads' prologue units are short: wait, don't sleep
        while (prologue_ended.load(std::memory_order_acquire) < plan.prologue_units) std::this_thread::yield();
        prologue_seen = true;
      }
      compute(u);
    }
  };
  // One thread, a busy pool, or a call from inside a pool job: all on the calling thread.
  if (threads == 1 || !pool->try_run(threads, work_units)) work_units(0);
}

/// The kernels of the rows layout (generic, AVX2). The activations are swept in panels of
/// columns (panel_columns, or outer_panel_columns), and every panel by tiles of rows
/// (GroupTiling: 4 or 16 rows of one group); with a pool, the threads take the work in units
/// (WorkUnits). Every output is computed by one thread exactly as without a pool, so the
/// results do not depend on the thread count.
template <ActivationValue T, class Pipeline>
void run_rows_layout(Kernel kernel, const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
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
    const GroupTiling tiling = group_tiling(kernel, g, N, static_cast<std::size_t>(w.cols()), max_x);
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
        interleave_tile(kernel, w.groups()[j], i0, std::min(max_tile_rows, w.groups()[j].rows - i0), blocks,
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
          group_dots(kernel, g, tiling, i0, count, xb.data() + n0 * Kp, Kp, cols, blocks, max_x, levels,
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

/// Bytes ahead of its reads that a GEMV's lane tile fetches its weight stream.
inline constexpr std::size_t gemv_prefetch_bytes = 1024;

/// The kernels of the lane-tile layout (AVX-512 VNNI). Panels of columns as in the rows
/// layout (panel_columns: the panel's activations stay in L2 while every tile passes over
/// them), every panel tile by tile, every tile LaneTiles::block_columns columns at a time, each
/// column block's outputs stored at once (its dots are still in L1). Threads as in
/// run_rows_layout.
template <ActivationValue T, class Pipeline>
void run_lane_tiles(Kernel kernel, const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
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
          lane_tile_dots(kernel, tiles, t, init + t * LaneTiles::tile_lanes, xs + n * x_stride, x_stride, cols,
                         dots.data(), prefetch_bytes);
          store_lane_tile(outputs, dots.data(), cols, pipeline, y, n);
        }
      }
    };
  };
  run_units(plan, threads, pool, prologue, make_compute);
}

/// The kernel: checks, then the driver of the weights' layout.
template <ActivationValue T, class Pipeline>
void run_gemm(Kernel kernel, const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
              const OutputView<typename Pipeline::output_type>& y, ThreadPool* pool = nullptr,
              std::size_t min_work_per_thread = 0) {
  // Cheap shape and parameter checks: enough for memory safety even if the caller skipped
  // check_gemm_arguments (which the backend always runs first). All on the calling thread,
  // before any work is handed out.
  rmsmp::require(w.layout() == layout_for(kernel), [&] {
    return "cpu gemm: the weights are packed in the " + std::string(layout_name(w.layout())) +
           " layout but this kernel reads the " + std::string(layout_name(layout_for(kernel))) +
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
  if (w.layout() == WeightLayout::lane_tiles)
    run_lane_tiles(kernel, w, x, pipeline, y, pool, min_work_per_thread, zpu);
  else
    run_rows_layout(kernel, w, x, pipeline, y, pool, min_work_per_thread, zpu);
}

}  // namespace detail

/// The kernel of architecture A on packed weights. Precondition: check_gemm_arguments passed
/// for the matrix `w` was packed from (CpuBackend does this); only shapes are rechecked here.
/// Throws rmsmp::Error if A cannot run on this machine.
template <Arch A, ActivationValue T, class Pipeline>
void gemm(const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
          const OutputView<typename Pipeline::output_type>& y) {
  require_runnable(A::id);
  detail::run_gemm(detail::kernel_for(A::id), w, x, pipeline, y);
}

/// The same with the architecture chosen at run time.
template <ActivationValue T, class Pipeline>
void gemm(ArchId arch, const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
          const OutputView<typename Pipeline::output_type>& y) {
  require_runnable(arch);
  detail::run_gemm(detail::kernel_for(arch), w, x, pipeline, y);
}

/// A matrix and its packed form. Holds a pointer to the matrix (for the argument checks),
/// so the matrix must outlive it and must not be modified (like a std::string_view).
template <class Mix>
class PreparedMatrix {
 public:
  /// Packed for the kernel of best_available_arch().
  explicit PreparedMatrix(const MixedRowMatrix<Mix>& matrix) : matrix_(&matrix), packed_(matrix) {}
  PreparedMatrix(const MixedRowMatrix<Mix>& matrix, WeightLayout layout) : matrix_(&matrix), packed_(matrix, layout) {}
  /// Lane tiles in a chosen order (by_scheme: the smaller weights, for a matrix streamed from
  /// memory; by_row: the faster stores, for one that stays in cache).
  PreparedMatrix(const MixedRowMatrix<Mix>& matrix, WeightLayout layout, LaneOrder order)
      : matrix_(&matrix), packed_(matrix, layout, order) {}
  explicit PreparedMatrix(const MixedRowMatrix<Mix>&&) = delete;  // would dangle
  PreparedMatrix(const MixedRowMatrix<Mix>&&, WeightLayout) = delete;
  PreparedMatrix(const MixedRowMatrix<Mix>&&, WeightLayout, LaneOrder) = delete;

  const MixedRowMatrix<Mix>& matrix() const { return *matrix_; }
  const PackedWeights& packed() const { return packed_; }

 private:
  const MixedRowMatrix<Mix>* matrix_;
  PackedWeights packed_;
};

}  // namespace rmsmp::cpu

namespace rmsmp {

/// The CPU backend behind the shared interface backend.gemm(weights, x, pipeline, y).
/// Arch = cpu::dispatch picks cpu::best_available_arch() at construction (or the ArchId given
/// to the constructor); Arch = cpu::generic / cpu::avx2 fixes the path. Constructing a
/// backend for a path this machine cannot run throws rmsmp::Error.
///
/// Threads: cpu::Threads{n} lets one call use up to n threads (default 1: no pool). The
/// n - 1 workers are started at construction and shared by copies of the backend (a
/// shared_ptr). The backend is safe to call from several threads at once: one call at a time
/// uses the pool, a call that finds it busy runs on its calling thread alone; so does a call
/// made from inside a pool job. Results are bit-identical for every thread count.
template <class Arch = cpu::dispatch>
  requires(std::same_as<Arch, cpu::dispatch> || cpu::Arch<Arch>)
class CpuBackend {
 public:
  static constexpr std::string_view name = "cpu";

  CpuBackend() : CpuBackend(cpu::Threads{}) {}
  explicit CpuBackend(cpu::Threads threads)
      : arch_(runnable(default_arch())), threads_(threads), pool_(make_pool(threads)) {}
  explicit CpuBackend(cpu::ArchId forced, cpu::Threads threads = {})
    requires std::same_as<Arch, cpu::dispatch>
      : arch_(runnable(forced)), threads_(threads), pool_(make_pool(threads)) {}

  cpu::ArchId arch() const { return arch_; }
  /// The thread settings given at construction (threads().count = the most one call uses).
  cpu::Threads threads() const { return threads_; }

  /// Packs `matrix` once, in the layout of this backend's kernel, for every later gemm call
  /// on it (by this backend or another one of the same arch()).
  template <class Mix>
  cpu::PreparedMatrix<Mix> prepare(const MixedRowMatrix<Mix>& matrix) const {
    return cpu::PreparedMatrix<Mix>(matrix, cpu::layout_for(arch_));
  }
  template <class Mix>
  cpu::PreparedMatrix<Mix> prepare(const MixedRowMatrix<Mix>&& matrix) const = delete;

  /// The fast path: weights packed by prepare().
  template <class Mix, ActivationValue T, class Pipeline>
  void gemm(const cpu::PreparedMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
            const OutputView<typename Pipeline::output_type>& y) const {
    check_gemm_arguments(weights.matrix(), x, pipeline, y);
    cpu::detail::run_gemm(cpu::detail::kernel_for(arch_), weights.packed(), x, pipeline, y, pool_.get(), threads_.min_work_per_thread);
  }

  /// The ReferenceBackend signature. Packs the matrix on every call (O(M*K) extra work):
  /// call prepare() once and pass its result when the same weights serve many calls.
  template <class Mix, ActivationValue T, class Pipeline>
  void gemm(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
            const OutputView<typename Pipeline::output_type>& y) const {
    check_gemm_arguments(weights, x, pipeline, y);
    cpu::detail::run_gemm(cpu::detail::kernel_for(arch_), cpu::PackedWeights(weights, cpu::layout_for(arch_)), x,
                          pipeline, y, pool_.get(), threads_.min_work_per_thread);
  }

  /// Returning a new M x N matrix, like reference::gemm.
  template <class W, ActivationValue T, class Pipeline>
  auto gemm(const W& weights, const ActivationView<T>& x, const Pipeline& pipeline) const {
    using Out = typename Pipeline::output_type;
    Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic> y(rows_of(weights), x.cols);
    gemm(weights, x, pipeline, OutputView<Out>::of(y));
    return y;
  }

 private:
  static cpu::ArchId runnable(cpu::ArchId a) {
    cpu::require_runnable(a);
    return a;
  }
  // Throws rmsmp::Error for a count below 1.
  static std::shared_ptr<cpu::detail::ThreadPool> make_pool(cpu::Threads threads) {
    return threads.count == 1 ? nullptr : std::make_shared<cpu::detail::ThreadPool>(threads.count);
  }
  static cpu::ArchId default_arch() {
    if constexpr (std::same_as<Arch, cpu::dispatch>)
      return cpu::best_available_arch();
    else
      return Arch::id;
  }
  template <class Mix>
  static int rows_of(const MixedRowMatrix<Mix>& m) {
    return m.rows();
  }
  template <class Mix>
  static int rows_of(const cpu::PreparedMatrix<Mix>& m) {
    return m.matrix().rows();
  }

  cpu::ArchId arch_;
  cpu::Threads threads_;
  std::shared_ptr<cpu::detail::ThreadPool> pool_;  // null for one thread
};

}  // namespace rmsmp

// rmsmp/kernel/cpu/detail/work_units.hpp — how one CPU call is cut into panels, tiles and
// units of work, and how threads share the units. Nothing here depends on the micro-kernel:
// every driver (drivers.hpp) schedules its tiles this way.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "rmsmp/kernel/cpu/thread_pool.hpp"

namespace rmsmp::cpu::detail {

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

}  // namespace rmsmp::cpu::detail

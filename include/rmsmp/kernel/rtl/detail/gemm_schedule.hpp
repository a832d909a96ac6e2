// rmsmp/kernel/rtl/detail/gemm_schedule.hpp — how one GEMM is cut into engine runs: K into
// chunks that one run holds, and each chunk's passes into weight loads that the weight and
// row-parameter memories hold. It needs only the engine's parameters and the shape (rows per
// lane type, K), no matrix and no simulator, so the cycle model can walk the same runs.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/rtl/cycle_model.hpp"
#include "rmsmp/kernel/rtl/engine.hpp"

namespace rmsmp::rtl::detail {

/// Columns [begin, end) of the weights (rows [begin, end) of the activations): one engine run's
/// share of K.
struct KSlice {
  int begin = 0;
  int end = 0;
  int depth() const { return end - begin; }
};

/// One weight load and the stream that follows it: a K slice, and per lane type the rows
/// [first_row, first_row + rows) of that type's row list, which its passes compute.
struct WeightLoad {
  KSlice k;
  std::array<int, lane_type_count> first_row{};
  std::array<int, lane_type_count> rows{};
};

/// Every engine run of one GEMM, in the order the backend runs them.
struct GemmSchedule {
  /// True when K fits one run: the engine runs the caller's output pipeline. Otherwise every
  /// slice returns raw accumulators, and the host adds them and runs the pipeline on the sum.
  bool output_on_engine = false;
  std::vector<KSlice> k_slices;
  std::vector<WeightLoad> loads;  ///< by K slice, then by pass
};

/// Passes one weight load holds for a K slice of `depth` (>= 1): the weight memories and the
/// row-parameter memory bound it.
constexpr int passes_per_load(const EngineParams& p, int depth) {
  return std::min(p.weight_depth / p.beats(depth), p.param_depth / p.total_lanes());
}

/// K in slices of at most `max_depth` (one slice when K fits). A split K is cut into balanced
/// slices, each a whole number of beats where that still fits (no padded beats).
inline std::vector<KSlice> k_slices(const EngineParams& p, int K, int max_depth) {
  if (K >= 1 && K <= max_depth) return {KSlice{0, K}};
  const int chunks = (K + max_depth - 1) / max_depth;
  const int balanced = chunks == 0 ? 0 : (K + chunks - 1) / chunks;
  const int whole_beats = (balanced + p.k_par - 1) / p.k_par * p.k_par;
  const int step = whole_beats <= max_depth ? whole_beats : balanced;
  std::vector<KSlice> slices;
  for (int begin = 0; begin < K; begin += step) slices.push_back({begin, std::min(K, begin + step)});
  return slices;
}

/// The weight loads of one K slice: a column's passes, as many per load as the memories hold.
/// Throws rmsmp::Error when the slice does not fit the engine's memories at all.
inline std::vector<WeightLoad> weight_loads(const EngineParams& p, const std::array<int, lane_type_count>& rows,
                                            KSlice slice) {
  const int depth = slice.depth();
  rmsmp::require(depth >= 1 && p.beats(depth) <= p.act_depth && passes_per_load(p, depth) >= 1,
                         "rtl backend: a K chunk of " + std::to_string(depth) + " does not fit the engine (" +
                             describe(p) + ")");
  const int passes = passes_per_column(p, rows);
  const int passes_in_load = passes_per_load(p, depth);
  std::vector<WeightLoad> loads;
  for (int first_pass = 0; first_pass < passes; first_pass += passes_in_load) {
    WeightLoad load{slice, {}, {}};
    for (std::size_t t = 0; t < lane_type_count; ++t) {
      const int begin = std::min(rows[t], first_pass * p.lanes[t]);
      const int end = std::min(rows[t], begin + passes_in_load * p.lanes[t]);
      load.first_row[t] = begin;
      load.rows[t] = end - begin;
    }
    loads.push_back(load);
  }
  return loads;
}

/// The whole GEMM: `rows[t]` rows on lane type t, depth K, no slice deeper than `max_depth`
/// (at least 1; the backend's max_chunk_depth). Throws rmsmp::Error when a slice does not fit.
inline GemmSchedule schedule_gemm(const EngineParams& p, const std::array<int, lane_type_count>& rows, int K,
                                  int max_depth) {
  GemmSchedule schedule;
  schedule.output_on_engine = K >= 1 && K <= max_depth;
  schedule.k_slices = k_slices(p, K, max_depth);
  for (const KSlice& slice : schedule.k_slices) {
    const std::vector<WeightLoad> loads = weight_loads(p, rows, slice);
    schedule.loads.insert(schedule.loads.end(), loads.begin(), loads.end());
  }
  return schedule;
}

}  // namespace rmsmp::rtl::detail

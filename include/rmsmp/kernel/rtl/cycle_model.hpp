// rmsmp/kernel/rtl/cycle_model.hpp — how many clock cycles the RTL engine takes for one run
// (one set of loaded weights, N columns streamed through), with no input gaps and no output
// back-pressure. Tests hold the Verilated engine to this number exactly; see docs/rtl.md.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "rmsmp/kernel/rtl/engine.hpp"

namespace rmsmp::rtl {

/// Engine latencies the model is built from (rtl/rmsmp_engine.sv):
/// a pass's last beat issued in cycle a is in the result queues from cycle a + 4;
inline constexpr int capture_latency = 4;
/// a result the serializer sends in cycle e is on m_axis_out in cycle e + 5.
inline constexpr int output_latency = 5;

/// Results a pass emits: per lane type, the lanes that hold a real row in pass `pass`.
constexpr int results_in_pass(const EngineParams& p, const std::array<int, lane_type_count>& rows, int pass) {
  int results = 0;
  for (std::size_t t = 0; t < lane_type_count; ++t) {
    const int lanes = p.lanes[t];
    if (lanes == 0) continue;
    results += std::clamp(rows[t] - pass * lanes, 0, lanes);
  }
  return results;
}

/// Passes per column: the lane type with the most passes sets it.
constexpr int passes_per_column(const EngineParams& p, const std::array<int, lane_type_count>& rows) {
  int passes = 0;
  for (std::size_t t = 0; t < lane_type_count; ++t)
    if (p.lanes[t] > 0) passes = std::max(passes, (rows[t] + p.lanes[t] - 1) / p.lanes[t]);
  return passes;
}

/// Cycles from the first activation beat to the last result's handshake, inclusive, for a run
/// of `rows[t]` rows per lane type (at least one in all), depth K and N columns.
///
/// A column loads in B = ceil(K / K_PAR) cycles into one of two activation banks, while the
/// column before computes from the other; loading column n waits for column n - 2 to finish.
/// A column's passes each issue B beats; a pass's last beat waits until the previous pass's S
/// results have left the queues (capture_latency + S cycles after its own last beat), so a pass
/// costs max(B, capture_latency + S_prev) cycles. The last results then drain through the
/// output pipeline (output_latency).
constexpr std::uint64_t predicted_cycles(const EngineParams& p, const std::array<int, lane_type_count>& rows, int K,
                                         int N) {
  const std::int64_t beats = p.beats(K);
  const int passes = passes_per_column(p, rows);
  if (N <= 0 || passes == 0) return 0;
  std::int64_t load_start = 0;           // cycle of the column's first load beat
  std::int64_t column_end[2] = {-1, -1};  // last beat of columns n-1 and n-2
  std::int64_t queues_free = 0;          // first cycle a pass's last beat may issue
  for (int n = 0; n < N; ++n) {
    if (n > 0) load_start = std::max(load_start + beats, column_end[1] + 1);
    std::int64_t pass_start = std::max(load_start + beats, column_end[0] + 1);
    std::int64_t last_issue = 0;
    for (int pass = 0; pass < passes; ++pass) {
      last_issue = std::max(pass_start + beats - 1, queues_free);
      queues_free = last_issue + capture_latency + results_in_pass(p, rows, pass);
      pass_start = last_issue + 1;
    }
    column_end[1] = column_end[0];
    column_end[0] = last_issue;
  }
  // The last result leaves the queues in cycle queues_free - 1 and appears output_latency later.
  return static_cast<std::uint64_t>(queues_free - 1 + output_latency + 1);
}

}  // namespace rmsmp::rtl

// rmsmp/kernel/rtl/run_statistics.hpp — what an RtlBackend::gemm call costs on the engine
// (RunStatistics), and the random stalls the backend may be told to insert while streaming
// (Traffic), which the statistics count.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rmsmp/kernel/rtl/engine.hpp"

namespace rmsmp::rtl {

/// Random stalls the backend inserts while streaming (tests use them; 0 = none).
struct Traffic {
  double input_gap = 0.0;     ///< probability of withholding an activation beat in a cycle
  double output_stall = 0.0;  ///< probability of not taking a result in a cycle
  std::uint64_t seed = 1;
};

/// What a gemm call cost on the engine.
struct RunStatistics {
  std::uint64_t cycles = 0;            ///< streaming cycles, first activation beat to last result, all runs
  std::uint64_t stall_cycles = 0;      ///< cycles the engine waited on the outside (input gap while ready, result not taken)
  std::uint64_t predicted_cycles = 0;  ///< the cycle model (no stalls) for the same runs
  std::uint64_t load_cycles = 0;       ///< cycles spent writing configuration, weights and row parameters
  int runs = 0;                        ///< weight loads: more than 1 when the matrix exceeds the weight memories
  int gemm_calls = 0;                  ///< gemm calls counted here (1 for one call; more in RtlBackend::totals())
  int k_chunks = 0;                    ///< K slices the engine ran: 1 per call whose K fits one engine run
  int host_output_calls = 0;           ///< calls whose K was split: the host summed the chunks and ran the output pipeline
  std::array<double, lane_type_count> lane_type_utilization{};  ///< useful MACs / (lanes * K_PAR * cycles)
  double lane_utilization = 0.0;                                ///< the same over all lanes

  /// Adds another call's statistics; utilizations become the cycle-weighted means (exact, as
  /// each is useful MACs over a multiple of its cycles).
  RunStatistics& operator+=(const RunStatistics& other) {
    const double total = static_cast<double>(cycles + other.cycles);
    auto weighted = [&](double mine, double theirs) {
      return total == 0.0 ? 0.0
                          : (mine * static_cast<double>(cycles) + theirs * static_cast<double>(other.cycles)) / total;
    };
    for (std::size_t t = 0; t < lane_type_count; ++t)
      lane_type_utilization[t] = weighted(lane_type_utilization[t], other.lane_type_utilization[t]);
    lane_utilization = weighted(lane_utilization, other.lane_utilization);
    cycles += other.cycles;
    stall_cycles += other.stall_cycles;
    predicted_cycles += other.predicted_cycles;
    load_cycles += other.load_cycles;
    runs += other.runs;
    gemm_calls += other.gemm_calls;
    k_chunks += other.k_chunks;
    host_output_calls += other.host_output_calls;
    return *this;
  }
};

}  // namespace rmsmp::rtl

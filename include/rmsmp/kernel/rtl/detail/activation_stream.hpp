// rmsmp/kernel/rtl/detail/activation_stream.hpp — one loaded run, cycle by cycle: every
// column's activation beats in, every result out (with the random input gaps and output
// back-pressure of Traffic), each result checked against the order the engine must send it in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/rtl/detail/gemm_schedule.hpp"
#include "rmsmp/kernel/rtl/detail/row_slots.hpp"
#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/kernel/rtl/run_statistics.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp::rtl::detail {

/// The cycles a stream took, and those of them the engine waited on the host.
struct StreamCycles {
  std::uint64_t cycles = 0;
  std::uint64_t stall_cycles = 0;
};

/// Streams every column's `slice` of x through the loaded engine and hands each result to
/// `deliver(original row, column, engine result)` once all are in. `predicted` is the cycle
/// model's count for this run: an engine far beyond it (plus the stalls) is reported as stuck.
template <ActivationValue T, class Deliver>
StreamCycles stream_columns(Simulator& simulator, const EngineParams& p, const Traffic& traffic,
                            const ActivationView<T>& x, KSlice slice, const std::vector<RowSlot>& order,
                            std::uint64_t predicted, std::mt19937_64& random, const Deliver& deliver) {
  const int K = slice.depth();
  const int beats = p.beats(K);
  const std::uint64_t code_mask = (std::uint64_t{1} << p.act_bits) - 1;
  const std::size_t results = order.size();
  std::vector<std::int32_t> raw(results * static_cast<std::size_t>(x.cols));
  std::bernoulli_distribution gap(traffic.input_gap);
  std::bernoulli_distribution stall(traffic.output_stall);
  std::uniform_int_distribution<int> padding(activation_min<T>(p.act_bits), activation_max<T>(p.act_bits));

  int in_column = 0;
  int in_beat = 0;
  std::size_t out_result = 0;
  int out_column = 0;
  StreamCycles spent;
  // The engine finishes within its stall-free time plus the stalls (docs/rtl.md); a generous
  // margin turns an engine bug into an error instead of a hang.
  const std::uint64_t limit_base = 2 * predicted + 1000;
  while (out_column < x.cols) {
    PortInputs in;
    const bool have_input = in_column < x.cols;
    in.act_valid = have_input && !(traffic.input_gap > 0.0 && gap(random));
    if (have_input) {
      for (int j = 0; j < p.k_par; ++j) {
        const int k = in_beat * p.k_par + j;
        // Codes past K meet zero weights: any valid code must do, so send random ones.
        const int code = k < K ? static_cast<int>(x(slice.begin + k, in_column)) : padding(random);
        in.act_data |= (static_cast<std::uint64_t>(static_cast<std::uint32_t>(code)) & code_mask) << (j * p.act_bits);
      }
      in.act_last = in_beat == beats - 1;
    }
    in.out_ready = !(traffic.output_stall > 0.0 && stall(random));

    const PortOutputs out = simulator.cycle(in);
    ++spent.cycles;
    if (have_input && !in.act_valid && out.act_ready) ++spent.stall_cycles;
    if (out.out_valid && !in.out_ready) ++spent.stall_cycles;
    if (in.act_valid && out.act_ready && ++in_beat == beats) {
      in_beat = 0;
      ++in_column;
    }
    if (out.out_valid && in.out_ready) {
      rmsmp::require(out.out_index == out_result && out.out_last == (out_result + 1 == results),
                             "rtl backend: the engine sent result " + std::to_string(out.out_index) +
                                 (out.out_last ? " (last)" : "") + " of column " + std::to_string(out_column) +
                                 ", expected " + std::to_string(out_result));
      raw[static_cast<std::size_t>(out_column) * results + out_result] = static_cast<std::int32_t>(out.out_data);
      if (++out_result == results) {
        out_result = 0;
        ++out_column;
      }
    }
    rmsmp::require(!out.error_tlast, "rtl backend: the engine saw tlast on the wrong beat");
    rmsmp::require(spent.cycles <= limit_base + spent.stall_cycles, "rtl backend: the engine stopped making progress");
  }

  for (int n = 0; n < x.cols; ++n)
    for (std::size_t e = 0; e < results; ++e)
      deliver(order[e].original_row, n, raw[static_cast<std::size_t>(n) * results + e]);
  return spent;
}

}  // namespace rmsmp::rtl::detail

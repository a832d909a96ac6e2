// rmsmp/kernel/rtl/backend.hpp — the RTL engine behind the common backend call.
//
//   auto sim = rmsmp::rtl::engines::make_a8();              // from the build (rmsmp::rtl_engines)
//   rtl::RtlBackend<rtl::engines::a8> backend(std::move(sim));
//   rtl::RunStatistics s = backend.gemm(matrix, x, pipeline, y);   // same bits as reference::gemm
//
// The backend loads the weights and row parameters into the engine, streams the activations
// through it cycle by cycle (optionally with random input gaps and output back-pressure) and
// returns cycle counts next to the outputs. The engine runs BiasAdd, Requantize, Clamp and
// SaturatingCast; ToFloat is applied here to the engine's int32 result. A matrix larger than
// the weight memories is run in several loads of whole passes (RunStatistics::runs). A K
// deeper than one engine run holds (activation bank, weight memory, accumulator width) is
// split into K chunks: the engine returns each chunk's raw accumulators, the host adds them
// and applies the whole output pipeline (RunStatistics::k_chunks, host_output_calls).
// The backend also keeps running totals over all its calls (totals()), so a caller that
// ignores gemm's return value, like ModelExecutor, can still read what a run cost.
//
// The parts live in detail/: the engine's own checks (engine_checks.hpp), the cut of a GEMM
// into K chunks and weight loads (gemm_schedule.hpp), the map from lanes and results to rows
// (row_slots.hpp), writing a run into the engine (weight_load.hpp) and streaming it
// (activation_stream.hpp). This class puts them in order and adds up what they cost.
#pragma once

#include <Eigen/Core>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/backend.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/rtl/cycle_model.hpp"
#include "rmsmp/kernel/rtl/detail/activation_stream.hpp"
#include "rmsmp/kernel/rtl/detail/engine_checks.hpp"
#include "rmsmp/kernel/rtl/detail/gemm_schedule.hpp"
#include "rmsmp/kernel/rtl/detail/row_slots.hpp"
#include "rmsmp/kernel/rtl/detail/weight_load.hpp"
#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/kernel/rtl/run_statistics.hpp"
#include "rmsmp/output/pipeline.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp::rtl {

/// True when every scheme of a static mix has lanes in the engine.
template <class Mix>
constexpr bool mix_runs_on(const EngineParams& p) {
  for (SchemeId s : Mix::schemes)
    if (!p.runs(s)) return false;
  return true;
}

template <EngineParams Params>
class RtlBackend {
  static_assert(Params.act_bits == 4 || Params.act_bits == 8, "rmsmp::rtl::RtlBackend: act_bits must be 4 or 8");
  static_assert(Params.k_par >= 1 && Params.k_par <= max_k_par, "rmsmp::rtl::RtlBackend: k_par must be 1..8");
  static_assert(Params.acc_bits >= min_acc_bits && Params.acc_bits <= max_acc_bits,
                "rmsmp::rtl::RtlBackend: acc_bits must be 16..32");
  static_assert(Params.total_lanes() >= 1, "rmsmp::rtl::RtlBackend: the engine needs at least one lane");
  static_assert(Params.lanes[0] <= max_lanes_per_type && Params.lanes[1] <= max_lanes_per_type &&
                    Params.lanes[2] <= max_lanes_per_type && Params.lanes[3] <= max_lanes_per_type,
                "rmsmp::rtl::RtlBackend: at most 255 lanes per lane type");

 public:
  static constexpr std::string_view name = "rtl";
  /// What a gemm call reports (Backend): its cycles on the engine.
  using statistics = RunStatistics;
  static constexpr EngineParams params = Params;

  /// Takes a simulator of an engine built with exactly Params (checked).
  explicit RtlBackend(std::unique_ptr<Simulator> simulator, Traffic traffic = {})
      : simulator_(std::move(simulator)), traffic_(traffic) {
    rmsmp::require(simulator_ != nullptr, "rtl backend: no simulator");
    rmsmp::require(simulator_->params() == Params, "rtl backend: the simulator was built as " +
                                                               describe(simulator_->params()) + ", the backend expects " +
                                                               describe(Params));
  }

  void set_traffic(Traffic traffic) { traffic_ = traffic; }
  Traffic traffic() const { return traffic_; }

  /// Everything the engine ran since construction or the last reset_totals(): the sum of
  /// every gemm call's RunStatistics.
  const RunStatistics& totals() const { return totals_; }
  void reset_totals() { totals_ = {}; }

  /// y = pipeline(W x), the same bits as reference::gemm, plus what it cost on the engine.
  template <class Mix, ActivationValue T, class Pipeline>
  RunStatistics gemm(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
                     const OutputView<typename Pipeline::output_type>& y) const {
    if constexpr (Mix::is_static)
      static_assert(mix_runs_on<Mix>(Params),
                    "rmsmp::rtl::RtlBackend: the row mix uses a scheme this engine has no lanes for (PoT -> PoT "
                    "lanes, SP2 -> SP2 lanes, Fixed-2..4 -> Fixed-4 lanes, Fixed-5..8 -> Fixed-8 lanes)");
    static_assert(!(Params.act_bits == 4 && std::is_signed_v<T>),
                  "rmsmp::rtl::RtlBackend: this engine takes 4-bit activations, which are uint8 codes 0..15; "
                  "int8 activations need an engine built with act_bits = 8");
    check_gemm_arguments(weights, x, pipeline, y);
    detail::check_engine_runs(Params, weights, x);
    const RunStatistics stats = run(weights, x, pipeline, y);
    totals_ += stats;
    return stats;
  }

  /// Returning a new M x N matrix, like reference::gemm.
  template <class Mix, ActivationValue T, class Pipeline>
  auto gemm(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline) const {
    using Out = typename Pipeline::output_type;
    Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic> y(weights.rows(), x.cols);
    gemm(weights, x, pipeline, OutputView<Out>::of(y));
    return y;
  }

  /// The deepest K one engine run takes for these weights and activations: one activation
  /// bank, one pass of weight words, and no accumulator that could overflow the engine's
  /// ACC_BITS (the contract's int32 bound covers only the host's sum of the chunks).
  template <class Mix, ActivationValue T>
  static int max_chunk_depth(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x) {
    return detail::max_chunk_depth(Params, weights, x);
  }

 private:
  template <class Mix, ActivationValue T, class Pipeline>
  RunStatistics run(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
                    const OutputView<typename Pipeline::output_type>& y) const {
    using Out = typename Pipeline::output_type;
    RunStatistics stats;
    stats.gemm_calls = 1;
    const int M = weights.rows();
    const int K = weights.cols();
    if (M == 0 || x.cols == 0) return stats;

    const detail::RowsByLaneType rows = detail::rows_by_lane_type(weights);
    std::mt19937_64 random(traffic_.seed);
    simulator_->reset();
    const int max_depth = max_chunk_depth(weights, x);
    rmsmp::require(max_depth >= 1, "rtl backend: one column could overflow the engine's " +
                                               std::to_string(Params.acc_bits) + "-bit accumulators");
    const detail::GemmSchedule schedule = detail::schedule_gemm(Params, detail::row_counts(rows), K, max_depth);
    for (const detail::KSlice& slice : schedule.k_slices)
      detail::check_chunk_accumulators<T>(Params, weights, x.params, slice.depth());

    if (schedule.output_on_engine) {
      // One chunk: the engine runs the output pipeline; only ToFloat is left to the host.
      run_loads(weights, x, schedule, rows, pipeline, random, stats, [&](int row, int n, std::int32_t v) {
        if constexpr (std::is_same_v<Out, float>)
          y(row, n) = pipeline.template stage<ToFloat>().apply(v, row);
        else
          y(row, n) = static_cast<Out>(v);
      });
    } else {
      // Split K: the engine returns each chunk's raw accumulators (int32 mode, zero bias,
      // identity requantization, no clamp), the host adds them exactly and runs the caller's
      // pipeline on the sum. check_gemm_arguments bounded the full sum (plus bias) to int32.
      std::vector<std::int64_t> sums(static_cast<std::size_t>(M) * static_cast<std::size_t>(x.cols), 0);
      run_loads(weights, x, schedule, rows, OutputPipeline<>{}, random, stats, [&](int row, int n, std::int32_t v) {
        sums[static_cast<std::size_t>(n) * static_cast<std::size_t>(M) + static_cast<std::size_t>(row)] += v;
      });
      for (int n = 0; n < x.cols; ++n)
        for (int row = 0; row < M; ++row) {
          const std::int64_t acc = sums[static_cast<std::size_t>(n) * static_cast<std::size_t>(M) + static_cast<std::size_t>(row)];
          rmsmp::require(acc >= -accumulator_max && acc <= accumulator_max,
                                 "rtl backend: the chunks of row " + std::to_string(row) + " add up beyond int32");
          y(row, n) = pipeline.apply(static_cast<std::int32_t>(acc), row);
        }
      stats.host_output_calls = 1;
    }
    add_utilization(rows, K, x.cols, stats);
    return stats;
  }

  /// Every weight load of the schedule, each followed by its stream; `deliver` gets every
  /// (original row, column, engine result).
  template <class Mix, ActivationValue T, class EnginePipeline, class Deliver>
  void run_loads(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const detail::GemmSchedule& schedule,
                 const detail::RowsByLaneType& rows, const EnginePipeline& pipeline, std::mt19937_64& random,
                 RunStatistics& stats, const Deliver& deliver) const {
    for (const detail::WeightLoad& load : schedule.loads) {
      const detail::RowsByLaneType load_rows = detail::rows_of_load(rows, load);
      const std::vector<detail::RowSlot> order = detail::output_order(Params, load_rows);
      stats.load_cycles += detail::load_engine(*simulator_, Params, weights, x, load.k, pipeline, load_rows, order);
      const std::uint64_t predicted = predicted_cycles(Params, load.rows, load.k.depth(), x.cols);
      const detail::StreamCycles spent =
          detail::stream_columns(*simulator_, Params, traffic_, x, load.k, order, predicted, random, deliver);
      stats.cycles += spent.cycles;
      stats.stall_cycles += spent.stall_cycles;
      stats.predicted_cycles += predicted;
      ++stats.runs;
    }
    stats.k_chunks += static_cast<int>(schedule.k_slices.size());
  }

  /// Useful MACs over the lane-cycles the runs offered, per lane type and over all lanes.
  static void add_utilization(const detail::RowsByLaneType& rows, int K, int N, RunStatistics& stats) {
    double all_macs = 0.0;
    for (std::size_t t = 0; t < lane_type_count; ++t) {
      const double macs = static_cast<double>(rows[t].size()) * K * N;
      all_macs += macs;
      if (Params.lanes[t] > 0 && stats.cycles > 0)
        stats.lane_type_utilization[t] = macs / (static_cast<double>(Params.lanes[t]) * Params.k_par * static_cast<double>(stats.cycles));
    }
    if (stats.cycles > 0)
      stats.lane_utilization = all_macs / (static_cast<double>(Params.total_lanes()) * Params.k_par * static_cast<double>(stats.cycles));
  }

  std::unique_ptr<Simulator> simulator_;
  Traffic traffic_;
  // gemm is const (the shared backend call) yet drives the simulator, whose state lives behind
  // simulator_; the running totals are the same kind of per-engine state.
  mutable RunStatistics totals_;
};

}  // namespace rmsmp::rtl

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
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/rtl/cycle_model.hpp"
#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/output/pipeline.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/quantize/activations.hpp"

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

namespace detail {

static_assert(FixedPointMultiplier::max_shift < (1 << requantize_shift_bits),
              "every Requantize shift fits the engine's param_wr_shift port");

/// 3 bits {on, shift[1:0]} for an SP2 term (0 or a power of two up to 8).
constexpr std::uint32_t sp2_term_field(int term) {
  return term == 0 ? 0u : 4u | static_cast<std::uint32_t>(std::countr_zero(static_cast<unsigned>(term)));
}

/// A code as its lane type stores it (rtl/rmsmp_term_*.sv): PoT {sign, index[2:0]}; SP2
/// {sign, a_on, a[1:0], b_on, b[1:0]} with level +-(2^a + 2^b); Fixed two's-complement levels.
constexpr std::uint32_t lane_field(SchemeId id, std::uint8_t code) {
  const int magnitude_bits = id.bits - 1;
  const std::uint32_t sign = code >> magnitude_bits;
  const int index = code & ((1 << magnitude_bits) - 1);
  switch (lane_type_of(id)) {
    case LaneType::pot:
      return sign << 3 | static_cast<std::uint32_t>(index);
    case LaneType::sp2: {
      const int low_bits = rmsmp::detail::sp2_low_bits(id.bits);
      const int unit = 1 << ((1 << rmsmp::detail::sp2_high_bits(id.bits)) - 1);
      const int high = index >> low_bits;
      const int low = index & ((1 << low_bits) - 1);
      return sign << 6 | sp2_term_field(high == 0 ? 0 : unit >> high) << 3 | sp2_term_field(low == 0 ? 0 : unit >> low);
    }
    case LaneType::fixed4:
      return static_cast<std::uint32_t>(sign ? -index : index) & 0xFu;
    case LaneType::fixed8:
      return static_cast<std::uint32_t>(sign ? -index : index) & 0xFFu;
  }
  return 0;
}

/// One row as the engine sees it: which lane type, which group row.
struct RowSlot {
  std::size_t group = 0;
  std::size_t index = 0;
  int original_row = 0;
};

/// Columns [begin, end) of the weights (rows [begin, end) of the activations): one engine run's
/// share of K.
struct KSlice {
  int begin = 0;
  int end = 0;
  int depth() const { return end - begin; }
};

}  // namespace detail

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
  static constexpr EngineParams params = Params;

  /// Takes a simulator of an engine built with exactly Params (checked).
  explicit RtlBackend(std::unique_ptr<Simulator> simulator, Traffic traffic = {})
      : simulator_(std::move(simulator)), traffic_(traffic) {
    rmsmp::detail::require(simulator_ != nullptr, "rtl backend: no simulator");
    rmsmp::detail::require(simulator_->params() == Params, "rtl backend: the simulator was built as " +
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
    check_engine_runs(weights, x);
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
    std::int64_t depth = static_cast<std::int64_t>(std::min(Params.act_depth, Params.weight_depth)) * Params.k_par;
    for (const RowGroup& g : weights.groups()) {
      const std::int64_t per_column = static_cast<std::int64_t>(g.codebook().max_level) * max_abs_centered<T>(x.params);
      if (per_column > 0) depth = std::min(depth, engine_accumulator_max / per_column);
    }
    return static_cast<int>(depth);
  }

 private:
  static constexpr std::int64_t engine_accumulator_max = (std::int64_t{1} << (Params.acc_bits - 1)) - 1;

  static constexpr int beats_for(int K) { return Params.beats(K); }

  /// Passes one weight load holds: the weight memories and the row-parameter memory bound it.
  static constexpr int passes_per_run(int K) {
    return std::min(Params.weight_depth / beats_for(K), Params.param_depth / Params.total_lanes());
  }

  template <class Mix, ActivationValue T>
  static void check_engine_runs(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x) {
    using rmsmp::detail::require;
    require(x.params.bits == Params.act_bits, "rtl backend: the engine takes " + std::to_string(Params.act_bits) +
                                                  "-bit activations, these are " + std::to_string(x.params.bits) + "-bit");
    for (const RowGroup& g : weights.groups())
      require(Params.runs(g.scheme()), "rtl backend: " + display_name(g.scheme()) + " rows need " +
                                           lane_type_name(lane_type_of(g.scheme())) +
                                           " lanes, which this engine does not have (" + describe(Params) + ")");
  }

  /// The engine's own limits for one chunk of depth `depth` (max_chunk_depth picks chunks that
  /// pass; this guards the hardware against a chunking mistake).
  template <class Mix, ActivationValue T>
  static void check_chunk_fits(const MixedRowMatrix<Mix>& weights, const ActivationParams& activation_params, int depth) {
    using rmsmp::detail::require;
    require(depth >= 1 && beats_for(depth) <= Params.act_depth && passes_per_run(depth) >= 1,
            "rtl backend: a K chunk of " + std::to_string(depth) + " does not fit the engine (" + describe(Params) + ")");
    for (const RowGroup& g : weights.groups()) {
      const std::int64_t bound = static_cast<std::int64_t>(depth) * g.codebook().max_level * max_abs_centered<T>(activation_params);
      require(bound <= engine_accumulator_max,
              "rtl backend: " + display_name(g.scheme()) + " rows with a K chunk of " + std::to_string(depth) +
                  " could reach " + std::to_string(bound) + ", beyond the engine's " + std::to_string(Params.acc_bits) +
                  "-bit accumulators");
    }
  }

  template <class Mix, ActivationValue T, class Pipeline>
  RunStatistics run(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
                    const OutputView<typename Pipeline::output_type>& y) const {
    using Out = typename Pipeline::output_type;
    RunStatistics stats;
    stats.gemm_calls = 1;
    const int M = weights.rows();
    const int K = weights.cols();
    if (M == 0 || x.cols == 0) return stats;

    std::array<std::vector<detail::RowSlot>, lane_type_count> rows_of_type;
    for (std::size_t g = 0; g < weights.group_count(); ++g) {
      const RowGroup& group = weights.group(g);
      auto& list = rows_of_type[static_cast<std::size_t>(lane_type_of(group.scheme()))];
      for (std::size_t i = 0; i < group.rows(); ++i) list.push_back({g, i, group.original_row(i)});
    }

    std::mt19937_64 random(traffic_.seed);
    simulator_->reset();
    const int max_depth = max_chunk_depth(weights, x);
    rmsmp::detail::require(max_depth >= 1, "rtl backend: one column could overflow the engine's " +
                                               std::to_string(Params.acc_bits) + "-bit accumulators");
    if (K >= 1 && K <= max_depth) {
      // One chunk: the engine runs the output pipeline; only ToFloat is left to the host.
      run_slice(weights, x, {0, K}, rows_of_type, pipeline, random, stats, [&](int row, int n, std::int32_t v) {
        if constexpr (std::is_same_v<Out, float>)
          y(row, n) = pipeline.template stage<ToFloat>().apply(v, row);
        else
          y(row, n) = static_cast<Out>(v);
      });
    } else {
      // Split K: the engine returns each chunk's raw accumulators (int32 mode, zero bias,
      // identity requantization, no clamp), the host adds them exactly and runs the caller's
      // pipeline on the sum. check_gemm_arguments bounded the full sum (plus bias) to int32.
      // Balanced chunks, each a whole number of beats where that still fits (no padded beats).
      const int chunks = (K + max_depth - 1) / max_depth;
      const int balanced = chunks == 0 ? 0 : (K + chunks - 1) / chunks;
      const int whole_beats = (balanced + Params.k_par - 1) / Params.k_par * Params.k_par;
      const int step = whole_beats <= max_depth ? whole_beats : balanced;
      std::vector<std::int64_t> sums(static_cast<std::size_t>(M) * static_cast<std::size_t>(x.cols), 0);
      for (int begin = 0; begin < K; begin += step)
        run_slice(weights, x, {begin, std::min(K, begin + step)}, rows_of_type, OutputPipeline<>{}, random, stats,
                  [&](int row, int n, std::int32_t v) {
                    sums[static_cast<std::size_t>(n) * static_cast<std::size_t>(M) + static_cast<std::size_t>(row)] += v;
                  });
      for (int n = 0; n < x.cols; ++n)
        for (int row = 0; row < M; ++row) {
          const std::int64_t acc = sums[static_cast<std::size_t>(n) * static_cast<std::size_t>(M) + static_cast<std::size_t>(row)];
          rmsmp::detail::require(acc >= -accumulator_max && acc <= accumulator_max,
                                 "rtl backend: the chunks of row " + std::to_string(row) + " add up beyond int32");
          y(row, n) = pipeline.apply(static_cast<std::int32_t>(acc), row);
        }
      stats.host_output_calls = 1;
    }

    double all_macs = 0.0;
    for (std::size_t t = 0; t < lane_type_count; ++t) {
      const double macs = static_cast<double>(rows_of_type[t].size()) * K * x.cols;
      all_macs += macs;
      if (Params.lanes[t] > 0 && stats.cycles > 0)
        stats.lane_type_utilization[t] = macs / (static_cast<double>(Params.lanes[t]) * Params.k_par * static_cast<double>(stats.cycles));
    }
    if (stats.cycles > 0)
      stats.lane_utilization = all_macs / (static_cast<double>(Params.total_lanes()) * Params.k_par * static_cast<double>(stats.cycles));
    return stats;
  }

  /// One K chunk through the engine, in as many weight loads as its passes need; `deliver`
  /// gets every (original row, column, engine result).
  template <class Mix, ActivationValue T, class EnginePipeline, class Deliver>
  void run_slice(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, detail::KSlice slice,
                 const std::array<std::vector<detail::RowSlot>, lane_type_count>& rows_of_type,
                 const EnginePipeline& pipeline, std::mt19937_64& random, RunStatistics& stats,
                 const Deliver& deliver) const {
    check_chunk_fits<Mix, T>(weights, x.params, slice.depth());
    const std::array<int, lane_type_count> all_rows = {
        static_cast<int>(rows_of_type[0].size()), static_cast<int>(rows_of_type[1].size()),
        static_cast<int>(rows_of_type[2].size()), static_cast<int>(rows_of_type[3].size())};
    const int passes = passes_per_column(Params, all_rows);
    const int passes_in_run = passes_per_run(slice.depth());
    for (int first_pass = 0; first_pass < passes; first_pass += passes_in_run) {
      std::array<std::vector<detail::RowSlot>, lane_type_count> run_rows;
      std::array<int, lane_type_count> run_counts{};
      for (std::size_t t = 0; t < lane_type_count; ++t) {
        const std::size_t lanes = static_cast<std::size_t>(Params.lanes[t]);
        const std::size_t begin = std::min(rows_of_type[t].size(), static_cast<std::size_t>(first_pass) * lanes);
        const std::size_t end = std::min(rows_of_type[t].size(), begin + static_cast<std::size_t>(passes_in_run) * lanes);
        run_rows[t].assign(rows_of_type[t].begin() + static_cast<std::ptrdiff_t>(begin),
                           rows_of_type[t].begin() + static_cast<std::ptrdiff_t>(end));
        run_counts[t] = static_cast<int>(run_rows[t].size());
      }
      const std::vector<detail::RowSlot> order = output_order(run_rows);
      load(weights, x, slice, pipeline, run_rows, order, stats);
      const std::uint64_t predicted = predicted_cycles(Params, run_counts, slice.depth(), x.cols);
      stream(x, slice, order, predicted, random, stats, deliver);
      stats.predicted_cycles += predicted;
      ++stats.runs;
    }
    ++stats.k_chunks;
  }

  /// The order the engine emits one column's results in: pass, lane type, lane.
  static std::vector<detail::RowSlot> output_order(const std::array<std::vector<detail::RowSlot>, lane_type_count>& rows) {
    std::vector<detail::RowSlot> order;
    for (int pass = 0;; ++pass) {
      bool any = false;
      for (std::size_t t = 0; t < lane_type_count; ++t) {
        const std::size_t lanes = static_cast<std::size_t>(Params.lanes[t]);
        for (std::size_t l = 0; l < lanes; ++l) {
          const std::size_t r = static_cast<std::size_t>(pass) * lanes + l;
          if (r < rows[t].size()) {
            order.push_back(rows[t][r]);
            any = true;
          }
        }
      }
      if (!any) return order;
    }
  }

  /// Writes configuration, weights and row parameters; weights and parameters share cycles.
  template <class Mix, ActivationValue T, class Pipeline>
  void load(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, detail::KSlice slice,
            const Pipeline& pipeline, const std::array<std::vector<detail::RowSlot>, lane_type_count>& rows,
            const std::vector<detail::RowSlot>& order, RunStatistics& stats) const {
    using Out = typename Pipeline::output_type;
    const int K = slice.depth();
    const int beats = beats_for(K);

    std::vector<PortInputs> config_writes;
    auto config = [&](ConfigRegister reg, std::int64_t value, int offset = 0) {
      PortInputs in;
      in.cfg_wr_en = true;
      in.cfg_wr_addr = static_cast<std::uint8_t>(static_cast<int>(reg) + offset);
      in.cfg_wr_data = static_cast<std::uint32_t>(value);
      config_writes.push_back(in);
    };
    config(ConfigRegister::beats, beats);
    for (std::size_t t = 0; t < lane_type_count; ++t)
      config(ConfigRegister::rows_pot, static_cast<std::int64_t>(rows[t].size()), static_cast<int>(t));
    config(ConfigRegister::act_zero_point, x.params.zero_point);
    config(ConfigRegister::act_signed, std::is_signed_v<T> ? 1 : 0);
    std::int32_t out_zero_point = 0;
    if constexpr (Pipeline::template has_stage<Requantize>)
      out_zero_point = pipeline.template stage<Requantize>().output_zero_point;
    config(ConfigRegister::out_zero_point, out_zero_point);
    Clamp clamp;
    if constexpr (Pipeline::template has_stage<Clamp>) clamp = pipeline.template stage<Clamp>();
    config(ConfigRegister::clamp_lo, clamp.lo);
    config(ConfigRegister::clamp_hi, clamp.hi);
    OutputMode mode = OutputMode::int32;
    if constexpr (std::is_same_v<Out, std::int8_t>) mode = OutputMode::int8;
    if constexpr (std::is_same_v<Out, std::uint8_t>) mode = OutputMode::uint8;
    config(ConfigRegister::out_mode, static_cast<std::int64_t>(mode));

    // Weight words: lane l of type t holds, for each pass p, rows p * lanes + l at addresses
    // p * beats + b; codes past K (and missing rows) stay zero levels.
    std::vector<PortInputs> weight_writes;
    std::uint32_t first_lane = 0;
    for (std::size_t t = 0; t < lane_type_count; ++t) {
      const int lanes = Params.lanes[t];
      const int bits = weight_field_bits(static_cast<LaneType>(t));
      for (std::size_t r = 0; r < rows[t].size(); ++r) {
        const detail::RowSlot& slot = rows[t][r];
        const RowGroup& group = weights.group(slot.group);
        const int pass = static_cast<int>(r) / lanes;
        const int lane = static_cast<int>(r) % lanes;
        for (int b = 0; b < beats; ++b) {
          PortInputs in;
          in.weight_wr_en = true;
          in.weight_wr_lane = first_lane + static_cast<std::uint32_t>(lane);
          in.weight_wr_addr = static_cast<std::uint32_t>(pass * beats + b);
          for (int j = 0; j < Params.k_par; ++j) {
            const int k = b * Params.k_par + j;
            if (k >= K) break;
            const std::uint64_t field =
                detail::lane_field(group.scheme(), group.code(slot.index, static_cast<std::size_t>(slice.begin + k)));
            in.weight_wr_data |= field << (j * bits);
          }
          weight_writes.push_back(in);
        }
      }
      first_lane += static_cast<std::uint32_t>(lanes);
    }

    std::vector<PortInputs> param_writes;
    for (std::size_t e = 0; e < order.size(); ++e) {
      const int row = order[e].original_row;
      PortInputs in;
      in.param_wr_en = true;
      in.param_wr_addr = static_cast<std::uint32_t>(e);
      if constexpr (Pipeline::template has_stage<BiasAdd>)
        in.param_wr_bias = static_cast<std::uint32_t>(pipeline.template stage<BiasAdd>().bias[static_cast<std::size_t>(row)]);
      in.param_wr_multiplier = 1;  // no Requantize: multiplier 1, shift 0 is the identity
      if constexpr (Pipeline::template has_stage<Requantize>) {
        const FixedPointMultiplier& m = pipeline.template stage<Requantize>().multipliers[static_cast<std::size_t>(row)];
        in.param_wr_multiplier = static_cast<std::uint32_t>(m.multiplier);
        in.param_wr_shift = static_cast<std::uint8_t>(m.shift);
      }
      param_writes.push_back(in);
    }

    // Weights and parameters use separate ports, so they are written side by side.
    const std::size_t cycles = std::max(weight_writes.size(), param_writes.size());
    rmsmp::detail::require(simulator_->cycle(PortInputs{}).idle, "rtl backend: the engine is busy before a weight load");
    ++stats.load_cycles;
    for (std::size_t i = 0; i < cycles; ++i) {
      PortInputs in = i < weight_writes.size() ? weight_writes[i] : PortInputs{};
      if (i < param_writes.size()) {
        const PortInputs& p = param_writes[i];
        in.param_wr_en = true;
        in.param_wr_addr = p.param_wr_addr;
        in.param_wr_bias = p.param_wr_bias;
        in.param_wr_multiplier = p.param_wr_multiplier;
        in.param_wr_shift = p.param_wr_shift;
      }
      simulator_->cycle(in);
    }
    for (const PortInputs& in : config_writes) simulator_->cycle(in);
    stats.load_cycles += cycles + config_writes.size();
  }

  /// Streams every column's slice through the engine and hands each result to `deliver`.
  template <ActivationValue T, class Deliver>
  void stream(const ActivationView<T>& x, detail::KSlice slice, const std::vector<detail::RowSlot>& order,
              std::uint64_t predicted, std::mt19937_64& random, RunStatistics& stats, const Deliver& deliver) const {
    const int K = slice.depth();
    const int beats = beats_for(K);
    const std::uint64_t code_mask = (std::uint64_t{1} << Params.act_bits) - 1;
    const std::size_t results = order.size();
    std::vector<std::int32_t> raw(results * static_cast<std::size_t>(x.cols));
    std::bernoulli_distribution gap(traffic_.input_gap);
    std::bernoulli_distribution stall(traffic_.output_stall);
    std::uniform_int_distribution<int> padding(activation_min<T>(Params.act_bits), activation_max<T>(Params.act_bits));

    int in_column = 0;
    int in_beat = 0;
    std::size_t out_result = 0;
    int out_column = 0;
    std::uint64_t cycles = 0;
    std::uint64_t stalls = 0;
    // The engine finishes within its stall-free time plus the stalls (docs/rtl.md); a generous
    // margin turns an engine bug into an error instead of a hang.
    const std::uint64_t limit_base = 2 * predicted + 1000;
    while (out_column < x.cols) {
      PortInputs in;
      const bool have_input = in_column < x.cols;
      in.act_valid = have_input && !(traffic_.input_gap > 0.0 && gap(random));
      if (have_input) {
        for (int j = 0; j < Params.k_par; ++j) {
          const int k = in_beat * Params.k_par + j;
          // Codes past K meet zero weights: any valid code must do, so send random ones.
          const int code = k < K ? static_cast<int>(x(slice.begin + k, in_column)) : padding(random);
          in.act_data |= (static_cast<std::uint64_t>(static_cast<std::uint32_t>(code)) & code_mask) << (j * Params.act_bits);
        }
        in.act_last = in_beat == beats - 1;
      }
      in.out_ready = !(traffic_.output_stall > 0.0 && stall(random));

      const PortOutputs out = simulator_->cycle(in);
      ++cycles;
      if (have_input && !in.act_valid && out.act_ready) ++stalls;
      if (out.out_valid && !in.out_ready) ++stalls;
      if (in.act_valid && out.act_ready && ++in_beat == beats) {
        in_beat = 0;
        ++in_column;
      }
      if (out.out_valid && in.out_ready) {
        rmsmp::detail::require(out.out_index == out_result && out.out_last == (out_result + 1 == results),
                               "rtl backend: the engine sent result " + std::to_string(out.out_index) +
                                   (out.out_last ? " (last)" : "") + " of column " + std::to_string(out_column) +
                                   ", expected " + std::to_string(out_result));
        raw[static_cast<std::size_t>(out_column) * results + out_result] = static_cast<std::int32_t>(out.out_data);
        if (++out_result == results) {
          out_result = 0;
          ++out_column;
        }
      }
      rmsmp::detail::require(!out.error_tlast, "rtl backend: the engine saw tlast on the wrong beat");
      rmsmp::detail::require(cycles <= limit_base + stalls, "rtl backend: the engine stopped making progress");
    }
    stats.cycles += cycles;
    stats.stall_cycles += stalls;

    for (int n = 0; n < x.cols; ++n)
      for (std::size_t e = 0; e < results; ++e)
        deliver(order[e].original_row, n, raw[static_cast<std::size_t>(n) * results + e]);
  }

  std::unique_ptr<Simulator> simulator_;
  Traffic traffic_;
  // gemm is const (the shared backend call) yet drives the simulator, whose state lives behind
  // simulator_; the running totals are the same kind of per-engine state.
  mutable RunStatistics totals_;
};

}  // namespace rmsmp::rtl

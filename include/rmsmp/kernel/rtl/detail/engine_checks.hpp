// rmsmp/kernel/rtl/detail/engine_checks.hpp — what an engine configuration can run, beyond the
// preconditions every backend shares (check_gemm_arguments): lanes for every scheme, the
// activation width, and K chunks its accumulators cannot overflow.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp::rtl::detail {

/// The largest value an engine's ACC_BITS-wide lane accumulator holds.
constexpr std::int64_t engine_accumulator_max(const EngineParams& p) { return (std::int64_t{1} << (p.acc_bits - 1)) - 1; }

/// The deepest K one engine run takes for these weights and activations: one activation bank,
/// one pass of weight words, and no accumulator that could overflow the engine's ACC_BITS (the
/// contract's int32 bound covers only the host's sum of the chunks).
template <class Mix, ActivationValue T>
int max_chunk_depth(const EngineParams& p, const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x) {
  std::int64_t depth = static_cast<std::int64_t>(std::min(p.act_depth, p.weight_depth)) * p.k_par;
  for (const RowGroup& g : weights.groups()) {
    const std::int64_t per_column = static_cast<std::int64_t>(g.codebook().max_level) * max_abs_centered<T>(x.params);
    if (per_column > 0) depth = std::min(depth, engine_accumulator_max(p) / per_column);
  }
  return static_cast<int>(depth);
}

/// The engine has lanes for every scheme of the matrix and takes activations of this width.
template <class Mix, ActivationValue T>
void check_engine_runs(const EngineParams& p, const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x) {
  using rmsmp::require;
  require(x.params.bits == p.act_bits, "rtl backend: the engine takes " + std::to_string(p.act_bits) +
                                           "-bit activations, these are " + std::to_string(x.params.bits) + "-bit");
  for (const RowGroup& g : weights.groups())
    require(p.runs(g.scheme()), "rtl backend: " + display_name(g.scheme()) + " rows need " +
                                    lane_type_name(lane_type_of(g.scheme())) +
                                    " lanes, which this engine does not have (" + describe(p) + ")");
}

/// No row of a K chunk of `depth` can overflow the engine's accumulators (max_chunk_depth picks
/// chunks that pass; this guards the hardware against a chunking mistake).
template <ActivationValue T, class Mix>
void check_chunk_accumulators(const EngineParams& p, const MixedRowMatrix<Mix>& weights,
                              const ActivationParams& activation_params, int depth) {
  for (const RowGroup& g : weights.groups()) {
    const std::int64_t bound =
        static_cast<std::int64_t>(depth) * g.codebook().max_level * max_abs_centered<T>(activation_params);
    rmsmp::require(bound <= engine_accumulator_max(p),
                           "rtl backend: " + display_name(g.scheme()) + " rows with a K chunk of " +
                               std::to_string(depth) + " could reach " + std::to_string(bound) +
                               ", beyond the engine's " + std::to_string(p.acc_bits) + "-bit accumulators");
  }
}

}  // namespace rmsmp::rtl::detail

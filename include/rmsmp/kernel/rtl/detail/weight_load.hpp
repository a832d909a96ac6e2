// rmsmp/kernel/rtl/detail/weight_load.hpp — writing one run into the engine while it is idle:
// the configuration registers, every lane's weight words (each code as its lane type stores
// it) and the row parameters of the output pipeline, by result index.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rmsmp/error.hpp"
#include "rmsmp/kernel/rtl/detail/gemm_schedule.hpp"
#include "rmsmp/kernel/rtl/detail/row_slots.hpp"
#include "rmsmp/kernel/rtl/engine.hpp"
#include "rmsmp/output/fixed_point_multiplier.hpp"
#include "rmsmp/output/pipeline.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"
#include "rmsmp/core/activations.hpp"

namespace rmsmp::rtl::detail {

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

/// Writes one run into the idle engine: configuration, the weights of `rows` over `slice`, and
/// the row parameters of `pipeline` for the results in `order`. Weights and parameters use
/// separate ports, so they are written side by side. Returns the cycles it took.
template <class Mix, ActivationValue T, class Pipeline>
std::uint64_t load_engine(Simulator& simulator, const EngineParams& p, const MixedRowMatrix<Mix>& weights,
                          const ActivationView<T>& x, KSlice slice, const Pipeline& pipeline, const RowsByLaneType& rows,
                          const std::vector<RowSlot>& order) {
  using Out = typename Pipeline::output_type;
  const int K = slice.depth();
  const int beats = p.beats(K);

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
    const int lanes = p.lanes[t];
    const int bits = weight_field_bits(static_cast<LaneType>(t));
    for (std::size_t r = 0; r < rows[t].size(); ++r) {
      const RowSlot& slot = rows[t][r];
      const RowGroup& group = weights.group(slot.group);
      const int pass = static_cast<int>(r) / lanes;
      const int lane = static_cast<int>(r) % lanes;
      for (int b = 0; b < beats; ++b) {
        PortInputs in;
        in.weight_wr_en = true;
        in.weight_wr_lane = first_lane + static_cast<std::uint32_t>(lane);
        in.weight_wr_addr = static_cast<std::uint32_t>(pass * beats + b);
        for (int j = 0; j < p.k_par; ++j) {
          const int k = b * p.k_par + j;
          if (k >= K) break;
          const std::uint64_t field =
              lane_field(group.scheme(), group.code(slot.index, static_cast<std::size_t>(slice.begin + k)));
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

  const std::size_t cycles = std::max(weight_writes.size(), param_writes.size());
  rmsmp::require(simulator.cycle(PortInputs{}).idle, "rtl backend: the engine is busy before a weight load");
  for (std::size_t i = 0; i < cycles; ++i) {
    PortInputs in = i < weight_writes.size() ? weight_writes[i] : PortInputs{};
    if (i < param_writes.size()) {
      const PortInputs& w = param_writes[i];
      in.param_wr_en = true;
      in.param_wr_addr = w.param_wr_addr;
      in.param_wr_bias = w.param_wr_bias;
      in.param_wr_multiplier = w.param_wr_multiplier;
      in.param_wr_shift = w.param_wr_shift;
    }
    simulator.cycle(in);
  }
  for (const PortInputs& in : config_writes) simulator.cycle(in);
  // The idle check above took one cycle too.
  return 1 + cycles + config_writes.size();
}

}  // namespace rmsmp::rtl::detail

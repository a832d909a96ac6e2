// rmsmp/kernel/rtl/engine.hpp — what the RTL engine (rtl/rmsmp_engine.sv) is built with,
// which lane type runs each scheme, and the port-level simulator interface.
//
// The hardware/software interface (lane types, weight field widths, parameter limits,
// configuration registers, output modes, port widths) is defined once in SystemVerilog, in
// rtl/rmsmp_pkg.sv; the constants here mirror it, and the cosim test rtl_interface fails when
// the two disagree.
//
// The Verilated model is generated code that exists only in builds with RMSMP_BUILD_RTL, so
// this header library never includes it: the build provides a Simulator implementation (see
// rtl/CMakeLists.txt, target rmsmp::rtl_engines) and RtlBackend drives it through this
// interface. Code that does not use the RTL backend is unaffected.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "rmsmp/scheme/scheme.hpp"

namespace rmsmp::rtl {

/// The lane types of the engine, in the order the hardware numbers lanes and emits results
/// (rmsmp_pkg::LANE_*).
enum class LaneType : std::uint8_t { pot, sp2, fixed4, fixed8 };
inline constexpr std::size_t lane_type_count = 4;

/// Bits per weight field in a lane type's memory word (rmsmp_pkg::FIELD_BITS_*).
constexpr int weight_field_bits(LaneType t) {
  constexpr int bits[] = {4, 7, 4, 8};
  return bits[static_cast<std::size_t>(t)];
}
/// The weight write port carries K_PAR fields of this width (narrower lane types ignore the top bits).
inline constexpr int max_weight_field_bits = 8;

/// Limits of the engine's parameters that the hardware checks at elaboration (rmsmp_pkg).
inline constexpr int max_k_par = 8;
inline constexpr int min_acc_bits = 16;
inline constexpr int max_acc_bits = 32;
inline constexpr int max_lanes_per_type = 255;

/// Port widths: the configuration address, the output mode and Requantize's shift.
inline constexpr int config_address_bits = 4;
inline constexpr int output_mode_bits = 2;
inline constexpr int requantize_shift_bits = 6;

/// The lane type that runs a scheme: PoT-b on shift lanes, SP2-b on shift-add lanes, Fixed-2..4
/// on 4-bit multiplier lanes, Fixed-5..8 on 8-bit multiplier lanes.
constexpr LaneType lane_type_of(SchemeId id) {
  switch (id.kind) {
    case SchemeKind::pot:
      return LaneType::pot;
    case SchemeKind::sp2:
      return LaneType::sp2;
    case SchemeKind::fixed:
      break;
  }
  return id.bits <= 4 ? LaneType::fixed4 : LaneType::fixed8;
}

inline const char* lane_type_name(LaneType t) {
  constexpr const char* names[] = {"PoT", "SP2", "Fixed-4", "Fixed-8"};
  return names[static_cast<std::size_t>(t)];
}

/// The engine's Verilog parameters (one verilated configuration each).
struct EngineParams {
  std::array<int, lane_type_count> lanes{};  ///< lanes per LaneType
  int k_par = 1;          ///< activations per beat (per lane, per cycle)
  int act_bits = 8;       ///< 8 (uint8/int8) or 4 (uint8 codes 0..15)
  int acc_bits = 32;      ///< lane accumulator width, 16..32
  int weight_depth = 2;   ///< weight words per lane: passes * beats per column
  int act_depth = 2;      ///< beats per column
  int param_depth = 2;    ///< outputs per column (row parameters), a power of two

  constexpr int lanes_of(LaneType t) const { return lanes[static_cast<std::size_t>(t)]; }
  constexpr int total_lanes() const { return lanes[0] + lanes[1] + lanes[2] + lanes[3]; }
  /// True when the engine has lanes for the scheme.
  constexpr bool runs(SchemeId id) const { return is_supported(id) && lanes_of(lane_type_of(id)) > 0; }
  /// Beats per column for depth K.
  constexpr int beats(int K) const { return (K + k_par - 1) / k_par; }

  friend constexpr bool operator==(const EngineParams&, const EngineParams&) = default;
};

inline std::string describe(const EngineParams& p) {
  return std::to_string(p.lanes[0]) + " PoT / " + std::to_string(p.lanes[1]) + " SP2 / " + std::to_string(p.lanes[2]) +
         " Fixed-4 / " + std::to_string(p.lanes[3]) + " Fixed-8 lanes, K_PAR " + std::to_string(p.k_par) + ", " +
         std::to_string(p.act_bits) + "-bit activations, " + std::to_string(p.acc_bits) + "-bit accumulators";
}

/// Configuration register addresses (rmsmp_pkg::CFG_*).
enum class ConfigRegister : std::uint8_t {
  beats = 0,
  rows_pot = 1,  // rows_pot + LaneType
  act_zero_point = 5,
  act_signed = 6,
  out_zero_point = 7,
  clamp_lo = 8,
  clamp_hi = 9,
  out_mode = 10,
};

/// Output mode register values (rmsmp_pkg::OUT_MODE_*).
enum class OutputMode : std::uint32_t { int32 = 0, int8 = 1, uint8 = 2 };

static_assert(static_cast<int>(ConfigRegister::out_mode) < (1 << config_address_bits) &&
                  static_cast<int>(ConfigRegister::rows_pot) + static_cast<int>(lane_type_count) - 1 <
                      (1 << config_address_bits),
              "every configuration register has an address on cfg_wr_addr");
static_assert(static_cast<int>(OutputMode::uint8) < (1 << output_mode_bits), "every output mode fits its register");

static_assert(max_k_par * max_weight_field_bits <= 64 && max_k_par * 8 <= 64,
              "a weight word and an activation beat fit PortInputs::weight_wr_data and act_data");

/// The engine's input ports during one clock cycle.
struct PortInputs {

  bool cfg_wr_en = false;
  std::uint8_t cfg_wr_addr = 0;
  std::uint32_t cfg_wr_data = 0;
  bool weight_wr_en = false;
  std::uint32_t weight_wr_lane = 0;
  std::uint32_t weight_wr_addr = 0;
  std::uint64_t weight_wr_data = 0;
  bool param_wr_en = false;
  std::uint32_t param_wr_addr = 0;
  std::uint32_t param_wr_bias = 0;
  std::uint32_t param_wr_multiplier = 0;
  std::uint8_t param_wr_shift = 0;
  bool act_valid = false;
  std::uint64_t act_data = 0;
  bool act_last = false;
  bool out_ready = false;
};

/// The engine's output ports in the same cycle, sampled before the clock edge (a handshake
/// happens when valid and ready are both high here).
struct PortOutputs {
  bool act_ready = false;
  bool out_valid = false;
  std::uint32_t out_data = 0;
  std::uint32_t out_index = 0;
  bool out_last = false;
  bool idle = false;
  bool error_tlast = false;
};

/// A cycle-accurate model of one engine configuration (a Verilated rmsmp_engine).
class Simulator {
 public:
  virtual ~Simulator() = default;
  /// The parameters the model was built with.
  virtual EngineParams params() const = 0;
  /// Holds the synchronous reset for a few cycles.
  virtual void reset() = 0;
  /// Applies `in`, settles the logic, samples the outputs, then clocks one rising edge.
  virtual PortOutputs cycle(const PortInputs& in) = 0;
};

}  // namespace rmsmp::rtl

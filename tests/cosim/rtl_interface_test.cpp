// The hardware/software interface written once: rmsmp_pkg (rtl/rmsmp_pkg.sv), read through the
// Verilated probe module, must hold the same values as the host's constants in
// rmsmp/kernel/rtl/engine.hpp. A register address, lane numbering or field width changed on
// one side only fails here, by name, before any cosimulation runs into it.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "rmsmp/kernel/rtl/engine.hpp"
#include "rtl_package_probe.hpp"

using namespace rmsmp;

namespace {

/// The host's value for every name of rmsmp_pkg.
std::map<std::string, std::int64_t> host_values() {
  using rtl::ConfigRegister;
  using rtl::LaneType;
  using rtl::OutputMode;
  auto value = [](auto e) { return static_cast<std::int64_t>(e); };
  return {
      {"LANE_POT", value(LaneType::pot)},
      {"LANE_SP2", value(LaneType::sp2)},
      {"LANE_FIX4", value(LaneType::fixed4)},
      {"LANE_FIX8", value(LaneType::fixed8)},
      {"LANE_KINDS", value(rtl::lane_type_count)},
      {"FIELD_BITS_POT", rtl::weight_field_bits(LaneType::pot)},
      {"FIELD_BITS_SP2", rtl::weight_field_bits(LaneType::sp2)},
      {"FIELD_BITS_FIX4", rtl::weight_field_bits(LaneType::fixed4)},
      {"FIELD_BITS_FIX8", rtl::weight_field_bits(LaneType::fixed8)},
      {"FIELD_BITS_MAX", rtl::max_weight_field_bits},
      {"K_PAR_MAX", rtl::max_k_par},
      {"ACC_BITS_MIN", rtl::min_acc_bits},
      {"ACC_BITS_MAX", rtl::max_acc_bits},
      {"LANES_PER_KIND_MAX", rtl::max_lanes_per_type},
      {"CFG_ADDR_W", rtl::config_address_bits},
      {"CFG_BEATS", value(ConfigRegister::beats)},
      {"CFG_ROWS", value(ConfigRegister::rows_pot)},
      {"CFG_ACT_ZERO", value(ConfigRegister::act_zero_point)},
      {"CFG_ACT_SIGNED", value(ConfigRegister::act_signed)},
      {"CFG_OUT_ZERO", value(ConfigRegister::out_zero_point)},
      {"CFG_CLAMP_LO", value(ConfigRegister::clamp_lo)},
      {"CFG_CLAMP_HI", value(ConfigRegister::clamp_hi)},
      {"CFG_OUT_MODE", value(ConfigRegister::out_mode)},
      {"OUT_MODE_W", rtl::output_mode_bits},
      {"OUT_MODE_INT32", value(OutputMode::int32)},
      {"OUT_MODE_INT8", value(OutputMode::int8)},
      {"OUT_MODE_UINT8", value(OutputMode::uint8)},
      {"PARAM_SHIFT_W", rtl::requantize_shift_bits},
  };
}

}  // namespace

TEST_CASE("the SystemVerilog package and the host's constants name the same values", "[rtl]") {
  const std::map<std::string, std::uint32_t> hardware = rtl::testing::rtl_package_values();
  const std::map<std::string, std::int64_t> host = host_values();
  for (const auto& [name, value] : hardware) {
    INFO("rmsmp_pkg::" << name << " = " << value);
    REQUIRE(host.count(name) == 1);
    CHECK(host.at(name) == static_cast<std::int64_t>(value));
  }
  // Both sides list the same names: a constant the host mirrors is on the probe, and the reverse.
  std::set<std::string> hardware_names, host_names;
  for (const auto& entry : hardware) hardware_names.insert(entry.first);
  for (const auto& entry : host) host_names.insert(entry.first);
  CHECK(hardware_names == host_names);
}

TEST_CASE("the configuration registers of the lane types follow the lane numbering", "[rtl]") {
  // The engine addresses the row count of lane type t at CFG_ROWS + t; the host writes
  // ConfigRegister::rows_pot + t. Both hold only if no other register sits in that range.
  const std::map<std::string, std::uint32_t> hardware = rtl::testing::rtl_package_values();
  const std::uint32_t rows = hardware.at("CFG_ROWS");
  const std::uint32_t kinds = hardware.at("LANE_KINDS");
  for (const char* other : {"CFG_BEATS", "CFG_ACT_ZERO", "CFG_ACT_SIGNED", "CFG_OUT_ZERO", "CFG_CLAMP_LO", "CFG_CLAMP_HI",
                            "CFG_OUT_MODE"}) {
    INFO(other);
    const std::uint32_t address = hardware.at(other);
    CHECK((address < rows || address >= rows + kinds));
    CHECK(address < (1u << hardware.at("CFG_ADDR_W")));
  }
}

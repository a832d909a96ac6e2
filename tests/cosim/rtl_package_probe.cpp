// The Verilated rmsmp_pkg_probe read once, behind a plain function: Verilator's headers do not
// compile under the project's warning flags, so only this file (built without them, like the
// generated engines) includes them.
#include "rtl_package_probe.hpp"

#include "Vrmsmp_pkg_probe.h"
#include "verilated.h"

std::map<std::string, std::uint32_t> rmsmp::rtl::testing::rtl_package_values() {
  VerilatedContext context;
  Vrmsmp_pkg_probe probe(&context);
  probe.eval();
  std::map<std::string, std::uint32_t> values = {
      {"LANE_POT", probe.LANE_POT},
      {"LANE_SP2", probe.LANE_SP2},
      {"LANE_FIX4", probe.LANE_FIX4},
      {"LANE_FIX8", probe.LANE_FIX8},
      {"LANE_KINDS", probe.LANE_KINDS},
      {"FIELD_BITS_POT", probe.FIELD_BITS_POT},
      {"FIELD_BITS_SP2", probe.FIELD_BITS_SP2},
      {"FIELD_BITS_FIX4", probe.FIELD_BITS_FIX4},
      {"FIELD_BITS_FIX8", probe.FIELD_BITS_FIX8},
      {"FIELD_BITS_MAX", probe.FIELD_BITS_MAX},
      {"K_PAR_MAX", probe.K_PAR_MAX},
      {"ACC_BITS_MIN", probe.ACC_BITS_MIN},
      {"ACC_BITS_MAX", probe.ACC_BITS_MAX},
      {"LANES_PER_KIND_MAX", probe.LANES_PER_KIND_MAX},
      {"CFG_ADDR_W", probe.CFG_ADDR_W},
      {"CFG_BEATS", probe.CFG_BEATS},
      {"CFG_ROWS", probe.CFG_ROWS},
      {"CFG_ACT_ZERO", probe.CFG_ACT_ZERO},
      {"CFG_ACT_SIGNED", probe.CFG_ACT_SIGNED},
      {"CFG_OUT_ZERO", probe.CFG_OUT_ZERO},
      {"CFG_CLAMP_LO", probe.CFG_CLAMP_LO},
      {"CFG_CLAMP_HI", probe.CFG_CLAMP_HI},
      {"CFG_OUT_MODE", probe.CFG_OUT_MODE},
      {"OUT_MODE_W", probe.OUT_MODE_W},
      {"OUT_MODE_INT32", probe.OUT_MODE_INT32},
      {"OUT_MODE_INT8", probe.OUT_MODE_INT8},
      {"OUT_MODE_UINT8", probe.OUT_MODE_UINT8},
      {"PARAM_SHIFT_W", probe.PARAM_SHIFT_W},
  };
  probe.final();
  return values;
}

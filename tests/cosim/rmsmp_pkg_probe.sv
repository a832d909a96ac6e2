// rmsmp_pkg_probe: every value of rmsmp_pkg on an output port of the same name, so that
// tests/cosim/rtl_interface_test.cpp can compare the package with the host's constants.
// A constant added to the package gets a port here and a comparison there.
module rmsmp_pkg_probe (
  output logic [31:0] LANE_POT,
  output logic [31:0] LANE_SP2,
  output logic [31:0] LANE_FIX4,
  output logic [31:0] LANE_FIX8,
  output logic [31:0] LANE_KINDS,
  output logic [31:0] FIELD_BITS_POT,
  output logic [31:0] FIELD_BITS_SP2,
  output logic [31:0] FIELD_BITS_FIX4,
  output logic [31:0] FIELD_BITS_FIX8,
  output logic [31:0] FIELD_BITS_MAX,
  output logic [31:0] K_PAR_MAX,
  output logic [31:0] ACC_BITS_MIN,
  output logic [31:0] ACC_BITS_MAX,
  output logic [31:0] LANES_PER_KIND_MAX,
  output logic [31:0] CFG_ADDR_W,
  output logic [31:0] CFG_BEATS,
  output logic [31:0] CFG_ROWS,
  output logic [31:0] CFG_ACT_ZERO,
  output logic [31:0] CFG_ACT_SIGNED,
  output logic [31:0] CFG_OUT_ZERO,
  output logic [31:0] CFG_CLAMP_LO,
  output logic [31:0] CFG_CLAMP_HI,
  output logic [31:0] CFG_OUT_MODE,
  output logic [31:0] OUT_MODE_W,
  output logic [31:0] OUT_MODE_INT32,
  output logic [31:0] OUT_MODE_INT8,
  output logic [31:0] OUT_MODE_UINT8,
  output logic [31:0] PARAM_SHIFT_W
);
  assign LANE_POT = 32'(rmsmp_pkg::LANE_POT);
  assign LANE_SP2 = 32'(rmsmp_pkg::LANE_SP2);
  assign LANE_FIX4 = 32'(rmsmp_pkg::LANE_FIX4);
  assign LANE_FIX8 = 32'(rmsmp_pkg::LANE_FIX8);
  assign LANE_KINDS = 32'(rmsmp_pkg::LANE_KINDS);
  assign FIELD_BITS_POT = 32'(rmsmp_pkg::FIELD_BITS_POT);
  assign FIELD_BITS_SP2 = 32'(rmsmp_pkg::FIELD_BITS_SP2);
  assign FIELD_BITS_FIX4 = 32'(rmsmp_pkg::FIELD_BITS_FIX4);
  assign FIELD_BITS_FIX8 = 32'(rmsmp_pkg::FIELD_BITS_FIX8);
  assign FIELD_BITS_MAX = 32'(rmsmp_pkg::FIELD_BITS_MAX);
  assign K_PAR_MAX = 32'(rmsmp_pkg::K_PAR_MAX);
  assign ACC_BITS_MIN = 32'(rmsmp_pkg::ACC_BITS_MIN);
  assign ACC_BITS_MAX = 32'(rmsmp_pkg::ACC_BITS_MAX);
  assign LANES_PER_KIND_MAX = 32'(rmsmp_pkg::LANES_PER_KIND_MAX);
  assign CFG_ADDR_W = 32'(rmsmp_pkg::CFG_ADDR_W);
  assign CFG_BEATS = 32'(rmsmp_pkg::CFG_BEATS);
  assign CFG_ROWS = 32'(rmsmp_pkg::CFG_ROWS);
  assign CFG_ACT_ZERO = 32'(rmsmp_pkg::CFG_ACT_ZERO);
  assign CFG_ACT_SIGNED = 32'(rmsmp_pkg::CFG_ACT_SIGNED);
  assign CFG_OUT_ZERO = 32'(rmsmp_pkg::CFG_OUT_ZERO);
  assign CFG_CLAMP_LO = 32'(rmsmp_pkg::CFG_CLAMP_LO);
  assign CFG_CLAMP_HI = 32'(rmsmp_pkg::CFG_CLAMP_HI);
  assign CFG_OUT_MODE = 32'(rmsmp_pkg::CFG_OUT_MODE);
  assign OUT_MODE_W = 32'(rmsmp_pkg::OUT_MODE_W);
  assign OUT_MODE_INT32 = 32'(rmsmp_pkg::OUT_MODE_INT32);
  assign OUT_MODE_INT8 = 32'(rmsmp_pkg::OUT_MODE_INT8);
  assign OUT_MODE_UINT8 = 32'(rmsmp_pkg::OUT_MODE_UINT8);
  assign PARAM_SHIFT_W = 32'(rmsmp_pkg::PARAM_SHIFT_W);
endmodule

// rmsmp_pkg: the engine's hardware/software interface, the one place it is written in
// SystemVerilog. The host mirrors every value in include/rmsmp/kernel/rtl/engine.hpp, and the
// test rtl_interface (tests/cosim/rtl_interface_test.cpp) fails when the two disagree.
//
// Modules name these as rmsmp_pkg::NAME instead of importing the package: Yosys' read_verilog
// (rtl_resources) accepts package-qualified names but not `import`. For the same reason the
// package holds plain localparams only.
//
// Each module uses its share of the package, so linting one module alone (or the engine, which
// never compares against OUT_MODE_INT32) would call the rest unused: UNUSEDPARAM is off here.
/* verilator lint_off UNUSEDPARAM */
package rmsmp_pkg;
  // ---- Lane kinds: the order in which the engine numbers lanes (lane ids of a kind follow
  // those of the kinds before it), serializes a pass's results and addresses CFG_ROWS.
  localparam int LANE_POT = 0;    // PoT rows: shift, negate (LUTs)
  localparam int LANE_SP2 = 1;    // SP2 rows: two shifts, add, negate (LUTs)
  localparam int LANE_FIX4 = 2;   // Fixed-2..4 rows: 4-bit levels, multiply (DSP)
  localparam int LANE_FIX8 = 3;   // Fixed-5..8 rows: 8-bit levels, multiply (DSP)
  localparam int LANE_KINDS = 4;

  // ---- Weight words: K_PAR fields packed from bit 0 up, each as wide as its lane kind needs.
  localparam int FIELD_BITS_POT = 4;   // {sign, index[2:0]}
  localparam int FIELD_BITS_SP2 = 7;   // {sign, a_on, a[1:0], b_on, b[1:0]}
  localparam int FIELD_BITS_FIX4 = 4;  // two's-complement level
  localparam int FIELD_BITS_FIX8 = 8;  // two's-complement level
  // The write port carries K_PAR fields of the widest kind; narrower kinds ignore the top bits.
  localparam int FIELD_BITS_MAX = 8;

  // ---- Limits of the engine's parameters.
  localparam int K_PAR_MAX = 8;             // weight_wr_data is K_PAR * FIELD_BITS_MAX <= 64 bits
  localparam int ACC_BITS_MIN = 16;
  localparam int ACC_BITS_MAX = 32;         // the output pipeline is int32
  localparam int LANES_PER_KIND_MAX = 255;  // lanes of one kind in a pass fit an 8-bit count

  // ---- Configuration registers (cfg_wr_addr), written while the engine is idle.
  localparam int CFG_ADDR_W = 4;
  localparam logic [CFG_ADDR_W-1:0] CFG_BEATS = 4'd0;       // beats per column, 1..ACT_DEPTH
  localparam logic [CFG_ADDR_W-1:0] CFG_ROWS = 4'd1;        // + lane kind: rows of that kind in this run
  localparam logic [CFG_ADDR_W-1:0] CFG_ACT_ZERO = 4'd5;    // activation zero point
  localparam logic [CFG_ADDR_W-1:0] CFG_ACT_SIGNED = 4'd6;  // 1: int8 activation codes
  localparam logic [CFG_ADDR_W-1:0] CFG_OUT_ZERO = 4'd7;    // Requantize output zero point
  localparam logic [CFG_ADDR_W-1:0] CFG_CLAMP_LO = 4'd8;
  localparam logic [CFG_ADDR_W-1:0] CFG_CLAMP_HI = 4'd9;
  localparam logic [CFG_ADDR_W-1:0] CFG_OUT_MODE = 4'd10;   // one of OUT_MODE_*

  // ---- Output modes (CFG_OUT_MODE): the type the results are saturated to.
  localparam int OUT_MODE_W = 2;
  localparam logic [OUT_MODE_W-1:0] OUT_MODE_INT32 = 2'd0;  // no saturation: no module tests for it
  localparam logic [OUT_MODE_W-1:0] OUT_MODE_INT8 = 2'd1;   // sign-extended on m_axis_out_tdata
  localparam logic [OUT_MODE_W-1:0] OUT_MODE_UINT8 = 2'd2;  // zero-extended

  // ---- Row parameters: Requantize's right shift, 0..62.
  localparam int PARAM_SHIFT_W = 6;
endpackage
/* verilator lint_on UNUSEDPARAM */

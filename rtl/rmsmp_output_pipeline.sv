// rmsmp_output_pipeline: the integer contract's output chain, one result per cycle.
//
//   stage 0  accumulator in; row parameters read (bias, multiplier, shift) by output index
//   stage 1  t = acc + bias                                              (BiasAdd)
//   stage 2  p = int64(t) * multiplier                                   (Requantize, DSP)
//   stage 3  u = saturate_int32(((p + 2^(shift-1)) >>> shift) + out_zero_point)
//   stage 4  v = clamp(u, clamp_lo, clamp_hi), then saturate to int8/uint8 (Clamp, Cast)
//
// A stage the software pipeline leaves out is programmed as its identity (bias 0,
// multiplier 1 shift 0 zero point 0, clamp to the int32 range, raw output mode). ToFloat
// is done by the host on the int32 result. Back-pressure: every stage advances together
// when the output register is empty or being taken (in_ready = advance).
module rmsmp_output_pipeline #(
  parameter int INDEX_W = 10,
  localparam int DEPTH = 1 << INDEX_W,
  localparam int SHIFT_W = rmsmp_pkg::PARAM_SHIFT_W,
  localparam int PARAMS_W = 32 + 32 + SHIFT_W  // bias, multiplier, shift
) (
  input  logic               clk,
  input  logic               rst,
  // row parameters, written before a run
  input  logic               param_wr_en,
  input  logic [INDEX_W-1:0] param_wr_addr,
  input  logic [31:0]        param_wr_bias,
  input  logic [31:0]        param_wr_multiplier,  // < 2^31
  input  logic [SHIFT_W-1:0] param_wr_shift,       // 0..62
  // layer constants
  input  logic [31:0]        out_zero_point,
  input  logic [31:0]        clamp_lo,
  input  logic [31:0]        clamp_hi,
  input  logic [rmsmp_pkg::OUT_MODE_W-1:0] out_mode,  // rmsmp_pkg::OUT_MODE_*
  // accumulators in
  input  logic               in_valid,
  output logic               in_ready,
  input  logic [31:0]        in_acc,
  input  logic [INDEX_W-1:0] in_index,
  input  logic               in_last,
  // results out
  output logic               out_valid,
  input  logic               out_ready,
  output logic [31:0]        out_data,
  output logic [INDEX_W-1:0] out_index,
  output logic               out_last,
  output logic               busy
);
  logic advance;
  assign advance = !out_valid || out_ready;
  assign in_ready = advance;

  // Stage valid bits (control, reset); everything else is datapath (no reset).
  logic v0, v1, v2, v3;
  always_ff @(posedge clk) begin
    if (rst) {v0, v1, v2, v3, out_valid} <= '0;
    else if (advance) {v0, v1, v2, v3, out_valid} <= {in_valid, v0, v1, v2, v3};
  end
  assign busy = v0 || v1 || v2 || v3 || out_valid;

  // Stage 0: the accumulator, and its row's parameters from memory.
  logic [PARAMS_W-1:0] params0;
  logic [31:0]        acc0;
  logic [INDEX_W-1:0] index0;
  logic               last0;
  rmsmp_memory #(.WIDTH(PARAMS_W), .DEPTH(DEPTH)) parameter_memory (
    .clk, .wr_en(param_wr_en), .wr_addr(param_wr_addr),
    .wr_data({param_wr_bias, param_wr_multiplier, param_wr_shift}),
    .rd_en(advance), .rd_addr(in_index), .rd_data(params0));

  // Stage 1: bias. The contract's overflow bound keeps acc + bias inside int32.
  logic signed [31:0] t1;
  logic [31:0]        multiplier1;
  logic [SHIFT_W-1:0] shift1;
  logic [INDEX_W-1:0] index1;
  logic               last1;

  // Stage 2: the 32 x 31-bit product; |t| < 2^31 and multiplier < 2^31 keep it below 2^62.
  logic signed [63:0] product2;
  logic [SHIFT_W-1:0] shift2;
  logic [INDEX_W-1:0] index2;
  logic               last2;

  // Stage 3: round half toward +infinity, add the zero point, saturate to int32.
  logic signed [31:0] u3;
  logic [INDEX_W-1:0] index3;
  logic               last3;

  logic signed [63:0] rounding, shifted, with_zero_point;
  always_comb begin
    rounding = shift2 == '0 ? 64'sd0 : 64'sd1 <<< (shift2 - SHIFT_W'(1));
    shifted = (product2 + rounding) >>> shift2;
    with_zero_point = shifted + 64'($signed(out_zero_point));
  end

  // Stage 4: clamp, then the output type's saturation.
  logic signed [31:0] clamped;
  always_comb begin
    clamped = u3;
    if (clamped < $signed(clamp_lo)) clamped = $signed(clamp_lo);
    if (clamped > $signed(clamp_hi)) clamped = $signed(clamp_hi);
    if (out_mode == rmsmp_pkg::OUT_MODE_INT8) begin
      if (clamped < -32'sd128) clamped = -32'sd128;
      if (clamped > 32'sd127) clamped = 32'sd127;
    end else if (out_mode == rmsmp_pkg::OUT_MODE_UINT8) begin
      if (clamped < 32'sd0) clamped = 32'sd0;
      if (clamped > 32'sd255) clamped = 32'sd255;
    end
  end

  always_ff @(posedge clk) begin
    if (advance) begin
      acc0 <= in_acc;
      index0 <= in_index;
      last0 <= in_last;

      t1 <= $signed(acc0) + $signed(params0[SHIFT_W + 32 +: 32]);
      multiplier1 <= params0[SHIFT_W +: 32];
      shift1 <= params0[SHIFT_W-1:0];
      index1 <= index0;
      last1 <= last0;

      product2 <= 64'(t1) * $signed({32'd0, multiplier1});
      shift2 <= shift1;
      index2 <= index1;
      last2 <= last1;

      if (with_zero_point < -64'sd2147483648) u3 <= 32'h8000_0000;
      else if (with_zero_point > 64'sd2147483647) u3 <= 32'h7fff_ffff;
      else u3 <= with_zero_point[31:0];
      index3 <= index2;
      last3 <= last2;

      out_data <= clamped;
      out_index <= index3;
      out_last <= last3;
    end
  end
endmodule

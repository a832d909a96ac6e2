// rmsmp_lane: one lane of the engine: its weight memory, K_PAR term units and accumulator.
//
// KIND (rmsmp_pkg::LANE_*) selects the lane type and with it the weight field and the term unit:
//   LANE_POT   4-bit field, shift and negate           (rmsmp_term_pot, LUTs)
//   LANE_SP2   7-bit field, two shifts, add, negate    (rmsmp_term_sp2, LUTs)
//   LANE_FIX4  4-bit two's-complement level, multiply  (rmsmp_term_fixed, DSP)
//   LANE_FIX8  8-bit two's-complement level, multiply  (rmsmp_term_fixed, DSP)
// Timing (issue = cycle c): weights and activations at c+1, registered terms at c+2, the
// accumulator at c+3. Datapath registers have no reset (DSP A/B, M and P registers).
module rmsmp_lane #(
  parameter int KIND = rmsmp_pkg::LANE_POT,
  parameter int K_PAR = 4,
  parameter int A_W = 9,             // centered activation width (ACT_BITS + 1)
  parameter int ACC_BITS = 32,
  parameter int DEPTH = 256,
  localparam int FIELD_BITS = KIND == rmsmp_pkg::LANE_POT ? rmsmp_pkg::FIELD_BITS_POT :
                              KIND == rmsmp_pkg::LANE_SP2 ? rmsmp_pkg::FIELD_BITS_SP2 :
                              KIND == rmsmp_pkg::LANE_FIX4 ? rmsmp_pkg::FIELD_BITS_FIX4 : rmsmp_pkg::FIELD_BITS_FIX8,
  localparam int TERM_W = A_W + 8,   // |level| <= 127 for every scheme
  localparam int ADDR_W = $clog2(DEPTH)
) (
  input  logic                        clk,
  input  logic                        wr_en,
  input  logic [ADDR_W-1:0]           wr_addr,
  input  logic [K_PAR*FIELD_BITS-1:0] wr_data,
  input  logic                        rd_en,
  input  logic [ADDR_W-1:0]           rd_addr,
  input  logic [K_PAR*A_W-1:0]        act,        // valid at c+1
  input  logic                        acc_en,     // valid at c+2
  input  logic                        acc_first,  // valid at c+2
  output logic [ACC_BITS-1:0]         acc         // valid at c+3
);
  logic [K_PAR*FIELD_BITS-1:0] fields;
  logic [K_PAR*TERM_W-1:0]     term_values, terms;

  rmsmp_memory #(.WIDTH(K_PAR*FIELD_BITS), .DEPTH(DEPTH)) weight_memory (
    .clk, .wr_en, .wr_addr, .wr_data, .rd_en, .rd_addr, .rd_data(fields));

  for (genvar j = 0; j < K_PAR; j++) begin : g_term
    if (KIND == rmsmp_pkg::LANE_POT) begin : g_pot
      rmsmp_term_pot #(.A_W(A_W), .TERM_W(TERM_W)) unit (
        .field(fields[j*FIELD_BITS +: FIELD_BITS]), .act(act[j*A_W +: A_W]),
        .term(term_values[j*TERM_W +: TERM_W]));
    end else if (KIND == rmsmp_pkg::LANE_SP2) begin : g_sp2
      rmsmp_term_sp2 #(.A_W(A_W), .TERM_W(TERM_W)) unit (
        .field(fields[j*FIELD_BITS +: FIELD_BITS]), .act(act[j*A_W +: A_W]),
        .term(term_values[j*TERM_W +: TERM_W]));
    end else begin : g_fixed
      rmsmp_term_fixed #(.W_BITS(FIELD_BITS), .A_W(A_W), .TERM_W(TERM_W)) unit (
        .level(fields[j*FIELD_BITS +: FIELD_BITS]), .act(act[j*A_W +: A_W]),
        .term(term_values[j*TERM_W +: TERM_W]));
    end
  end

  always_ff @(posedge clk) terms <= term_values;

  rmsmp_lane_accumulator #(.K_PAR(K_PAR), .TERM_W(TERM_W), .ACC_BITS(ACC_BITS)) accumulator (
    .clk, .terms, .en(acc_en), .first(acc_first), .acc);
endmodule

// rmsmp_lane_pot: a shift lane for PoT rows (no multiplier: maps to LUTs).
//
// The weight memory holds the contract's PoT code as 4 bits {sign, index[2:0]} (PoT-2 and
// PoT-3 codes are widened: same index, sign moved to bit 3). Level = 0 for index 0, else
// +-2^(index-1), so a term is the activation shifted left by index-1 and negated for sign 1.
// Same timing as rmsmp_lane_fixed.
module rmsmp_lane_pot #(
  parameter int K_PAR = 4,
  parameter int A_W = 9,
  parameter int ACC_BITS = 32,
  parameter int DEPTH = 256,
  localparam int TERM_W = A_W + 8,
  localparam int ADDR_W = $clog2(DEPTH)
) (
  input  logic                  clk,
  input  logic                  wr_en,
  input  logic [ADDR_W-1:0]     wr_addr,
  input  logic [K_PAR*4-1:0]    wr_data,
  input  logic                  rd_en,
  input  logic [ADDR_W-1:0]     rd_addr,
  input  logic [K_PAR*A_W-1:0]  act,
  input  logic                  acc_en,
  input  logic                  acc_first,
  output logic [ACC_BITS-1:0]   acc
);
  logic [K_PAR*4-1:0]      codes;
  logic [K_PAR*TERM_W-1:0] terms;

  rmsmp_memory #(.WIDTH(K_PAR*4), .DEPTH(DEPTH)) weight_memory (
    .clk, .wr_en, .wr_addr, .wr_data, .rd_en, .rd_addr, .rd_data(codes));

  always_ff @(posedge clk)
    for (int j = 0; j < K_PAR; j++) begin
      logic [2:0]               index;
      logic signed [TERM_W-1:0] shifted;
      index = codes[j*4 +: 3];
      shifted = TERM_W'($signed(act[j*A_W +: A_W])) <<< (index - 3'd1);
      if (index == 3'd0) terms[j*TERM_W +: TERM_W] <= '0;
      else terms[j*TERM_W +: TERM_W] <= codes[j*4 + 3] ? -shifted : shifted;
    end

  rmsmp_lane_accumulator #(.K_PAR(K_PAR), .TERM_W(TERM_W), .ACC_BITS(ACC_BITS)) accumulator (
    .clk, .terms, .en(acc_en), .first(acc_first), .acc);
endmodule

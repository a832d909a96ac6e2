// rmsmp_lane_sp2: a shift-add lane for SP2 rows (two shifts and an add: maps to LUTs).
//
// An SP2 level is +-(2^a + 2^b) with either term optional. The weight memory holds each
// weight as 7 precomputed bits {sign, a_on, a[1:0], b_on, b[1:0]} (the driver derives them
// from the contract's code: a term of q1 index h is unit >> h, a power of two <= 4).
// Same timing as rmsmp_lane_fixed.
module rmsmp_lane_sp2 #(
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
  input  logic [K_PAR*7-1:0]    wr_data,
  input  logic                  rd_en,
  input  logic [ADDR_W-1:0]     rd_addr,
  input  logic [K_PAR*A_W-1:0]  act,
  input  logic                  acc_en,
  input  logic                  acc_first,
  output logic [ACC_BITS-1:0]   acc
);
  logic [K_PAR*7-1:0]      fields;
  logic [K_PAR*TERM_W-1:0] terms;

  rmsmp_memory #(.WIDTH(K_PAR*7), .DEPTH(DEPTH)) weight_memory (
    .clk, .wr_en, .wr_addr, .wr_data, .rd_en, .rd_addr, .rd_data(fields));

  always_ff @(posedge clk)
    for (int j = 0; j < K_PAR; j++) begin
      logic [6:0]               f;
      logic signed [TERM_W-1:0] a, sum;
      f = fields[j*7 +: 7];
      a = TERM_W'($signed(act[j*A_W +: A_W]));
      sum = (f[5] ? a <<< f[4:3] : '0) + (f[2] ? a <<< f[1:0] : '0);
      terms[j*TERM_W +: TERM_W] <= f[6] ? -sum : sum;
    end

  rmsmp_lane_accumulator #(.K_PAR(K_PAR), .TERM_W(TERM_W), .ACC_BITS(ACC_BITS)) accumulator (
    .clk, .terms, .en(acc_en), .first(acc_first), .acc);
endmodule

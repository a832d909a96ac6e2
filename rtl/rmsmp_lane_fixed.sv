// rmsmp_lane_fixed: a multiplier lane for Fixed-b rows (maps to DSP blocks).
//
// The weight memory holds two's-complement levels, W_BITS each (4 for Fixed-2..4 lanes, 8
// for Fixed-5..8 lanes), K_PAR per word. Each beat multiplies K_PAR levels by K_PAR
// centered activations (x - zero_point), registers the products, then accumulates.
// Timing (issue = cycle c): weights and activations at c+1, products at c+2, acc at c+3.
module rmsmp_lane_fixed #(
  parameter int K_PAR = 4,
  parameter int W_BITS = 8,
  parameter int A_W = 9,
  parameter int ACC_BITS = 32,
  parameter int DEPTH = 256,
  localparam int TERM_W = A_W + 8,
  localparam int ADDR_W = $clog2(DEPTH)
) (
  input  logic                    clk,
  input  logic                    wr_en,
  input  logic [ADDR_W-1:0]       wr_addr,
  input  logic [K_PAR*W_BITS-1:0] wr_data,
  input  logic                    rd_en,
  input  logic [ADDR_W-1:0]       rd_addr,
  input  logic [K_PAR*A_W-1:0]    act,       // valid at c+1
  input  logic                    acc_en,    // valid at c+2
  input  logic                    acc_first, // valid at c+2
  output logic [ACC_BITS-1:0]     acc        // valid at c+3
);
  logic [K_PAR*W_BITS-1:0] weights;
  logic [K_PAR*TERM_W-1:0] products;

  rmsmp_memory #(.WIDTH(K_PAR*W_BITS), .DEPTH(DEPTH)) weight_memory (
    .clk, .wr_en, .wr_addr, .wr_data, .rd_en, .rd_addr, .rd_data(weights));

  always_ff @(posedge clk)
    for (int j = 0; j < K_PAR; j++)
      products[j*TERM_W +: TERM_W] <= TERM_W'($signed(weights[j*W_BITS +: W_BITS]) * $signed(act[j*A_W +: A_W]));

  rmsmp_lane_accumulator #(.K_PAR(K_PAR), .TERM_W(TERM_W), .ACC_BITS(ACC_BITS)) accumulator (
    .clk, .terms(products), .en(acc_en), .first(acc_first), .acc);
endmodule

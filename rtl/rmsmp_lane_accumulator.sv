// rmsmp_lane_accumulator: adds a lane's K_PAR terms of one beat and accumulates them.
//
// acc <= (first ? 0 : acc) + sum(terms) when en is high. The sum wraps at ACC_BITS bits:
// the integer contract guarantees that every final dot product fits, so two's-complement
// wrap-around of partial sums is harmless. No reset (a DSP P register / plain FFs).
module rmsmp_lane_accumulator #(
  parameter int K_PAR = 4,
  parameter int TERM_W = 17,
  parameter int ACC_BITS = 32
) (
  input  logic                      clk,
  input  logic [K_PAR*TERM_W-1:0]   terms,   // K_PAR signed terms
  input  logic                      en,
  input  logic                      first,
  output logic [ACC_BITS-1:0]       acc
);
  logic signed [ACC_BITS-1:0] beat_sum;

  always_comb begin
    beat_sum = '0;
    for (int j = 0; j < K_PAR; j++)
      beat_sum = beat_sum + ACC_BITS'($signed(terms[j*TERM_W +: TERM_W]));
  end

  always_ff @(posedge clk)
    if (en) acc <= (first ? '0 : acc) + beat_sum;
endmodule

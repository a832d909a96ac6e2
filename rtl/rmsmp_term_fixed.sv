// rmsmp_term_fixed: level x activation for a Fixed weight: a signed multiply (DSP).
//
// The field is the weight's two's-complement level, W_BITS wide (4 for Fixed-2..4, 8 for
// Fixed-5..8).
module rmsmp_term_fixed #(
  parameter int W_BITS = 8,
  parameter int A_W = 9,
  parameter int TERM_W = 17
) (
  input  logic [W_BITS-1:0] level,   // signed
  input  logic [A_W-1:0]    act,     // signed
  output logic [TERM_W-1:0] term     // signed
);
  assign term = TERM_W'($signed(level) * $signed(act));
endmodule

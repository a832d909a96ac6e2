// rmsmp_term_sp2: level x activation for an SP2 weight: two shifts and an add.
//
// An SP2 level is +-(2^a + 2^b) with either term optional; the field holds
// {sign, a_on, a[1:0], b_on, b[1:0]}, derived by the host from the contract's code (a term of
// index h is unit >> h, a power of two of at most 4).
module rmsmp_term_sp2 #(
  parameter int A_W = 9,
  parameter int TERM_W = 17
) (
  input  logic [rmsmp_pkg::FIELD_BITS_SP2-1:0] field,  // {sign, a_on, a[1:0], b_on, b[1:0]}
  input  logic [A_W-1:0]    act,     // signed
  output logic [TERM_W-1:0] term     // signed
);
  logic signed [TERM_W-1:0] a, sum;
  always_comb begin
    a = TERM_W'($signed(act));
    sum = (field[5] ? a <<< field[4:3] : '0) + (field[2] ? a <<< field[1:0] : '0);
    term = field[6] ? -sum : sum;
  end
endmodule

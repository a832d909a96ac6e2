// rmsmp_term_pot: level x activation for a PoT weight, without a multiplier.
//
// The field is the contract's PoT code widened to 4 bits {sign, index[2:0]} (PoT-2 and PoT-3
// keep their index; the sign moves to bit 3). Level = 0 for index 0, else +-2^(index-1): the
// term is the activation shifted left by index-1, negated for sign 1.
module rmsmp_term_pot #(
  parameter int A_W = 9,
  parameter int TERM_W = 17
) (
  input  logic [rmsmp_pkg::FIELD_BITS_POT-1:0] field,  // {sign, index[2:0]}
  input  logic [A_W-1:0]    act,     // signed
  output logic [TERM_W-1:0] term     // signed
);
  logic signed [TERM_W-1:0] shifted;
  always_comb begin
    shifted = TERM_W'($signed(act)) <<< (field[2:0] - 3'd1);
    if (field[2:0] == 3'd0) term = '0;
    else term = field[3] ? -shifted : shifted;
  end
endmodule

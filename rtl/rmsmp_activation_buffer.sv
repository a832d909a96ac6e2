// rmsmp_activation_buffer: one column of activations, centered on the way in.
//
// Each beat of K_PAR codes is stored as K_PAR signed values x - zero_point (A_W =
// ACT_BITS + 1 bits: the contract's codes and zero points keep |x - zp| <= 2^ACT_BITS - 1),
// so no lane ever subtracts the zero point again. int8 codes (act_signed) are
// sign-extended, uint8 and 4-bit codes zero-extended.
module rmsmp_activation_buffer #(
  parameter int K_PAR = 4,
  parameter int ACT_BITS = 8,
  parameter int DEPTH = 256,
  localparam int A_W = ACT_BITS + 1,
  localparam int ADDR_W = $clog2(DEPTH)
) (
  input  logic                      clk,
  input  logic                      act_signed,
  input  logic [ACT_BITS+1:0]       zero_point,  // signed
  input  logic                      wr_en,
  input  logic [ADDR_W-1:0]         wr_addr,
  input  logic [K_PAR*ACT_BITS-1:0] wr_codes,
  input  logic                      rd_en,
  input  logic [ADDR_W-1:0]         rd_addr,
  output logic [K_PAR*A_W-1:0]      rd_centered
);
  logic [K_PAR*A_W-1:0] centered;

  always_comb
    for (int j = 0; j < K_PAR; j++) begin
      logic [ACT_BITS-1:0]        code;
      logic signed [ACT_BITS+1:0] value;
      code = wr_codes[j*ACT_BITS +: ACT_BITS];
      value = act_signed ? (ACT_BITS+2)'($signed(code)) : (ACT_BITS+2)'(code);
      centered[j*A_W +: A_W] = A_W'(value - $signed(zero_point));
    end

  rmsmp_memory #(.WIDTH(K_PAR*A_W), .DEPTH(DEPTH)) buffer (
    .clk, .wr_en, .wr_addr, .wr_data(centered), .rd_en, .rd_addr, .rd_data(rd_centered));
endmodule

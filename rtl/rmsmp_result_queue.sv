// rmsmp_result_queue: the finished accumulators of one lane type, handed to the output stage.
//
// When a pass ends, `load` copies every lane's accumulator into a shift register and sets
// `count` to the number of lanes that held a real row in that pass (a prefix of the lanes).
// `pop` shifts by one; `head` is always the next result. A shift register instead of a wide
// multiplexer: FFs plus 2:1 muxes, and no read-address logic. LANES may be 0 (no such lanes).
module rmsmp_result_queue #(
  parameter int LANES = 4,
  parameter int WIDTH = 32,
  localparam int SLOTS = LANES > 0 ? LANES : 1,
  localparam int COUNT_W = $clog2(SLOTS + 1)
) (
  input  logic                   clk,
  input  logic                   rst,
  input  logic                   load,
  input  logic [SLOTS*WIDTH-1:0] values,
  input  logic [COUNT_W-1:0]     load_count,
  input  logic                   pop,
  output logic [WIDTH-1:0]       head,
  output logic [COUNT_W-1:0]     count
);
  if (LANES == 0) begin : g_absent
    assign head = '0;
    assign count = '0;
    logic unused;
    assign unused = ^{clk, rst, load, values, load_count, pop};
  end else begin : g_present
    logic [SLOTS*WIDTH-1:0] slots;

    always_ff @(posedge clk) begin
      if (load) slots <= values;
      else if (pop) slots <= slots >> WIDTH;
    end

    always_ff @(posedge clk) begin
      if (rst) count <= '0;
      else if (load) count <= load_count;
      else if (pop) count <= count - 1'b1;
    end

    assign head = slots[WIDTH-1:0];
  end
endmodule

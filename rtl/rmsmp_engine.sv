// rmsmp_engine: the mixed-scheme matrix engine (top level). See docs/rtl.md.
//
// Four lane types share one activation stream: PoT (shift), SP2 (two shifts + add),
// Fixed-4 and Fixed-8 (multipliers). For every column of the activations the engine
//   1. takes ceil(K / K_PAR) beats of K_PAR codes into one bank of the activation buffer,
//   2. runs passes over that bank: in pass p, lane l of type T computes row
//      p * LANES_T + l of that type's rows, K_PAR weights per cycle, all types at once,
//   3. hands each pass's results to the output pipeline, one per cycle, in the order
//      pass, type (PoT, SP2, Fixed-4, Fixed-8), lane; `m_axis_out_tuser` is that output's
//      index within the column, which also addresses its row parameters.
// The buffer has two banks, so the next column loads while this one computes. Weights, row
// parameters and configuration are written through simple write ports while the engine is idle.
// The interface the host relies on (lane kinds, field widths, configuration registers, output
// modes) is in rmsmp_pkg.
module rmsmp_engine #(
  parameter int POT_LANES = 4,
  parameter int SP2_LANES = 2,
  parameter int FIX4_LANES = 2,
  parameter int FIX8_LANES = 1,
  parameter int K_PAR = 4,          // activations per beat, per lane
  parameter int ACT_BITS = 8,       // 8 (uint8/int8) or 4 (uint8 codes 0..15)
  parameter int ACC_BITS = 32,      // lane accumulator width, 16..32
  parameter int WEIGHT_DEPTH = 256, // weight words per lane (passes * beats per column)
  parameter int ACT_DEPTH = 256,    // beats per column, at most (two banks of this)
  parameter int PARAM_DEPTH = 1024, // outputs per column (rows per run), at most; power of 2
  localparam int LANES = POT_LANES + SP2_LANES + FIX4_LANES + FIX8_LANES,
  localparam int LANE_ID_W = $clog2(LANES > 1 ? LANES : 2),
  localparam int W_ADDR_W = $clog2(WEIGHT_DEPTH),
  localparam int A_ADDR_W = $clog2(ACT_DEPTH),
  localparam int INDEX_W = $clog2(PARAM_DEPTH)
) (
  input  logic                      clk,
  input  logic                      rst,        // synchronous, control flops only

  // Configuration registers (rmsmp_pkg::CFG_*).
  input  logic                      cfg_wr_en,
  input  logic [rmsmp_pkg::CFG_ADDR_W-1:0] cfg_wr_addr,
  input  logic [31:0]               cfg_wr_data,
  // Weight memories: lane ids are PoT lanes first, then SP2, Fixed-4, Fixed-8. A word is
  // K_PAR fields packed from bit 0 up (rmsmp_pkg::FIELD_BITS_*).
  input  logic                      weight_wr_en,
  input  logic [LANE_ID_W-1:0]      weight_wr_lane,
  input  logic [W_ADDR_W-1:0]       weight_wr_addr,
  input  logic [K_PAR*rmsmp_pkg::FIELD_BITS_MAX-1:0] weight_wr_data,
  // Row parameters, by output index.
  input  logic                      param_wr_en,
  input  logic [INDEX_W-1:0]        param_wr_addr,
  input  logic [31:0]               param_wr_bias,
  input  logic [31:0]               param_wr_multiplier,
  input  logic [rmsmp_pkg::PARAM_SHIFT_W-1:0] param_wr_shift,

  // Activations: K_PAR codes per beat, ceil(K / K_PAR) beats per column, tlast on the last.
  input  logic                      s_axis_act_tvalid,
  output logic                      s_axis_act_tready,
  input  logic [K_PAR*ACT_BITS-1:0] s_axis_act_tdata,
  input  logic                      s_axis_act_tlast,

  // Results: one int32 (or sign-extended int8 / zero-extended uint8) per beat.
  output logic                      m_axis_out_tvalid,
  input  logic                      m_axis_out_tready,
  output logic [31:0]               m_axis_out_tdata,
  output logic [INDEX_W-1:0]        m_axis_out_tuser,
  output logic                      m_axis_out_tlast,   // last result of a column

  output logic                      idle,
  output logic                      error_tlast         // sticky: tlast disagreed with CFG_BEATS
);
  localparam int TYPES = rmsmp_pkg::LANE_KINDS;
  localparam int TYPE_W = $clog2(TYPES);
  localparam int CFG_ADDR_W = rmsmp_pkg::CFG_ADDR_W;
  // Lanes of lane type t, and the id of its first lane (functions: Yosys 0.23 has no
  // unpacked-array parameters).
  function automatic int type_lanes(input int t);
    case (t)
      rmsmp_pkg::LANE_POT: type_lanes = POT_LANES;
      rmsmp_pkg::LANE_SP2: type_lanes = SP2_LANES;
      rmsmp_pkg::LANE_FIX4: type_lanes = FIX4_LANES;
      default: type_lanes = FIX8_LANES;
    endcase
  endfunction
  function automatic int type_first(input int t);
    type_first = 0;
    for (int u = 0; u < t; u++) type_first = type_first + type_lanes(u);
  endfunction
  // The lane type of lane id l (PoT lanes first, then SP2, Fixed-4, Fixed-8).
  function automatic int lane_type(input int l);
    lane_type = 0;
    for (int t = 1; t < TYPES; t++)
      if (l >= type_first(t)) lane_type = t;
  endfunction
  localparam int A_W = ACT_BITS + 1;
  localparam int ROW_W = 17;
  localparam int COUNT_W = $clog2(rmsmp_pkg::LANES_PER_KIND_MAX + 1);  // lanes of one type in a pass

  if (ACT_BITS != 4 && ACT_BITS != 8) begin : g_bad_act_bits
    $error("rmsmp_engine: ACT_BITS must be 4 or 8");
  end
  if (ACC_BITS < rmsmp_pkg::ACC_BITS_MIN || ACC_BITS > rmsmp_pkg::ACC_BITS_MAX) begin : g_bad_acc_bits
    $error("rmsmp_engine: ACC_BITS must be 16..32 (the output pipeline is int32)");
  end
  if (LANES < 1 || POT_LANES > rmsmp_pkg::LANES_PER_KIND_MAX || SP2_LANES > rmsmp_pkg::LANES_PER_KIND_MAX ||
      FIX4_LANES > rmsmp_pkg::LANES_PER_KIND_MAX || FIX8_LANES > rmsmp_pkg::LANES_PER_KIND_MAX) begin : g_bad_lanes
    $error("rmsmp_engine: need 1 to 255 lanes per type and at least one lane");
  end
  if (K_PAR < 1 || K_PAR > rmsmp_pkg::K_PAR_MAX) begin : g_bad_k_par
    $error("rmsmp_engine: K_PAR must be 1..8");
  end

  // ---- Configuration -------------------------------------------------------------------
  logic [A_ADDR_W:0]   beats;
  logic [TYPES*ROW_W-1:0]   rows;            // flattened per-type fields: Yosys 0.23 has no 2-D packed arrays
  logic [ACT_BITS+1:0] act_zero_point;
  logic                act_signed;
  logic [31:0]         out_zero_point, clamp_lo, clamp_hi;
  logic [rmsmp_pkg::OUT_MODE_W-1:0] out_mode;

  always_ff @(posedge clk)
    if (cfg_wr_en)
      case (cfg_wr_addr)
        rmsmp_pkg::CFG_BEATS: beats <= cfg_wr_data[A_ADDR_W:0];
        rmsmp_pkg::CFG_ROWS + CFG_ADDR_W'(rmsmp_pkg::LANE_POT), rmsmp_pkg::CFG_ROWS + CFG_ADDR_W'(rmsmp_pkg::LANE_SP2),
        rmsmp_pkg::CFG_ROWS + CFG_ADDR_W'(rmsmp_pkg::LANE_FIX4), rmsmp_pkg::CFG_ROWS + CFG_ADDR_W'(rmsmp_pkg::LANE_FIX8):
          rows[(TYPE_W'(cfg_wr_addr - rmsmp_pkg::CFG_ROWS))*ROW_W +: ROW_W] <= cfg_wr_data[ROW_W-1:0];
        rmsmp_pkg::CFG_ACT_ZERO: act_zero_point <= cfg_wr_data[ACT_BITS+1:0];
        rmsmp_pkg::CFG_ACT_SIGNED: act_signed <= cfg_wr_data[0];
        rmsmp_pkg::CFG_OUT_ZERO: out_zero_point <= cfg_wr_data;
        rmsmp_pkg::CFG_CLAMP_LO: clamp_lo <= cfg_wr_data;
        rmsmp_pkg::CFG_CLAMP_HI: clamp_hi <= cfg_wr_data;
        rmsmp_pkg::CFG_OUT_MODE: out_mode <= cfg_wr_data[rmsmp_pkg::OUT_MODE_W-1:0];
        default: ;
      endcase

  // ---- Control -------------------------------------------------------------------------
  logic [1:0]          bank_full;        // activation bank holds a column not yet computed
  logic                load_bank;        // bank the next beats go to
  logic                compute_bank;     // bank the passes read
  logic                computing;
  logic [A_ADDR_W:0]   load_beat;
  logic [A_ADDR_W:0]   beat;             // beat of the current pass
  logic [W_ADDR_W-1:0] weight_addr;      // pass * beats + beat
  logic [TYPES*ROW_W-1:0] base;      // first row of the current pass, per type
  logic [TYPES*COUNT_W-1:0] active;  // lanes holding a real row in the current pass
  logic                final_pass;
  logic                capture_pending;  // a pass's last beat is in the lanes
  logic [TYPES*COUNT_W-1:0] pending_active;
  logic                pending_final;
  logic                results_idle;     // the result queues are empty

  always_comb begin
    final_pass = 1'b1;
    for (int t = 0; t < TYPES; t++) begin
      logic [ROW_W-1:0] type_rows, type_base, lanes;
      type_rows = rows[t*ROW_W +: ROW_W];
      type_base = base[t*ROW_W +: ROW_W];
      lanes = ROW_W'(type_lanes(t));
      if (lanes == '0 || type_rows <= type_base) active[t*COUNT_W +: COUNT_W] = '0;
      else if (type_rows - type_base >= lanes) active[t*COUNT_W +: COUNT_W] = COUNT_W'(lanes);
      else active[t*COUNT_W +: COUNT_W] = COUNT_W'(type_rows - type_base);
      if (lanes != '0 && type_base + lanes < type_rows) final_pass = 1'b0;
    end
  end

  logic load_fire, last_beat, issue;
  assign computing = bank_full[compute_bank];
  assign s_axis_act_tready = !bank_full[load_bank];
  assign load_fire = s_axis_act_tvalid && s_axis_act_tready;
  assign last_beat = beat == beats - 1'b1;
  // A pass's last beat waits until the previous pass's results have left the queues.
  assign issue = computing && (!last_beat || (results_idle && !capture_pending));

  always_ff @(posedge clk) begin
    if (rst) begin
      bank_full <= '0;
      load_bank <= 1'b0;
      compute_bank <= 1'b0;
      load_beat <= '0;
      beat <= '0;
      weight_addr <= '0;
      for (int t = 0; t < TYPES; t++) base[t*ROW_W +: ROW_W] <= '0;
      error_tlast <= 1'b0;
    end else begin
      if (load_fire) begin
        if (s_axis_act_tlast != (load_beat == beats - 1'b1)) error_tlast <= 1'b1;
        if (load_beat == beats - 1'b1) begin
          load_beat <= '0;
          bank_full[load_bank] <= 1'b1;
          load_bank <= !load_bank;
        end else begin
          load_beat <= load_beat + 1'b1;
        end
      end
      if (issue) begin
        if (!last_beat) begin
          beat <= beat + 1'b1;
          weight_addr <= weight_addr + 1'b1;
        end else begin
          beat <= '0;
          if (final_pass) begin
            bank_full[compute_bank] <= 1'b0;  // never the bank being filled: that one is empty
            compute_bank <= !compute_bank;
            weight_addr <= '0;
            for (int t = 0; t < TYPES; t++) base[t*ROW_W +: ROW_W] <= '0;
          end else begin
            weight_addr <= weight_addr + 1'b1;
            for (int t = 0; t < TYPES; t++) base[t*ROW_W +: ROW_W] <= base[t*ROW_W +: ROW_W] + ROW_W'(type_lanes(t));
          end
        end
      end
    end
  end

  // Beat flags travel with the data: issue (c) -> memories out (c+1) -> terms (c+2) ->
  // accumulators (c+3), when the pass's results are captured into the queues.
  logic valid1, first1, last1, valid2, first2, last2, last3;
  always_ff @(posedge clk) begin
    if (rst) {valid1, last1, valid2, last2, last3} <= '0;
    else {valid1, last1, valid2, last2, last3} <= {issue, issue && last_beat, valid1, last1, last2};
    first1 <= beat == '0;
    first2 <= first1;
  end

  always_ff @(posedge clk) begin
    if (rst) capture_pending <= 1'b0;
    else if (issue && last_beat) capture_pending <= 1'b1;
    else if (last3) capture_pending <= 1'b0;
    if (issue && last_beat) begin
      pending_active <= active;
      pending_final <= final_pass;
    end
  end

  // ---- Activation buffer and lanes ------------------------------------------------------
  logic [K_PAR*A_W-1:0] act;
  rmsmp_activation_buffer #(.K_PAR(K_PAR), .ACT_BITS(ACT_BITS), .DEPTH(2 * ACT_DEPTH)) activation_buffer (
    .clk, .act_signed, .zero_point(act_zero_point),
    .wr_en(load_fire), .wr_addr({load_bank, load_beat[A_ADDR_W-1:0]}), .wr_codes(s_axis_act_tdata),
    .rd_en(issue), .rd_addr({compute_bank, beat[A_ADDR_W-1:0]}), .rd_centered(act));

  logic [LANES*32-1:0] lane_acc;

  logic unused_weight_bits;  // lane types narrower than 8 bits per field ignore the top bits
  assign unused_weight_bits = ^weight_wr_data;
  logic [LANES-1:0] weight_wr_select;
  assign weight_wr_select = weight_wr_en ? LANES'(1) << weight_wr_lane : '0;

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    localparam int KIND = lane_type(l);
    localparam int FIELD_BITS = KIND == rmsmp_pkg::LANE_POT ? rmsmp_pkg::FIELD_BITS_POT :
                                KIND == rmsmp_pkg::LANE_SP2 ? rmsmp_pkg::FIELD_BITS_SP2 :
                                KIND == rmsmp_pkg::LANE_FIX4 ? rmsmp_pkg::FIELD_BITS_FIX4 : rmsmp_pkg::FIELD_BITS_FIX8;
    logic [ACC_BITS-1:0] acc;
    rmsmp_lane #(.KIND(KIND), .K_PAR(K_PAR), .A_W(A_W), .ACC_BITS(ACC_BITS), .DEPTH(WEIGHT_DEPTH)) lane (
      .clk, .wr_en(weight_wr_select[l]), .wr_addr(weight_wr_addr),
      .wr_data(weight_wr_data[K_PAR*FIELD_BITS-1:0]), .rd_en(issue), .rd_addr(weight_addr), .act,
      .acc_en(valid2), .acc_first(first2), .acc);
    assign lane_acc[l*32 +: 32] = 32'($signed(acc));
  end

  // ---- Result queues: one per lane type, loaded when a pass ends --------------------------
  logic [TYPES*32-1:0]      head;
  logic [TYPES*COUNT_W-1:0] queued;
  logic [TYPES-1:0]   pop;

  for (genvar t = 0; t < TYPES; t++) begin : g_queue
    localparam int SLOTS = type_lanes(t) > 0 ? type_lanes(t) : 1;
    localparam int QCOUNT_W = $clog2(SLOTS + 1);
    logic [SLOTS*32-1:0]   values;
    logic [QCOUNT_W-1:0]   count;
    if (type_lanes(t) == 0) begin : g_none
      assign values = '0;
    end else begin : g_some
      for (genvar l = 0; l < type_lanes(t); l++) begin : g_slot
        assign values[l*32 +: 32] = lane_acc[(type_first(t) + l)*32 +: 32];
      end
    end
    rmsmp_result_queue #(.LANES(type_lanes(t)), .WIDTH(32)) queue (
      .clk, .rst, .load(last3), .values, .load_count(QCOUNT_W'(pending_active[t*COUNT_W +: COUNT_W])),
      .pop(pop[t]), .head(head[t*32 +: 32]), .count);
    assign queued[t*COUNT_W +: COUNT_W] = COUNT_W'(count);
  end

  // ---- Serializer: PoT results first, then SP2, Fixed-4, Fixed-8 --------------------------
  logic               results_final;  // the queued results are the column's last pass
  logic               out_in_valid, out_in_ready, out_in_last;
  logic [31:0]        out_in_acc;
  logic [INDEX_W-1:0] out_index;      // output index within the column
  logic               pipeline_busy;

  always_comb begin
    logic found;
    found = 1'b0;
    pop = '0;
    out_in_acc = '0;
    out_in_last = 1'b0;
    for (int t = 0; t < TYPES; t++) begin
      if (!found && queued[t*COUNT_W +: COUNT_W] != '0) begin
        found = 1'b1;
        pop[t] = out_in_ready;
        out_in_acc = head[t*32 +: 32];
        out_in_last = results_final && queued[t*COUNT_W +: COUNT_W] == COUNT_W'(1);
      end else if (found && queued[t*COUNT_W +: COUNT_W] != '0) begin
        out_in_last = 1'b0;
      end
    end
    out_in_valid = found;
    results_idle = !found;
  end

  always_ff @(posedge clk) begin
    if (rst) out_index <= '0;
    else if (out_in_valid && out_in_ready) out_index <= out_in_last ? '0 : out_index + 1'b1;
    if (last3) results_final <= pending_final;
  end

  rmsmp_output_pipeline #(.INDEX_W(INDEX_W)) output_pipeline (
    .clk, .rst,
    .param_wr_en, .param_wr_addr, .param_wr_bias, .param_wr_multiplier, .param_wr_shift,
    .out_zero_point, .clamp_lo, .clamp_hi, .out_mode,
    .in_valid(out_in_valid), .in_ready(out_in_ready), .in_acc(out_in_acc), .in_index(out_index),
    .in_last(out_in_last),
    .out_valid(m_axis_out_tvalid), .out_ready(m_axis_out_tready), .out_data(m_axis_out_tdata),
    .out_index(m_axis_out_tuser), .out_last(m_axis_out_tlast), .busy(pipeline_busy));

  assign idle = bank_full == '0 && load_beat == '0 && !valid1 && !valid2 && !capture_pending && results_idle &&
                !pipeline_busy;
endmodule

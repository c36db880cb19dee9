// TLPs of the wrapper's sources onto the H-tile's TX Avalon-ST port, whole
// TLPs at a time, with the TX credit check and consumption report the
// H-tile asks of the application. Fixed priority, lowest index first:
// source 0 is DMA writes (posted), 1 MMIO read completions, 2 DMA read
// requests. Writes first keeps a completion (a register read the host is
// waiting for) from passing a DMA write the core issued before it, so the
// host never sees a register say "done" before the data has landed.
// Credits: a TLP starts only if the IP's available header and data credits
// of its type, less what this module consumed in the last Window cycles
// (the IP's counters lag its consumption reports), cover it.
module pcie_tx_arb #(
  parameter int unsigned NumSrc = 3,
  parameter int unsigned Window = 8
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic [NumSrc-1:0]        src_valid_i,
  output logic [NumSrc-1:0]        src_ready_o,
  input  logic [NumSrc-1:0][511:0] src_data_i,
  input  logic [NumSrc-1:0]        src_sop_i,
  input  logic [NumSrc-1:0]        src_eop_i,
  input  logic [NumSrc-1:0][1:0]   src_type_i,     // 0 posted, 1 non-posted, 2 completion
  input  logic [NumSrc-1:0][9:0]   src_credits_i,  // data credits (16 B) of the TLP, on sop
  input  logic [NumSrc-1:0][2:0]   src_beat_cr_i,  // data credits in this beat (0..4)
  output logic [511:0]             tx_st_data_o,
  output logic                     tx_st_sop_o,
  output logic                     tx_st_eop_o,
  output logic                     tx_st_valid_o,
  input  logic                     tx_st_ready_i,
  input  logic [2:0][7:0]          hdr_avail_i,    // {cpl, np, p}
  input  logic [2:0][11:0]         data_avail_i,
  output logic                     hdr_consumed_o,
  output logic                     data_consumed_o,
  output logic [1:0]               cdts_type_o,
  output logic [1:0]               cdts_data_value_o,
  output logic [NumSrc-1:0]        sending_o  // whose TLP is being sent (after its first beat)
);
  localparam int unsigned SelW = (NumSrc > 1) ? $clog2(NumSrc) : 1;

  logic active_q;
  logic [SelW-1:0] sel_q;
  logic [Window-1:0][2:0][3:0] used_h_q;   // headers consumed per cycle, per type
  logic [Window-1:0][2:0][11:0] used_d_q;  // data credits consumed per cycle, per type

  // Credits spent recently, per type.
  logic [2:0][7:0] recent_h;
  logic [2:0][11:0] recent_d;
  always_comb begin
    recent_h = '0;
    recent_d = '0;
    for (int unsigned w = 0; w < Window; w++) begin
      for (int unsigned t = 0; t < 3; t++) begin
        recent_h[t] = recent_h[t] + 8'(used_h_q[w][t]);
        recent_d[t] = recent_d[t] + used_d_q[w][t];
      end
    end
  end

  // The first source with a TLP, if its credits are there: a later source
  // never passes an earlier one (no request or completion passes a write).
  logic [NumSrc-1:0] eligible;
  logic start;
  logic [SelW-1:0] pick;
  always_comb begin
    for (int unsigned s = 0; s < NumSrc; s++) begin
      eligible[s] = src_valid_i[s] && src_sop_i[s] && (src_type_i[s] != 2'd3)
          && (32'(hdr_avail_i[src_type_i[s]]) >= 32'(recent_h[src_type_i[s]]) + 1)
          && (32'(data_avail_i[src_type_i[s]]) >= 32'(recent_d[src_type_i[s]]) + 32'(src_credits_i[s]));
    end
    pick = '0;
    for (int s = NumSrc - 1; s >= 0; s--) if (src_valid_i[s]) pick = SelW'(s);
  end
  assign start = !active_q && eligible[pick];

  logic [SelW-1:0] cur;
  logic go, fire;
  assign cur = active_q ? sel_q : pick;
  assign go = active_q || start;
  assign tx_st_valid_o = go && src_valid_i[cur];
  assign tx_st_data_o = src_data_i[cur];
  assign tx_st_sop_o = src_sop_i[cur] && !active_q;
  assign tx_st_eop_o = src_eop_i[cur];
  assign fire = tx_st_valid_o && tx_st_ready_i;
  always_comb begin
    src_ready_o = '0;
    if (go) src_ready_o[cur] = tx_st_ready_i;
  end

  assign hdr_consumed_o = fire && tx_st_sop_o;
  assign data_consumed_o = fire && (src_beat_cr_i[cur] != '0);
  assign cdts_type_o = src_type_i[cur];
  assign cdts_data_value_o = 2'(src_beat_cr_i[cur] - 3'd1);
  always_comb begin
    sending_o = '0;
    if (active_q) sending_o[sel_q] = 1'b1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q <= 1'b0;
      sel_q <= '0;
      used_h_q <= '0;
      used_d_q <= '0;
    end else begin
      if (fire) begin
        active_q <= !tx_st_eop_o;
        if (!active_q) sel_q <= pick;
      end
      used_h_q[Window-1:1] <= used_h_q[Window-2:0];
      used_d_q[Window-1:1] <= used_d_q[Window-2:0];
      used_h_q[0] <= '0;
      used_d_q[0] <= '0;
      if (hdr_consumed_o) used_h_q[0][src_type_i[cur]] <= 4'd1;
      if (data_consumed_o) used_d_q[0][src_type_i[cur]] <= 12'(src_beat_cr_i[cur]);
    end
  end
endmodule

// The capture record writer: for every frame and every session that
// captures it, one CAPTURE_REC record (header + the first CAPLEN bytes) in
// the session's host ring, written by DMA.
//
// A tap, never a stage: the frame stream has no ready, every beat is taken.
// At a frame's first beat each session decides (matched = its capture bit,
// enabled, direction, port and owner in its masks): the record is taken
// when the ring has room counting the records taken but not written yet
// (prod - CONS < 2^LOG2, 16-bit), and the frame buffer has room for the
// beats the frame's longest record needs and a descriptor slot is free;
// otherwise the session counts DROPPED and its next record's DROPPED field
// grows by one. So drops are exact per session and the dataplane is never
// stalled: a full ring or a slow DMA costs records only.
//
// The frame's beats (only as many as its longest record needs) go into a
// block-RAM buffer (ram_1w1r, DataBeats deep); its descriptor (per session:
// taken, CAPLEN, producer index, DROPPED carry; the header fields) is pushed
// when the frame ends, so the reader never overtakes the writer. The reader
// writes each taken session's record in session order, data beats first and
// the header last (SEQ in the header makes the slot valid only when the
// record is complete), one single-beat DMA write each, as the
// lowest-priority requester of the DMA write arbiter. A data beat is read
// from the RAM in one cycle and shown the next, so records leave at one beat
// per two cycles (see docs/capture.md).
//
// A CFG write resets the session's producer index and DROPPED carry (a new
// ring); records of the old ring still in flight are written with the
// configuration current when they leave. Sessions must be disabled while
// their CFG or BASE changes.
module cap_writer
#(
  parameter int unsigned NumSess   = 4,
  parameter int unsigned DataBeats = 512,  // frame buffer, a power of two
  parameter int unsigned DescDepth = 16    // frames in the buffer, a power of two
) (
  input  logic                                clk_i,
  input  logic                                rst_ni,
  // The tapped frame stream; side-band fields are read with the first beat.
  input  logic                                in_valid_i,
  input  logic [norman_pkg::DataW-1:0]        in_data_i,
  input  logic                                in_last_i,
  input  logic [NumSess-1:0]                  in_cap_i,      // cap_bpf accept | unsure
  input  logic [NumSess-1:0]                  in_unsure_i,
  input  logic [NumSess-1:0]                  in_owner_i,    // connection's capture bits
  input  logic [15:0]                         in_len_i,      // original frame length
  input  logic                                in_dir_i,      // 0 receive, 1 transmit
  input  logic [3:0]                          in_port_i,
  input  logic [15:0]                         in_conn_i,
  input  logic                                in_owner_valid_i,
  input  logic [1:0]                          in_verdict_i,
  input  logic [63:0]                         cycle_i,       // CTRL.CYCLES
  // Frames the tap could not bring here, one per direction (index = DIR;
  // cap_core's merge buffer was full): every enabled session whose
  // direction and port masks hold one counts it as matched and dropped (it
  // may have matched; the program and the owner are not known for it).
  input  logic [1:0]                          lost_i,
  input  logic [1:0][3:0]                     lost_port_i,
  // CAPTURE registers, per session.
  input  logic [NumSess-1:0][63:0]            base_i,
  input  logic [NumSess-1:0][63:0]            cfg_i,
  input  logic [NumSess-1:0]                  cfg_we_i,
  input  logic [NumSess-1:0][15:0]            snap_i,
  input  logic [NumSess-1:0][15:0]            cons_i,
  output logic [NumSess-1:0][63:0]            matched_o,
  output logic [NumSess-1:0][63:0]            captured_o,
  output logic [NumSess-1:0][63:0]            dropped_o,
  // DMA write requester (one beat per request).
  output logic                                wr_valid_o,
  input  logic                                wr_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]     wr_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]      wr_len_o,
  output logic [norman_pkg::DataW-1:0]        wr_data_o,
  output logic                                wr_last_o,
  output logic                                idle_o
);
  localparam int unsigned BeatW  = $clog2(DataBeats);
  localparam int unsigned BCntW  = $clog2(DataBeats + 1);
  localparam int unsigned DPtrW  = $clog2(DescDepth);
  localparam int unsigned DCntW  = $clog2(DescDepth + 1);
  localparam int unsigned SessW  = (NumSess > 1) ? $clog2(NumSess) : 1;
  localparam int unsigned MaxCap = norman_regmap_pkg::CAPTURE_REC_MAX_CAPLEN;
  localparam int unsigned SlotSh = $clog2(norman_regmap_pkg::CAPTURE_REC_SLOT_BYTES);
  localparam int unsigned HdrB   = norman_regmap_pkg::CAPTURE_REC_HEADER_BYTES;

  // ---------------------------------------------------------------- per-session decision
  logic sop_q;
  logic sop;
  assign sop = in_valid_i && sop_q;

  logic [NumSess-1:0] ring_on, match, cand, take;
  logic [NumSess-1:0][1:0] lost;  // frames lost this cycle, 0 to 2
  logic [NumSess-1:0][15:0] caplen;
  logic [NumSess-1:0][5:0] nbeats;
  logic [NumSess-1:0][15:0] prod_q;
  logic [NumSess-1:0][31:0] carry_q;
  logic [5:0] need;
  logic [BCntW-1:0] used_q;
  logic [DCntW-1:0] dcount_q;
  logic fifo_ok;

  // Module-level temporaries: Yosys sizes no variables of unnamed blocks.
  logic [NumSess-1:0][4:0] l2;
  logic [NumSess-1:0][15:0] lim;
  always_comb begin
    for (int unsigned s = 0; s < NumSess; s++) begin
      l2[s] = cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_LOG2_LSB +: 5];
      ring_on[s] = l2[s] != '0 && 32'(l2[s]) <= norman_regmap_pkg::MAX_RING_LOG2;
      match[s] = in_cap_i[s]
                 && cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_ENABLE_LSB]
                 && cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_DIR_MASK_LSB + 32'(in_dir_i)]
                 && !in_port_i[3] && cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_PORT_MASK_LSB + 32'(in_port_i[2:0])]
                 && (!cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_OWNER_REQ_LSB] || in_owner_i[s]);
      lost[s] = '0;
      for (int unsigned d = 0; d < 2; d++) begin
        if (lost_i[d] && cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_ENABLE_LSB]
            && cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_DIR_MASK_LSB + d] && !lost_port_i[d][3]
            && cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_PORT_MASK_LSB + 32'(lost_port_i[d][2:0])]) begin
          lost[s] = lost[s] + 2'd1;
        end
      end
      cand[s] = match[s] && ring_on[s] && (prod_q[s] - cons_i[s]) < 16'(17'd1 << l2[s]);
      lim[s] = (snap_i[s] == '0 || snap_i[s] > 16'(MaxCap) || in_unsure_i[s]) ? 16'(MaxCap) : snap_i[s];
      caplen[s] = in_len_i < lim[s] ? in_len_i : lim[s];
      nbeats[s] = 6'((caplen[s] + 16'd63) >> 6);
    end
    need = '0;
    for (int unsigned s = 0; s < NumSess; s++) begin
      if (cand[s] && nbeats[s] > need) need = nbeats[s];
    end
    fifo_ok = (32'(used_q) + 32'(need) <= DataBeats) && (32'(dcount_q) < DescDepth);
    take = fifo_ok ? cand : '0;
  end

  // ---------------------------------------------------------------- descriptor being filled
  // Written at the first beat, pushed with the last.
  logic [NumSess-1:0]        cur_take_q;
  logic [NumSess-1:0][15:0]  cur_caplen_q, cur_seq_q;
  logic [NumSess-1:0][31:0]  cur_drop_q;
  logic [NumSess-1:0]        cur_unsure_q;
  logic [5:0]                cur_need_q;
  logic [BeatW-1:0]          cur_start_q;
  logic [63:0]               cur_hdr_q;   // word 0 without CAPLEN, UNSURE, SESSION
  logic [15:0]               cur_conn_q;
  logic [63:0]               cur_cycle_q;
  logic [5:0]                beat_q;      // index of the next beat of the frame
  logic [BeatW-1:0]          wptr_q;
  logic [5:0]                need_now;
  logic                      store, push;
  logic                      rd_issue, load_hdr, pop, can_act;
  logic [BeatW-1:0]          rd_addr;
  logic [norman_pkg::DataW-1:0] rd_data;

  assign need_now = sop ? (take != '0 ? need : 6'd0) : cur_need_q;
  assign store = in_valid_i && (sop ? 6'd0 : beat_q) < need_now;
  assign push = in_valid_i && in_last_i && (sop ? take : cur_take_q) != '0;

  logic [63:0] hdr_now;
  always_comb begin
    hdr_now = '0;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_ORIG_LEN_LSB +: 16] = in_len_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_DIR_LSB] = in_dir_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_PORT_LSB +: 4] = in_port_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_VERDICT_LSB +: 2] = in_verdict_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_OWNER_VALID_LSB] = in_owner_valid_i;
  end

  always_ff @(posedge clk_i) begin
    if (sop) begin
      cur_take_q <= take;
      cur_caplen_q <= caplen;
      cur_unsure_q <= in_unsure_i;
      cur_need_q <= take != '0 ? need : 6'd0;
      cur_start_q <= wptr_q;
      cur_hdr_q <= hdr_now;
      cur_conn_q <= in_conn_i;
      cur_cycle_q <= cycle_i;
      for (int unsigned s = 0; s < NumSess; s++) begin
        cur_seq_q[s] <= prod_q[s];
        cur_drop_q[s] <= carry_q[s];
      end
    end
  end

  ram_1w1r #(.Width(norman_pkg::DataW), .Depth(DataBeats)) u_buf (
    .clk_i,
    .we_i(store), .waddr_i(wptr_q), .wdata_i(in_data_i),
    .re_i(rd_issue), .raddr_i(rd_addr), .rdata_o(rd_data));

  // ---------------------------------------------------------------- descriptor FIFO
  // Flip-flops: the reader needs several fields of the head at once.
  logic [DescDepth-1:0][NumSess-1:0]       d_take_q, d_unsure_q;
  logic [DescDepth-1:0][NumSess-1:0][15:0] d_caplen_q, d_seq_q;
  logic [DescDepth-1:0][NumSess-1:0][31:0] d_drop_q;
  logic [DescDepth-1:0][5:0]               d_need_q;
  logic [DescDepth-1:0][BeatW-1:0]         d_start_q;
  logic [DescDepth-1:0][63:0]              d_hdr_q, d_cycle_q;
  logic [DescDepth-1:0][15:0]              d_conn_q;
  logic [DPtrW-1:0] dw_q, dr_q;

  always_ff @(posedge clk_i) begin
    if (push) begin
      // A frame of one beat pushes in its first cycle: use the decision directly.
      d_take_q[dw_q]   <= sop ? take : cur_take_q;
      d_unsure_q[dw_q] <= sop ? in_unsure_i : cur_unsure_q;
      d_caplen_q[dw_q] <= sop ? caplen : cur_caplen_q;
      d_seq_q[dw_q]    <= sop ? prod_q : cur_seq_q;
      d_drop_q[dw_q]   <= sop ? carry_q : cur_drop_q;
      d_need_q[dw_q]   <= need_now;
      d_start_q[dw_q]  <= sop ? wptr_q : cur_start_q;
      d_hdr_q[dw_q]    <= sop ? hdr_now : cur_hdr_q;
      d_cycle_q[dw_q]  <= sop ? cycle_i : cur_cycle_q;
      d_conn_q[dw_q]   <= sop ? in_conn_i : cur_conn_q;
    end
  end

  // ---------------------------------------------------------------- reader
  logic [NumSess-1:0] rem_q;       // sessions of the head frame still to write
  logic               busy_q;      // rem_q is loaded for the head frame
  logic [5:0]         rj_q;        // next data beat of the current record
  logic               rd_pend_q;   // a RAM read was issued last cycle
  logic [norman_pkg::DmaAddrW-1:0] pend_addr_q;
  logic [6:0]         pend_len_q;

  logic out_valid_q, out_hdr_q;
  logic [SessW-1:0] out_sess_q;
  logic [norman_pkg::DmaAddrW-1:0] out_addr_q;
  logic [6:0] out_len_q;
  logic [norman_pkg::DataW-1:0] out_data_q;

  // The current session: the lowest one left.
  logic [SessW-1:0] cs;
  logic [NumSess-1:0] cs_bit, rem_now;
  assign rem_now = busy_q ? rem_q : d_take_q[dr_q];
  always_comb begin
    cs = '0;
    cs_bit = '0;
    for (int s = NumSess - 1; s >= 0; s--) begin
      if (rem_now[s]) begin
        cs = SessW'(s);
        cs_bit = '0;
        cs_bit[s] = 1'b1;
      end
    end
  end

  logic [15:0] c_caplen, c_seq;
  logic [5:0] c_beats;
  logic [4:0] c_l2;
  logic [norman_pkg::DmaAddrW-1:0] c_slot;
  assign c_caplen = d_caplen_q[dr_q][cs];
  assign c_seq = d_seq_q[dr_q][cs];
  assign c_beats = 6'((c_caplen + 16'd63) >> 6);
  logic [15:0] c_idx;  // the record's slot in the ring
  assign c_idx = c_seq & 16'((17'd1 << c_l2) - 17'd1);
  assign c_l2 = cfg_i[cs][norman_regmap_pkg::CAPTURE_CFG_LOG2_LSB +: 5];
  assign c_slot = {base_i[cs][63:SlotSh], SlotSh'(0)}
                  + (64'(c_idx) << SlotSh);

  assign can_act = (dcount_q != '0) && !rd_pend_q && (!out_valid_q || wr_ready_i);
  assign rd_issue = can_act && rj_q < c_beats;
  assign load_hdr = can_act && rj_q >= c_beats;
  assign pop = load_hdr && (rem_now & ~cs_bit) == '0;
  assign rd_addr = d_start_q[dr_q] + BeatW'(rj_q);

  logic [norman_pkg::DataW-1:0] hdr_beat;
  logic [7:0][63:0] w;
  logic [63:0] w0;
  always_comb begin
    w = '0;
    w0 = d_hdr_q[dr_q];
    w0[norman_regmap_pkg::CAPTURE_REC_CAPLEN_LSB +: 16] = c_caplen;
    w0[norman_regmap_pkg::CAPTURE_REC_UNSURE_LSB] = d_unsure_q[dr_q][cs];
    w0[norman_regmap_pkg::CAPTURE_REC_SESSION_LSB +: 4] = 4'(cs);
    w[0] = w0;
    w[norman_regmap_pkg::CAPTURE_REC_CONN_ID_WORD] = 64'(d_conn_q[dr_q]);
    w[norman_regmap_pkg::CAPTURE_REC_CYCLE_WORD] = d_cycle_q[dr_q];
    w[norman_regmap_pkg::CAPTURE_REC_DROPPED_WORD][norman_regmap_pkg::CAPTURE_REC_DROPPED_LSB +: 32] = d_drop_q[dr_q][cs];
    w[norman_regmap_pkg::CAPTURE_REC_SEQ_WORD][norman_regmap_pkg::CAPTURE_REC_SEQ_LSB +: 16] = c_seq + 16'd1;
    hdr_beat = norman_pkg::DataW'(w);
  end

  always_ff @(posedge clk_i) begin
    if (rd_issue) begin
      pend_addr_q <= c_slot + 64'(HdrB) + (64'(rj_q) << 6);
      pend_len_q <= (c_caplen - (16'(rj_q) << 6)) >= 16'd64 ? 7'd64 : 7'(c_caplen - (16'(rj_q) << 6));
    end
    if (rd_pend_q) begin
      out_addr_q <= pend_addr_q;
      out_len_q <= pend_len_q;
      out_data_q <= rd_data;
      out_hdr_q <= 1'b0;
    end else if (load_hdr) begin
      out_addr_q <= c_slot;
      out_len_q <= 7'(HdrB);
      out_data_q <= hdr_beat;
      out_hdr_q <= 1'b1;
      out_sess_q <= cs;
    end
  end

  assign wr_valid_o = out_valid_q;
  assign wr_addr_o = out_addr_q;
  assign wr_len_o = norman_pkg::DmaLenW'(out_len_q);
  assign wr_data_o = out_data_q;
  assign wr_last_o = 1'b1;

  // ---------------------------------------------------------------- state
  logic [NumSess-1:0] written;
  logic [5:0] used_add, used_sub;
  assign used_add = sop ? need_now : 6'd0;
  assign used_sub = pop ? d_need_q[dr_q] : 6'd0;
  always_comb begin
    written = '0;
    if (out_valid_q && wr_ready_i && out_hdr_q) written[out_sess_q] = 1'b1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sop_q <= 1'b1;
      beat_q <= '0;
      wptr_q <= '0;
      used_q <= '0;
      dcount_q <= '0;
      dw_q <= '0;
      dr_q <= '0;
      prod_q <= '0;
      carry_q <= '0;
      rem_q <= '0;
      busy_q <= 1'b0;
      rj_q <= '0;
      rd_pend_q <= 1'b0;
      out_valid_q <= 1'b0;
      matched_o <= '0;
      captured_o <= '0;
      dropped_o <= '0;
    end else begin
      if (in_valid_i) begin
        sop_q <= in_last_i;
        beat_q <= in_last_i ? 6'd0 : ((sop ? 6'd0 : beat_q) == 6'd63 ? 6'd63 : (sop ? 6'd0 : beat_q) + 6'd1);
      end
      if (store) wptr_q <= wptr_q + 1'b1;
      used_q <= used_q + BCntW'(used_add) - BCntW'(used_sub);
      dcount_q <= dcount_q + DCntW'(push) - DCntW'(pop);
      if (push) dw_q <= dw_q + 1'b1;
      if (pop) dr_q <= dr_q + 1'b1;
      for (int unsigned s = 0; s < NumSess; s++) begin
        if (cfg_we_i[s]) begin
          prod_q[s] <= '0;
          carry_q[s] <= '0;
        end else if (sop && match[s] && take[s]) begin
          // Frames lost in the same cycle are counted in the next record.
          prod_q[s] <= prod_q[s] + 16'd1;
          carry_q[s] <= 32'(lost[s]);
        end else if ((sop && match[s]) || lost[s] != '0) begin
          carry_q[s] <= (carry_q[s] >= 32'hffff_fffc) ? '1
                        : carry_q[s] + 32'(sop && match[s]) + 32'(lost[s]);
        end
        if ((sop && match[s]) || lost[s] != '0) begin
          matched_o[s] <= matched_o[s] + 64'(sop && match[s]) + 64'(lost[s]);
        end
        if ((sop && match[s] && !take[s]) || lost[s] != '0) begin
          dropped_o[s] <= dropped_o[s] + 64'(sop && match[s] && !take[s]) + 64'(lost[s]);
        end
        if (written[s]) captured_o[s] <= captured_o[s] + 64'd1;
      end
      // Reader.
      if (pop) begin
        busy_q <= 1'b0;
        rj_q <= '0;
      end else if (load_hdr) begin
        busy_q <= 1'b1;
        rem_q <= rem_now & ~cs_bit;
        rj_q <= '0;
      end else if (rd_issue) begin
        busy_q <= 1'b1;
        rem_q <= rem_now;
        rj_q <= rj_q + 6'd1;
      end
      rd_pend_q <= rd_issue;
      if (rd_pend_q || load_hdr) out_valid_q <= 1'b1;
      else if (wr_ready_i) out_valid_q <= 1'b0;
    end
  end

  assign idle_o = dcount_q == '0 && !rd_pend_q && !out_valid_q && sop_q;

  logic unused;
  assign unused = ^{base_i[0][SlotSh-1:0], cfg_i[0][63:25]};
endmodule

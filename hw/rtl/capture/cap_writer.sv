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
// into a block-RAM FIFO a cycle after the frame ends, so the reader never
// overtakes the writer. The reader writes each taken session's record in
// session order, data beats first and the header last (SEQ in the header
// makes the slot valid only when the record is complete), one single-beat
// DMA write each, as the lowest-priority requester of the DMA write
// arbiter. A data beat is read from the RAM in one cycle and shown the
// next, so records leave at one beat per two cycles, plus two cycles per
// record (its fields, then its slot address, into registers) and two per
// frame (its descriptor read) (see docs/capture.md).
//
// Timing (250 MHz, at most 7 LUT levels): the tap passes two register
// stages before the decision, which then combines flip-flops only; see
// "decision" below for how it reads the state the previous frame changed.
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
  localparam int unsigned LenBW  = 11;  // ceil(len / 64) of a 16-bit length

  // ================================================================ stage A
  // The tap registered, with what each session makes of the frame and of
  // the lost-frame strobes (its masks, its snap length), so the decision at
  // the first beat combines flip-flops only.
  logic                         a_valid_q, a_last_q;
  logic [norman_pkg::DataW-1:0] a_data_q;
  logic [15:0]                  a_len_q, a_conn_q;
  logic [LenBW-1:0]             a_lenb_q;
  logic [63:0]                  a_hdr_q, a_cycle_q;
  logic [NumSess-1:0]           a_match_q, a_unsure_q;
  logic [NumSess-1:0][1:0]      a_lost_q;
  logic [NumSess-1:0][15:0]     a_lim_q;
  logic [NumSess-1:0][5:0]      a_limb_q;

  logic [NumSess-1:0] match;
  logic [NumSess-1:0][1:0] lost;  // frames lost this cycle, 0 to 2
  logic [NumSess-1:0][15:0] lim;
  logic [NumSess-1:0][4:0] l2;    // module-level: Yosys sizes no variables of unnamed blocks
  logic [63:0] hdr_now;
  always_comb begin
    for (int unsigned s = 0; s < NumSess; s++) begin
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
      l2[s] = cfg_i[s][norman_regmap_pkg::CAPTURE_CFG_LOG2_LSB +: 5];
      lim[s] = (snap_i[s] == '0 || snap_i[s] > 16'(MaxCap) || in_unsure_i[s]) ? 16'(MaxCap) : snap_i[s];
    end
    hdr_now = '0;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_ORIG_LEN_LSB +: 16] = in_len_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_DIR_LSB] = in_dir_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_PORT_LSB +: 4] = in_port_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_VERDICT_LSB +: 2] = in_verdict_i;
    hdr_now[norman_regmap_pkg::CAPTURE_REC_OWNER_VALID_LSB] = in_owner_valid_i;
  end

  always_ff @(posedge clk_i) begin
    a_data_q <= in_data_i;
    a_last_q <= in_last_i;
    a_len_q <= in_len_i;
    a_lenb_q <= LenBW'((17'(in_len_i) + 17'd63) >> 6);
    a_conn_q <= in_conn_i;
    a_hdr_q <= hdr_now;
    a_cycle_q <= cycle_i;
    a_match_q <= match;
    a_unsure_q <= in_unsure_i;
    a_lost_q <= lost;
    a_lim_q <= lim;
    for (int unsigned s = 0; s < NumSess; s++) a_limb_q[s] <= 6'((lim[s] + 16'd63) >> 6);
  end

  // ================================================================ stage B
  // Per session: CAPLEN and the beats its record needs.
  logic                         b_valid_q, b_last_q;
  logic [norman_pkg::DataW-1:0] b_data_q;
  logic [15:0]                  b_conn_q;
  logic [63:0]                  b_hdr_q, b_cycle_q;
  logic [NumSess-1:0]           b_match_q, b_unsure_q;
  logic [NumSess-1:0][1:0]      b_lost_q;
  logic [NumSess-1:0][15:0]     b_caplen_q;
  logic [NumSess-1:0][5:0]      b_nb_q;

  always_ff @(posedge clk_i) begin
    b_data_q <= a_data_q;
    b_last_q <= a_last_q;
    b_conn_q <= a_conn_q;
    b_hdr_q <= a_hdr_q;
    b_cycle_q <= a_cycle_q;
    b_match_q <= a_match_q;
    b_unsure_q <= a_unsure_q;
    for (int unsigned s = 0; s < NumSess; s++) begin
      b_caplen_q[s] <= a_len_q < a_lim_q[s] ? a_len_q : a_lim_q[s];
      // ceil(min(len, lim) / 64) = min(ceil(len / 64), ceil(lim / 64))
      b_nb_q[s] <= 32'(a_lenb_q) < 32'(a_limb_q[s]) ? 6'(a_lenb_q) : a_limb_q[s];
    end
  end

  // ================================================================ decision
  // At the frame's first beat each session's record is taken when its ring
  // has room and the frame buffer has room for the longest record taken
  // and a descriptor is free. Whatever that decision changes is kept in a
  // form the next frame's decision can read from flip-flops:
  // - the producer index: prod_q plus took_q (the take of the cycle
  //   before, added a cycle later); the ring-room test of the next cycle is
  //   computed now for both outcomes and for a reset (CFG write), and
  //   selected;
  // - the frame buffer: free_q is updated a cycle after the take with the
  //   frame's need. A first beat in the very next cycle means the frame
  //   before was one beat long (the tap delivers ceil(len / 64) beats), so
  //   at most one beat is pending: the room tests for "pending" and "not
  //   pending" are both computed and selected;
  // - descriptors: pushed a cycle after the frame's last beat; one push
  //   may be pending.
  // Room freed by the reader is seen a cycle late (never more room than
  // there is), like CONS (the host only advances it).
  logic sop_q;
  logic sop;
  assign sop = b_valid_q && sop_q;

  logic [NumSess-1:0]       took_q, cfg_we_q, r0_q, r1_q, rz_q;
  logic                     tkany_q;
  logic [NumSess-1:0][15:0] prod_q, prod_eff;
  logic [NumSess-1:0][31:0] carry_q;
  logic [BCntW-1:0]         free_q;   // frame buffer beats not reserved
  logic [BCntW-1:0]         sub_q;    // beats the reader freed last cycle
  logic [DCntW-1:0]         dcount_q;
  logic                     push_q;
  logic [NumSess-1:0]       room, cand, fits, take;
  logic                     dfree, fifo_ok;

  function automatic logic ring_room(logic [4:0] lg, logic [15:0] prod, logic [15:0] cons);
    ring_room = lg != '0 && 32'(lg) <= norman_regmap_pkg::MAX_RING_LOG2
                && (prod - cons) < 16'(17'd1 << lg);
  endfunction

  always_comb begin
    for (int unsigned s = 0; s < NumSess; s++) begin
      prod_eff[s] = prod_q[s] + 16'(took_q[s]);
      room[s] = cfg_we_q[s] ? rz_q[s] : (took_q[s] ? r1_q[s] : r0_q[s]);
      cand[s] = b_match_q[s] && room[s];
      fits[s] = tkany_q ? (32'(b_nb_q[s]) < 32'(free_q)) : (32'(b_nb_q[s]) <= 32'(free_q));
    end
    dfree = push_q ? 32'(dcount_q) < DescDepth - 1 : 32'(dcount_q) < DescDepth;
    fifo_ok = dfree;
    for (int unsigned s = 0; s < NumSess; s++) begin
      if (cand[s] && !fits[s]) fifo_ok = 1'b0;
    end
    take = fifo_ok ? cand : '0;
  end

  // The frame being received: written at its first beat.
  logic [NumSess-1:0]            cur_take_q, cur_unsure_q;
  logic [NumSess-1:0][15:0]      cur_caplen_q, cur_seq_q;
  logic [NumSess-1:0][31:0]      cur_drop_q;
  logic [NumSess-1:0][5:0]       cur_nb_q;
  logic [NumSess-1:0][NumSess-1:0] cur_ge_q;  // [i][j]: nb[i] >= nb[j]
  logic [BeatW-1:0]              cur_start_q;
  logic [63:0]                   cur_hdr_q, cur_cycle_q;
  logic [15:0]                   cur_conn_q;
  logic [5:0]                    beat_q;     // index of the next beat of the frame
  logic [BeatW-1:0]              wptr_q;
  logic                          s_we_q;     // buffer write, a cycle after the beat
  logic [norman_pkg::DataW-1:0]  s_data_q;

  // The frame's need: the longest record taken, selected one-hot from the
  // pairwise comparisons registered at its first beat.
  logic [5:0] need;
  logic [NumSess-1:0] need_sel;
  always_comb begin
    need = '0;
    for (int unsigned i = 0; i < NumSess; i++) begin
      need_sel[i] = cur_take_q[i];
      for (int unsigned j = 0; j < NumSess; j++) begin
        if (j > i && cur_take_q[j] && !cur_ge_q[i][j]) need_sel[i] = 1'b0;
        if (j < i && cur_take_q[j] && cur_ge_q[j][i]) need_sel[i] = 1'b0;
      end
      if (need_sel[i]) need = need | cur_nb_q[i];
    end
  end

  logic store;
  always_comb begin
    store = 1'b0;
    if (b_valid_q) begin
      if (sop) begin
        for (int unsigned s = 0; s < NumSess; s++) begin
          if (take[s] && b_nb_q[s] != '0) store = 1'b1;
        end
      end else begin
        for (int unsigned s = 0; s < NumSess; s++) begin
          if (cur_take_q[s] && beat_q < cur_nb_q[s]) store = 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (sop) begin
      cur_take_q <= take;
      cur_caplen_q <= b_caplen_q;
      cur_unsure_q <= b_unsure_q;
      cur_nb_q <= b_nb_q;
      for (int unsigned i = 0; i < NumSess; i++) begin
        for (int unsigned j = 0; j < NumSess; j++) cur_ge_q[i][j] <= b_nb_q[i] >= b_nb_q[j];
      end
      cur_start_q <= wptr_q + BeatW'(s_we_q);
      cur_hdr_q <= b_hdr_q;
      cur_conn_q <= b_conn_q;
      cur_cycle_q <= b_cycle_q;
      cur_seq_q <= prod_eff;
      cur_drop_q <= carry_q;
    end
    s_data_q <= b_data_q;
    for (int unsigned s = 0; s < NumSess; s++) begin
      r0_q[s] <= ring_room(l2[s], prod_eff[s], cons_i[s]);
      r1_q[s] <= ring_room(l2[s], prod_eff[s] + 16'd1, cons_i[s]);
      rz_q[s] <= ring_room(l2[s], 16'd0, cons_i[s]);
    end
  end

  // ---------------------------------------------------------------- descriptor FIFO
  // Block RAM, one word per frame, read into registers by the reader.
  localparam int unsigned DescW = 2 * NumSess + 32 * NumSess + 32 * NumSess + 6 + BeatW + 64 + 64 + 16;
  logic [DescW-1:0] d_wdata, d_rdata;
  logic [DPtrW-1:0] dw_q, dr_q;
  logic             d_re;
  assign d_wdata = {cur_take_q, cur_unsure_q, cur_caplen_q, cur_seq_q, cur_drop_q, need,
                    cur_start_q, cur_hdr_q, cur_cycle_q, cur_conn_q};
  ram_1w1r #(.Width(DescW), .Depth(DescDepth)) u_desc (
    .clk_i,
    .we_i(push_q), .waddr_i(dw_q), .wdata_i(d_wdata),
    .re_i(d_re), .raddr_i(dr_q), .rdata_o(d_rdata));

  // ---------------------------------------------------------------- reader
  // One record at a time from registers: the head descriptor is read into
  // fh_*; each taken session's fields are copied into rec_* (lowest session
  // first), its slot address computed the cycle after, then its data beats
  // (a RAM read, shown the next cycle) and its header go out.
  localparam logic [2:0] RdIdle = 3'd0, RdLoad = 3'd1, RdPick = 3'd2, RdAddr = 3'd3, RdData = 3'd4;
  logic [2:0] st_q;

  logic [NumSess-1:0]       fh_take, fh_unsure;
  logic [NumSess-1:0][15:0] fh_caplen, fh_seq;
  logic [NumSess-1:0][31:0] fh_drop;
  logic [5:0]               fh_need;
  logic [BeatW-1:0]         fh_start;
  logic [63:0]              fh_hdr, fh_cycle;
  logic [15:0]              fh_conn;
  assign {fh_take, fh_unsure, fh_caplen, fh_seq, fh_drop, fh_need, fh_start, fh_hdr, fh_cycle,
          fh_conn} = d_rdata;

  // The head frame's fields, held while its records are written.
  logic [NumSess-1:0]       h_unsure_q, rem_q;
  logic [NumSess-1:0][15:0] h_caplen_q, h_seq_q;
  logic [NumSess-1:0][31:0] h_drop_q;
  logic [5:0]               h_need_q;
  logic [BeatW-1:0]         h_start_q;
  logic [63:0]              h_hdr_q, h_cycle_q;
  logic [15:0]              h_conn_q;

  // The record being written.
  logic [SessW-1:0] rec_sess_q;
  logic             rec_unsure_q;
  logic [15:0]      rec_caplen_q, rec_seq_q;
  logic [31:0]      rec_drop_q;
  logic [norman_pkg::DmaAddrW-SlotSh-1:0] rec_slot_q;  // slot address >> SlotSh
  logic [5:0]       rj_q;          // next data beat
  logic [5:0]       rec_beats_q;
  logic [15:0]      rec_left_q;    // CAPLEN - 64 * rj
  logic [BeatW-1:0] rd_ptr_q;
  logic             rd_pend_q;     // a buffer read was issued last cycle
  logic [norman_pkg::DmaAddrW-1:0] pend_addr_q;
  logic [6:0]       pend_len_q;

  logic out_valid_q, out_hdr_q;
  logic [SessW-1:0] out_sess_q;
  logic [norman_pkg::DmaAddrW-1:0] out_addr_q;
  logic [6:0] out_len_q;
  logic [norman_pkg::DataW-1:0] out_data_q;

  logic [SessW-1:0] cs;
  logic [NumSess-1:0] cs_bit;
  always_comb begin
    cs = '0;
    cs_bit = '0;
    for (int s = NumSess - 1; s >= 0; s--) begin
      if (rem_q[s]) begin
        cs = SessW'(s);
        cs_bit = '0;
        cs_bit[s] = 1'b1;
      end
    end
  end

  logic can_act, rd_issue, load_hdr, pop;
  logic [norman_pkg::DataW-1:0] rd_data;
  assign can_act = !rd_pend_q && (!out_valid_q || wr_ready_i);
  assign rd_issue = st_q == RdData && can_act && rj_q != rec_beats_q;
  assign load_hdr = st_q == RdData && can_act && rj_q == rec_beats_q;
  assign pop = st_q == RdPick && rem_q == '0;
  assign d_re = st_q == RdIdle && dcount_q != '0;

  ram_1w1r #(.Width(norman_pkg::DataW), .Depth(DataBeats)) u_buf (
    .clk_i,
    .we_i(s_we_q), .waddr_i(wptr_q), .wdata_i(s_data_q),
    .re_i(rd_issue), .raddr_i(rd_ptr_q), .rdata_o(rd_data));

  logic [4:0] rec_l2;
  logic [15:0] rec_idx;
  assign rec_l2 = cfg_i[rec_sess_q][norman_regmap_pkg::CAPTURE_CFG_LOG2_LSB +: 5];
  assign rec_idx = rec_seq_q & 16'((17'd1 << rec_l2) - 17'd1);

  logic [norman_pkg::DataW-1:0] hdr_beat;
  logic [7:0][63:0] w;
  logic [63:0] w0;
  always_comb begin
    w = '0;
    w0 = h_hdr_q;
    w0[norman_regmap_pkg::CAPTURE_REC_CAPLEN_LSB +: 16] = rec_caplen_q;
    w0[norman_regmap_pkg::CAPTURE_REC_UNSURE_LSB] = rec_unsure_q;
    w0[norman_regmap_pkg::CAPTURE_REC_SESSION_LSB +: 4] = 4'(rec_sess_q);
    w[0] = w0;
    w[norman_regmap_pkg::CAPTURE_REC_CONN_ID_WORD] = 64'(h_conn_q);
    w[norman_regmap_pkg::CAPTURE_REC_CYCLE_WORD] = h_cycle_q;
    w[norman_regmap_pkg::CAPTURE_REC_DROPPED_WORD][norman_regmap_pkg::CAPTURE_REC_DROPPED_LSB +: 32] = rec_drop_q;
    w[norman_regmap_pkg::CAPTURE_REC_SEQ_WORD][norman_regmap_pkg::CAPTURE_REC_SEQ_LSB +: 16] = rec_seq_q + 16'd1;
    hdr_beat = norman_pkg::DataW'(w);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      st_q <= RdIdle;
      rd_pend_q <= 1'b0;
      out_valid_q <= 1'b0;
    end else begin
      case (st_q)
        RdIdle: if (d_re) st_q <= RdLoad;
        RdLoad: st_q <= RdPick;
        RdPick: st_q <= pop ? RdIdle : RdAddr;
        RdAddr: st_q <= RdData;
        RdData: if (load_hdr) st_q <= RdPick;
        default: st_q <= RdIdle;
      endcase
      rd_pend_q <= rd_issue;
      if (rd_pend_q || load_hdr) out_valid_q <= 1'b1;
      else if (wr_ready_i) out_valid_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (st_q == RdLoad) begin
      rem_q <= fh_take;
      h_unsure_q <= fh_unsure;
      h_caplen_q <= fh_caplen;
      h_seq_q <= fh_seq;
      h_drop_q <= fh_drop;
      h_need_q <= fh_need;
      h_start_q <= fh_start;
      h_hdr_q <= fh_hdr;
      h_cycle_q <= fh_cycle;
      h_conn_q <= fh_conn;
    end
    if (st_q == RdPick) begin
      rem_q <= rem_q & ~cs_bit;
      rec_sess_q <= cs;
      rec_unsure_q <= h_unsure_q[cs];
      rec_caplen_q <= h_caplen_q[cs];
      rec_seq_q <= h_seq_q[cs];
      rec_drop_q <= h_drop_q[cs];
    end
    if (st_q == RdAddr) begin
      rec_slot_q <= base_i[rec_sess_q][63:SlotSh] + (norman_pkg::DmaAddrW - SlotSh)'(rec_idx);
      rec_beats_q <= 6'((rec_caplen_q + 16'd63) >> 6);
      rec_left_q <= rec_caplen_q;
      rj_q <= '0;
      rd_ptr_q <= h_start_q;
    end
    if (rd_issue) begin
      // A data beat j sits at HEADER_BYTES + 64 j in the slot: the slot's
      // low bits, no adder (MAX_CAPLEN + HEADER_BYTES <= SLOT_BYTES).
      pend_addr_q <= {rec_slot_q, SlotSh'(HdrB) + (SlotSh'(rj_q) << 6)};
      pend_len_q <= rec_left_q >= 16'd64 ? 7'd64 : 7'(rec_left_q);
      rec_left_q <= rec_left_q - 16'd64;
      rj_q <= rj_q + 6'd1;
      rd_ptr_q <= rd_ptr_q + 1'b1;
    end
    if (rd_pend_q) begin
      out_addr_q <= pend_addr_q;
      out_len_q <= pend_len_q;
      out_data_q <= rd_data;
      out_hdr_q <= 1'b0;
    end else if (load_hdr) begin
      out_addr_q <= {rec_slot_q, SlotSh'(0)};
      out_len_q <= 7'(HdrB);
      out_data_q <= hdr_beat;
      out_hdr_q <= 1'b1;
      out_sess_q <= rec_sess_q;
    end
  end

  assign wr_valid_o = out_valid_q;
  assign wr_addr_o = out_addr_q;
  assign wr_len_o = norman_pkg::DmaLenW'(out_len_q);
  assign wr_data_o = out_data_q;
  assign wr_last_o = 1'b1;

  // ---------------------------------------------------------------- state
  logic [NumSess-1:0] written;
  always_comb begin
    written = '0;
    if (out_valid_q && wr_ready_i && out_hdr_q) written[out_sess_q] = 1'b1;
  end

  // Counter increments, registered (0 to 3 a cycle: a first beat and two
  // lost frames).
  logic [NumSess-1:0][1:0] inc_m_q, inc_d_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_valid_q <= 1'b0;
      b_valid_q <= 1'b0;
      b_lost_q <= '0;
      sop_q <= 1'b1;
      beat_q <= '0;
      wptr_q <= '0;
      s_we_q <= 1'b0;
      free_q <= BCntW'(DataBeats);
      sub_q <= '0;
      dcount_q <= '0;
      push_q <= 1'b0;
      dw_q <= '0;
      dr_q <= '0;
      prod_q <= '0;
      took_q <= '0;
      tkany_q <= 1'b0;
      cfg_we_q <= '0;
      carry_q <= '0;
      inc_m_q <= '0;
      inc_d_q <= '0;
      matched_o <= '0;
      captured_o <= '0;
      dropped_o <= '0;
    end else begin
      a_valid_q <= in_valid_i;
      b_valid_q <= a_valid_q;
      b_lost_q <= a_lost_q;
      if (b_valid_q) begin
        sop_q <= b_last_q;
        beat_q <= b_last_q ? 6'd0 : ((sop ? 6'd0 : beat_q) == 6'd63 ? 6'd63 : (sop ? 6'd0 : beat_q) + 6'd1);
      end
      s_we_q <= store;
      if (s_we_q) wptr_q <= wptr_q + 1'b1;
      // The frame decided last cycle reserves its need now.
      free_q <= free_q + sub_q - (tkany_q ? BCntW'(need) : BCntW'(0));
      sub_q <= pop ? BCntW'(h_need_q) : BCntW'(0);
      push_q <= b_valid_q && b_last_q && (sop ? take != '0 : cur_take_q != '0);
      if (push_q) dw_q <= dw_q + 1'b1;
      if (pop) dr_q <= dr_q + 1'b1;
      dcount_q <= dcount_q + DCntW'(push_q) - DCntW'(pop);
      tkany_q <= sop && take != '0;
      cfg_we_q <= cfg_we_i;
      for (int unsigned s = 0; s < NumSess; s++) begin
        took_q[s] <= sop && take[s] && !cfg_we_i[s];
        prod_q[s] <= cfg_we_i[s] ? 16'd0 : prod_eff[s];
        if (cfg_we_i[s]) begin
          carry_q[s] <= '0;
        end else if (sop && b_match_q[s] && take[s]) begin
          // Frames lost in the same cycle are counted in the next record.
          carry_q[s] <= 32'(b_lost_q[s]);
        end else if ((sop && b_match_q[s]) || b_lost_q[s] != '0) begin
          carry_q[s] <= (carry_q[s] >= 32'hffff_fffc) ? '1
                        : carry_q[s] + 32'(sop && b_match_q[s]) + 32'(b_lost_q[s]);
        end
        inc_m_q[s] <= 2'(sop && b_match_q[s]) + b_lost_q[s];
        inc_d_q[s] <= 2'(sop && b_match_q[s] && !take[s]) + b_lost_q[s];
        matched_o[s] <= matched_o[s] + 64'(inc_m_q[s]);
        dropped_o[s] <= dropped_o[s] + 64'(inc_d_q[s]);
        if (written[s]) captured_o[s] <= captured_o[s] + 64'd1;
      end
    end
  end

  assign idle_o = !a_valid_q && !b_valid_q && sop_q && !s_we_q && !push_q && dcount_q == '0
                  && st_q == RdIdle && !rd_pend_q && !out_valid_q && inc_m_q == '0 && inc_d_q == '0;

  logic unused;
  assign unused = ^{base_i[0][SlotSh-1:0], cfg_i[0][63:25]};
endmodule

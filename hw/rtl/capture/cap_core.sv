// The capture overlay of the NIC (docs/capture.md): the CAPTURE register
// block, the two taps (receive, transmit), the capture filter (cap_bpf), the
// per-connection capture bits and the record writer (cap_writer).
//
// Taps, never stages: a tap has no ready, it watches beats the dataplane
// moves anyway. A tap frame is stored whole in its direction's merge buffer
// (a ram_fifo; store and forward, so its length, connection and verdict,
// known at its last beat, travel with its first beat) and the two buffers
// take turns, frame by frame, to feed one stream of at most one beat per
// cycle into the capture pipeline. A frame is admitted at its first beat
// when its buffer has room for a maximum frame, and only when some session
// is enabled for its direction (so an idle capture costs no work). A frame
// that finds no room (receive and transmit together beyond one beat per
// cycle for longer than the buffers absorb) is lost to capture, never to
// the dataplane: cap_writer counts it as matched and dropped by every
// enabled session whose direction and port masks hold it, so MATCHED =
// CAPTURED + DROPPED stays exact.
//
// Pipeline from the merge: the frame's first beat reads the connection's
// capture bits (four 64K x 1 block RAMs, registered read); a cycle later
// the first beat's window enters cap_bpf (latency 2 * NumInsn) with the
// frame's side-band as cap_bpf's meta, and every beat enters a data delay
// line of the same latency (a ram_1w1r written at valid beats and read
// 2 * NumInsn - 1 cycles later), so the frame's first beat reaches
// cap_writer in the cycle its capture bits leave cap_bpf.
//
// Capture bits (CAPTURE.OWNER_SET / OWNER_SWEEP): one bit per connection and
// session, one write port shared by OWNER_SET (all four bits of one
// connection) and the sweep (zero into the swept sessions' bit of one
// connection per cycle); an OWNER_SET during a sweep is ignored, as the
// register map says.
module cap_core
#(
  parameter int unsigned NumSess   = norman_regmap_pkg::CAPTURE_REC_SESSIONS,
  parameter int unsigned NumInsn   = 32,
  parameter int unsigned MergeBeats = 64,   // per direction, a power of two
  parameter int unsigned DataBeats = 512,   // cap_writer's frame buffer
  parameter int unsigned DescDepth = 16
) (
  input  logic                                clk_i,
  input  logic                                rst_ni,
  // Taps, index 0 receive, 1 transmit. Per beat: data, last, port and cap
  // (the frame is one capture may see); at the last beat: the frame's
  // length, connection, owner-valid flag and filter verdict.
  input  logic [1:0]                          tap_valid_i,
  input  logic [1:0][norman_pkg::DataW-1:0]   tap_data_i,
  input  logic [1:0]                          tap_last_i,
  input  logic [1:0]                          tap_cap_i,
  input  logic [1:0][3:0]                     tap_port_i,
  input  logic [1:0][15:0]                    tap_len_i,
  input  logic [1:0][15:0]                    tap_conn_i,
  input  logic [1:0]                          tap_owner_valid_i,
  input  logic [1:0][1:0]                     tap_verdict_i,
  input  logic [63:0]                         cycle_i,
  // CAPTURE block, decoded by csr_regs: addr is the offset in the block. A
  // read's data is valid the cycle after csr_rd_i.
  input  logic                                csr_wr_i,
  input  logic                                csr_rd_i,
  input  logic [11:0]                         csr_addr_i,
  input  logic [63:0]                         csr_wdata_i,
  output logic [63:0]                         csr_rdata_o,
  // DMA write requester.
  output logic                                wr_valid_o,
  input  logic                                wr_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]     wr_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]      wr_len_o,
  output logic [norman_pkg::DataW-1:0]        wr_data_o,
  output logic                                wr_last_o,
  output logic                                idle_o
);
  localparam int unsigned Lat = 2 * NumInsn;  // cap_bpf's latency
  localparam int unsigned MaxBeats = (norman_regmap_pkg::MAX_FRAME_BYTES + 63) / 64;
  localparam int unsigned MCntW = $clog2(MergeBeats + 2);
  localparam int unsigned SideDepth = 16;
  localparam int unsigned SCntW = $clog2(SideDepth + 1);
  localparam int unsigned InsnW = $clog2(NumInsn);
  localparam int unsigned SessW = $clog2(NumSess);
  localparam int unsigned Blk = norman_regmap_pkg::BLK_CAPTURE_BASE;
  // The capture bits' address: a connection id cut to the table (the same
  // width at full geometry; the synthesis check's small geometries have
  // fewer connections than ids).
  localparam int unsigned OwnAW = $clog2(norman_regmap_pkg::NUM_CONNS);

  // ---------------------------------------------------------------- registers
  logic [NumSess-1:0][63:0] base_q, cfg_q;
  logic [NumSess-1:0][15:0] snap_q, cons_q;
  logic [NumSess-1:0]       cfg_we;
  logic [NumSess-1:0][63:0] matched, captured, dropped;
  logic [SessW-1:0]         prog_sess_q;
  logic [InsnW-1:0]         prog_idx_q;
  logic                     prog_we;
  logic                     sweep_q;
  logic [NumSess-1:0]       sweep_mask_q;
  logic [15:0]              sweep_idx_q;

  logic [31:0] addr;
  logic [31:0] ridx;  // register index within an array
  assign addr = Blk + 32'(csr_addr_i);
  assign ridx = 32'(csr_addr_i[4:3]);

  function automatic logic in_arr(logic [31:0] a, logic [31:0] first);
    in_arr = a >= first && a < first + 32'(8 * NumSess);
  endfunction

  always_comb begin
    cfg_we = '0;
    for (int unsigned s = 0; s < NumSess; s++) begin
      cfg_we[s] = csr_wr_i && in_arr(addr, norman_regmap_pkg::REG_CAPTURE_CFG) && ridx == s;
    end
  end
  assign prog_we = csr_wr_i && addr == norman_regmap_pkg::REG_CAPTURE_PROG_INSN;

  logic owner_set;
  assign owner_set = csr_wr_i && addr == norman_regmap_pkg::REG_CAPTURE_OWNER_SET && !sweep_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      base_q <= '0;
      cfg_q <= '0;
      snap_q <= '0;
      cons_q <= '0;
      prog_sess_q <= '0;
      prog_idx_q <= '0;
      sweep_q <= 1'b0;
      sweep_mask_q <= '0;
      sweep_idx_q <= '0;
    end else begin
      for (int unsigned s = 0; s < NumSess; s++) begin
        if (csr_wr_i && ridx == s) begin
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_BASE)) base_q[s] <= csr_wdata_i;
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_CFG)) cfg_q[s] <= csr_wdata_i;
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_SNAP)) snap_q[s] <= csr_wdata_i[15:0];
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_CONS)) cons_q[s] <= csr_wdata_i[15:0];
        end
      end
      if (csr_wr_i && addr == norman_regmap_pkg::REG_CAPTURE_PROG_ADDR) begin
        prog_sess_q <= csr_wdata_i[SessW-1:0];
        prog_idx_q <= csr_wdata_i[8 +: InsnW];
      end else if (prog_we) begin
        prog_idx_q <= prog_idx_q + 1'b1;
      end
      if (sweep_q) begin
        sweep_idx_q <= sweep_idx_q + 16'd1;
        if (sweep_idx_q == 16'hffff) sweep_q <= 1'b0;
      end else if (csr_wr_i && addr == norman_regmap_pkg::REG_CAPTURE_OWNER_SWEEP
                   && csr_wdata_i[NumSess-1:0] != '0) begin
        sweep_q <= 1'b1;
        sweep_mask_q <= csr_wdata_i[NumSess-1:0];
        sweep_idx_q <= '0;
      end
    end
  end

  // Reads: registered, so the block's multiplexer is not in front of
  // csr_regs' own.
  always_ff @(posedge clk_i) begin
    if (csr_rd_i) begin
      csr_rdata_o <= '0;
      if (addr == norman_regmap_pkg::REG_CAPTURE_SESSIONS) csr_rdata_o <= 64'(NumSess);
      if (addr == norman_regmap_pkg::REG_CAPTURE_STATUS) csr_rdata_o <= 64'(sweep_q);
      for (int unsigned s = 0; s < NumSess; s++) begin
        if (ridx == s) begin
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_BASE)) csr_rdata_o <= base_q[s];
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_CFG)) csr_rdata_o <= cfg_q[s];
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_SNAP)) csr_rdata_o <= 64'(snap_q[s]);
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_CONS)) csr_rdata_o <= 64'(cons_q[s]);
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_MATCHED)) csr_rdata_o <= matched[s];
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_CAPTURED)) csr_rdata_o <= captured[s];
          if (in_arr(addr, norman_regmap_pkg::REG_CAPTURE_DROPPED)) csr_rdata_o <= dropped[s];
        end
      end
    end
  end

  // Sessions enabled per direction: only their frames enter the pipeline.
  logic [1:0] dir_on;
  always_comb begin
    dir_on = '0;
    for (int unsigned s = 0; s < NumSess; s++) begin
      for (int unsigned d = 0; d < 2; d++) begin
        if (cfg_q[s][norman_regmap_pkg::CAPTURE_CFG_ENABLE_LSB]
            && cfg_q[s][norman_regmap_pkg::CAPTURE_CFG_DIR_MASK_LSB + d]) dir_on[d] = 1'b1;
      end
    end
  end

  // ---------------------------------------------------------------- tap registers
  // The taps' valid is the dataplane's handshake (valid && ready), a
  // combinational path of its own: register everything first.
  logic [1:0]                        t_valid_q, t_last_q, t_cap_q, t_owner_valid_q;
  logic [1:0][norman_pkg::DataW-1:0] t_data_q;
  logic [1:0][3:0]                   t_port_q;
  logic [1:0][15:0]                  t_len_q, t_conn_q;
  logic [1:0][1:0]                   t_verdict_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) t_valid_q <= '0;
    else t_valid_q <= tap_valid_i;
  end
  always_ff @(posedge clk_i) begin
    for (int unsigned d = 0; d < 2; d++) begin
      if (tap_valid_i[d]) begin
        t_data_q[d] <= tap_data_i[d];
        t_last_q[d] <= tap_last_i[d];
        t_cap_q[d] <= tap_cap_i[d];
        t_port_q[d] <= tap_port_i[d];
        t_len_q[d] <= tap_len_i[d];
        t_conn_q[d] <= tap_conn_i[d];
        t_owner_valid_q[d] <= tap_owner_valid_i[d];
        t_verdict_q[d] <= tap_verdict_i[d];
      end
    end
  end

  // ---------------------------------------------------------------- merge buffers
  typedef struct packed {
    logic [15:0] len;
    logic [15:0] conn;
    logic [3:0]  port;
    logic        owner_valid;
    logic [1:0]  verdict;
    logic        dir;
  } side_t;
  localparam int unsigned SideW = 16 + 16 + 4 + 1 + 2 + 1;

  logic [1:0] lost, m_out_valid, m_out_ready, m_out_last, s_out_valid, s_out_ready;
  logic [1:0][norman_pkg::DataW-1:0] m_out_data;
  logic [1:0][SideW-1:0] s_out;
  logic [1:0][3:0] lost_port;
  logic [1:0] buf_empty;

  for (genvar d = 0; d < 2; d++) begin : g_merge
    logic in_frame_q, keep_q, first, admit, store;
    logic [MCntW-1:0] res_q, m_count;   // res_q: beats stored or reserved
    logic [5:0] nb_q;                   // beats of the frame being stored
    logic [SCntW-1:0] s_count;
    logic m_in_ready, s_in_ready;
    side_t side_in;

    assign first = t_valid_q[d] && !in_frame_q;
    assign admit = first && t_cap_q[d] && dir_on[d]
                   && 32'(res_q) + MaxBeats <= MergeBeats && 32'(s_count) + 2 <= SideDepth;
    assign lost[d] = first && t_cap_q[d] && dir_on[d] && !admit;
    assign lost_port[d] = t_port_q[d];
    assign store = t_valid_q[d] && (first ? admit : keep_q);

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        in_frame_q <= 1'b0;
        keep_q <= 1'b0;
        nb_q <= '0;
        res_q <= '0;
      end else begin
        if (t_valid_q[d]) begin
          in_frame_q <= !t_last_q[d];
          if (first) keep_q <= admit;
          nb_q <= t_last_q[d] ? 6'd0 : (store ? nb_q + 6'd1 : nb_q);
        end
        // Reserve a maximum frame at admission, give back what the frame did
        // not use at its last beat, one beat per beat leaving.
        res_q <= res_q + (admit ? MCntW'(MaxBeats) : '0)
                 - ((store && t_last_q[d]) ? MCntW'(MaxBeats) - MCntW'(nb_q + 6'd1) : '0)
                 - MCntW'(m_out_valid[d] && m_out_ready[d]);
      end
    end

    ram_fifo #(.Width(norman_pkg::DataW + 1), .Depth(MergeBeats)) u_data (
      .clk_i, .rst_ni,
      .in_valid_i(store), .in_ready_o(m_in_ready), .in_data_i({t_last_q[d], t_data_q[d]}),
      .out_valid_o(m_out_valid[d]), .out_ready_i(m_out_ready[d]),
      .out_data_o({m_out_last[d], m_out_data[d]}), .count_o(m_count));

    assign side_in.len = t_len_q[d];
    assign side_in.conn = t_conn_q[d];
    assign side_in.port = t_port_q[d];
    assign side_in.owner_valid = t_owner_valid_q[d];
    assign side_in.verdict = t_verdict_q[d];
    assign side_in.dir = 1'(d);
    sync_fifo #(.Width(SideW), .Depth(SideDepth)) u_side (
      .clk_i, .rst_ni,
      .in_valid_i(store && t_last_q[d]), .in_ready_o(s_in_ready), .in_data_i(side_in),
      .out_valid_o(s_out_valid[d]), .out_ready_i(s_out_ready[d]), .out_data_o(s_out[d]),
      .count_o(s_count));

    assign buf_empty[d] = !in_frame_q && res_q == '0 && !s_out_valid[d];

    // The reservation keeps both FIFOs from overflowing.
    logic unused;
    assign unused = m_in_ready ^ s_in_ready ^ (|m_count);
  end

  // Frame-level round robin: a frame starts when its side entry is there
  // (its last beat was stored) and streams its beats as they reach the head.
  logic busy_q, dsel_q, prefer_q, start, dsel;
  assign start = !busy_q && (s_out_valid != '0);
  assign dsel = busy_q ? dsel_q
                       : (s_out_valid[1] && (!s_out_valid[0] || prefer_q));
  side_t cur_side;
  assign cur_side = s_out[dsel];
  logic beat_v, beat_last, beat_first;
  logic [norman_pkg::DataW-1:0] beat_data;
  assign beat_v = (busy_q || start) && m_out_valid[dsel];
  assign beat_last = m_out_last[dsel];
  assign beat_data = m_out_data[dsel];
  logic first_q;  // the next beat out is a frame's first
  assign beat_first = beat_v && first_q;
  always_comb begin
    m_out_ready = '0;
    m_out_ready[dsel] = busy_q || start;
    s_out_ready = '0;
    s_out_ready[dsel] = beat_v && beat_last;  // side entry leaves with the frame
  end

  side_t frame_side_q;  // the side-band of the frame being streamed
  side_t side_now;
  assign side_now = beat_first ? cur_side : frame_side_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      dsel_q <= 1'b0;
      prefer_q <= 1'b0;
      first_q <= 1'b1;
    end else begin
      if (start) begin
        busy_q <= 1'b1;
        dsel_q <= dsel;
      end
      if (beat_v) first_q <= beat_last;
      if (beat_v && beat_last) begin
        busy_q <= 1'b0;
        prefer_q <= !dsel;
      end
    end
  end
  always_ff @(posedge clk_i) begin
    if (beat_first) frame_side_q <= cur_side;
  end

  // ---------------------------------------------------------------- capture bits
  logic [NumSess-1:0] own_we, own_wdata, own_rdata;
  logic [15:0] own_waddr;
  always_comb begin
    own_we = '0;
    own_wdata = '0;
    own_waddr = sweep_idx_q;
    if (sweep_q) begin
      own_we = sweep_mask_q;
    end else if (owner_set) begin
      own_we = '1;
      own_wdata = csr_wdata_i[16 +: NumSess];
      own_waddr = csr_wdata_i[15:0];
    end
  end
  for (genvar s = 0; s < NumSess; s++) begin : g_own
    ram_1w1r #(.Width(1), .Depth(norman_regmap_pkg::NUM_CONNS)) u_bits (
      .clk_i,
      .we_i(own_we[s]), .waddr_i(OwnAW'(own_waddr)), .wdata_i(own_wdata[s]),
      .re_i(beat_first), .raddr_i(OwnAW'(side_now.conn)), .rdata_o(own_rdata[s]));
  end

  // ---------------------------------------------------------------- filter + delay line
  // One register level after the merge, beside the capture bits' read.
  logic p_valid_q, p_first_q, p_last_q;
  logic [norman_pkg::DataW-1:0] p_data_q;
  side_t p_side_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      p_valid_q <= 1'b0;
      p_first_q <= 1'b0;
      p_last_q <= 1'b0;
    end else begin
      p_valid_q <= beat_v;
      p_first_q <= beat_first;
      p_last_q <= beat_last;
    end
  end
  always_ff @(posedge clk_i) begin
    if (beat_v) p_data_q <= beat_data;
    if (beat_first) p_side_q <= side_now;
  end

  localparam int unsigned MetaW = SideW + NumSess;
  logic f_valid;
  logic [15:0] f_len;
  logic [MetaW-1:0] f_meta;
  logic [NumSess-1:0] f_accept, f_unsure, f_owner;
  side_t f_side;
  cap_bpf #(.NumSess(NumSess), .NumInsn(NumInsn), .WinBytes(64), .MetaW(MetaW)) u_bpf (
    .clk_i, .rst_ni,
    .prog_we_i(prog_we), .prog_sess_i(prog_sess_q), .prog_idx_i(prog_idx_q), .prog_insn_i(csr_wdata_i),
    .valid_i(p_first_q), .win_i(p_data_q), .len_i(p_side_q.len), .meta_i({own_rdata, p_side_q}),
    .valid_o(f_valid), .len_o(f_len), .meta_o(f_meta), .accept_o(f_accept), .unsure_o(f_unsure));
  assign {f_owner, f_side} = f_meta;

  // Data delay line: Lat cycles, valid and last in flops, data in a RAM
  // written at valid beats and read one cycle before they are due.
  localparam int unsigned DlPtrW = $clog2(Lat);
  logic [Lat-1:0] dl_v_q, dl_l_q;
  logic [DlPtrW-1:0] dl_ptr_q;
  logic [norman_pkg::DataW-1:0] dl_data;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dl_v_q <= '0;
      dl_l_q <= '0;
      dl_ptr_q <= '0;
    end else begin
      dl_v_q <= {dl_v_q[Lat-2:0], p_valid_q};
      dl_l_q <= {dl_l_q[Lat-2:0], p_last_q};
      dl_ptr_q <= dl_ptr_q + 1'b1;
    end
  end
  ram_1w1r #(.Width(norman_pkg::DataW), .Depth(Lat)) u_dl (
    .clk_i,
    .we_i(p_valid_q), .waddr_i(dl_ptr_q), .wdata_i(p_data_q),
    .re_i(dl_v_q[Lat-2]), .raddr_i(dl_ptr_q - DlPtrW'(Lat - 1)), .rdata_o(dl_data));

  // ---------------------------------------------------------------- writer
  // Lost frames reach the writer's counters a cycle later, from flops.
  logic [1:0] lost_q;
  logic [1:0][3:0] lost_port_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      lost_q <= '0;
      lost_port_q <= '0;
    end else begin
      lost_q <= lost;
      lost_port_q <= lost_port;
    end
  end

  logic writer_idle;
  cap_writer #(.NumSess(NumSess), .DataBeats(DataBeats), .DescDepth(DescDepth)) u_writer (
    .clk_i, .rst_ni,
    .in_valid_i(dl_v_q[Lat-1]), .in_data_i(dl_data), .in_last_i(dl_l_q[Lat-1]),
    .in_cap_i(f_accept | f_unsure), .in_unsure_i(f_unsure), .in_owner_i(f_owner),
    .in_len_i(f_len), .in_dir_i(f_side.dir), .in_port_i(f_side.port),
    .in_conn_i(f_side.conn), .in_owner_valid_i(f_side.owner_valid), .in_verdict_i(f_side.verdict),
    .cycle_i,
    .lost_i(lost_q), .lost_port_i(lost_port_q),
    .base_i(base_q), .cfg_i(cfg_q), .cfg_we_i(cfg_we), .snap_i(snap_q), .cons_i(cons_q),
    .matched_o(matched), .captured_o(captured), .dropped_o(dropped),
    .wr_valid_o, .wr_ready_i, .wr_addr_o, .wr_len_o, .wr_data_o, .wr_last_o,
    .idle_o(writer_idle));

  assign idle_o = t_valid_q == '0 && lost_q == '0 && (buf_empty == 2'b11) && !busy_q && !p_valid_q && dl_v_q == '0 && writer_idle
                  && !sweep_q;

  logic unused;
  assign unused = ^{f_valid, f_side.len};  // cap_bpf carries the length
endmodule

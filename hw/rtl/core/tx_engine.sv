// Transmit engine: turns TX_PROD doorbells into descriptor and frame DMA
// reads, hands each frame with its connection's check fields to tx_check,
// and writes the descriptors back with their final STATUS.
//
// A connection is served one batch at a time: up to 8 descriptors from its
// consumer index, never crossing the ring end, so that the descriptors of a
// batch arrive in one DMA read beat and go back in one DMA write. Several
// batches of different connections are in flight at once (MaxBatches), and
// data reads are issued as soon as descriptors arrive (up to MaxReads
// outstanding reads), so the PCIe round trip is overlapped rather than paid
// per frame. The DMA read port completes in request order and tx_check
// completes frames in order, so every queue below is a plain FIFO.
//
// Pipeline:
//   doorbell: d0 context + state read -> d1 store prod, queue the connection once
//   scheduler: s0 pop pending FIFO + context + state read -> s1 size the batch
//              -> s2 descriptor read request
//   read completions: descriptor beat -> issue FIFO + tracker FIFO;
//                     frame beats -> tx_check
//   issue: one descriptor per cycle: bad length -> counted, no read;
//          else a data read of LEN bytes from its slot
//   write-back: collect tx_check completions for the oldest batch, write its
//               descriptors, post TX_DONE, then f0 state read -> f1 advance
//               cons and requeue.
//
// Per-connection state (prod, cons, queued: 33 bits x NumConns) lives in
// block RAM / UltraRAM: two ram_1w1r copies written through one write port,
// one read by the d0/s0/f0 stages (whichever holds the port, see below), the
// other by CONN_QUERY. Reads are registered; the stage after a read combines
// the RAM word with the write of the read's own cycle and with a CONN_SET
// reset still waiting for the write port (forwarding), so each stage sees
// exactly the state a combinational read would have returned. The pending
// FIFO is a ram_fifo of NumConns entries. Nothing per-connection is in
// flip-flops and no read goes through a NumConns:1 multiplexer.
//
// TX_PROD is checked in d1 against the connection's indices: a producer
// index more than a ring ahead of cons, or behind the previous producer
// index, is refused and counted (TX_PROD_INVALID) and changes nothing, so a
// bogus doorbell can never make the engine re-send slots already sent.
//
// CONN_SET/CONN_CLEAR with TX work in flight: csr_regs first invalidates the
// context (doorbells are refused, a requeued connection is dropped at s1),
// then waits until query_busy_o says the connection is neither pending nor
// has a batch in flight (its queued bit covers both), and only then resets the
// indices through the cfg port. tx_check completes the frames it receives
// for the connection meanwhile as DROP_CLOSED; their write-back still goes
// to the old ring, which the host frees only after the command completes.
module tx_engine
#(
  parameter int unsigned MaxBatches = 8,   // batches between descriptor read and write-back
  parameter int unsigned MaxReads   = 32   // outstanding DMA reads (descriptor + data)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  // Connection (re)configured: reset its TX indices.
  input  logic                    cfg_valid_i,
  input  logic [norman_pkg::ConnIdW-1:0]      cfg_conn_i,
  // TX_PROD doorbell; at most one per cycle, never back-pressured.
  input  logic                    db_valid_i,
  input  logic [norman_pkg::ConnIdW-1:0]      db_conn_i,
  input  logic [15:0]             db_prod_i,
  // Connection context read port: data one cycle after the request.
  output logic                    ctx_rd_valid_o,
  output logic [norman_pkg::ConnIdW-1:0]      ctx_rd_conn_o,
  input  norman_pkg::conn_ctx_t               ctx_rd_data_i,
  // DMA read (completions in request order, packed from lane 0).
  output logic                    dma_rd_req_valid_o,
  input  logic                    dma_rd_req_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]     dma_rd_req_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]      dma_rd_req_len_o,
  output logic [norman_pkg::DmaTagW-1:0]      dma_rd_req_tag_o,
  input  logic                    dma_rd_cpl_valid_i,
  output logic                    dma_rd_cpl_ready_o,
  input  logic [norman_pkg::DataW-1:0]        dma_rd_cpl_data_i,
  input  logic [norman_pkg::DmaTagW-1:0]      dma_rd_cpl_tag_i,
  input  logic                    dma_rd_cpl_last_i,
  // DMA write (address-aligned beats; addr and len held on every beat).
  output logic                    dma_wr_valid_o,
  input  logic                    dma_wr_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]     dma_wr_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]      dma_wr_len_o,
  output logic [norman_pkg::DataW-1:0]        dma_wr_data_o,
  output logic                    dma_wr_last_o,
  // Frames to tx_check: lane-0 aligned beats; info held on every beat.
  output logic                    frame_valid_o,
  input  logic                    frame_ready_i,
  output logic [norman_pkg::DataW-1:0]        frame_data_o,
  output logic [norman_pkg::KeepW-1:0]        frame_keep_o,
  output logic                    frame_last_o,
  output norman_pkg::tx_info_t                frame_info_o,
  // Completions from tx_check, in frame order.
  input  logic                    cpl_valid_i,
  output logic                    cpl_ready_o,
  input  logic [norman_pkg::ConnIdW-1:0]      cpl_conn_i,
  input  logic [15:0]             cpl_idx_i,
  input  logic [norman_regmap_pkg::TX_DESC_STATUS_W-1:0] cpl_status_i,
  // TX_DONE notification requests.
  output logic                    notify_valid_o,
  input  logic                    notify_ready_i,
  output norman_pkg::notify_req_t             notify_o,
  // CONN_QUERY / CONN_TX_STATE: the connection's TX indices one cycle after
  // query_conn_i, and whether the engine holds work of it one cycle later.
  input  logic [norman_pkg::ConnIdW-1:0]      query_conn_i,
  output logic [15:0]             query_cons_o,
  output logic [15:0]             query_prod_o,
  output logic                    query_busy_o,
  output logic [norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_o,
  output logic                    idle_o
);
  localparam int unsigned NumConns = 1 << norman_pkg::ConnIdW;
  localparam int unsigned BatchDescs = 8;  // descriptors per read: one 64-byte beat
  localparam int unsigned DescBytes = norman_regmap_pkg::TX_DESC_DESC_BYTES;
  localparam int unsigned SlotShift = $clog2(norman_regmap_pkg::TX_DESC_SLOT_BYTES);
  localparam int unsigned CreditW = $clog2(MaxBatches + 1);

  typedef logic [15:0] idx_t;

  // One batch: a run of descriptors of one connection, plus the context
  // fields every later stage needs (the context is read once per batch).
  typedef struct packed {
    idx_t               cons;       // free-running index of the first descriptor
    logic [3:0]         n;          // 1..8 descriptors
    logic [4:0]         log2;
    logic [63:0]        desc_base;
    logic [63:0]        data_base;
    logic               notify_tx;
    logic [norman_pkg::NqIdW-1:0]   nq_id;
    norman_pkg::tx_info_t           info;       // conn_id, port, check fields
  } batch_t;

  // What each outstanding DMA read is, in request order.
  typedef struct packed {
    logic               is_desc;
    logic [norman_pkg::DmaTagW-1:0] tag;
    batch_t             batch;
    idx_t               idx;        // data reads: the descriptor index
    logic [15:0]        len;        // data reads: frame length
  } rd_ent_t;

  // A batch whose descriptors have arrived. mask: issue FIFO = descriptors
  // with a good length; tracker FIFO = descriptors still waiting for tx_check.
  typedef struct packed {
    batch_t           batch;
    logic [norman_pkg::DataW-1:0] descs;        // the descriptors as read, from lane 0
    logic [BatchDescs-1:0] mask;
  } fetched_t;

  function automatic logic [15:0] slot_of(idx_t idx, logic [4:0] log2);
    slot_of = idx & 16'((32'd1 << log2) - 32'd1);
  endfunction

  // ------------------------------------------------------------ per-conn state
  // queued: the connection is in the pending FIFO or has a batch in flight,
  // so it is never queued twice and the pending FIFO cannot overflow.
  typedef struct packed {
    idx_t prod;
    idx_t cons;
    logic queued;
  } st_t;

  // Writers, one per cycle through the single write port: the doorbell stage
  // d1 (store prod, queue), the scheduler s1 (unqueue an empty batch), the
  // finish stage f1 (advance cons, requeue), and the cfg reset. d1 and s1
  // never coincide (s0 yields the read port to d0), and f1 holds the read
  // port in the cycle before it writes, so neither d1 nor s1 can follow it.
  // A cfg reset that meets one of them waits in cfg_pend_q (forwarded to
  // every read meanwhile) and is written in the next free cycle; the pending
  // FIFO and f0 do not start while it waits, so only back-to-back doorbells
  // hold it, and the next cfg reset is a whole command later.
  logic               db_set;      // d1: store prod
  logic               db_push;     // d1: queue the connection
  logic               s1_unqueue;
  logic               fin_rd;      // f0: read the finishing connection's state
  logic               fin_fire;    // f1: write it
  logic               fin_requeue;
  idx_t               fin_cons;
  logic [norman_pkg::ConnIdW-1:0] fin_conn;

  logic               st_we;
  logic [norman_pkg::ConnIdW-1:0] st_waddr;
  st_t                st_wdata;
  logic               lw_valid_q;  // the write of the previous cycle
  logic [norman_pkg::ConnIdW-1:0] lw_addr_q;
  st_t                lw_data_q;
  logic               cfg_pend_q, cfg_pend_d;
  logic [norman_pkg::ConnIdW-1:0] cfg_conn_q, cfg_conn_d;

  // Port A: d0 (doorbell, no back-pressure) > f0 > s0 (pending FIFO pop).
  logic               sta_re;
  logic [norman_pkg::ConnIdW-1:0] sta_addr, sta_addr_q;
  logic [$bits(st_wdata)-1:0] sta_raw, stb_raw;
  st_t                sta, stb;

  ram_1w1r #(.Width($bits(st_wdata)), .Depth(NumConns)) u_state_a (
    .clk_i, .we_i(st_we), .waddr_i(st_waddr), .wdata_i(st_wdata),
    .re_i(sta_re), .raddr_i(sta_addr), .rdata_o(sta_raw));
  // Port B: CONN_QUERY / CONN_TX_STATE, every cycle.
  ram_1w1r #(.Width($bits(st_wdata)), .Depth(NumConns)) u_state_b (
    .clk_i, .we_i(st_we), .waddr_i(st_waddr), .wdata_i(st_wdata),
    .re_i(1'b1), .raddr_i(query_conn_i), .rdata_o(stb_raw));

  logic [norman_pkg::ConnIdW-1:0] stb_addr_q;
  always_ff @(posedge clk_i) begin
    if (sta_re) sta_addr_q <= sta_addr;
    stb_addr_q <= query_conn_i;
  end

  // Forwarding: the RAM word read in cycle t misses the write of cycle t and
  // a cfg reset still pending after it; apply both, in that order.
  always_comb begin
    sta = st_t'(sta_raw);
    if (lw_valid_q && lw_addr_q == sta_addr_q) sta = lw_data_q;
    if (cfg_pend_q && cfg_conn_q == sta_addr_q) sta = '0;
    stb = st_t'(stb_raw);
    if (lw_valid_q && lw_addr_q == stb_addr_q) stb = lw_data_q;
    if (cfg_pend_q && cfg_conn_q == stb_addr_q) stb = '0;
  end

  // ------------------------------------------------------------ doorbell
  logic               d1_valid_q;
  logic [norman_pkg::ConnIdW-1:0] d1_conn_q;
  idx_t               d1_prod_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      d1_valid_q <= 1'b0;
      d1_conn_q  <= '0;
      d1_prod_q  <= '0;
    end else begin
      d1_valid_q <= db_valid_i;
      if (db_valid_i) begin
        d1_conn_q <= db_conn_i;
        d1_prod_q <= db_prod_i;
      end
    end
  end

  // The new producer index must lie between the accepted one and a ring
  // ahead of cons (d1 never coincides with finish, so cons is stable here):
  // prod - cons <= new - cons <= 2^log2, all modulo 2^16. Two subtractions
  // and two compares in parallel, on carry chains.
  idx_t        d1_ahead, d1_held;
  logic [16:0] d1_size;
  logic        d1_prod_ok;
  always_comb begin
    d1_ahead = d1_prod_q - sta.cons;
    d1_held = sta.prod - sta.cons;
    d1_size = 17'd1 << ctx_rd_data_i.tx_log2;
    d1_prod_ok = (17'(d1_ahead) <= d1_size) && (d1_ahead >= d1_held);
  end

  assign db_set  = d1_valid_q && ctx_rd_data_i.valid && d1_prod_ok;
  assign db_push = db_set && !sta.queued;

  // ------------------------------------------------------------ pending FIFO
  logic               pend_in_valid, pend_out_valid, pend_pop;
  logic [norman_pkg::ConnIdW-1:0] pend_in, pend_out;
  logic               pend_in_ready;
  logic [$clog2(NumConns + 2)-1:0] pend_count;

  // Only d1 and finish push, never in the same cycle (see above).
  assign pend_in_valid = db_push || (fin_fire && fin_requeue);
  assign pend_in = db_push ? d1_conn_q : fin_conn;

  ram_fifo #(.Width(norman_pkg::ConnIdW), .Depth(NumConns)) u_pend_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(pend_in_valid), .in_ready_o(pend_in_ready), .in_data_i(pend_in),
    .out_valid_o(pend_out_valid), .out_ready_i(pend_pop), .out_data_o(pend_out),
    .count_o(pend_count));

  // ------------------------------------------------------------ scheduler
  logic [CreditW-1:0] credits_q;   // batches from s1 to write-back finish
  logic               s1_valid_q, s2_valid_q;
  logic [norman_pkg::ConnIdW-1:0] s1_conn_q;
  batch_t             s2_batch_q;
  logic               s2_fire, s1_take;

  // SCHEDULER OVERLAY SLOT: this pop decides which queued connection is
  // served next (plain FIFO order today). A scheduling overlay replaces the
  // pending FIFO and this pop; everything downstream is order-agnostic.
  // The doorbell path has priority on the context read port because it has
  // no back-pressure.
  // f0 and a waiting cfg reset come before it on the state RAM's port.
  assign pend_pop = pend_out_valid && !db_valid_i && !fin_rd && !cfg_pend_q
                    && !s1_valid_q && !s2_valid_q && (32'(credits_q) < MaxBatches);

  assign ctx_rd_valid_o = db_valid_i || pend_pop;
  assign ctx_rd_conn_o  = db_valid_i ? db_conn_i : pend_out;
  assign sta_re   = db_valid_i || fin_rd || pend_pop;
  assign sta_addr = db_valid_i ? db_conn_i : fin_rd ? fin_conn : pend_out;

  // s1: the context is here; size the batch from the ring indices.
  // The RX and owner fields of the context are not the TX path's business.
  /* verilator lint_off UNUSEDSIGNAL */
  norman_pkg::conn_ctx_t s1_ctx;
  /* verilator lint_on UNUSEDSIGNAL */
  idx_t      s1_prod, s1_cons, s1_avail, s1_slot;
  logic [16:0] s1_to_end;
  logic [3:0]  s1_n;
  batch_t      s1_batch;

  always_comb begin
    s1_ctx   = ctx_rd_data_i;
    s1_prod  = sta.prod;
    s1_cons  = sta.cons;
    s1_avail = s1_prod - s1_cons;
    s1_slot  = slot_of(s1_cons, s1_ctx.tx_log2);
    s1_to_end = 17'((32'd1 << s1_ctx.tx_log2) - 32'(s1_slot));
    s1_n = 4'(BatchDescs);
    if (32'(s1_avail) < 32'(s1_n)) s1_n = 4'(s1_avail);
    if (32'(s1_to_end) < 32'(s1_n)) s1_n = 4'(s1_to_end);

    s1_batch = '0;
    s1_batch.cons      = s1_cons;
    s1_batch.n         = s1_n;
    s1_batch.log2      = s1_ctx.tx_log2;
    s1_batch.desc_base = s1_ctx.tx_desc_base;
    s1_batch.data_base = s1_ctx.tx_data_base;
    s1_batch.notify_tx = s1_ctx.notify_tx;
    s1_batch.nq_id     = s1_ctx.nq_id;
    s1_batch.info.conn_id  = s1_conn_q;
    s1_batch.info.port     = s1_ctx.port;
    s1_batch.info.raw      = s1_ctx.raw;
    s1_batch.info.broadcast = s1_ctx.broadcast;
    s1_batch.info.src_mac  = s1_ctx.src_mac;
    s1_batch.info.proto    = s1_ctx.proto;
    s1_batch.info.is_ipv6  = s1_ctx.is_ipv6;
    s1_batch.info.src_port = s1_ctx.src_port;
    s1_batch.info.src_ip   = s1_ctx.src_ip;
    s1_batch.info.owner_valid = s1_conn_q != norman_pkg::ConnIdW'(norman_regmap_pkg::FALLBACK_CONN);
    s1_batch.info.owner.uid    = s1_ctx.owner.uid;
    s1_batch.info.owner.gid    = s1_ctx.owner.gid;
    s1_batch.info.owner.cmd_id = s1_ctx.owner.cmd_id;
    s1_batch.info.owner.cgroup = s1_ctx.owner.cgroup;
  end

  // A context cleared since the doorbell, or nothing to send: unqueue.
  assign s1_take    = s1_valid_q && s1_ctx.valid && s1_n != 4'd0;
  assign s1_unqueue = s1_valid_q && !s1_take;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_conn_q  <= '0;
      s2_valid_q <= 1'b0;
      s2_batch_q <= '0;
      credits_q  <= '0;
    end else begin
      s1_valid_q <= pend_pop;
      if (pend_pop) s1_conn_q <= pend_out;
      if (s1_take) begin
        s2_valid_q <= 1'b1;
        s2_batch_q <= s1_batch;
      end else if (s2_fire) begin
        s2_valid_q <= 1'b0;
      end
      credits_q <= credits_q + CreditW'(s1_take) - CreditW'(fin_fire);
    end
  end

  // ------------------------------------------------------------ DMA read requests
  logic          rd_in_ready, rd_out_valid, rd_pop;
  rd_ent_t       rd_in, rd_out;
  logic [$clog2(MaxReads + 1)-1:0] rd_count;
  logic [norman_pkg::DmaTagW-1:0] tag_q;

  // Issue stage state (declared here: it competes for the read port).
  logic          iss_valid;
  fetched_t      iss_head;
  logic [2:0]    iss_i_q;
  logic          iss_good;
  idx_t          iss_idx;
  logic [15:0]   iss_len;

  // The descriptor read wins: it starts the next batch's round trip early.
  // Once offered, a request is held unchanged until accepted.
  logic want_desc, want_data, sel_desc, rd_hold_q, rd_hold_desc_q, rd_fire, data_fire;
  assign want_desc = s2_valid_q;
  assign want_data = iss_valid && iss_good;
  assign sel_desc  = rd_hold_q ? rd_hold_desc_q : want_desc;
  assign dma_rd_req_valid_o = (want_desc || want_data) && rd_in_ready;
  assign rd_fire   = dma_rd_req_valid_o && dma_rd_req_ready_i;
  assign s2_fire   = rd_fire && sel_desc;
  assign data_fire = rd_fire && !sel_desc;

  always_comb begin
    rd_in = '0;
    rd_in.tag = tag_q;
    if (sel_desc) begin
      rd_in.is_desc = 1'b1;
      rd_in.batch = s2_batch_q;
      dma_rd_req_addr_o = s2_batch_q.desc_base
                          + 64'(slot_of(s2_batch_q.cons, s2_batch_q.log2)) * 64'(DescBytes);
      dma_rd_req_len_o = norman_pkg::DmaLenW'(s2_batch_q.n) * norman_pkg::DmaLenW'(DescBytes);
    end else begin
      rd_in.batch = iss_head.batch;
      rd_in.idx = iss_idx;
      rd_in.len = iss_len;
      dma_rd_req_addr_o = iss_head.batch.data_base
                          + (64'(slot_of(iss_idx, iss_head.batch.log2)) << SlotShift);
      dma_rd_req_len_o = iss_len;
    end
  end
  assign dma_rd_req_tag_o = tag_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tag_q <= '0;
      rd_hold_q <= 1'b0;
      rd_hold_desc_q <= 1'b0;
    end else begin
      if (rd_fire) tag_q <= tag_q + 1'b1;
      rd_hold_q <= dma_rd_req_valid_o && !dma_rd_req_ready_i;
      rd_hold_desc_q <= sel_desc;
    end
  end

  sync_fifo #(.Width($bits(rd_in)), .Depth(MaxReads)) u_rd_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(rd_fire), .in_ready_o(rd_in_ready), .in_data_i(rd_in),
    .out_valid_o(rd_out_valid), .out_ready_i(rd_pop), .out_data_o(rd_out),
    .count_o(rd_count));

  // ------------------------------------------------------------ read completions
  logic [15:0] rem_q;       // bytes of the current frame not yet forwarded
  logic        in_frame_q;
  logic [15:0] beat_rem;
  logic [6:0]  beat_bytes;
  logic        desc_cpl;
  fetched_t    fetched_iss, fetched_trk;

  assign beat_rem = in_frame_q ? rem_q : rd_out.len;
  assign beat_bytes = (beat_rem >= 16'(norman_pkg::KeepW)) ? 7'(norman_pkg::KeepW) : 7'(beat_rem);

  always_comb begin
    frame_valid_o = rd_out_valid && !rd_out.is_desc && dma_rd_cpl_valid_i;
    frame_data_o  = dma_rd_cpl_data_i;
    frame_keep_o  = (beat_bytes == 7'(norman_pkg::KeepW)) ? '1 : norman_pkg::KeepW'((65'd1 << beat_bytes) - 65'd1);
    frame_last_o  = dma_rd_cpl_last_i;
    frame_info_o  = rd_out.batch.info;
    frame_info_o.desc_idx = rd_out.idx;
    // Credits leave room in the issue and tracker FIFOs for every batch
    // whose descriptor read is outstanding, so a descriptor beat never waits.
    dma_rd_cpl_ready_o = rd_out_valid && (rd_out.is_desc || frame_ready_i);
  end
  assign desc_cpl = rd_out_valid && rd_out.is_desc && dma_rd_cpl_valid_i;
  assign rd_pop = dma_rd_cpl_valid_i && dma_rd_cpl_ready_o && dma_rd_cpl_last_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rem_q <= '0;
      in_frame_q <= 1'b0;
    end else if (frame_valid_o && frame_ready_i) begin
      rem_q <= beat_rem - 16'(beat_bytes);
      in_frame_q <= !dma_rd_cpl_last_i;
    end
  end

`ifndef SYNTHESIS
  // Completions come back in request order; the tag proves it.
  always_ff @(posedge clk_i) begin
    if (dma_rd_cpl_valid_i && dma_rd_cpl_ready_o) begin
      assert (dma_rd_cpl_tag_i == rd_out.tag)
        else $error("tx_engine: DMA read completion out of order");
    end
  end
`else
  logic unused_tag;
  assign unused_tag = ^dma_rd_cpl_tag_i;
`endif

  // Descriptor beat: check lengths; bad ones get their final status now.
  always_comb begin
    fetched_iss = '0;
    fetched_iss.batch = rd_out.batch;
    fetched_iss.descs = dma_rd_cpl_data_i;
    for (int unsigned i = 0; i < BatchDescs; i++) begin
      logic [15:0] len;
      len = dma_rd_cpl_data_i[64*i + norman_regmap_pkg::TX_DESC_LEN_LSB +: 16];
      if (4'(i) < rd_out.batch.n) begin
        if (32'(len) < norman_regmap_pkg::MIN_FRAME_BYTES || 32'(len) > norman_regmap_pkg::MAX_FRAME_BYTES) begin
          fetched_iss.descs[64*i + norman_regmap_pkg::TX_DESC_STATUS_LSB +: 16] = 16'(norman_regmap_pkg::TX_DESC_STATUS_DROP_BAD_LEN);
        end else begin
          fetched_iss.mask[i] = 1'b1;
        end
      end
    end
    fetched_trk = fetched_iss;
  end

  // ------------------------------------------------------------ issue stage
  logic iss_in_ready, iss_pop, iss_advance;
  logic trk_in_ready;
  logic [$clog2(MaxBatches + 1)-1:0] iss_count, trk_count;

  sync_fifo #(.Width($bits(fetched_iss)), .Depth(MaxBatches)) u_iss_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(desc_cpl), .in_ready_o(iss_in_ready), .in_data_i(fetched_iss),
    .out_valid_o(iss_valid), .out_ready_i(iss_pop), .out_data_o(iss_head),
    .count_o(iss_count));

  assign iss_good = iss_head.mask[iss_i_q];
  assign iss_idx  = iss_head.batch.cons + 16'(iss_i_q);
  assign iss_len  = iss_head.descs[64*32'(iss_i_q) + norman_regmap_pkg::TX_DESC_LEN_LSB +: 16];
  // A bad descriptor moves on without a read; a good one with its read.
  assign iss_advance = iss_valid && (iss_good ? data_fire : 1'b1);
  assign iss_pop = iss_advance && (4'(iss_i_q) + 4'd1 == iss_head.batch.n);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      iss_i_q <= '0;
    end else if (iss_pop) begin
      iss_i_q <= '0;
    end else if (iss_advance) begin
      iss_i_q <= iss_i_q + 3'd1;
    end
  end

  // ------------------------------------------------------------ write-back
  typedef enum logic [2:0] {WB_LOAD, WB_COLLECT, WB_WRITE, WB_NOTIFY, WB_FINISH} wb_state_e;
  wb_state_e wb_state_q;
  logic      trk_valid, trk_pop;
  fetched_t  trk_head;
  logic [norman_pkg::DataW-1:0]      wb_descs_q;
  logic [BatchDescs-1:0] wb_pend_q;
  logic                  wb_beat_q;

  sync_fifo #(.Width($bits(fetched_trk)), .Depth(MaxBatches)) u_trk_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(desc_cpl), .in_ready_o(trk_in_ready), .in_data_i(fetched_trk),
    .out_valid_o(trk_valid), .out_ready_i(trk_pop), .out_data_o(trk_head),
    .count_o(trk_count));

  // Write-back needs everything of the batch but the data base.
  /* verilator lint_off UNUSEDSIGNAL */
  batch_t wb_b;
  /* verilator lint_on UNUSEDSIGNAL */
  assign wb_b = trk_head.batch;

  // Completions arrive in frame order, so they belong to the oldest batch.
  logic [2:0] cpl_slot;
  assign cpl_slot = 3'(cpl_idx_i - wb_b.cons);
  assign cpl_ready_o = (wb_state_q == WB_COLLECT) && (wb_pend_q != '0);

`ifndef SYNTHESIS
  always_ff @(posedge clk_i) begin
    if (cpl_valid_i && cpl_ready_o) begin
      assert (cpl_conn_i == wb_b.info.conn_id && wb_pend_q[cpl_slot])
        else $error("tx_engine: completion does not match the oldest batch");
    end
  end
`else
  logic unused_cpl_conn;
  assign unused_cpl_conn = ^cpl_conn_i;
`endif

  // The write covers exactly the batch's descriptors; beats are address
  // aligned, so the bytes are shifted to the lanes of their host addresses.
  logic [63:0]        wb_addr;
  logic [15:0]        wb_len;
  logic [2*norman_pkg::DataW-1:0] wb_lanes;
  logic               wb_two_beats;
  always_comb begin
    logic [norman_pkg::DataW-1:0] payload;
    wb_addr = wb_b.desc_base + 64'(slot_of(wb_b.cons, wb_b.log2)) * 64'(DescBytes);
    wb_len = 16'(wb_b.n) * 16'(DescBytes);
    payload = '0;
    for (int unsigned i = 0; i < BatchDescs; i++) begin
      if (4'(i) < wb_b.n) payload[64*i +: 64] = wb_descs_q[64*i +: 64];
    end
    wb_lanes = {{norman_pkg::DataW{1'b0}}, payload} << {wb_addr[5:0], 3'b000};
    wb_two_beats = (7'(wb_addr[5:0]) + 7'(wb_len)) > 7'(norman_pkg::KeepW);
  end

  assign dma_wr_valid_o = (wb_state_q == WB_WRITE);
  assign dma_wr_addr_o  = wb_addr;
  assign dma_wr_len_o   = wb_len;
  assign dma_wr_data_o  = wb_beat_q ? wb_lanes[2*norman_pkg::DataW-1:norman_pkg::DataW] : wb_lanes[norman_pkg::DataW-1:0];
  assign dma_wr_last_o  = wb_beat_q || !wb_two_beats;

  assign notify_valid_o = (wb_state_q == WB_NOTIFY);
  always_comb begin
    notify_o = '0;
    notify_o.nq_id = wb_b.nq_id;
    notify_o.conn_id = wb_b.info.conn_id;
    notify_o.kind = 16'(norman_regmap_pkg::NOTIFY_KINDS_TX_DONE);
  end

  // Finish: f0 reads the connection's state when the port is free (no
  // doorbell, no cfg reset waiting); f1, the next cycle, advances cons and
  // requeues if the host has produced more. No doorbell was in d0 during f0,
  // so f1 never meets d1.
  logic fin_rd_q;
  assign fin_rd = (wb_state_q == WB_FINISH) && !fin_rd_q && !db_valid_i && !cfg_pend_q;
  assign fin_fire = (wb_state_q == WB_FINISH) && fin_rd_q;
  assign fin_cons = wb_b.cons + 16'(wb_b.n);
  assign fin_requeue = sta.prod != fin_cons;
  assign trk_pop = fin_fire;

  assign fin_conn = wb_b.info.conn_id;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_state_q <= WB_LOAD;
      wb_descs_q <= '0;
      wb_pend_q  <= '0;
      wb_beat_q  <= 1'b0;
    end else begin
      unique case (wb_state_q)
        WB_LOAD: begin
          if (trk_valid) begin
            wb_descs_q <= trk_head.descs;
            wb_pend_q  <= trk_head.mask;
            wb_beat_q  <= 1'b0;
            wb_state_q <= WB_COLLECT;
          end
        end
        WB_COLLECT: begin
          if (wb_pend_q == '0) begin
            wb_state_q <= WB_WRITE;
          end else if (cpl_valid_i) begin
            wb_descs_q[64*32'(cpl_slot) + norman_regmap_pkg::TX_DESC_STATUS_LSB +: 16] <= 16'(cpl_status_i);
            wb_pend_q[cpl_slot] <= 1'b0;
          end
        end
        WB_WRITE: begin
          if (dma_wr_ready_i) begin
            if (dma_wr_last_o) wb_state_q <= wb_b.notify_tx ? WB_NOTIFY : WB_FINISH;
            else wb_beat_q <= 1'b1;
          end
        end
        WB_NOTIFY: begin
          if (notify_ready_i) wb_state_q <= WB_FINISH;
        end
        WB_FINISH: begin
          if (fin_fire) wb_state_q <= WB_LOAD;
        end
        default: wb_state_q <= WB_LOAD;
      endcase
    end
  end

  // ------------------------------------------------------------ state RAM writes
  // Each writer writes the whole word it read (with forwarding) one cycle
  // before. A cfg reset wins over a write of its own cycle (it is applied
  // after it); a write to a connection whose reset waits was computed from
  // the forwarded reset and supersedes it.
  always_comb begin
    st_we = 1'b0;
    st_waddr = d1_conn_q;
    st_wdata = '0;
    if (db_set) begin
      st_we = 1'b1;
      st_wdata = {d1_prod_q, sta.cons, 1'b1};
    end else if (s1_unqueue) begin
      st_we = 1'b1;
      st_waddr = s1_conn_q;
      st_wdata = {sta.prod, sta.cons, 1'b0};
    end else if (fin_fire) begin
      st_we = 1'b1;
      st_waddr = fin_conn;
      st_wdata = {sta.prod, fin_cons, fin_requeue};
    end
    cfg_pend_d = cfg_pend_q && !(st_we && st_waddr == cfg_conn_q);
    cfg_conn_d = cfg_conn_q;
    if (cfg_valid_i) begin
      cfg_pend_d = 1'b1;
      cfg_conn_d = cfg_conn_i;
    end
    if (!st_we && cfg_pend_d) begin
      st_we = 1'b1;
      st_waddr = cfg_conn_d;
      st_wdata = '0;
      cfg_pend_d = 1'b0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      lw_valid_q <= 1'b0;
      cfg_pend_q <= 1'b0;
      fin_rd_q <= 1'b0;
      query_busy_o <= 1'b0;
    end else begin
      lw_valid_q <= st_we;
      cfg_pend_q <= cfg_pend_d;
      fin_rd_q <= fin_rd;
      query_busy_o <= stb.queued;
    end
  end

  always_ff @(posedge clk_i) begin
    if (st_we) begin
      lw_addr_q <= st_waddr;
      lw_data_q <= st_wdata;
    end
    cfg_conn_q <= cfg_conn_d;
  end

`ifndef SYNTHESIS
  // A cfg reset waits only while doorbells keep the port busy; the next one
  // is a whole command later.
  always_ff @(posedge clk_i) begin
    if (cfg_valid_i) begin
      assert (!cfg_pend_q || cfg_conn_q == cfg_conn_i)
        else $error("tx_engine: cfg reset while another still waits for the state RAM");
    end
  end
`endif

  // CONN_QUERY: the indices one cycle after query_conn_i (state as of the
  // previous cycle's writes, as the engines' other query ports); busy one
  // cycle later, as before.
  assign query_cons_o = stb.cons;
  assign query_prod_o = stb.prod;

  // ------------------------------------------------------------ counters, idle
  always_comb begin
    cnt_o = '0;
    cnt_o[norman_regmap_pkg::CNT_TX_DOORBELLS]    = d1_valid_q;
    cnt_o[norman_regmap_pkg::CNT_DOORBELL_INVALID] = d1_valid_q && !ctx_rd_data_i.valid;
    cnt_o[norman_regmap_pkg::CNT_TX_PROD_INVALID] = d1_valid_q && ctx_rd_data_i.valid && !d1_prod_ok;
    cnt_o[norman_regmap_pkg::CNT_TX_FETCHED]      = iss_advance;
    cnt_o[norman_regmap_pkg::CNT_TX_DROP_BAD_LEN] = iss_advance && !iss_good;
  end

  // Every batch holds a credit from s1 to finish, and every read belongs to
  // a batch, so no credits means no reads, frames or write-backs in flight.
  assign idle_o = !d1_valid_q && (pend_count == '0) && !s1_valid_q && (credits_q == '0)
                  && !cfg_pend_q;

  // FIFO fill levels and ready flags are implied by the credit and queued
  // accounting above.
  logic unused;
  assign unused = ^{pend_in_ready, pend_count, rd_count, iss_in_ready, iss_count,
                    trk_in_ready, trk_count};
endmodule

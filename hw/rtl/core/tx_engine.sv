// Transmit engine: turns TX_PROD doorbells into descriptor and frame DMA
// reads, hands each frame with its connection's check fields to tx_check,
// and writes the descriptors back with their final STATUS.
//
// Work is fetched in batches: up to 8 descriptors of one connection from its
// fetch index, never crossing the ring end, so that the descriptors of a
// batch arrive in one DMA read beat and go back in one DMA write. A
// connection may have many batches in flight at once (up to MaxBatches
// batches of any connections, MaxReads outstanding reads), so one connection
// alone can cover the PCIe read round trip: at 250 cycles of read latency,
// 100 GbE of 64 B frames (0.595 frames/cycle) needs about 0.67 reads/cycle x
// 250 = 170 reads and about 40 batches (a batch lives ~540 cycles, from the
// scheduler through the descriptor read, the frame reads, tx_check and the
// write-back) in flight. The DMA read port completes in request order,
// tx_check completes frames in order, and batches are written back in the
// order they were fetched, so every queue below is a plain FIFO and a
// connection's frames leave, and its descriptors are completed, in order.
//
// Pipeline:
//   doorbell: d0 context + state read -> d1 store prod, queue the connection once
//   scheduler: s0 pop pending FIFO + context + state read -> s1 size the batch
//              from the fetch index, advance it, requeue the connection at
//              the tail if it has more (round robin, one batch per turn)
//              -> s2 descriptor read request
//   read completions: descriptor beat -> issue FIFO + collect FIFO + descs FIFO;
//                     frame beats -> tx_check
//   issue: one descriptor per cycle: bad length -> counted, no read;
//          else a data read of LEN bytes from its slot
//   collect: tx_check completions for the oldest batch -> handed to write-back
//   write-back: write the batch's descriptors, post TX_DONE, then f0 state
//               read -> f1 advance cons (the next batch is collected meanwhile)
//
// A batch holds a credit and a slot of the batch table (its context fields,
// read by the reads' completions) from s1 to the end of its write-back.
// Slots are taken and freed in batch order, so a slot is the batch's
// sequence number modulo MaxBatches and no free list is needed.
//
// Per-connection state (prod, cons, fetch, queued: 49 bits x NumConns) lives
// in block RAM / UltraRAM: two ram_1w1r copies written through one write
// port, one read by the d0/s0/f0 stages (whichever holds the port, see
// below), the other by CONN_QUERY. cons <= fetch <= prod: descriptors before
// fetch have been fetched, those before cons written back. Reads are
// registered; the stage after a read combines the RAM word with the write of
// the read's own cycle and with a CONN_SET reset still waiting for the write
// port (forwarding), so each stage sees exactly the state a combinational
// read would have returned. The pending FIFO is a ram_fifo of NumConns
// entries. Nothing per-connection is in flip-flops and no read goes through a
// NumConns:1 multiplexer.
//
// TX_PROD is checked in d1 against the connection's indices: a producer
// index more than a ring ahead of cons, or behind the previous producer
// index, is refused and counted (TX_PROD_INVALID) and changes nothing, so a
// bogus doorbell can never make the engine re-send slots already sent.
//
// CONN_SET/CONN_CLEAR with TX work in flight: csr_regs first invalidates the
// context (doorbells are refused, a requeued connection is dropped at s1),
// then waits until query_busy_o says the connection is neither pending nor
// has a batch in flight (queued, or fetch != cons: a batch's write-back and
// TX_DONE are issued before its finish advances cons), and only then resets
// the indices through the cfg port. tx_check completes the frames it
// receives for the connection meanwhile as DROP_CLOSED; their write-back
// still goes to the old ring, which the host frees only after the command
// completes.
module tx_engine
#(
  parameter int unsigned MaxBatches = 64,  // batches from s1 to write-back finish (a power of two)
  parameter int unsigned MaxReads   = 256, // outstanding DMA reads (descriptor + data), <= 2^DmaTagW
  parameter int unsigned SchedLeaves = 64,  // the TX scheduler's leaf classes (hw/rtl/sched)
  parameter int unsigned SchedDepth  = 4,   // its tree depths
  localparam int unsigned SLW = $clog2(SchedLeaves),
  localparam int unsigned SDW = $clog2(SchedDepth)
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
  output logic                    idle_o,
  // TX scheduler (docs/qos.md). With sched_en_i low none of this is used and
  // every queued connection is served in turn, as without a scheduler.
  // Otherwise a batch of a connection is fetched only under a grant for the
  // connection's leaf (sched_lk_*: the connection map, one cycle); a
  // connection popped without one goes back to the tail and its leaf is
  // announced (sched_bl_*). A taken grant ends at once (sched_done_*); the
  // batch's bytes are charged when tx_check has judged its frames
  // (sched_ch_*: frames that went out, with the grant's lender).
  input  logic                    sched_en_i,
  output logic                    sched_lk_valid_o,
  output logic [norman_pkg::ConnIdW-1:0] sched_lk_conn_o,
  input  logic [SLW-1:0]          sched_lk_leaf_i,
  input  logic                    sched_grant_valid_i,
  input  logic [SLW-1:0]          sched_grant_leaf_i,
  input  logic [SDW-1:0]          sched_grant_lender_i,
  output logic                    sched_bl_valid_o,
  output logic [SLW-1:0]          sched_bl_leaf_o,
  output logic                    sched_done_valid_o,
  input  logic                    sched_done_ready_i,
  output logic [SLW-1:0]          sched_done_leaf_o,
  output logic                    sched_done_more_o,
  output logic                    sched_ch_valid_o,
  input  logic                    sched_ch_ready_i,
  output logic [SLW-1:0]          sched_ch_leaf_o,
  output logic [SDW-1:0]          sched_ch_lender_o,
  output logic [23:0]             sched_ch_bytes_o,
  output logic [23:0]             sched_ch_pkts_o
);
  localparam int unsigned NumConns = 1 << norman_pkg::ConnIdW;
  localparam int unsigned BatchDescs = 8;  // descriptors per read: one 64-byte beat
  localparam int unsigned DescBytes = norman_regmap_pkg::TX_DESC_DESC_BYTES;
  localparam int unsigned SlotShift = $clog2(norman_regmap_pkg::TX_DESC_SLOT_BYTES);
  localparam int unsigned CreditW = $clog2(MaxBatches + 1);
  localparam int unsigned SlotW = $clog2(MaxBatches);
  localparam int unsigned StatusLsb = norman_regmap_pkg::TX_DESC_STATUS_LSB;
  localparam int unsigned LenLsb = norman_regmap_pkg::TX_DESC_LEN_LSB;

  typedef logic [15:0] idx_t;
  typedef logic [SlotW-1:0] slot_t;

  // Batch table entry: the context fields the later stages need (the
  // context is read once per batch, at s1).
  typedef struct packed {
    logic [63:0]        desc_base;
    logic [63:0]        data_base;
    logic [4:0]         log2;
    logic               notify_tx;
    logic [norman_pkg::NqIdW-1:0] nq_id;
    logic               charge;     // taken under a scheduler grant
    logic [SLW-1:0]     leaf;
    logic [SDW-1:0]     lender;
    norman_pkg::tx_info_t         info;       // conn_id, port, check fields
  } bat_t;

  // What each outstanding DMA read is, in request order.
  typedef struct packed {
    logic               is_desc;
    logic [norman_pkg::DmaTagW-1:0] tag;
    slot_t              slot;       // its batch
    idx_t               idx;        // descriptor reads: the batch's first index; data: the descriptor's
    logic [3:0]         n;          // descriptor reads: descriptors in the batch
    logic [15:0]        len;        // data reads: frame length
  } rd_ent_t;

  // A batch whose descriptors have arrived, for the issue stage. mask: the
  // descriptors with a good length (they get a data read).
  typedef struct packed {
    slot_t              slot;
    idx_t               cons;
    logic [3:0]         n;
    logic [4:0]         log2;
    logic [63:0]        data_base;
    logic [BatchDescs-1:0] mask;
    logic [16*BatchDescs-1:0] lens;
  } iss_t;

  // The same batch for collection and write-back (its descriptors travel in
  // the descs FIFO beside it). mask: the descriptors waiting for tx_check.
  typedef struct packed {
    idx_t               cons;
    logic [3:0]         n;
    logic [4:0]         log2;
    logic [63:0]        desc_base;
    logic               notify_tx;
    logic [norman_pkg::NqIdW-1:0]   nq_id;
    logic [norman_pkg::ConnIdW-1:0] conn_id;
    logic [BatchDescs-1:0] mask;
    logic               charge;
    logic [SLW-1:0]     leaf;
    logic [SDW-1:0]     lender;
    logic [16*BatchDescs-1:0] lens;
  } ctl_t;

  function automatic logic [15:0] slot_of(idx_t idx, logic [4:0] log2);
    slot_of = idx & 16'((32'd1 << log2) - 32'd1);
  endfunction

  // ------------------------------------------------------------ per-conn state
  // queued: the connection is in the pending FIFO (or between its pop and
  // s1), so it is never queued twice and the pending FIFO cannot overflow.
  typedef struct packed {
    idx_t prod;
    idx_t cons;
    idx_t fetch;
    logic queued;
  } st_t;

  // Writers, one per cycle through the single write port: the doorbell stage
  // d1 (store prod, queue), the scheduler s1 (advance fetch, requeue or
  // unqueue), the finish stage f1 (advance cons), and the cfg reset. d1 and
  // s1 never coincide (s0 yields the read port to d0), and f1 holds the read
  // port in the cycle before it writes, so neither d1 nor s1 can follow it.
  // A cfg reset that meets one of them waits in cfg_pend_q (forwarded to
  // every read meanwhile) and is written in the next free cycle; the pending
  // FIFO and f0 do not start while it waits, so only back-to-back doorbells
  // hold it, and the next cfg reset is a whole command later.
  logic               db_set;      // d1: store prod
  logic               db_push;     // d1: queue the connection
  logic               fin_rd;      // f0: read the finishing connection's state
  logic               fin_fire;    // f1: write it
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
    sta = sta_raw;
    if (lw_valid_q && lw_addr_q == sta_addr_q) sta = lw_data_q;
    if (cfg_pend_q && cfg_conn_q == sta_addr_q) sta = '0;
    stb = stb_raw;
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
  logic               s1_requeue;
  logic               s1_valid_q;
  logic [norman_pkg::ConnIdW-1:0] s1_conn_q;

  // Only d1 and s1 push, never in the same cycle (see above).
  assign pend_in_valid = db_push || s1_requeue;
  assign pend_in = db_push ? d1_conn_q : s1_conn_q;

  ram_fifo #(.Width(norman_pkg::ConnIdW), .Depth(NumConns)) u_pend_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(pend_in_valid), .in_ready_o(pend_in_ready), .in_data_i(pend_in),
    .out_valid_o(pend_out_valid), .out_ready_i(pend_pop), .out_data_o(pend_out),
    .count_o(pend_count));

  // ------------------------------------------------------------ scheduler
  logic [CreditW-1:0] credits_q;   // batches from s1 to write-back finish
  logic               s2_valid_q;
  idx_t               s2_cons_q;
  logic [3:0]         s2_n_q;
  logic [4:0]         s2_log2_q;
  logic [63:0]        s2_desc_base_q;
  slot_t              s2_slot_q;
  slot_t              alloc_q;     // the next batch's slot
  logic               s2_fire, s1_take;

  // SCHEDULER OVERLAY SLOT: this pop decides which queued connection is
  // served next (round robin by batch today: a connection with more work is
  // requeued at the tail in s1, so every backlogged connection gets one
  // batch of up to 8 descriptors per turn). A scheduling overlay replaces
  // the pending FIFO and this pop; everything downstream is order-agnostic.
  // The doorbell path has priority on the context read port because it has
  // no back-pressure; f0 and a waiting cfg reset come before it on the
  // state RAM's port.
  assign pend_pop = pend_out_valid && !db_valid_i && !fin_rd && !cfg_pend_q
                    && !s1_valid_q && !s2_valid_q && !dn_v_q && (32'(credits_q) < MaxBatches);

  assign sched_lk_valid_o = pend_pop;
  assign sched_lk_conn_o = pend_out;
  assign ctx_rd_valid_o = db_valid_i || pend_pop;
  assign ctx_rd_conn_o  = db_valid_i ? db_conn_i : pend_out;
  assign sta_re   = db_valid_i || fin_rd || pend_pop;
  assign sta_addr = db_valid_i ? db_conn_i : fin_rd ? fin_conn : pend_out;

  // s1: the context is here; size the batch from the fetch index.
  // The RX and owner fields of the context are not the TX path's business.
  /* verilator lint_off UNUSEDSIGNAL */
  norman_pkg::conn_ctx_t s1_ctx;
  /* verilator lint_on UNUSEDSIGNAL */
  idx_t      s1_avail, s1_slot, s1_next;
  logic [16:0] s1_to_end;
  logic [3:0]  s1_n;
  bat_t        s1_bat;

  always_comb begin
    s1_ctx   = ctx_rd_data_i;
    s1_avail = sta.prod - sta.fetch;
    s1_slot  = slot_of(sta.fetch, s1_ctx.tx_log2);
    s1_to_end = 17'((32'd1 << s1_ctx.tx_log2) - 32'(s1_slot));
    s1_n = 4'(BatchDescs);
    if (32'(s1_avail) < 32'(s1_n)) s1_n = 4'(s1_avail);
    if (32'(s1_to_end) < 32'(s1_n)) s1_n = 4'(s1_to_end);
    s1_next = sta.fetch + 16'(s1_n);

    s1_bat = '0;
    s1_bat.desc_base = s1_ctx.tx_desc_base;
    s1_bat.data_base = s1_ctx.tx_data_base;
    s1_bat.log2      = s1_ctx.tx_log2;
    s1_bat.notify_tx = s1_ctx.notify_tx;
    s1_bat.nq_id     = s1_ctx.nq_id;
    s1_bat.charge    = sched_en_i;
    s1_bat.leaf      = sched_lk_leaf_i;
    s1_bat.lender    = gr_lender_q[sched_lk_leaf_i];
    s1_bat.info.conn_id  = s1_conn_q;
    s1_bat.info.port     = s1_ctx.port;
    s1_bat.info.raw      = s1_ctx.raw;
    s1_bat.info.broadcast = s1_ctx.broadcast;
    s1_bat.info.src_mac  = s1_ctx.src_mac;
    s1_bat.info.proto    = s1_ctx.proto;
    s1_bat.info.is_ipv6  = s1_ctx.is_ipv6;
    s1_bat.info.src_port = s1_ctx.src_port;
    s1_bat.info.src_ip   = s1_ctx.src_ip;
    s1_bat.info.owner_valid = s1_conn_q != norman_pkg::ConnIdW'(norman_regmap_pkg::FALLBACK_CONN);
    s1_bat.info.owner.uid    = s1_ctx.owner.uid;
    s1_bat.info.owner.gid    = s1_ctx.owner.gid;
    s1_bat.info.owner.cmd_id = s1_ctx.owner.cmd_id;
    s1_bat.info.owner.cgroup = s1_ctx.owner.cgroup;
  end

  // Grants held for the scheduler's leaves (flip-flops: at most one per
  // leaf is outstanding) and the lender each was granted at.
  logic [SchedLeaves-1:0] gr_q;
  logic [SDW-1:0] gr_lender_q [SchedLeaves];
  logic s1_gate, s1_work, s1_skip;
  assign s1_gate = !sched_en_i || gr_q[sched_lk_leaf_i];

  // A context cleared since the doorbell, or nothing to send: unqueue.
  // Otherwise take the batch and requeue if more is posted; without a grant
  // for its leaf, requeue it untouched (skip).
  assign s1_work    = s1_valid_q && s1_ctx.valid && s1_n != 4'd0;
  assign s1_take    = s1_work && s1_gate;
  assign s1_skip    = s1_work && !s1_gate;
  assign s1_requeue = (s1_take && s1_next != sta.prod) || s1_skip;
  assign sched_bl_valid_o = s1_skip;
  assign sched_bl_leaf_o = sched_lk_leaf_i;

  // A taken grant ends at once: the scheduler may grant the leaf again
  // while this batch is in flight. The done waits here for its even cycle
  // (a batch is taken at most every third cycle, see pend_pop).
  logic dn_v_q, dn_more_q;
  logic [SLW-1:0] dn_leaf_q;
  assign sched_done_valid_o = dn_v_q;
  assign sched_done_leaf_o = dn_leaf_q;
  assign sched_done_more_o = dn_more_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      gr_q <= '0;
      dn_v_q <= 1'b0;
      dn_more_q <= 1'b0;
      dn_leaf_q <= '0;
    end else begin
      if (dn_v_q && sched_done_ready_i) dn_v_q <= 1'b0;
      if (s1_take && sched_en_i) begin
        gr_q[sched_lk_leaf_i] <= 1'b0;
        dn_v_q <= 1'b1;
        dn_leaf_q <= sched_lk_leaf_i;
        dn_more_q <= s1_next != sta.prod;
      end
      if (sched_grant_valid_i) gr_q[sched_grant_leaf_i] <= 1'b1;
    end
  end
  always_ff @(posedge clk_i) begin
    if (sched_grant_valid_i) gr_lender_q[sched_grant_leaf_i] <= sched_grant_lender_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_conn_q  <= '0;
      s2_valid_q <= 1'b0;
      s2_cons_q  <= '0;
      s2_n_q     <= '0;
      s2_log2_q  <= '0;
      s2_desc_base_q <= '0;
      s2_slot_q  <= '0;
      alloc_q    <= '0;
      credits_q  <= '0;
    end else begin
      s1_valid_q <= pend_pop;
      if (pend_pop) s1_conn_q <= pend_out;
      if (s1_take) begin
        s2_valid_q <= 1'b1;
        s2_cons_q  <= sta.fetch;
        s2_n_q     <= s1_n;
        s2_log2_q  <= s1_ctx.tx_log2;
        s2_desc_base_q <= s1_ctx.tx_desc_base;
        s2_slot_q  <= alloc_q;
        alloc_q    <= alloc_q + 1'b1;
      end else if (s2_fire) begin
        s2_valid_q <= 1'b0;
      end
      credits_q <= credits_q + CreditW'(s1_take) - CreditW'(fin_fire);
    end
  end

  // Batch table: written at s1, read (asynchronously: a small distributed
  // RAM) by the read completions at their batch's slot.
  logic [$bits(s1_bat)-1:0] btab_q [MaxBatches];
  bat_t rd_bat;

  always_ff @(posedge clk_i) begin
    if (s1_take) btab_q[alloc_q] <= s1_bat;
  end

  // ------------------------------------------------------------ DMA read requests
  logic          rd_in_ready, rd_out_valid, rd_pop, rd_room;
  rd_ent_t       rd_in, rd_out;
  logic [$clog2(MaxReads + 2)-1:0] rd_count;
  logic [norman_pkg::DmaTagW-1:0] tag_q;

  // Issue stage state (declared here: it competes for the read port).
  logic          iss_valid;
  iss_t          iss_head;
  logic [2:0]    iss_i_q;
  logic          iss_good;
  idx_t          iss_idx;
  logic [15:0]   iss_len;

  // At most MaxReads reads outstanding (the rd FIFO holds one more at its
  // head): tags stay unique among them.
  assign rd_room = rd_in_ready && (32'(rd_count) < MaxReads);

  // The descriptor read wins: it starts the next batch's round trip early.
  // Once offered, a request is held unchanged until accepted.
  logic want_desc, want_data, sel_desc, rd_hold_q, rd_hold_desc_q, rd_fire, data_fire;
  assign want_desc = s2_valid_q;
  assign want_data = iss_valid && iss_good;
  assign sel_desc  = rd_hold_q ? rd_hold_desc_q : want_desc;
  assign dma_rd_req_valid_o = (want_desc || want_data) && rd_room;
  assign rd_fire   = dma_rd_req_valid_o && dma_rd_req_ready_i;
  assign s2_fire   = rd_fire && sel_desc;
  assign data_fire = rd_fire && !sel_desc;

  always_comb begin
    rd_in = '0;
    rd_in.tag = tag_q;
    if (sel_desc) begin
      rd_in.is_desc = 1'b1;
      rd_in.slot = s2_slot_q;
      rd_in.idx = s2_cons_q;
      rd_in.n = s2_n_q;
      dma_rd_req_addr_o = s2_desc_base_q
                          + 64'(slot_of(s2_cons_q, s2_log2_q)) * 64'(DescBytes);
      dma_rd_req_len_o = norman_pkg::DmaLenW'(s2_n_q) * norman_pkg::DmaLenW'(DescBytes);
    end else begin
      rd_in.slot = iss_head.slot;
      rd_in.idx = iss_idx;
      rd_in.len = iss_len;
      dma_rd_req_addr_o = iss_head.data_base
                          + (64'(slot_of(iss_idx, iss_head.log2)) << SlotShift);
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

  // Block RAM: its output register is the head, which a completion meets
  // at least two cycles after its request.
  ram_fifo #(.Width($bits(rd_in)), .Depth(MaxReads)) u_rd_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(rd_fire), .in_ready_o(rd_in_ready), .in_data_i(rd_in),
    .out_valid_o(rd_out_valid), .out_ready_i(rd_pop), .out_data_o(rd_out),
    .count_o(rd_count));

  assign rd_bat = btab_q[rd_out.slot];

  // ------------------------------------------------------------ read completions
  logic [15:0] rem_q;       // bytes of the current frame not yet forwarded
  logic        in_frame_q;
  logic [15:0] beat_rem;
  logic [6:0]  beat_bytes;
  logic        desc_cpl;
  iss_t        fetched_iss;
  ctl_t        fetched_ctl;
  logic [norman_pkg::DataW-1:0] fetched_descs;

  assign beat_rem = in_frame_q ? rem_q : rd_out.len;
  assign beat_bytes = (beat_rem >= 16'(norman_pkg::KeepW)) ? 7'(norman_pkg::KeepW) : 7'(beat_rem);

  always_comb begin
    frame_valid_o = rd_out_valid && !rd_out.is_desc && dma_rd_cpl_valid_i;
    frame_data_o  = dma_rd_cpl_data_i;
    frame_keep_o  = (beat_bytes == 7'(norman_pkg::KeepW)) ? '1 : norman_pkg::KeepW'((65'd1 << beat_bytes) - 65'd1);
    frame_last_o  = dma_rd_cpl_last_i;
    frame_info_o  = rd_bat.info;
    frame_info_o.desc_idx = rd_out.idx;
    // Credits leave room in the issue, collect and descs FIFOs for every
    // batch whose descriptor read is outstanding, so a descriptor beat never
    // waits.
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
    fetched_descs = dma_rd_cpl_data_i;
    fetched_iss = '0;
    fetched_iss.slot = rd_out.slot;
    fetched_iss.cons = rd_out.idx;
    fetched_iss.n = rd_out.n;
    fetched_iss.log2 = rd_bat.log2;
    fetched_iss.data_base = rd_bat.data_base;
    for (int unsigned i = 0; i < BatchDescs; i++) begin
      logic [15:0] len;
      len = dma_rd_cpl_data_i[64*i + LenLsb +: 16];
      fetched_iss.lens[16*i +: 16] = len;
      if (4'(i) < rd_out.n) begin
        if (32'(len) < norman_regmap_pkg::MIN_FRAME_BYTES || 32'(len) > norman_regmap_pkg::MAX_FRAME_BYTES) begin
          fetched_descs[64*i + StatusLsb +: 16] = 16'(norman_regmap_pkg::TX_DESC_STATUS_DROP_BAD_LEN);
        end else begin
          fetched_iss.mask[i] = 1'b1;
        end
      end
    end
    fetched_ctl = '0;
    fetched_ctl.cons = rd_out.idx;
    fetched_ctl.n = rd_out.n;
    fetched_ctl.log2 = rd_bat.log2;
    fetched_ctl.desc_base = rd_bat.desc_base;
    fetched_ctl.notify_tx = rd_bat.notify_tx;
    fetched_ctl.nq_id = rd_bat.nq_id;
    fetched_ctl.conn_id = rd_bat.info.conn_id;
    fetched_ctl.mask = fetched_iss.mask;
    fetched_ctl.charge = rd_bat.charge;
    fetched_ctl.leaf = rd_bat.leaf;
    fetched_ctl.lender = rd_bat.lender;
    fetched_ctl.lens = fetched_iss.lens;
  end

  // ------------------------------------------------------------ issue stage
  logic iss_in_ready, iss_pop, iss_advance;
  logic [$clog2(MaxBatches + 1)-1:0] iss_count;

  sync_fifo #(.Width($bits(fetched_iss)), .Depth(MaxBatches)) u_iss_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(desc_cpl), .in_ready_o(iss_in_ready), .in_data_i(fetched_iss),
    .out_valid_o(iss_valid), .out_ready_i(iss_pop), .out_data_o(iss_head),
    .count_o(iss_count));

  assign iss_good = iss_head.mask[iss_i_q];
  assign iss_idx  = iss_head.cons + 16'(iss_i_q);
  assign iss_len  = iss_head.lens[16*32'(iss_i_q) +: 16];
  // A bad descriptor moves on without a read; a good one with its read.
  assign iss_advance = iss_valid && (iss_good ? data_fire : 1'b1);
  assign iss_pop = iss_advance && (4'(iss_i_q) + 4'd1 == iss_head.n);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      iss_i_q <= '0;
    end else if (iss_pop) begin
      iss_i_q <= '0;
    end else if (iss_advance) begin
      iss_i_q <= iss_i_q + 3'd1;
    end
  end

  // ------------------------------------------------------------ collect
  // The oldest batch not yet handed to write-back is the collect FIFO's
  // head (distributed RAM, read asynchronously); its descriptors wait in the
  // descs FIFO (block RAM) until its write-back ends. Completions arrive in
  // frame order, so they belong to it.
  logic      ctl_valid, ctl_pop, ctl_in_ready, descs_in_ready, descs_valid, descs_pop;
  ctl_t      ctl_head;
  logic [norman_pkg::DataW-1:0] descs_head;
  logic [$clog2(MaxBatches + 1)-1:0] ctl_count;
  logic [$clog2(MaxBatches + 2)-1:0] descs_count;

  sync_fifo #(.Width($bits(fetched_ctl)), .Depth(MaxBatches)) u_ctl_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(desc_cpl), .in_ready_o(ctl_in_ready), .in_data_i(fetched_ctl),
    .out_valid_o(ctl_valid), .out_ready_i(ctl_pop), .out_data_o(ctl_head),
    .count_o(ctl_count));

  ram_fifo #(.Width(norman_pkg::DataW), .Depth(MaxBatches)) u_descs_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(desc_cpl), .in_ready_o(descs_in_ready), .in_data_i(fetched_descs),
    .out_valid_o(descs_valid), .out_ready_i(descs_pop), .out_data_o(descs_head),
    .count_o(descs_count));

  logic [BatchDescs-1:0] col_got_q;                // completions received
  logic [16*BatchDescs-1:0] col_stat_q;            // their statuses
  logic [2:0] cpl_slot;
  logic       col_done, handoff, wb_free, chg_busy;

  assign cpl_slot = 3'(cpl_idx_i - ctl_head.cons);
  assign cpl_ready_o = ctl_valid && ((ctl_head.mask & ~col_got_q) != '0);
  assign col_done = ctl_valid && ((ctl_head.mask & ~col_got_q) == '0);
  assign handoff = col_done && wb_free && !chg_busy;
  assign ctl_pop = handoff;

`ifndef SYNTHESIS
  always_ff @(posedge clk_i) begin
    if (cpl_valid_i && cpl_ready_o) begin
      assert (cpl_conn_i == ctl_head.conn_id && ctl_head.mask[cpl_slot] && !col_got_q[cpl_slot])
        else $error("tx_engine: completion does not match the oldest batch");
    end
  end
`else
  logic unused_cpl_conn;
  assign unused_cpl_conn = ^cpl_conn_i;
`endif

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      col_got_q <= '0;
    end else if (handoff) begin
      col_got_q <= '0;
    end else if (cpl_valid_i && cpl_ready_o) begin
      col_got_q[cpl_slot] <= 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (cpl_valid_i && cpl_ready_o) col_stat_q[16*32'(cpl_slot) +: 16] <= 16'(cpl_status_i);
  end

  // ------------------------------------------------------------ scheduler charge
  // A batch taken under a grant is charged with the frames tx_check sent
  // (status SENT) when it is handed to write-back: h1 masks the lengths,
  // h2 adds them; the charge then waits for the scheduler. A handoff waits
  // while a charge is still on its way (one in four cycles at most are
  // handoffs, so this costs nothing at line rate).
  logic h1_v_q, chg_v_q;
  logic [SLW-1:0] h1_leaf_q, chg_leaf_q;
  logic [SDW-1:0] h1_lender_q, chg_lender_q;
  logic [16*BatchDescs-1:0] h1_lens_q;
  logic [BatchDescs-1:0] h1_ok_q;
  logic [23:0] chg_bytes_q, chg_pkts_q, h1_sum, h1_cnt;
  assign chg_busy = h1_v_q || chg_v_q;
  always_comb begin
    h1_sum = '0;
    h1_cnt = '0;
    for (int unsigned i = 0; i < BatchDescs; i++) begin
      h1_sum = h1_sum + 24'(h1_lens_q[16*i +: 16]);
      h1_cnt = h1_cnt + 24'(h1_ok_q[i]);
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      h1_v_q <= 1'b0;
      chg_v_q <= 1'b0;
      h1_leaf_q <= '0;
      h1_lender_q <= '0;
      h1_lens_q <= '0;
      h1_ok_q <= '0;
      chg_leaf_q <= '0;
      chg_lender_q <= '0;
      chg_bytes_q <= '0;
      chg_pkts_q <= '0;
    end else begin
      h1_v_q <= handoff && ctl_head.charge;
      if (handoff) begin
        h1_leaf_q <= ctl_head.leaf;
        h1_lender_q <= ctl_head.lender;
        for (int unsigned i = 0; i < BatchDescs; i++) begin
          h1_ok_q[i] <= ctl_head.mask[i] && col_stat_q[16*i +: 16] ==
                        16'(norman_regmap_pkg::TX_DESC_STATUS_SENT);
          h1_lens_q[16*i +: 16] <= (ctl_head.mask[i] && col_stat_q[16*i +: 16] ==
                                    16'(norman_regmap_pkg::TX_DESC_STATUS_SENT))
                                   ? ctl_head.lens[16*i +: 16] : 16'd0;
        end
      end
      if (chg_v_q && sched_ch_ready_i) chg_v_q <= 1'b0;
      if (h1_v_q) begin
        chg_v_q <= 1'b1;
        chg_leaf_q <= h1_leaf_q;
        chg_lender_q <= h1_lender_q;
        chg_bytes_q <= h1_sum;
        chg_pkts_q <= h1_cnt;
      end
    end
  end
  assign sched_ch_valid_o = chg_v_q;
  assign sched_ch_leaf_o = chg_leaf_q;
  assign sched_ch_lender_o = chg_lender_q;
  assign sched_ch_bytes_o = chg_bytes_q;
  assign sched_ch_pkts_o = chg_pkts_q;

  // ------------------------------------------------------------ write-back
  // One batch at a time, while the next is collected: write its descriptors
  // (one or two beats), post TX_DONE, then finish. Its address, length and
  // shape are registered at the handoff so that the write's lanes depend on
  // flops and the descs FIFO's output register only.
  typedef enum logic [1:0] {WB_WRITE, WB_NOTIFY, WB_FINISH} wb_state_e;
  logic      wb_valid_q;
  wb_state_e wb_state_q;
  ctl_t      wb_q;
  logic [16*BatchDescs-1:0] wb_stat_q;
  logic [63:0] wb_addr_q;
  logic [15:0] wb_len_q;
  logic        wb_two_q, wb_beat_q;
  logic [63:0] ho_addr;
  logic [15:0] ho_len;

  assign wb_free = !wb_valid_q || fin_fire;

  always_comb begin
    ho_addr = ctl_head.desc_base + 64'(slot_of(ctl_head.cons, ctl_head.log2)) * 64'(DescBytes);
    ho_len = 16'(ctl_head.n) * 16'(DescBytes);
  end

  // The write covers exactly the batch's descriptors, with the statuses
  // tx_check reported; beats are address aligned, so the bytes are shifted
  // to the lanes of their host addresses.
  logic [2*norman_pkg::DataW-1:0] wb_lanes;
  always_comb begin
    logic [norman_pkg::DataW-1:0] payload;
    payload = '0;
    for (int unsigned i = 0; i < BatchDescs; i++) begin
      if (4'(i) < wb_q.n) begin
        payload[64*i +: 64] = descs_head[64*i +: 64];
        if (wb_q.mask[i]) payload[64*i + StatusLsb +: 16] = wb_stat_q[16*i +: 16];
      end
    end
    wb_lanes = {{norman_pkg::DataW{1'b0}}, payload} << {wb_addr_q[5:0], 3'b000};
  end

  assign dma_wr_valid_o = wb_valid_q && (wb_state_q == WB_WRITE) && descs_valid;
  assign dma_wr_addr_o  = wb_addr_q;
  assign dma_wr_len_o   = wb_len_q;
  assign dma_wr_data_o  = wb_beat_q ? wb_lanes[2*norman_pkg::DataW-1:norman_pkg::DataW] : wb_lanes[norman_pkg::DataW-1:0];
  assign dma_wr_last_o  = wb_beat_q || !wb_two_q;

  assign notify_valid_o = wb_valid_q && (wb_state_q == WB_NOTIFY);
  always_comb begin
    notify_o = '0;
    notify_o.nq_id = wb_q.nq_id;
    notify_o.conn_id = wb_q.conn_id;
    notify_o.kind = 16'(norman_regmap_pkg::NOTIFY_KINDS_TX_DONE);
  end

  // Finish: f0 reads the connection's state when the port is free (no
  // doorbell, no cfg reset waiting); f1, the next cycle, advances cons.
  // No doorbell was in d0 during f0, so f1 never meets d1.
  logic fin_rd_q;
  assign fin_rd = wb_valid_q && (wb_state_q == WB_FINISH) && !fin_rd_q && !db_valid_i && !cfg_pend_q;
  assign fin_fire = wb_valid_q && (wb_state_q == WB_FINISH) && fin_rd_q;
  assign fin_cons = wb_q.cons + 16'(wb_q.n);
  assign fin_conn = wb_q.conn_id;
  assign descs_pop = fin_fire;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_valid_q <= 1'b0;
      wb_state_q <= WB_WRITE;
      wb_q       <= '0;
      wb_stat_q  <= '0;
      wb_addr_q  <= '0;
      wb_len_q   <= '0;
      wb_two_q   <= 1'b0;
      wb_beat_q  <= 1'b0;
    end else begin
      if (handoff) begin
        wb_valid_q <= 1'b1;
        wb_state_q <= WB_WRITE;
        wb_q       <= ctl_head;
        wb_stat_q  <= col_stat_q;
        wb_addr_q  <= ho_addr;
        wb_len_q   <= ho_len;
        wb_two_q   <= (7'(ho_addr[5:0]) + 7'(ho_len)) > 7'(norman_pkg::KeepW);
        wb_beat_q  <= 1'b0;
      end else if (wb_valid_q) begin
        unique case (wb_state_q)
          WB_WRITE: begin
            if (dma_wr_valid_o && dma_wr_ready_i) begin
              if (dma_wr_last_o) wb_state_q <= wb_q.notify_tx ? WB_NOTIFY : WB_FINISH;
              else wb_beat_q <= 1'b1;
            end
          end
          WB_NOTIFY: begin
            if (notify_ready_i) wb_state_q <= WB_FINISH;
          end
          WB_FINISH: begin
            if (fin_fire) wb_valid_q <= 1'b0;
          end
          default: wb_state_q <= WB_WRITE;
        endcase
      end
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
      st_wdata = {d1_prod_q, sta.cons, sta.fetch, 1'b1};
    end else if (s1_valid_q) begin
      st_we = 1'b1;
      st_waddr = s1_conn_q;
      st_wdata = s1_take ? {sta.prod, sta.cons, s1_next, s1_requeue}
                         : {sta.prod, sta.cons, sta.fetch, s1_skip};
    end else if (fin_fire) begin
      st_we = 1'b1;
      st_waddr = fin_conn;
      st_wdata = {sta.prod, fin_cons, sta.fetch, sta.queued};
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
      // Pending, or batches fetched and not yet finished.
      query_busy_o <= stb.queued || (stb.fetch != stb.cons);
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
  initial begin
    assert (MaxReads <= (1 << norman_pkg::DmaTagW) && (MaxBatches & (MaxBatches - 1)) == 0)
      else $error("tx_engine: MaxReads above the tag space or MaxBatches not a power of two");
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
                  && !cfg_pend_q && !dn_v_q && !chg_busy;

  // FIFO fill levels and ready flags are implied by the credit and queued
  // accounting above.
  logic unused;
  assign unused = ^{pend_in_ready, pend_count, iss_in_ready, iss_count, ctl_in_ready, ctl_count,
                    descs_in_ready, descs_count, rd_bat.info.desc_idx, wb_q.log2, wb_q.desc_base,
                    wb_q.charge, wb_q.leaf, wb_q.lender, wb_q.lens};
endmodule

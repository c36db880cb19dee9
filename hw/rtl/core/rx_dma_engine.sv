// RX DMA engine: owns every connection's RX ring indices (producer, consumer,
// notify-pending bit), decides each frame's fate, writes delivered frames
// into their ring slot with the trailer in one DMA write, and asks
// notify_engine for coalesced RX notifications.
//
// Structure
//   event queue (rx_dma_evq): CONN_SET/CLEAR resets and RX_CONS doorbells,
//     which have no back-pressure, queued in arrival order.
//   s0: pick one event (queued config/doorbell first, else a descriptor) and
//     read the connection's state word (registered read, block RAM shape).
//   s1: bypass the word written by s1 in the previous cycle (the only write
//     the RAM read could have missed), decide, write the new word, push a job.
//     One event per cycle, so a single-beat frame per cycle is sustained even
//     when every frame goes to the same connection.
//   job FIFO -> mover: realigns the frame data and emits the DMA write; drop
//     jobs just consume their data. s0 only issues when the job FIFO is sure
//     to have room, so s1 never stalls.
//   notification FIFO: a frame's notification is queued only when the last
//     beat of its write has been accepted, and a doorbell's re-notification
//     (a data-less job) only when no write is in the output register, so
//     notify_engine's entry can never overtake the frame it announces.
//
// Slot write: frame of LEN bytes + 4-byte trailer, one write of LEN + 4 bytes
// at slot + RX_SLOT_TRAILER_OFFSET - LEN. Host byte A travels in lane A mod 64,
// so frame byte i goes to lane (off + i) mod 64 with off = addr mod 64: each
// output beat is the current input beat shifted up by off lanes plus the top
// of the previous one; when the shifted frame + trailer spill past the last
// input beat a carry beat is emitted.
//
// Preconditions (host/csr contract): rx_base is 64-byte aligned (so the
// trailer sits in lanes 60..63 of the last beat), rx_log2 <= MAX_RING_LOG2,
// desc.len equals the frame's byte count on the data stream and is at most
// RX_SLOT_MAX_LEN (rx_ingress drops longer frames as TOO_BIG). A CONN_SET of
// a connection with frames already decided lets those frames land where
// they were decided to (the host quiesces a connection before reusing it).
module rx_dma_engine
#(
  parameter int unsigned JobDepth    = 4,   // frames decided but not yet moved
  parameter int unsigned EvDepth     = 16,  // queued config/doorbell events
  parameter int unsigned NotifyDepth = 4
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  // Descriptors from rx_classify, one per frame, in data order.
  input  logic                    desc_valid_i,
  output logic                    desc_ready_o,
  input  norman_pkg::rx_desc_t                desc_i,
  // Frame data: lane-0 aligned beats, last on the final beat.
  input  logic                    data_valid_i,
  output logic                    data_ready_o,
  input  logic [norman_pkg::DataW-1:0]        data_i,
  input  logic [norman_pkg::KeepW-1:0]        keep_i,   // unused: desc.len says how many bytes
  input  logic                    last_i,
  // CONN_SET / CONN_CLEAR: reset the connection's indices and pending bit.
  input  logic                    cfg_valid_i,
  input  logic [norman_pkg::ConnIdW-1:0]      cfg_conn_i,
  input  logic [norman_pkg::NqIdW-1:0]        cfg_nq_i,  // the connection's notification queue
  // RX_CONS doorbell.
  input  logic                    db_valid_i,
  input  logic [norman_pkg::ConnIdW-1:0]      db_conn_i,
  input  logic [15:0]             db_cons_i,
  // CONN_QUERY: producer index, one cycle after query_conn_i.
  input  logic [norman_pkg::ConnIdW-1:0]      query_conn_i,
  output logic [15:0]             query_prod_o,
  // DMA write (address-aligned beats; addr and len held on every beat).
  output logic                    wr_valid_o,
  input  logic                    wr_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]     wr_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]      wr_len_o,
  output logic [norman_pkg::DataW-1:0]        wr_data_o,
  output logic                    wr_last_o,
  // Notification requests to notify_engine.
  output logic                    notify_valid_o,
  input  logic                    notify_ready_i,
  output norman_pkg::notify_req_t             notify_o,
  output logic [norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_o,
  output logic                    idle_o
);
  localparam int unsigned DataBytes = norman_pkg::DataW / 8;
  localparam int unsigned LaneW = $clog2(DataBytes);
  localparam int unsigned SlotShift = $clog2(norman_regmap_pkg::RX_SLOT_SLOT_BYTES);
  localparam int unsigned TrailerBytes = norman_regmap_pkg::RX_SLOT_SLOT_BYTES - norman_regmap_pkg::RX_SLOT_TRAILER_OFFSET;
  localparam int unsigned TrailerLane = norman_regmap_pkg::RX_SLOT_TRAILER_OFFSET % DataBytes;
  localparam int unsigned JobCntW = $clog2(JobDepth + 1);
  localparam int unsigned EvCntW = $clog2(EvDepth + 1);
  localparam int unsigned NfCntW = $clog2(NotifyDepth + 1);

  // verilator lint_off UNUSEDSIGNAL
  logic unused_job_ready, unused_nf_ready;
  logic unused_keep;
  assign unused_keep = ^{keep_i, unused_job_ready, unused_nf_ready};
  // verilator lint_on UNUSEDSIGNAL

  // ---------------------------------------------------------------- state
  typedef struct packed {
    logic [norman_pkg::NqIdW-1:0] nq;
    logic             pend;  // an RX notification is outstanding
    logic [15:0]      cons;
    logic [15:0]      prod;
  } conn_st_t;

  // Behavioral RAM, no reset: every connection is configured (cfg) before use.
  // Plain vectors: Yosys mis-sizes memories of a struct type.
  conn_st_t st_new;
  logic [$bits(st_new)-1:0] st_mem [norman_regmap_pkg::NUM_CONNS];

  typedef struct packed {
    logic               is_cfg;  // else an RX_CONS doorbell
    logic [norman_pkg::ConnIdW-1:0] conn;
    logic [15:0]        cons;
    logic [norman_pkg::NqIdW-1:0]   nq;
  } rx_ev_t;

  typedef enum logic [1:0] {
    JOB_WRITE,  // realign the frame and write it with its trailer
    JOB_DROP,   // consume the frame's data
    JOB_NOTE    // no data: post a doorbell's re-notification in order
  } job_kind_e;

  typedef struct packed {
    job_kind_e          kind;
    logic [norman_pkg::DmaAddrW-1:0] addr;
    logic [norman_pkg::DmaLenW-1:0] len;
    logic               carry;    // the write needs one beat more than the frame has
    logic [31:0]        trailer;
    logic               notify;
    norman_pkg::notify_req_t        nreq;
  } rx_job_t;

  // ---------------------------------------------------------------- event queue
  rx_ev_t ev_cfg, ev_db, ev_head;
  logic ev_valid, ev_pop, ev_overflow;
  logic [EvCntW-1:0] ev_count;

  always_comb begin
    ev_cfg = '0;
    ev_cfg.is_cfg = 1'b1;
    ev_cfg.conn = cfg_conn_i;
    ev_cfg.nq = cfg_nq_i;
    ev_db = '0;
    ev_db.conn = db_conn_i;
    ev_db.cons = db_cons_i;
  end

  // A configuration completes one cycle after its OP write, so it is older
  // than a doorbell written in the same cycle: push it first.
  rx_dma_evq #(.Width($bits(ev_head)), .Depth(EvDepth), .NumIn(2)) u_evq (
    .clk_i,
    .rst_ni,
    .in_valid_i  ({db_valid_i, cfg_valid_i}),
    .in_data_i   ({ev_db, ev_cfg}),
    .out_valid_o (ev_valid),
    .out_ready_i (ev_pop),
    .out_data_o  (ev_head),
    .count_o     (ev_count),
    .overflow_o  (ev_overflow)
  );

  // ---------------------------------------------------------------- s0: issue
  logic job_push, job_pop, job_valid;
  logic [JobCntW-1:0] job_count;
  rx_job_t job_d, job;

  logic s1_valid_q, s1_is_desc_q;
  rx_ev_t s1_ev_q;
  // rx_base reaches s1 folded into s1_base_q.
  /* verilator lint_off UNUSEDSIGNAL */
  norman_pkg::rx_desc_t s1_desc_q;
  /* verilator lint_on UNUSEDSIGNAL */
  conn_st_t rd_st_q;

  // Credit: the job FIFO must have room for the event in s1 and this one.
  logic credit_ok, take_ev, take_desc;
  logic [norman_pkg::ConnIdW-1:0] s0_conn;
  assign credit_ok = 32'(job_count) + 32'(s1_valid_q) < JobDepth;
  assign take_ev = ev_valid && credit_ok;
  assign desc_ready_o = !ev_valid && credit_ok;
  assign take_desc = desc_valid_i && desc_ready_o;
  assign ev_pop = take_ev;
  assign s0_conn = take_ev ? ev_head.conn : desc_i.conn_id;

  // What s1 needs besides the state word, found here so that s1 starts
  // from flip-flops: whether the event now in s1 is for the same connection
  // (its write is then the one the RAM read missed), and the part of the
  // slot address that does not depend on the ring's state.
  logic s1_same_d, s1_same_q;
  logic [norman_pkg::ConnIdW-1:0] s1_conn;
  logic [norman_pkg::DmaAddrW-1:0] s1_base_q;  // rx_base + trailer offset - len
  assign s1_conn = s1_is_desc_q ? s1_desc_q.conn_id : s1_ev_q.conn;
  assign s1_same_d = s1_valid_q && s1_conn == s0_conn;

  always_ff @(posedge clk_i) begin
    if (take_ev || take_desc) begin
      rd_st_q <= st_mem[s0_conn];
      s1_same_q <= s1_same_d;
    end
    if (take_ev) s1_ev_q <= ev_head;
    if (take_desc) begin
      s1_desc_q <= desc_i;
      s1_base_q <= desc_i.rx_base + 64'(norman_regmap_pkg::RX_SLOT_TRAILER_OFFSET)
                   - 64'(desc_i.len);
    end
  end

  // ---------------------------------------------------------------- s1: decide
  logic fwd_valid_q;
  conn_st_t fwd_st_q;

  conn_st_t st;
  logic st_we;
  logic [norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_d;

  logic [31:0] size, diff;
  logic [31:0] slot_idx;
  logic [15:0] seq;
  logic [LaneW-1:0] len_lanes;
  logic full;

  always_comb begin
    st = (fwd_valid_q && s1_same_q) ? fwd_st_q : rd_st_q;
    st_new = st;
    st_we = 1'b0;
    job_push = 1'b0;
    job_d = '0;
    cnt_d = '0;
    size = 32'd1 << s1_desc_q.rx_log2;
    diff = 32'(16'(st.prod - st.cons));
    slot_idx = 32'(st.prod) & (size - 32'd1);
    seq = st.prod + 16'd1;
    len_lanes = s1_desc_q.len[LaneW-1:0];
    // diff >= size, as "a bit of diff at or above log2 is set".
    full = 1'b0;
    for (int unsigned k = 0; k < 32; k++) begin
      if (k >= 32'(s1_desc_q.rx_log2) && diff[k]) full = 1'b1;
    end

    if (s1_valid_q && s1_is_desc_q) begin
      job_push = 1'b1;
      job_d.kind = JOB_DROP;
      // The write's shape, whatever the decision: a drop job ignores it, so
      // the wide fields wait on no decision.
      job_d.addr = s1_base_q + (64'(slot_idx) << SlotShift);
      job_d.len = norman_pkg::DmaLenW'(s1_desc_q.len) + norman_pkg::DmaLenW'(TrailerBytes);
      // The shifted frame ends at lane TrailerLane of its last input beat
      // only if its tail (len mod 64) is 1..TrailerLane bytes; otherwise
      // frame end + trailer fall into one more beat.
      job_d.carry = (len_lanes == '0) || (32'(len_lanes) > TrailerLane);
      job_d.trailer[norman_regmap_pkg::RX_SLOT_LEN_LSB +: norman_regmap_pkg::RX_SLOT_LEN_W] = norman_regmap_pkg::RX_SLOT_LEN_W'(s1_desc_q.len);
      job_d.trailer[norman_regmap_pkg::RX_SLOT_FLAGS_LSB +: norman_regmap_pkg::RX_SLOT_FLAGS_W] = s1_desc_q.flags;
      job_d.trailer[norman_regmap_pkg::RX_SLOT_SEQ_LSB +: norman_regmap_pkg::RX_SLOT_SEQ_W] = seq;
      if (s1_desc_q.drop != norman_pkg::RXD_NONE) begin
        unique case (s1_desc_q.drop)
          norman_pkg::RXD_MAC_ERROR: cnt_d[norman_regmap_pkg::CNT_RX_DROP_MAC_ERROR] = 1'b1;
          norman_pkg::RXD_RUNT:      cnt_d[norman_regmap_pkg::CNT_RX_DROP_RUNT] = 1'b1;
          norman_pkg::RXD_TOO_BIG:   cnt_d[norman_regmap_pkg::CNT_RX_DROP_TOO_BIG] = 1'b1;
          norman_pkg::RXD_NO_QUEUE:  cnt_d[norman_regmap_pkg::CNT_RX_DROP_NO_QUEUE] = 1'b1;
          norman_pkg::RXD_DISABLED:  cnt_d[norman_regmap_pkg::CNT_RX_DROP_DISABLED] = 1'b1;
          norman_pkg::RXD_DST_MAC:   cnt_d[norman_regmap_pkg::CNT_RX_DROP_DST_MAC] = 1'b1;
          // FILTER, and any reason a future overlay adds, still needs a fate.
          default:       cnt_d[norman_regmap_pkg::CNT_RX_DROP_FILTER] = 1'b1;
        endcase
      end else if (full) begin
        // '==' in normal operation; '>' only after a bogus RX_CONS, which
        // must not let us overwrite slots the application still owns.
        cnt_d[norman_regmap_pkg::CNT_RX_DROP_RING_FULL] = 1'b1;
      end else begin
        // A rejected frame is in the fallback ring only for the control
        // plane to answer, not delivered to anyone: a fate of its own.
        if (s1_desc_q.flags[norman_regmap_pkg::RX_SLOT_FLAGS_REJECT]) cnt_d[norman_regmap_pkg::CNT_RX_FILTER_REJECTED] = 1'b1;
        else if (s1_desc_q.fallback) cnt_d[norman_regmap_pkg::CNT_RX_DELIVERED_FALLBACK] = 1'b1;
        else cnt_d[norman_regmap_pkg::CNT_RX_DELIVERED_CONN] = 1'b1;
        job_d.kind = JOB_WRITE;
        job_d.notify = !st.pend;
        job_d.nreq.nq_id = s1_desc_q.nq_id;
        job_d.nreq.conn_id = s1_desc_q.conn_id;
        job_d.nreq.kind = 16'(norman_regmap_pkg::NOTIFY_KINDS_RX);
        st_new.prod = seq;
        st_new.pend = 1'b1;
        st_new.nq = s1_desc_q.nq_id;
        st_we = 1'b1;
      end
    end else if (s1_valid_q && s1_ev_q.is_cfg) begin
      st_new = '0;
      st_new.nq = s1_ev_q.nq;
      st_we = 1'b1;
    end else if (s1_valid_q) begin
      // RX_CONS: store cons; frames still unconsumed are announced again.
      st_new.cons = s1_ev_q.cons;
      st_new.pend = st.prod != s1_ev_q.cons;
      st_we = 1'b1;
      if (st_new.pend) begin
        job_push = 1'b1;
        job_d.kind = JOB_NOTE;
        job_d.notify = 1'b1;
        job_d.nreq.nq_id = st.nq;
        job_d.nreq.conn_id = s1_ev_q.conn;
        job_d.nreq.kind = 16'(norman_regmap_pkg::NOTIFY_KINDS_RX);
      end
    end
    // A lost event has no counter of its own; it is a doorbell we could not take.
    if (ev_overflow) cnt_d[norman_regmap_pkg::CNT_DOORBELL_INVALID] = 1'b1;
  end

  // The whole entry is read (Yosys selects no field of a memory word).
  /* verilator lint_off UNUSEDSIGNAL */
  conn_st_t query_st_q;
  /* verilator lint_on UNUSEDSIGNAL */
  assign query_prod_o = query_st_q.prod;

  always_ff @(posedge clk_i) begin
    if (st_we) st_mem[s1_conn] <= st_new;
    query_st_q <= st_mem[query_conn_i];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_is_desc_q <= 1'b0;
      fwd_valid_q <= 1'b0;
      fwd_st_q <= '0;
      cnt_o <= '0;
    end else begin
      s1_valid_q <= take_ev || take_desc;
      s1_is_desc_q <= take_desc;
      fwd_valid_q <= st_we;
      if (st_we) fwd_st_q <= st_new;
      cnt_o <= cnt_d;
    end
  end

  // ---------------------------------------------------------------- job FIFO
  sync_fifo #(.Width($bits(job)), .Depth(JobDepth)) u_job_fifo (
    .clk_i,
    .rst_ni,
    .in_valid_i  (job_push),
    .in_ready_o  (unused_job_ready),  // guaranteed by the s0 credit
    .in_data_i   (job_d),
    .out_valid_o (job_valid),
    .out_ready_i (job_pop),
    .out_data_o  (job),
    .count_o     (job_count)
  );

  // ---------------------------------------------------------------- mover
  logic out_valid_q, out_last_q, out_notify_q;
  logic [norman_pkg::DmaAddrW-1:0] out_addr_q;
  logic [norman_pkg::DmaLenW-1:0] out_len_q;
  logic [norman_pkg::DataW-1:0] out_data_q;
  norman_pkg::notify_req_t out_nreq_q;

  logic carry_q, first_q;
  logic [norman_pkg::DataW-1:0] prev_q;

  logic nf_push, nf_valid;
  logic [NfCntW-1:0] nf_count;
  norman_pkg::notify_req_t nf_data;

  logic wr_fire, can_load, load, load_last, data_fire, note_push;
  logic [norman_pkg::DataW-1:0] sh_in, sh_prev, beat;
  // verilator lint_off UNUSEDSIGNAL
  logic [2*norman_pkg::DataW-1:0] sh_cat;  // only the upper half is the output beat
  // verilator lint_on UNUSEDSIGNAL

  // A write that must be announced reserves its notification FIFO entry
  // before its first beat, so its last beat never waits: a request that has
  // started on the DMA port (and so holds dma_wr_arbiter) always completes
  // without depending on notify_engine, whose own writes need that port.
  logic [NfCntW-1:0] nf_resv_q;  // notifying writes started, not yet queued
  logic nf_room, nf_reserve, nf_release;
  assign nf_room = 32'(nf_count) + 32'(nf_resv_q) < NotifyDepth;

  assign wr_valid_o = out_valid_q;
  assign wr_fire = wr_valid_o && wr_ready_i;
  assign can_load = !out_valid_q || wr_fire;

  always_comb begin
    data_ready_o = 1'b0;
    job_pop = 1'b0;
    load = 1'b0;
    load_last = 1'b0;
    note_push = 1'b0;
    sh_in = data_i;
    if (job_valid) begin
      unique case (job.kind)
        JOB_WRITE: begin
          if (carry_q) begin
            sh_in = '0;
            if (can_load) begin
              load = 1'b1;
              load_last = 1'b1;
              job_pop = 1'b1;
            end
          end else begin
            data_ready_o = can_load && (!first_q || !job.notify || nf_room);
            if (data_valid_i && data_ready_o) begin
              load = 1'b1;
              if (last_i && !job.carry) begin
                load_last = 1'b1;
                job_pop = 1'b1;
              end
            end
          end
        end
        JOB_DROP: begin
          data_ready_o = 1'b1;
          job_pop = data_valid_i && last_i;
        end
        JOB_NOTE: begin
          if (!out_valid_q && nf_room) begin
            note_push = 1'b1;
            job_pop = 1'b1;
          end
        end
        default: ;
      endcase
    end
    data_fire = data_valid_i && data_ready_o;
    nf_reserve = load && first_q && job.kind == JOB_WRITE && job.notify;
    nf_release = wr_fire && out_last_q && out_notify_q;

    // Barrel shift by off lanes across the previous and current beats.
    sh_prev = first_q ? '0 : prev_q;
    sh_cat = {sh_in, sh_prev} << {job.addr[LaneW-1:0], 3'b000};
    beat = sh_cat[2*norman_pkg::DataW-1:norman_pkg::DataW];
    if (load_last) beat[TrailerLane*8 +: 32] = job.trailer;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q <= 1'b0;
      out_last_q <= 1'b0;
      out_notify_q <= 1'b0;
      carry_q <= 1'b0;
      first_q <= 1'b1;
      nf_resv_q <= '0;
    end else begin
      nf_resv_q <= nf_resv_q + NfCntW'(nf_reserve) - NfCntW'(nf_release);
      if (load) begin
        out_valid_q <= 1'b1;
        out_last_q <= load_last;
        out_notify_q <= load_last && job.notify;
      end else if (wr_fire) begin
        out_valid_q <= 1'b0;
      end
      if (job.kind == JOB_WRITE && data_fire) begin
        first_q <= 1'b0;
        if (last_i && job.carry) carry_q <= 1'b1;
      end
      if (job_pop) begin
        first_q <= 1'b1;
        carry_q <= 1'b0;
      end
    end
  end

  // Wide datapath registers need no reset: out_valid_q qualifies them.
  always_ff @(posedge clk_i) begin
    if (load) begin
      out_addr_q <= job.addr;
      out_len_q <= job.len;
      out_data_q <= beat;
      out_nreq_q <= job.nreq;
    end
    if (job.kind == JOB_WRITE && data_fire) prev_q <= data_i;
  end

  assign wr_addr_o = out_addr_q;
  assign wr_len_o = out_len_q;
  assign wr_data_o = out_data_q;
  assign wr_last_o = out_last_q;

  // ---------------------------------------------------------------- notifications
  assign nf_push = nf_release || note_push;
  assign nf_data = note_push ? job.nreq : out_nreq_q;

  sync_fifo #(.Width(norman_pkg::NotifyReqW), .Depth(NotifyDepth)) u_nf_fifo (
    .clk_i,
    .rst_ni,
    .in_valid_i  (nf_push),
    .in_ready_o  (unused_nf_ready),  // guaranteed by the reservation
    .in_data_i   (nf_data),
    .out_valid_o (nf_valid),
    .out_ready_i (notify_ready_i),
    .out_data_o  (notify_o),
    .count_o     (nf_count)
  );
  assign notify_valid_o = nf_valid;

  assign idle_o = !s1_valid_q && ev_count == '0 && job_count == '0 && !out_valid_q
                  && nf_count == '0 && cnt_o == '0;  // registered counter pulses too
endmodule

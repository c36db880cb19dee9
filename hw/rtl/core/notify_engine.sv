// Notification engine: NUM_NQS notification queues in host memory. Each
// request becomes one 8-byte entry {CONN_ID, KIND, SEQ = prod + 1} written at
// base + (prod mod size) * 8; an armed queue raises its interrupt vector once
// (after the entry's write has been accepted) and disarms.
//
// Structure (same shape as rx_dma_engine):
//   event queue (rx_dma_evq): NQ_SET/NQ_CLEAR, CONS and ARM doorbells, which
//     have no back-pressure, in arrival order.
//   s0: pick a queued event first, else a request; read the queue's state
//     word (registered read, block RAM shape).
//   s1: bypass last cycle's write, decide, write back, push an output op.
//     One request per cycle.
//   op FIFO -> DMA write (single beat, 8 bytes) and/or interrupt. Ops leave
//     in order, so an ARM's immediate interrupt never overtakes an entry.
// s0 issues anything that may produce an op only when the op FIFO is sure to
// have room, so s1 never stalls.
//
// Drops: a request to a full queue is dropped and counted NOTIFY_DROP_NQ_FULL.
// A request to a disabled (never set, or cleared) queue has nowhere to go and
// is counted NOTIFY_DROP_NQ_FULL too: the register map has no better counter.
//
// Preconditions (csr contract): base is 8-byte aligned, log2 <= MAX_RING_LOG2.
module notify_engine
#(
  parameter int unsigned OpDepth  = 4,
  parameter int unsigned EvDepth  = 16,
  parameter int unsigned IrqDepth = 4
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  // NQ_SET / NQ_CLEAR: (re)configure a queue and reset prod, cons, armed.
  input  logic                    cfg_valid_i,
  input  logic [norman_pkg::NqIdW-1:0]        cfg_nq_i,
  input  logic                    cfg_enable_i,
  input  logic [63:0]             cfg_base_i,
  input  logic [4:0]              cfg_log2_i,
  input  logic [norman_pkg::IrqVecW-1:0]      cfg_vector_i,
  // CONS doorbell.
  input  logic                    db_cons_valid_i,
  input  logic [norman_pkg::NqIdW-1:0]        db_nq_i,
  input  logic [15:0]             db_cons_i,
  // ARM doorbell.
  input  logic                    db_arm_valid_i,
  input  logic [norman_pkg::NqIdW-1:0]        db_arm_nq_i,
  // Notification requests.
  input  logic                    notify_valid_i,
  output logic                    notify_ready_o,
  input  norman_pkg::notify_req_t             notify_i,
  // DMA write (address-aligned beats; addr and len held on every beat).
  output logic                    wr_valid_o,
  input  logic                    wr_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]     wr_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]      wr_len_o,
  output logic [norman_pkg::DataW-1:0]        wr_data_o,
  output logic                    wr_last_o,
  // Interrupt requests.
  output logic                    irq_valid_o,
  input  logic                    irq_ready_i,
  output logic [norman_pkg::IrqVecW-1:0]      irq_vector_o,
  output logic [norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_o,
  output logic                    idle_o
);
  localparam int unsigned DataBytes = norman_pkg::DataW / 8;
  localparam int unsigned LaneW = $clog2(DataBytes);
  localparam int unsigned EntryShift = $clog2(norman_regmap_pkg::NOTIFY_ENTRY_BYTES);
  localparam int unsigned OpCntW = $clog2(OpDepth + 1);
  localparam int unsigned EvCntW = $clog2(EvDepth + 1);
  localparam int unsigned IrqCntW = $clog2(IrqDepth + 1);

  // ---------------------------------------------------------------- state
  typedef struct packed {
    logic               en;
    logic [63:0]        base;
    logic [4:0]         log2;
    logic [norman_pkg::IrqVecW-1:0] vec;
    logic [15:0]        prod;
    logic [15:0]        cons;
    logic               armed;
  } nq_st_t;

  // Behavioral RAM, no reset. A queue never configured since reset could
  // hold any base address, so a reset flop per queue marks it as set
  // (1024 flops) and an unset queue reads as disabled.
  // Plain vectors: Yosys mis-sizes memories of a struct type.
  nq_st_t st_new;
  logic [$bits(st_new)-1:0] st_mem [norman_regmap_pkg::NUM_NQS];
  logic [norman_regmap_pkg::NUM_NQS-1:0] set_q;

  typedef enum logic [1:0] {
    EV_CFG,
    EV_CONS,
    EV_ARM
  } ev_kind_e;

  typedef struct packed {
    ev_kind_e           kind;
    logic [norman_pkg::NqIdW-1:0]   nq;
    logic [15:0]        cons;
    logic               en;
    logic [63:0]        base;
    logic [4:0]         log2;
    logic [norman_pkg::IrqVecW-1:0] vec;
  } nq_ev_t;

  typedef struct packed {
    logic               write;   // else an interrupt only
    logic [norman_pkg::DmaAddrW-1:0] addr;
    logic [63:0]        entry;
    logic               irq;
    logic [norman_pkg::IrqVecW-1:0] vec;
  } nq_op_t;

  // ---------------------------------------------------------------- event queue
  nq_ev_t ev_cfg, ev_cons, ev_arm, ev_head;
  logic ev_valid, ev_pop, ev_overflow;
  logic [EvCntW-1:0] ev_count;

  always_comb begin
    ev_cfg = '0;
    ev_cfg.kind = EV_CFG;
    ev_cfg.nq = cfg_nq_i;
    ev_cfg.en = cfg_enable_i;
    ev_cfg.base = cfg_base_i;
    ev_cfg.log2 = cfg_log2_i;
    ev_cfg.vec = cfg_vector_i;
    ev_cons = '0;
    ev_cons.kind = EV_CONS;
    ev_cons.nq = db_nq_i;
    ev_cons.cons = db_cons_i;
    ev_arm = '0;
    ev_arm.kind = EV_ARM;
    ev_arm.nq = db_arm_nq_i;
  end

  // A configuration completes one cycle after its OP write, so it is older
  // than a doorbell written in the same cycle.
  rx_dma_evq #(.Width($bits(ev_head)), .Depth(EvDepth), .NumIn(3)) u_evq (
    .clk_i,
    .rst_ni,
    .in_valid_i  ({db_arm_valid_i, db_cons_valid_i, cfg_valid_i}),
    .in_data_i   ({ev_arm, ev_cons, ev_cfg}),
    .out_valid_o (ev_valid),
    .out_ready_i (ev_pop),
    .out_data_o  (ev_head),
    .count_o     (ev_count),
    .overflow_o  (ev_overflow)
  );

  // ---------------------------------------------------------------- s0: issue
  logic op_push, op_pop, op_valid;
  // verilator lint_off UNUSEDSIGNAL
  logic unused_op_ready;
  // verilator lint_on UNUSEDSIGNAL
  logic [OpCntW-1:0] op_count;
  nq_op_t op_d, op;

  logic s1_valid_q, s1_is_req_q;
  nq_ev_t s1_ev_q;
  norman_pkg::notify_req_t s1_req_q;
  nq_st_t rd_st_q;

  // Only requests and ARMs can produce an op; config and CONS always go.
  logic credit_ok, take_ev, take_req;
  logic [norman_pkg::NqIdW-1:0] s0_nq;
  assign credit_ok = 32'(op_count) + 32'(s1_valid_q) < OpDepth;
  assign take_ev = ev_valid && (ev_head.kind != EV_ARM || credit_ok);
  assign notify_ready_o = !ev_valid && credit_ok;
  assign take_req = notify_valid_i && notify_ready_o;
  assign ev_pop = take_ev;
  assign s0_nq = take_ev ? ev_head.nq : notify_i.nq_id;

  // What s1 will need about the queue besides its state word, found here
  // so that s1 starts from flip-flops: whether the event now in s1 is for
  // the same queue (its write is then the one the RAM read missed), and the
  // queue's set bit, including a CFG to it now in s1.
  logic s1_same_d, s1_same_q, set_d, set_rd_q;
  logic [norman_pkg::NqIdW-1:0] s1_nq;
  assign s1_nq = s1_is_req_q ? s1_req_q.nq_id : s1_ev_q.nq;
  assign s1_same_d = s1_valid_q && s1_nq == s0_nq;
  assign set_d = set_q[s0_nq] || (s1_same_d && !s1_is_req_q && s1_ev_q.kind == EV_CFG);

  always_ff @(posedge clk_i) begin
    if (take_ev || take_req) begin
      rd_st_q <= st_mem[s0_nq];
      s1_same_q <= s1_same_d;
      set_rd_q <= set_d;
    end
    if (take_ev) s1_ev_q <= ev_head;
    if (take_req) s1_req_q <= notify_i;
  end

  // ---------------------------------------------------------------- s1: decide
  logic fwd_valid_q;
  nq_st_t fwd_st_q;

  nq_st_t st;
  logic st_we;
  logic [norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_d;
  logic [31:0] size, diff, idx;
  logic [15:0] seq;
  logic full;
  logic irq_fire, db_invalid;

  always_comb begin
    st = (fwd_valid_q && s1_same_q) ? fwd_st_q : rd_st_q;
    st.en = st.en && set_rd_q;
    st_new = st;
    st_we = 1'b0;
    op_push = 1'b0;
    op_d = '0;
    cnt_d = '0;
    db_invalid = 1'b0;
    size = 32'd1 << st.log2;
    diff = 32'(16'(st.prod - st.cons));
    idx = 32'(st.prod) & (size - 32'd1);
    seq = st.prod + 16'd1;
    // diff >= size, as "a bit of diff at or above log2 is set": a mask per
    // bit and an OR, not a compare behind a decoder.
    full = 1'b0;
    for (int unsigned k = 0; k < 32; k++) begin
      if (k >= 32'(st.log2) && diff[k]) full = 1'b1;
    end
    if (s1_valid_q && s1_is_req_q) begin
      if (!st.en || full) begin
        cnt_d[norman_regmap_pkg::CNT_NOTIFY_DROP_NQ_FULL] = 1'b1;
      end else begin
        cnt_d[norman_regmap_pkg::CNT_NOTIFY_WRITTEN] = 1'b1;
        op_push = 1'b1;
        op_d.write = 1'b1;
        op_d.addr = st.base + (64'(idx) << EntryShift);
        op_d.entry[norman_regmap_pkg::NOTIFY_CONN_ID_LSB +: norman_regmap_pkg::NOTIFY_CONN_ID_W] = norman_regmap_pkg::NOTIFY_CONN_ID_W'(s1_req_q.conn_id);
        op_d.entry[norman_regmap_pkg::NOTIFY_KIND_LSB +: norman_regmap_pkg::NOTIFY_KIND_W] = s1_req_q.kind;
        op_d.entry[norman_regmap_pkg::NOTIFY_SEQ_LSB +: norman_regmap_pkg::NOTIFY_SEQ_W] = seq;
        op_d.irq = st.armed;
        op_d.vec = st.vec;
        st_new.prod = seq;
        st_new.armed = 1'b0;
        st_we = 1'b1;
      end
    end else if (s1_valid_q) begin
      st_we = 1'b1;
      // A CONS or ARM doorbell to a queue that is not set (never, or cleared).
      db_invalid = s1_ev_q.kind != EV_CFG && !st.en;
      unique case (s1_ev_q.kind)
        EV_CFG: begin
          st_new = '0;
          st_new.en = s1_ev_q.en;
          st_new.base = s1_ev_q.base;
          st_new.log2 = s1_ev_q.log2;
          st_new.vec = s1_ev_q.vec;
        end
        EV_CONS: st_new.cons = s1_ev_q.cons;
        EV_ARM: begin
          // Entries already pending: interrupt at once (one-shot, so stay
          // disarmed); otherwise wait for the next entry.
          if (st.prod != st.cons && st.en) begin
            op_push = 1'b1;
            op_d.irq = 1'b1;
            op_d.vec = st.vec;
            st_new.armed = 1'b0;
          end else begin
            st_new.armed = st.en;
          end
        end
        default: st_we = 1'b0;
      endcase
    end
    cnt_d[norman_regmap_pkg::CNT_IRQS] = irq_fire;
    // A lost event has no counter of its own; it is a doorbell we could not take.
    cnt_d[norman_regmap_pkg::CNT_DOORBELL_INVALID] = ev_overflow || db_invalid;
  end

  always_ff @(posedge clk_i) begin
    if (st_we) st_mem[s1_nq] <= st_new;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s1_is_req_q <= 1'b0;
      fwd_valid_q <= 1'b0;
      fwd_st_q <= '0;
      cnt_o <= '0;
      set_q <= '0;
    end else begin
      if (s1_valid_q && !s1_is_req_q && s1_ev_q.kind == EV_CFG) set_q[s1_nq] <= 1'b1;
      s1_valid_q <= take_ev || take_req;
      s1_is_req_q <= take_req;
      fwd_valid_q <= st_we;
      if (st_we) fwd_st_q <= st_new;
      cnt_o <= cnt_d;
    end
  end

  // ---------------------------------------------------------------- op FIFO
  sync_fifo #(.Width($bits(op)), .Depth(OpDepth)) u_op_fifo (
    .clk_i,
    .rst_ni,
    .in_valid_i  (op_push),
    .in_ready_o  (unused_op_ready),  // guaranteed by the s0 credit
    .in_data_i   (op_d),
    .out_valid_o (op_valid),
    .out_ready_i (op_pop),
    .out_data_o  (op),
    .count_o     (op_count)
  );

  // ---------------------------------------------------------------- output
  logic irq_push, irq_ready, irq_valid;
  logic [IrqCntW-1:0] irq_count;
  logic wr_fire;

  // An entry that must interrupt waits for room in the interrupt FIFO, so
  // the interrupt is queued in the cycle the entry's write is accepted.
  assign wr_valid_o = op_valid && op.write && (!op.irq || irq_ready);
  assign wr_fire = wr_valid_o && wr_ready_i;
  assign wr_addr_o = op.addr;
  assign wr_len_o = norman_pkg::DmaLenW'(norman_regmap_pkg::NOTIFY_ENTRY_BYTES);
  assign wr_data_o = norman_pkg::DataW'(op.entry) << {op.addr[LaneW-1:0], 3'b000};
  assign wr_last_o = 1'b1;
  assign op_pop = wr_fire || (op_valid && !op.write && irq_ready);
  assign irq_push = op_valid && op.irq && (op.write ? wr_fire : irq_ready);

  sync_fifo #(.Width(norman_pkg::IrqVecW), .Depth(IrqDepth)) u_irq_fifo (
    .clk_i,
    .rst_ni,
    .in_valid_i  (irq_push),
    .in_ready_o  (irq_ready),
    .in_data_i   (op.vec),
    .out_valid_o (irq_valid),
    .out_ready_i (irq_ready_i),
    .out_data_o  (irq_vector_o),
    .count_o     (irq_count)
  );
  assign irq_valid_o = irq_valid;
  assign irq_fire = irq_valid_o && irq_ready_i;

  // Registered counter pulses are in flight too.
  assign idle_o = !s1_valid_q && ev_count == '0 && op_count == '0 && irq_count == '0
                  && cnt_o == '0;
endmodule

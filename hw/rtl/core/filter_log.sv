// LOG records of the filter overlay: one 64-byte FILTER_LOG record per LOG
// verdict, written into the host's LOG ring (FILTER.LOG_BASE, 2^LOG2
// records) in one single-beat DMA write.
//
// Verdicts never wait for a record. Both lookup ports (0 INPUT, 1 OUTPUT)
// may report a LOG verdict in the same cycle; each is either taken into a
// small FIFO or dropped on the spot, in port order. An event is taken when a
// ring is configured, the ring has room for it counting the records already
// taken but not yet written (producer - LOG_CONS < 2^LOG2, 16-bit
// free-running), a token is available (LOG_RATE) and the FIFO has room.
// producer - LOG_CONS is kept in a register, so LOG_CONS takes effect one
// cycle after it changes: the host only ever advances it, so the NIC sees
// at most one cycle less room than there is, never more.
// Otherwise it counts FILTER_LOG_DROPPED and the next record's DROPPED field
// grows by one (saturating). Ring full is "difference >= size", so a bogus
// LOG_CONS cannot make the NIC overwrite records the host still owns.
//
// The writer takes the FIFO's head into a holding register, assigns it the
// producer index there and offers it to the DMA write arbiter as the lowest
// priority requester: frame writes never wait for a record beyond the one
// beat already shown. The configuration is checked again when a record is
// taken from the FIFO (LOG_CFG or LOG_CONS may have changed since the
// event): a record with no place is dropped and counted the same way.
//
// Token bucket: LOG_RATE bits 31:0 are cycles per token (0: unlimited),
// bits 47:32 the most tokens held. Writing LOG_RATE fills the bucket, so a
// burst is available at once. The refill counts core cycles, like
// CTRL.CYCLES.
//
// LOG_CFG writes reset the producer index and the DROPPED carry: a new ring
// starts with no history. LOG2 > MAX_RING_LOG2 is treated as no ring (SEQ is
// 16 bits). LOG_BASE's low 6 bits are ignored so a record is one aligned beat.
module filter_log
#(
  parameter int unsigned FifoDepth = 4,
  parameter int unsigned SlotW = 12
) (
  input  logic                                clk_i,
  input  logic                                rst_ni,
  // LOG verdicts of the two lookup ports (0 INPUT, 1 OUTPUT), with the key
  // they judged: it holds every header and owner field a record carries.
  input  logic [1:0]                          ev_valid_i,
  input  logic [1:0][norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0]  ev_key_i,
  input  logic [1:0][norman_regmap_pkg::FILTER_FLAGS_W-1:0]      ev_flags_i,
  input  logic [1:0][15:0]                    ev_bytes_i,
  input  logic [1:0][SlotW-1:0]               ev_slot_i,
  input  logic [63:0]                         cycle_i,      // CTRL.CYCLES
  // FILTER.LOG_* registers.
  input  logic [63:0]                         base_i,
  input  logic [4:0]                          log2_i,
  input  logic                                cfg_we_i,     // LOG_CFG written this cycle
  input  logic [15:0]                         cons_i,
  input  logic [31:0]                         rate_period_i,
  input  logic [15:0]                         rate_burst_i,
  input  logic                                rate_we_i,    // LOG_RATE written this cycle
  // DMA write requester (one beat per request).
  output logic                                wr_valid_o,
  input  logic                                wr_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]                 wr_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]                  wr_len_o,
  output logic [norman_pkg::DataW-1:0]                    wr_data_o,
  output logic                                wr_last_o,
  // FILTER_LOG_WRITTEN as a pulse; FILTER_LOG_DROPPED as an amount (up to
  // three events may go unwritten in one cycle).
  output logic [norman_regmap_pkg::NUM_COUNTERS-1:0]             cnt_o,
  output logic                                drop_valid_o,
  output logic [1:0]                          drop_count_o,
  output logic                                idle_o
);
  localparam int unsigned PtrW = $clog2(FifoDepth);
  localparam int unsigned CountW = $clog2(FifoDepth + 1);

  typedef struct packed {
    logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0] key;
    logic [norman_regmap_pkg::FILTER_FLAGS_W-1:0]     flags;
    logic [15:0]                   bytes;
    logic [15:0]                   slot;
    logic [63:0]                   cycle;
    logic [31:0]                   dropped;  // unwritten LOG verdicts before this one
  } entry_t;

  function automatic logic [31:0] sat_add(logic [31:0] a, logic [31:0] b);
    logic [32:0] s;
    s = 33'(a) + 33'(b);
    sat_add = s[32] ? '1 : s[31:0];
  endfunction

  // ---------------------------------------------------------------- config
  logic ring_on;
  logic [15:0] size;
  assign ring_on = log2_i != '0 && 32'(log2_i) <= norman_regmap_pkg::MAX_RING_LOG2;
  assign size = 16'(17'd1 << log2_i);

  // ---------------------------------------------------------------- token bucket
  logic [15:0] tokens_q;
  logic [31:0] tick_q;
  logic unlimited, refill;
  assign unlimited = rate_period_i == '0;
  assign refill = !unlimited && tick_q + 32'd1 >= rate_period_i;

  // ---------------------------------------------------------------- acceptance
  logic [PtrW-1:0] wr_ptr_q, rd_ptr_q;
  logic [CountW-1:0] count_q;
  logic [15:0] prod_q;          // index of the next record to be loaded for writing
  logic [15:0] used_q;          // prod_q - LOG_CONS of the previous cycle: ring slots in use
  logic [31:0] carry_q;         // unwritten verdicts since the last taken event
  // Plain vectors: Yosys mis-sizes memories of a struct type.
  entry_t head;  // the FIFO's head record (writer)
  logic [$bits(head)-1:0] mem_q [FifoDepth];

  logic [1:0] take;
  logic [1:0] n_take, n_drop_ev;
  logic [1:0][31:0] ev_dropped;
  logic [31:0] carry_d;
  // Everything an event's decision needs, for n = 0 or 1 events taken
  // before it in this cycle, is computed from flip-flops and inputs in
  // parallel; the decisions then only select. Chaining each port's decision
  // into the next one's sums and compares was 12 LUT levels.
  logic [1:0] ok_n;             // ring room, FIFO room and a token
  logic [31:0] carry_p1, carry_p2;  // carry_q + 1 and + 2, saturating
  always_comb begin
    for (int unsigned n = 0; n < 2; n++) begin
      // Records taken but not written yet occupy ring slots already.
      ok_n[n] = ring_on
                && (used_q + 16'(count_q) + 16'(n)) < size
                && 32'(count_q) + n < FifoDepth
                && (unlimited || 32'(tokens_q) > n);
    end
    carry_p1 = sat_add(carry_q, 32'd1);
    carry_p2 = sat_add(carry_q, 32'd2);
  end

  // The carry after some events: zero once one was taken, then the drops
  // since; else carry_q plus the drops (saturating, as one sat_add each).
  function automatic logic [31:0] carry_of(logic zero, logic [1:0] k, logic [31:0] c0,
                                           logic [31:0] c1, logic [31:0] c2);
    if (zero) carry_of = 32'(k);
    else if (k == 2'd0) carry_of = c0;
    else if (k == 2'd1) carry_of = c1;
    else carry_of = c2;
  endfunction

  always_comb begin
    logic [1:0] n;
    logic zero;
    logic [1:0] k;
    n = '0;
    zero = 1'b0;
    k = '0;
    take = '0;
    n_drop_ev = '0;
    ev_dropped = '0;
    for (int unsigned i = 0; i < 2; i++) begin
      if (ev_valid_i[i]) begin
        if ((n == 2'd0) ? ok_n[0] : ok_n[1]) begin
          take[i] = 1'b1;
          ev_dropped[i] = carry_of(zero, k, carry_q, carry_p1, carry_p2);
          zero = 1'b1;
          k = '0;
          n = n + 2'd1;
        end else begin
          k = k + 2'd1;
          n_drop_ev = n_drop_ev + 2'd1;
        end
      end
    end
    n_take = n;
    carry_d = carry_of(zero, k, carry_q, carry_p1, carry_p2);
  end

  // Taken events go to consecutive FIFO slots in port order. The wide
  // entries are only assembled in the cycles an event is taken.
  function automatic logic [PtrW-1:0] ptr_add(logic [PtrW-1:0] p, int unsigned k);
    ptr_add = PtrW'((32'(p) + k) % FifoDepth);
  endfunction

  always_ff @(posedge clk_i) begin
    for (int unsigned i = 0; i < 2; i++) begin
      if (take[i]) begin
        // In entry_t's field order (Yosys reads no named struct patterns).
        mem_q[ptr_add(wr_ptr_q, (i == 1) ? 32'(take[0]) : 0)] <=
            {ev_key_i[i], ev_flags_i[i], ev_bytes_i[i], 16'(ev_slot_i[i]), cycle_i, ev_dropped[i]};
      end
    end
  end

  // ---------------------------------------------------------------- writer
  logic out_valid_q;
  logic [norman_pkg::DmaAddrW-1:0] out_addr_q;
  logic [norman_pkg::DataW-1:0] out_data_q;
  logic [31:0] wcarry_q;         // records dropped by the writer since the last written one
  logic head_valid, head_room, load, pop, wdrop;
  assign head_valid = count_q != '0;
  assign head = mem_q[rd_ptr_q];  // a read port of the FIFO memory, as in sync_fifo
  assign head_room = ring_on && used_q < size;
  // The holding register frees up as its record is accepted, so a record
  // can go out every cycle.
  assign pop = head_valid && (!out_valid_q || wr_ready_i);
  assign load = pop && head_room;
  assign wdrop = pop && !head_room;

  function automatic logic [norman_pkg::DataW-1:0] record(entry_t e, logic [15:0] seq);
    logic [7:0][63:0] w;
    logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0] k;
    k = e.key;
    w = '0;
    w[norman_regmap_pkg::FILTER_LOG_DIR_WORD][norman_regmap_pkg::FILTER_LOG_DIR_LSB +: norman_regmap_pkg::FILTER_LOG_DIR_W] = e.flags[norman_regmap_pkg::FLT_FLAG_DIR];
    w[norman_regmap_pkg::FILTER_LOG_PORT_WORD][norman_regmap_pkg::FILTER_LOG_PORT_LSB +: norman_regmap_pkg::FILTER_LOG_PORT_W] =
        norman_regmap_pkg::FILTER_LOG_PORT_W'(k[norman_regmap_pkg::FLT_IFACE_LSB +: norman_regmap_pkg::FLT_IFACE_W]);
    w[norman_regmap_pkg::FILTER_LOG_PROTO_WORD][norman_regmap_pkg::FILTER_LOG_PROTO_LSB +: norman_regmap_pkg::FILTER_LOG_PROTO_W] = k[norman_regmap_pkg::FLT_PROTO_LSB +: norman_regmap_pkg::FLT_PROTO_W];
    w[norman_regmap_pkg::FILTER_LOG_FLAGS_WORD][norman_regmap_pkg::FILTER_LOG_FLAGS_LSB +: norman_regmap_pkg::FILTER_LOG_FLAGS_W] = e.flags;
    w[norman_regmap_pkg::FILTER_LOG_SLOT_WORD][norman_regmap_pkg::FILTER_LOG_SLOT_LSB +: norman_regmap_pkg::FILTER_LOG_SLOT_W] = e.slot;
    w[norman_regmap_pkg::FILTER_LOG_BYTES_WORD][norman_regmap_pkg::FILTER_LOG_BYTES_LSB +: norman_regmap_pkg::FILTER_LOG_BYTES_W] = e.bytes;
    w[norman_regmap_pkg::FILTER_LOG_SRC_IP_WORD][norman_regmap_pkg::FILTER_LOG_SRC_IP_LSB +: norman_regmap_pkg::FILTER_LOG_SRC_IP_W] = k[norman_regmap_pkg::FLT_SRC_IP_LSB +: norman_regmap_pkg::FLT_SRC_IP_W];
    w[norman_regmap_pkg::FILTER_LOG_DST_IP_WORD][norman_regmap_pkg::FILTER_LOG_DST_IP_LSB +: norman_regmap_pkg::FILTER_LOG_DST_IP_W] = k[norman_regmap_pkg::FLT_DST_IP_LSB +: norman_regmap_pkg::FLT_DST_IP_W];
    w[norman_regmap_pkg::FILTER_LOG_SPORT_WORD][norman_regmap_pkg::FILTER_LOG_SPORT_LSB +: norman_regmap_pkg::FILTER_LOG_SPORT_W] = k[norman_regmap_pkg::FLT_SPORT_LSB +: norman_regmap_pkg::FLT_SPORT_W];
    w[norman_regmap_pkg::FILTER_LOG_DPORT_WORD][norman_regmap_pkg::FILTER_LOG_DPORT_LSB +: norman_regmap_pkg::FILTER_LOG_DPORT_W] = k[norman_regmap_pkg::FLT_DPORT_LSB +: norman_regmap_pkg::FLT_DPORT_W];
    w[norman_regmap_pkg::FILTER_LOG_CMD_ID_WORD][norman_regmap_pkg::FILTER_LOG_CMD_ID_LSB +: norman_regmap_pkg::FILTER_LOG_CMD_ID_W] =
        k[norman_regmap_pkg::FLT_CMD_ID_LSB +: norman_regmap_pkg::FLT_CMD_ID_W];
    w[norman_regmap_pkg::FILTER_LOG_CGROUP_WORD][norman_regmap_pkg::FILTER_LOG_CGROUP_LSB +: norman_regmap_pkg::FILTER_LOG_CGROUP_W] =
        k[norman_regmap_pkg::FLT_CGROUP_LSB +: norman_regmap_pkg::FLT_CGROUP_W];
    w[norman_regmap_pkg::FILTER_LOG_UID_WORD][norman_regmap_pkg::FILTER_LOG_UID_LSB +: norman_regmap_pkg::FILTER_LOG_UID_W] = k[norman_regmap_pkg::FLT_UID_LSB +: norman_regmap_pkg::FLT_UID_W];
    w[norman_regmap_pkg::FILTER_LOG_GID_WORD][norman_regmap_pkg::FILTER_LOG_GID_LSB +: norman_regmap_pkg::FILTER_LOG_GID_W] = k[norman_regmap_pkg::FLT_GID_LSB +: norman_regmap_pkg::FLT_GID_W];
    w[norman_regmap_pkg::FILTER_LOG_CYCLE_WORD][norman_regmap_pkg::FILTER_LOG_CYCLE_LSB +: norman_regmap_pkg::FILTER_LOG_CYCLE_W] = e.cycle;
    w[norman_regmap_pkg::FILTER_LOG_DROPPED_WORD][norman_regmap_pkg::FILTER_LOG_DROPPED_LSB +: norman_regmap_pkg::FILTER_LOG_DROPPED_W] = e.dropped;
    w[norman_regmap_pkg::FILTER_LOG_SEQ_WORD][norman_regmap_pkg::FILTER_LOG_SEQ_LSB +: norman_regmap_pkg::FILTER_LOG_SEQ_W] = seq;
    record = norman_pkg::DataW'(w);
  endfunction

  // Wide registers move only with a record. Records the writer had to drop
  // are reported with the next one written.
  entry_t out_e;  // the head record with the writer's drops
  always_comb begin
    out_e = head;
    out_e.dropped = sat_add(head.dropped, wcarry_q);
  end

  always_ff @(posedge clk_i) begin
    if (load) begin
      out_addr_q <= {base_i[63:6], 6'd0}
                    + (64'(16'(prod_q & (size - 16'd1))) << $clog2(norman_regmap_pkg::FILTER_LOG_RECORD_BYTES));
      out_data_q <= record(out_e, prod_q + 16'd1);
    end
  end

  assign wr_valid_o = out_valid_q;
  assign wr_addr_o = out_addr_q;
  assign wr_len_o = norman_pkg::DmaLenW'(norman_regmap_pkg::FILTER_LOG_RECORD_BYTES);
  assign wr_data_o = out_data_q;
  assign wr_last_o = 1'b1;

  // ---------------------------------------------------------------- state
  // The bucket after spending k tokens (one per taken event) and the
  // refill, for each k, so the taken count only selects.
  logic [2:0][15:0] tokens_after;
  always_comb begin
    for (int unsigned k = 0; k < 3; k++) begin
      logic [16:0] t;
      t = 17'(tokens_q) - 17'(k);
      if (refill && t < 17'(rate_burst_i)) t = t + 17'd1;
      tokens_after[k] = t[15:0];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q <= '0;
      rd_ptr_q <= '0;
      count_q <= '0;
      prod_q <= '0;
      used_q <= '0;
      carry_q <= '0;
      wcarry_q <= '0;
      out_valid_q <= 1'b0;
      tokens_q <= '0;
      tick_q <= '0;
    end else begin
      wr_ptr_q <= ptr_add(wr_ptr_q, 32'(n_take));
      if (pop) rd_ptr_q <= ptr_add(rd_ptr_q, 1);
      count_q <= count_q + CountW'(n_take) - CountW'(pop);
      if (load) out_valid_q <= 1'b1;
      else if (wr_ready_i) out_valid_q <= 1'b0;
      // A record loaded in the cycle of a LOG_CFG write belongs to the old ring.
      if (cfg_we_i) prod_q <= '0;
      else if (load) prod_q <= prod_q + 16'd1;
      // The producer as just updated minus this cycle's LOG_CONS: the three
      // differences in parallel, the update only selects (the ring-room
      // tests then need no subtraction of their own).
      if (cfg_we_i) used_q <= 16'd0 - cons_i;
      else if (load) used_q <= prod_q + 16'd1 - cons_i;
      else used_q <= prod_q - cons_i;
      carry_q <= cfg_we_i ? '0 : carry_d;
      if (cfg_we_i || load) wcarry_q <= '0;
      else if (wdrop) wcarry_q <= sat_add(wcarry_q, 32'd1);
      // Bucket: refill one token per period up to the burst; spend one per taken event.
      if (rate_we_i) begin
        tokens_q <= rate_burst_i;
        tick_q <= '0;
      end else if (!unlimited) begin
        unique case (n_take)
          2'd0: tokens_q <= tokens_after[0];
          2'd1: tokens_q <= tokens_after[1];
          default: tokens_q <= tokens_after[2];
        endcase
        tick_q <= refill ? '0 : tick_q + 32'd1;
      end
    end
  end

  always_comb begin
    cnt_o = '0;
    cnt_o[norman_regmap_pkg::CNT_FILTER_LOG_WRITTEN] = out_valid_q && wr_ready_i;
  end
  assign drop_count_o = n_drop_ev + 2'(wdrop);
  assign drop_valid_o = drop_count_o != '0;
  assign idle_o = count_q == '0 && !out_valid_q;

  // Records are whole aligned beats: LOG_BASE's offset within a beat is ignored.
  logic unused;
  assign unused = ^base_i[5:0];
endmodule

// Token buckets of -m limit, one per limiter slot, with Linux's xt_limit
// arithmetic to the packet (kernel/filter/rate_limit.hpp is the
// specification; docs/ratelimit.md the design around it).
//
// Each slot holds {credit, prev, cost, cap} (32 bits each, block RAM). The
// NIC keeps its own jiffies: a counter that advances every CyclesPerJiffy
// core cycles (1e6 at 250 MHz for HZ 250). A request (slot) is answered
// `admit` in request order, four cycles later, exactly as limit_mt() would
// answer for the same packets at the same jiffies:
//   inc    = ((now - prev) << cpj_log2) mod 2^32   (credit_increase, u32)
//   credit = min(cap, (credit + inc) mod 2^32)
//   admit  = credit >= cost; if admit, credit -= cost; prev = now
//
// Pipeline (one request per cycle, no stall except around a tick):
//   S0  accept, read the slot (registered block-RAM read), latch `now`
//   S1  inc from now - prev
//   S2  sum = credit + inc
//   S3  clamp to cap; or, when a packet of the same slot is ahead (its
//       write not yet visible to this packet's read), take its credit
//   S4  compare/subtract, write back, answer
// Forwarding is exact because every packet in flight has the same `now`:
// the jiffy counter only advances when the pipeline is empty (the module
// refuses requests for the few cycles it takes to drain before a tick, a
// cost of 5 cycles in CyclesPerJiffy), so a forwarded credit needs no
// refill. Configuration writes (a rule's limiter set or reset: credit =
// cap, the bucket full) also wait for an empty pipeline.
//
// Combinational depth: S1 is one subtract and a constant-range shifter
// (mux), S2 one adder, S3 one comparator and a three-way mux with a
// four-entry slot match, S4 one subtractor (its borrow is the decision) and
// the forward mux: each within a 32-bit carry chain and a few LUTs.
module filter_limit
#(
  parameter int unsigned Slots = 1024,
  parameter int unsigned CyclesPerJiffy = 1000000
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic [4:0]               cpj_log2_i,    // log2(CREDITS_PER_JIFFY): 7 for HZ 100..300
  // Requests: one packet's limiter slot per cycle.
  input  logic                     req_valid_i,
  output logic                     req_ready_o,
  input  logic [$clog2(Slots)-1:0] req_slot_i,
  // Answers, in request order.
  output logic                     rsp_valid_o,
  output logic [$clog2(Slots)-1:0] rsp_slot_o,
  output logic                     rsp_admit_o,
  // Configuration: the slot's cost and cap (xt_limit's user2credits of avg
  // and of avg * burst, computed by the host); the bucket starts full.
  input  logic                     cfg_valid_i,
  output logic                     cfg_ready_o,
  input  logic [$clog2(Slots)-1:0] cfg_slot_i,
  input  logic [31:0]              cfg_cost_i,
  input  logic [31:0]              cfg_cap_i,
  output logic [31:0]              jiffies_o
);
  localparam int unsigned SlotW = $clog2(Slots);
  localparam int unsigned TickW = $clog2(CyclesPerJiffy);

  typedef struct packed {
    logic [31:0] credit;
    logic [31:0] prev;
    logic [31:0] cost;
    logic [31:0] cap;
  } slot_t;

  slot_t mem_q [Slots];

  // Jiffies: the core-cycle counter runs freely (so jiffies keep the NIC
  // clock's rate); the jiffy it completes is applied once the pipeline is
  // empty, a few cycles late at most.
  logic [TickW-1:0] cycle_q;
  logic [31:0]      jiffies_q;
  logic             pending_q;  // a jiffy completed, not yet applied
  logic             busy;
  logic             tick;
  // Stage registers.
  logic             v1_q, v2_q, v3_q, v4_q;
  logic [SlotW-1:0] s1_q, s2_q, s3_q, s4_q;
  slot_t            d1_q;                       // S1: the slot as read
  logic [31:0]      inc2_q;                     // S2 inputs
  slot_t            d2_q;
  logic [31:0]      sum3_q;                     // S3 inputs
  slot_t            d3_q;
  logic [31:0]      credit4_q;                  // S4 inputs
  logic [31:0]      cost4_q, cap4_q;

  // Recent write-backs: a packet's S0 read does not see the writes of the
  // cycles it spent in S0..S2, so S3 takes those from here (youngest first).
  logic [2:0]             hv_q;
  logic [2:0][SlotW-1:0]  hs_q;
  logic [2:0][31:0]       hc_q;

  assign busy = v1_q | v2_q | v3_q | v4_q;
  // No request enters while a jiffy is pending, so the pipeline drains and
  // the counter advances with nothing in flight.
  assign tick = pending_q && !busy;
  assign req_ready_o = !pending_q && !cfg_valid_i;
  assign cfg_ready_o = !busy && !pending_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cycle_q   <= '0;
      jiffies_q <= '0;
      pending_q <= 1'b0;
    end else begin
      cycle_q <= (cycle_q == TickW'(CyclesPerJiffy - 1)) ? '0 : cycle_q + TickW'(1);
      if (tick) jiffies_q <= jiffies_q + 32'd1;
      // A jiffy completing while the previous is still pending (only if the
      // pipeline stayed busy for CyclesPerJiffy cycles, which it cannot:
      // requests stop while one is pending) would be lost; none is.
      pending_q <= (cycle_q == TickW'(CyclesPerJiffy - 1)) || (pending_q && !tick);
    end
  end
  assign jiffies_o = jiffies_q;

  // S0 -> S1: the registered read.
  logic accept;
  assign accept = req_valid_i && req_ready_o;
  always_ff @(posedge clk_i) begin
    d1_q <= mem_q[req_slot_i];
  end

  // S1: inc = ((now - prev) << cpj_log2) mod 2^32.
  logic [31:0] delta1;
  assign delta1 = jiffies_q - d1_q.prev;

  // S3: clamp, or forward from a packet ahead of this one.
  logic [31:0] capped3;
  logic [31:0] fwd3;
  logic        hit3;
  assign capped3 = (sum3_q > d3_q.cap) ? d3_q.cap : sum3_q;
  always_comb begin
    hit3 = 1'b0;
    fwd3 = '0;
    for (int i = 2; i >= 0; i--) begin  // youngest (index 0) wins
      if (hv_q[i] && hs_q[i] == s3_q) begin
        hit3 = 1'b1;
        fwd3 = hc_q[i];
      end
    end
  end

  // S4: the decision (borrow of credit - cost) and the new credit.
  logic [32:0] diff4;
  logic        admit4;
  logic [31:0] new4;
  assign diff4  = {1'b0, credit4_q} - {1'b0, cost4_q};
  assign admit4 = !diff4[32];
  assign new4   = admit4 ? diff4[31:0] : credit4_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
      v3_q <= 1'b0;
      v4_q <= 1'b0;
      hv_q <= '0;
    end else begin
      v1_q <= accept;
      v2_q <= v1_q;
      v3_q <= v2_q;
      v4_q <= v3_q;
      // History of write-backs; cleared at a tick (the pipeline is empty
      // then and every write is visible to later reads).
      hv_q <= tick ? 3'b000 : {hv_q[1:0], v4_q};
    end
  end

  always_ff @(posedge clk_i) begin
    s1_q <= req_slot_i;
    s2_q <= s1_q;
    s3_q <= s2_q;
    s4_q <= s3_q;
    inc2_q <= delta1 << cpj_log2_i;
    d2_q <= d1_q;
    sum3_q <= d2_q.credit + inc2_q;
    d3_q <= d2_q;
    // Into S4: the packet just ahead (now in S4) forwards its new credit;
    // an older one comes from the history; else the refilled credit.
    if (v4_q && s4_q == s3_q) begin
      credit4_q <= new4;
    end else if (hit3) begin
      credit4_q <= fwd3;
    end else begin
      credit4_q <= capped3;
    end
    cost4_q <= d3_q.cost;
    cap4_q  <= d3_q.cap;
    hs_q <= {hs_q[1:0], s4_q};
    hc_q <= {hc_q[1:0], new4};
  end

  // Write port: the answered packet's state, or a configuration (which only
  // happens with the pipeline empty).
  always_ff @(posedge clk_i) begin
    if (v4_q) begin
      mem_q[s4_q] <= '{credit: new4, prev: jiffies_q, cost: cost4_q, cap: cap4_q};
    end else if (cfg_valid_i && cfg_ready_o) begin
      mem_q[cfg_slot_i] <= '{credit: cfg_cap_i, prev: jiffies_q, cost: cfg_cost_i, cap: cfg_cap_i};
    end
  end

  assign rsp_valid_o = v4_q;
  assign rsp_slot_o  = s4_q;
  assign rsp_admit_o = admit4;

  logic unused;
  assign unused = ^{d3_q.credit, d3_q.prev};
endmodule

// Exact-match tables of the filter overlay for one lookup port, beside the
// range slots of filter_classifier (FILTER_EXACT_* in the register map).
//
// Tables hash tables of 2^BucketsLog2 buckets x Ways entries. Entry e of
// table t matches a key when e.valid and (vector & mask_t) == e.value, where
// the vector is {flags, range key} and mask_t the table's mask; it can only
// be found in bucket hash_t(vector & mask_t) (filter_exact_hash), which is
// where the driver puts it. The answer is the lowest (prio, location) among
// the matches of all tables, location = ((t << BucketsLog2) | bucket) * Ways
// + way.
//
// Pipeline (one key per cycle, Latency cycles from key_valid_i to res_valid_o):
//   E0   vector and bank registered
//   H1   per table: vector & mask, XOR fold            (filter_exact_hash)
//   H2   per table: the two partial products
//   H3   per table: the bucket, registered: the memory's read address
//   E4   one bucket (all ways) of every table read, registered
//   E5   per table: compare every way, the best of the bucket
//   E6   the best of the tables
//   pad  Latency - 7 stages, so that the answer comes with filter_classifier's
// Every stage is a flop loaded only by its key's valid bit: idle cycles cost
// nothing in simulation, and no stage depends on what the tables hold.
//
// Banks: the memories and masks exist twice, like the range slots. A key
// reads bank_i as it was when it entered (filter_classifier's bank_o); a
// write goes to the other bank. shadow_ready_i (no commit waiting or
// draining) gates writes, so a bank is written only when no key reads it.
// A write accepted in the cycle of a commit belongs to the bank it makes
// active: every key of that bank sees it.
//
// Writes: one per cycle, applied the cycle after acceptance: an entry into
// its location's way of its bucket (the memories have a write enable per way,
// so no read is needed), or a table's mask. A write to a location >= Entries
// or with an unknown action, or a mask of a table >= Tables, changes nothing
// and pulses wr_refused_o in the cycle it is accepted.
//
// Reset: a sweep clears the valid bits of both banks, one bucket of every
// table per cycle (2^(BucketsLog2+1) cycles); keys miss and writes wait
// meanwhile. Masks reset to zero.
module filter_exact #(
  parameter int unsigned Tables = norman_regmap_pkg::FILTER_EXACT_TABLES,
  parameter int unsigned BucketsLog2 = norman_regmap_pkg::FILTER_EXACT_BUCKETS_LOG2,
  parameter int unsigned Ways = norman_regmap_pkg::FILTER_EXACT_WAYS,
  parameter int unsigned Latency = 7,
  localparam int unsigned Entries = Tables * (2 ** BucketsLog2) * Ways,
  localparam int unsigned LocW = (Entries > 1) ? $clog2(Entries) : 1,
  localparam int unsigned VecW = norman_regmap_pkg::FILTER_EXACT_VECTOR_W
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  // Lookup: one key per cycle, no back-pressure.
  input  logic                            key_valid_i,
  input  logic [VecW-1:0]                 vec_i,
  input  logic                            bank_i,
  output logic                            res_valid_o,
  output logic                            res_hit_o,
  output logic [LocW-1:0]                 res_loc_o,
  output logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     res_prio_o,
  output logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      res_action_o,
  output logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] res_reject_with_o,
  output logic                            res_log_o,
  // Writes into the shadow bank: an entry at location wr_idx_i, or
  // (wr_mask_i) the mask of table wr_idx_i.
  input  logic                            shadow_ready_i,
  input  logic                            wr_valid_i,
  output logic                            wr_ready_o,
  input  logic                            wr_mask_i,
  input  logic [15:0]                     wr_idx_i,
  input  logic [VecW-1:0]                 wr_vec_i,
  input  logic                            wr_entry_valid_i,
  input  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     wr_prio_i,
  input  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      wr_action_i,
  input  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] wr_reject_with_i,
  input  logic                            wr_log_i,
  output logic                            wr_refused_o,
  output logic                            idle_o
);
  localparam int unsigned PrioW = norman_regmap_pkg::FILTER_PRIO_BITS;
  localparam int unsigned RejW = norman_regmap_pkg::FILTER_REJECT_WITH_W;
  localparam int unsigned Buckets = 2 ** BucketsLog2;
  localparam int unsigned WayW = (Ways > 1) ? $clog2(Ways) : 0;
  localparam int unsigned WaySelW = (Ways > 1) ? WayW : 1;
  localparam int unsigned TableSelW = (Tables > 1) ? $clog2(Tables) : 1;
  localparam int unsigned AddrW = BucketsLog2 + 1;  // {bank, bucket}
  localparam int unsigned Stages = 7;  // E0 .. E6
  localparam int unsigned Pad = Latency - Stages;

  if (Latency < Stages) begin : g_latency_check
    $error("filter_exact: Latency must be at least 7");
  end
  if ((Ways & (Ways - 1)) != 0 || Tables < 1 || Entries > 65536) begin : g_geometry_check
    $error("filter_exact: Ways must be a power of two, 1 <= Tables, Entries <= 65536");
  end

  // ACCEPT, DROP and REJECT fit in two bits; nothing else is ever written.
  typedef struct packed {
    logic               valid;
    logic [PrioW-1:0]   prio;
    logic [1:0]         action;
    logic [RejW-1:0]    rej;
    logic               log;
    logic [VecW-1:0]    value;
  } entry_t;

  typedef struct packed {
    logic             v;
    logic [PrioW-1:0] p;
    logic [LocW-1:0]  loc;
    logic [1:0]       action;
    logic [RejW-1:0]  rej;
    logic             log;
  } node_t;

  // The better of two candidates, a at the lower location: ties go to a.
  function automatic node_t best(node_t a, node_t b);
    best = (b.v && (!a.v || b.p < a.p)) ? b : a;
  endfunction

  // ---------------------------------------------------------------------------
  // Storage: per table one memory of buckets (all ways in one word, a write
  // enable per way), address {bank, bucket}; masks in flops.
  entry_t [Ways-1:0] mem_q [Tables][2 * Buckets];
  logic [Tables-1:0][VecW-1:0] mask_q [2];

  // ---------------------------------------------------------------------------
  // Writes and the reset sweep.
  logic sweeping_q;
  logic [AddrW-1:0] sweep_q;
  logic wr_accept, wr_bad;
  logic wq_valid_q, wq_mask_q, wq_bank_q, wq_bad_q;
  logic [15:0] wq_idx_q;
  entry_t wq_entry_q;

  assign wr_ready_o = shadow_ready_i && !sweeping_q;
  assign wr_accept = wr_valid_i && wr_ready_o;
  assign wr_bad = wr_mask_i ? (32'(wr_idx_i) >= Tables)
                            : (32'(wr_idx_i) >= Entries
                               || !norman_regmap_pkg::filter_action_ok(32'(wr_action_i)));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sweeping_q <= 1'b1;
      sweep_q <= '0;
      wq_valid_q <= 1'b0;
    end else begin
      if (sweeping_q) begin
        sweep_q <= sweep_q + 1'b1;
        if (sweep_q == '1) sweeping_q <= 1'b0;
      end
      wq_valid_q <= wr_accept;
    end
  end

  always_ff @(posedge clk_i) begin
    if (wr_accept) begin
      wq_mask_q <= wr_mask_i;
      wq_idx_q <= wr_idx_i;
      wq_bank_q <= ~bank_i;
      wq_bad_q <= wr_bad;
      wq_entry_q.valid <= wr_entry_valid_i;
      wq_entry_q.prio <= wr_prio_i;
      wq_entry_q.action <= 2'(wr_action_i);
      wq_entry_q.rej <= wr_reject_with_i;
      wq_entry_q.log <= wr_log_i;
      wq_entry_q.value <= wr_vec_i;
    end
  end

  // Location = ((table << BucketsLog2) | bucket) * Ways + way; a mask write
  // names its table directly.
  logic wq_go;
  logic [WaySelW-1:0] wq_way;
  logic [BucketsLog2-1:0] wq_bucket;
  logic [15:0] wq_table;
  logic [TableSelW-1:0] wq_mask_table;
  assign wq_go = wq_valid_q && !wq_bad_q;
  assign wq_way = WaySelW'(32'(wq_idx_q) & (Ways - 1));
  assign wq_bucket = BucketsLog2'(32'(wq_idx_q) >> WayW);
  assign wq_table = wq_idx_q >> (WayW + BucketsLog2);
  assign wq_mask_table = TableSelW'(wq_idx_q);

  for (genvar t = 0; t < Tables; t++) begin : g_mem
    always_ff @(posedge clk_i) begin
      if (sweeping_q) begin
        mem_q[t][sweep_q] <= '0;
      end else if (wq_go && !wq_mask_q && 32'(wq_table) == t) begin
        mem_q[t][{wq_bank_q, wq_bucket}][wq_way] <= wq_entry_q;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mask_q[0] <= '0;
      mask_q[1] <= '0;
    end else if (wq_go && wq_mask_q) begin
      mask_q[wq_bank_q][wq_mask_table] <= wq_entry_q.value;
    end
  end

  // In the cycle of acceptance, so that a counter of refusals is up to date
  // for the next register access.
  assign wr_refused_o = wr_accept && wr_bad;

  // ---------------------------------------------------------------------------
  // Lookup pipeline. v_q[s] is the valid bit of stage s (E0 = 0).
  logic [Latency-1:0] v_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) v_q <= '0;
    else v_q <= {v_q[Latency-2:0], key_valid_i};
  end

  // Vector, bank and "not sweeping" travel to the compare (E5).
  logic [VecW-1:0] vec_q [5];
  logic bank_q [5];
  logic ok_q [5];

  always_ff @(posedge clk_i) begin
    if (key_valid_i) begin
      vec_q[0] <= vec_i;
      bank_q[0] <= bank_i;
      ok_q[0] <= !sweeping_q;
    end
    for (int unsigned s = 1; s < 5; s++) begin
      if (v_q[s-1]) begin
        vec_q[s] <= vec_q[s-1];
        bank_q[s] <= bank_q[s-1];
        ok_q[s] <= ok_q[s-1];
      end
    end
  end

  // H1..H3 and E4: hash, then read the bucket. The masks of a key's bank
  // are written only while it is the shadow, so stable while it is in flight.
  logic [Tables-1:0][BucketsLog2-1:0] bucket3, bucket4_q;
  entry_t [Tables-1:0][Ways-1:0] rd_q;

  for (genvar t = 0; t < Tables; t++) begin : g_table
    filter_exact_hash #(.Table(t), .BucketsLog2(BucketsLog2)) u_hash (
      .clk_i,
      .en_i    (v_q[2:0]),
      .vec_i   (vec_q[0] & mask_q[bank_q[0]][t]),
      .bucket_o(bucket3[t])
    );

    always_ff @(posedge clk_i) begin
      if (v_q[3]) begin
        rd_q[t] <= mem_q[t][{bank_q[3], bucket3[t]}];
        bucket4_q[t] <= bucket3[t];
      end
    end
  end

  // E5: per table, every way compared; the best of the bucket.
  node_t [Tables-1:0] tbest_q;

  always_ff @(posedge clk_i) begin
    if (v_q[4]) begin
      for (int unsigned t = 0; t < Tables; t++) begin
        logic [VecW-1:0] masked;
        node_t b, c;
        masked = vec_q[4] & mask_q[bank_q[4]][t];
        b = '0;
        for (int unsigned w = 0; w < Ways; w++) begin
          c.v = ok_q[4] && rd_q[t][w].valid && (rd_q[t][w].value == masked);
          c.p = rd_q[t][w].prio;
          c.loc = LocW'(((t << BucketsLog2) | 32'(bucket4_q[t])) * Ways + w);
          c.action = rd_q[t][w].action;
          c.rej = rd_q[t][w].rej;
          c.log = rd_q[t][w].log;
          b = best(b, c);
        end
        tbest_q[t] <= b;
      end
    end
  end

  // E6: the best of the tables (lower tables hold the lower locations).
  node_t out_q [Pad + 1];

  always_ff @(posedge clk_i) begin
    if (v_q[5]) begin
      node_t b;
      b = '0;
      for (int unsigned t = 0; t < Tables; t++) b = best(b, tbest_q[t]);
      out_q[0] <= b;
    end
    for (int unsigned s = 1; s <= Pad; s++) begin
      if (v_q[Stages+s-2]) out_q[s] <= out_q[s-1];
    end
  end

  assign res_valid_o = v_q[Latency-1];
  assign res_hit_o = out_q[Pad].v;
  assign res_loc_o = out_q[Pad].loc;
  assign res_prio_o = out_q[Pad].p;
  assign res_action_o = norman_regmap_pkg::FILTER_ACTION_W'(out_q[Pad].action);
  assign res_reject_with_o = out_q[Pad].rej;
  assign res_log_o = out_q[Pad].log;

  assign idle_o = (v_q == '0) && !wq_valid_q && !sweeping_q;
endmodule

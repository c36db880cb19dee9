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

  // An entry and a selection node as flat vectors (Yosys mis-sizes memories
  // and packed arrays of structs). ACCEPT, DROP and REJECT fit in two bits;
  // nothing else is ever written.
  //   entry: {valid, prio, action[1:0], rej, log, value}
  //   node:  {v, prio, loc, action[1:0], rej, log}
  localparam int unsigned MetaW = 2 + RejW + 1;  // {action, rej, log}
  localparam int unsigned EntryW = 1 + PrioW + MetaW + VecW;
  localparam int unsigned NodeW = 1 + PrioW + LocW + MetaW;

  /* verilator lint_off UNUSEDSIGNAL */  // each reads the fields it needs
  function automatic logic ent_valid(logic [EntryW-1:0] e);
    ent_valid = e[EntryW-1];
  endfunction

  function automatic logic [PrioW-1:0] ent_prio(logic [EntryW-1:0] e);
    ent_prio = e[VecW+MetaW+:PrioW];
  endfunction

  function automatic logic [MetaW-1:0] ent_meta(logic [EntryW-1:0] e);
    ent_meta = e[VecW+:MetaW];
  endfunction

  function automatic logic [VecW-1:0] ent_value(logic [EntryW-1:0] e);
    ent_value = e[VecW-1:0];
  endfunction

  function automatic logic node_v(logic [NodeW-1:0] n);
    node_v = n[NodeW-1];
  endfunction

  function automatic logic [PrioW-1:0] node_p(logic [NodeW-1:0] n);
    node_p = n[LocW+MetaW+:PrioW];
  endfunction

  function automatic logic [LocW-1:0] node_loc(logic [NodeW-1:0] n);
    node_loc = n[MetaW+:LocW];
  endfunction

  function automatic logic [MetaW-1:0] node_meta(logic [NodeW-1:0] n);
    node_meta = n[MetaW-1:0];
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // The better of two candidates, a at the lower location: ties go to a.
  function automatic logic [NodeW-1:0] best(logic [NodeW-1:0] a, logic [NodeW-1:0] b);
    best = (node_v(b) && (!node_v(a) || node_p(b) < node_p(a))) ? b : a;
  endfunction

  // ---------------------------------------------------------------------------
  // Storage: per table one memory of buckets (all ways in one word, a write
  // enable per way), address {bank, bucket}, in g_table below; masks in
  // flops, table t of bank b at (b * Tables + t) * VecW.
  logic [2*Tables*VecW-1:0] mask_q;

  // ---------------------------------------------------------------------------
  // Writes and the reset sweep.
  logic sweeping_q;
  logic [AddrW-1:0] sweep_q;
  logic wr_accept, wr_bad;
  logic wq_valid_q, wq_mask_q, wq_bank_q, wq_bad_q;
  logic [15:0] wq_idx_q;
  logic [EntryW-1:0] wq_entry_q;

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
      wq_entry_q <= {wr_entry_valid_i, wr_prio_i, 2'(wr_action_i), wr_reject_with_i, wr_log_i,
                     wr_vec_i};
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

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mask_q <= '0;
    end else if (wq_go && wq_mask_q) begin
      mask_q[(32'(wq_bank_q) * Tables + 32'(wq_mask_table)) * VecW+:VecW] <= ent_value(wq_entry_q);
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

  // Vector, bank and "not sweeping" travel to the compare (E5): stage s in
  // g_key[s]. Each stage's registers are its own and read only by the next
  // (a shift register in one vector, read and written by one block, costs
  // the simulator a copy of the whole vector on every clock).
  for (genvar s = 0; s < 5; s++) begin : g_key
    logic [VecW-1:0] vec_q;
    logic bank_q, ok_q;

    if (s == 0) begin : g_src
      always_ff @(posedge clk_i) begin
        if (key_valid_i) begin
          vec_q <= vec_i;
          bank_q <= bank_i;
          ok_q <= !sweeping_q;
        end
      end
    end else begin : g_src
      always_ff @(posedge clk_i) begin
        if (v_q[s-1]) begin
          vec_q <= g_key[s-1].vec_q;
          bank_q <= g_key[s-1].bank_q;
          ok_q <= g_key[s-1].ok_q;
        end
      end
    end
  end

  logic [VecW-1:0] vec0, vec4;
  logic bank0, bank3, bank4, ok4;

  assign vec0 = g_key[0].vec_q;
  assign vec4 = g_key[4].vec_q;
  assign bank0 = g_key[0].bank_q;
  assign bank3 = g_key[3].bank_q;
  assign bank4 = g_key[4].bank_q;
  assign ok4 = g_key[4].ok_q;

  // H1..H3 and E4: hash, then read the bucket. The masks of a key's bank
  // are written only while it is the shadow, so stable while it is in flight.
  // E5: per table, every way compared; the best of the bucket.
  logic [Tables*NodeW-1:0] tbest;

  for (genvar t = 0; t < Tables; t++) begin : g_table
    logic [Ways*EntryW-1:0] mem_q [2 * Buckets];
    logic [Ways*EntryW-1:0] rd_q;
    logic [BucketsLog2-1:0] bucket3, bucket4_q;
    logic [NodeW-1:0] best_q;

    always_ff @(posedge clk_i) begin
      if (sweeping_q) begin
        mem_q[sweep_q] <= '0;
      end else if (wq_go && !wq_mask_q && 32'(wq_table) == t) begin
        mem_q[{wq_bank_q, wq_bucket}][32'(wq_way)*EntryW+:EntryW] <= wq_entry_q;
      end
    end

    filter_exact_hash #(.Table(t), .BucketsLog2(BucketsLog2)) u_hash (
      .clk_i,
      .en_i    (v_q[2:0]),
      .vec_i   (vec0 & mask_q[(32'(bank0) * Tables + t) * VecW+:VecW]),
      .bucket_o(bucket3)
    );

    always_ff @(posedge clk_i) begin
      if (v_q[3]) begin
        rd_q <= mem_q[{bank3, bucket3}];
        bucket4_q <= bucket3;
      end
    end

    always_ff @(posedge clk_i) begin
      if (v_q[4]) begin
        logic [VecW-1:0] masked;
        logic [EntryW-1:0] e;
        logic [NodeW-1:0] b, c;
        masked = vec4 & mask_q[(32'(bank4) * Tables + t) * VecW+:VecW];
        b = '0;
        for (int unsigned w = 0; w < Ways; w++) begin
          e = rd_q[w*EntryW+:EntryW];
          c = {ok4 && ent_valid(e) && (ent_value(e) == masked), ent_prio(e),
               LocW'(((t << BucketsLog2) | 32'(bucket4_q)) * Ways + w), ent_meta(e)};
          b = best(b, c);
        end
        best_q <= b;
      end
    end

    assign tbest[t*NodeW+:NodeW] = best_q;
  end

  // E6: the best of the tables (lower tables hold the lower locations), then
  // Pad stages, each in a register of its own (g_out[s]).
  logic [NodeW-1:0] out;
  logic [MetaW-1:0] out_meta;

  for (genvar s = 0; s <= Pad; s++) begin : g_out
    logic [NodeW-1:0] q;

    if (s == 0) begin : g_src
      always_ff @(posedge clk_i) begin
        if (v_q[5]) begin
          logic [NodeW-1:0] b;
          b = '0;
          for (int unsigned t = 0; t < Tables; t++) b = best(b, tbest[t*NodeW+:NodeW]);
          q <= b;
        end
      end
    end else begin : g_src
      always_ff @(posedge clk_i) begin
        if (v_q[Stages+s-2]) q <= g_out[s-1].q;
      end
    end
  end

  assign out = g_out[Pad].q;
  assign res_valid_o = v_q[Latency-1];
  assign res_hit_o = node_v(out);
  assign res_loc_o = node_loc(out);
  assign res_prio_o = node_p(out);
  assign out_meta = node_meta(out);
  assign res_action_o = norman_regmap_pkg::FILTER_ACTION_W'(out_meta[MetaW-1-:2]);
  assign res_reject_with_o = out_meta[1+:RejW];
  assign res_log_o = out_meta[0];

  assign idle_o = (v_q == '0) && !wq_valid_q && !sweeping_q;
endmodule

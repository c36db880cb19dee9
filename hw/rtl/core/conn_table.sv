// Connection table: exact-match flow table plus listening table.
//
// Flow entries (two-choice hashing): FLOW_TABLES = 2 sub-tables, each
// 2^FlowBucketsLog2 buckets x Ways entries, with independent hashes h0, h1 of
// the whole key. A key lives in bucket h0 of table 0 or bucket h1 of table 1.
// Insert goes to the less-loaded of the two candidate buckets (table 0 on a
// tie) and answers ST_FULL, changing nothing, only when both are full. With
// the default geometry (2 x 16384 x 4 = 131072 slots) 65,536 random flows fit
// with a wide margin (in a software model of the policy the first overflow
// comes around 75-80k flows).
//
// Listening entries: one table of 2^ListenBucketsLog2 buckets x Ways, hashed
// on (proto, is_ipv6, local_port), storing local_ip (zero = any address).
// Several entries may share a port with different local_ip; a frame matches
// an entry whose local_ip equals its own (preferred) or is zero.
// Result priority: exact flow hit > specific listening hit > wildcard listening hit.
//
// Lookups: one key per cycle, no back-pressure, result LookupLatency = 4
// cycles later: hash fold | hash mix | RAM read (all ways of both candidate
// buckets and the listening bucket, in parallel) | compare -> registered outputs.
//
// Commands (insert / delete / lookup; for listening entries the key is
// (proto, is_ipv6, local_port, local_ip), remote fields ignored) run one at a
// time through a FSM on the RAMs' second port, 5 cycles from acceptance to
// cmd_done_o, while lookups continue every cycle. A lookup racing a command
// that changes its result sees the table either before or after it.
// cmd_bucket_o: the key's table-0 bucket (flows) or listening bucket.
// cmd_conn_o: the entry's conn (lookup, delete, EXISTS) or the inserted one; 0 on errors.
//
// Storage has no reset: each entry has a valid bit, and after reset a sweep
// clears one bucket (of every table) per cycle for 2^max(FlowBucketsLog2,
// ListenBucketsLog2) cycles, during which cmd_ready_o is low and lookups miss.
//
// Simulation speed: every wide computation (hashing, compares, pipeline
// copies, RAM accesses) sits inside enabled flops or behind the stage's valid,
// and no whole bucket crosses a module boundary, so cycles without lookups or
// commands cost the simulator little.
module conn_table
#(
  parameter int unsigned Ways = norman_regmap_pkg::FLOW_WAYS,
  parameter int unsigned FlowBucketsLog2 = norman_regmap_pkg::FLOW_BUCKETS_LOG2,     // per sub-table, 1..16
  parameter int unsigned ListenBucketsLog2 = norman_regmap_pkg::LISTEN_BUCKETS_LOG2, // 1..16
  parameter int unsigned TagW = 1
) (
  input  logic                           clk_i,
  input  logic                           rst_ni,
  // Lookup: one key per cycle, no back-pressure, fixed latency LookupLatency.
  input  logic                           lookup_valid_i,
  input  norman_pkg::flow_key_t                      lookup_key_i,
  input  logic [TagW-1:0]                lookup_tag_i,
  output logic                           lookup_valid_o,
  output logic [TagW-1:0]                lookup_tag_o,
  output logic                           lookup_hit_o,
  output logic                           lookup_listen_o,
  output logic [norman_pkg::ConnIdW-1:0]             lookup_conn_o,
  // Commands: one at a time.
  input  logic                           cmd_valid_i,
  output logic                           cmd_ready_o,
  input  logic [1:0]                     cmd_op_i,
  input  logic                           cmd_listen_i,
  input  norman_pkg::flow_key_t                      cmd_key_i,
  input  logic [norman_pkg::ConnIdW-1:0]             cmd_conn_i,
  output logic                           cmd_done_o,
  output norman_regmap_pkg::cmd_status_e cmd_status_o,
  output logic [norman_pkg::ConnIdW-1:0]             cmd_conn_o,
  output logic [15:0]                    cmd_bucket_o
);

  /* verilator lint_off UNUSEDPARAM */
  localparam int unsigned LookupLatency = 4;  // lookup_valid_i -> lookup_valid_o, in cycles
  /* verilator lint_on UNUSEDPARAM */
  localparam int unsigned Tables = 2;
  localparam int unsigned FlowBuckets = 2 ** FlowBucketsLog2;
  localparam int unsigned ListenBuckets = 2 ** ListenBucketsLog2;
  localparam int unsigned ClrW = (FlowBucketsLog2 > ListenBucketsLog2) ? FlowBucketsLog2
                                                                        : ListenBucketsLog2;
  localparam int unsigned LoadW = $clog2(Ways + 1);

  localparam logic [1:0] OpInsert = 2'd0, OpDelete = 2'd1, OpLookup = 2'd2;

  if (Tables != norman_regmap_pkg::FLOW_TABLES) begin : g_tables_mismatch
    $error("conn_table implements 2 sub-tables but the register map says FLOW_TABLES != 2");
  end

  // Entries are padded to whole 32-bit words with the key (flow) or the
  // address (listening) at bit 0, so that the simulator compares them word by
  // word without shifting; the Ways entries of a bucket form one memory word.
  localparam int unsigned KeyW = 8 + 1 + 128 + 128 + 16 + 16;  // flow_key_t, checked below
  localparam int unsigned FlowRawW = 1 + norman_pkg::ConnIdW + KeyW;
  localparam int unsigned FlowPadW = (FlowRawW + 31) / 32 * 32 - FlowRawW;
  localparam int unsigned ListenRawW = 1 + norman_pkg::ConnIdW + 16 + 1 + 8 + 128;
  localparam int unsigned ListenPadW = (ListenRawW + 31) / 32 * 32 - ListenRawW;

  typedef struct packed {
    logic [FlowPadW-1:0] pad;  // always 0
    logic                valid;
    logic [norman_pkg::ConnIdW-1:0]  conn;
    norman_pkg::flow_key_t           key;
  } flow_entry_t;

  typedef struct packed {
    logic [ListenPadW-1:0] pad;  // always 0
    logic                  valid;
    logic [norman_pkg::ConnIdW-1:0]    conn;
    logic [15:0]           port;
    logic                  is_ipv6;
    logic [7:0]            proto;
    logic [127:0]          ip;
  } listen_entry_t;

  localparam int unsigned FlowEntryW = FlowRawW + FlowPadW;
  localparam int unsigned ListenEntryW = ListenRawW + ListenPadW;

  // Hash parameters: table 0, table 1, listening table.
  localparam logic [31:0] Seed0 = 32'h9e37_79b9, Mult0 = 32'h7feb_352d;
  localparam logic [31:0] Seed1 = 32'h85eb_ca6b, Mult1 = 32'h846c_a68b;
  localparam logic [31:0] SeedL = 32'hc2b2_ae35, MultL = 32'h2c1b_3c6d;
  localparam int unsigned Rot0 = 7, Rot1 = 13, RotL = 5;
  // The listening hash covers (proto, is_ipv6, local_port) only.
  localparam norman_pkg::flow_key_t ListenMask = {8'hff, 1'b1, 128'd0, 128'd0, 16'hffff, 16'd0};

  // ---------------------------------------------------------------------------
  // Command FSM state (declared first: the RAMs' port B belongs to it).
  typedef enum logic [2:0] {
    CmdClear, CmdIdle, CmdHash, CmdRead, CmdCmp, CmdAct
  } cmd_state_e;

  cmd_state_e state_q, state_d;
  logic cmd_accept;

  assign cmd_ready_o = (state_q == CmdIdle);
  assign cmd_accept = cmd_valid_i && cmd_ready_o;

  // ---------------------------------------------------------------------------
  // Hashes: the lookup pipeline's and the command FSM's (ready two cycles
  // after acceptance, held until the next command).
  // Per sub-table signals are flat vectors, sub-table t at [t*W +: W].
  logic [Tables*FlowBucketsLog2-1:0] lk_idx;
  logic [ListenBucketsLog2-1:0] lk_lidx;
  logic [Tables*FlowBucketsLog2-1:0] cmd_idx;
  logic [ListenBucketsLog2-1:0] cmd_lidx;

  flow_hash #(.OutW(FlowBucketsLog2), .Seed(Seed0), .Mult(Mult0), .RotStep(Rot0)) u_lk_hash0 (
    .clk_i, .rst_ni, .en_i(lookup_valid_i), .key_i(lookup_key_i), .hash_o(lk_idx[0 +: FlowBucketsLog2])
  );
  flow_hash #(.OutW(FlowBucketsLog2), .Seed(Seed1), .Mult(Mult1), .RotStep(Rot1)) u_lk_hash1 (
    .clk_i, .rst_ni, .en_i(lookup_valid_i), .key_i(lookup_key_i), .hash_o(lk_idx[FlowBucketsLog2 +: FlowBucketsLog2])
  );
  flow_hash #(.OutW(ListenBucketsLog2), .Seed(SeedL), .Mult(MultL), .RotStep(RotL),
              .KeyMask(ListenMask)) u_lk_hashl (
    .clk_i, .rst_ni, .en_i(lookup_valid_i), .key_i(lookup_key_i), .hash_o(lk_lidx)
  );
  flow_hash #(.OutW(FlowBucketsLog2), .Seed(Seed0), .Mult(Mult0), .RotStep(Rot0)) u_cmd_hash0 (
    .clk_i, .rst_ni, .en_i(cmd_accept), .key_i(cmd_key_i), .hash_o(cmd_idx[0 +: FlowBucketsLog2])
  );
  flow_hash #(.OutW(FlowBucketsLog2), .Seed(Seed1), .Mult(Mult1), .RotStep(Rot1)) u_cmd_hash1 (
    .clk_i, .rst_ni, .en_i(cmd_accept), .key_i(cmd_key_i), .hash_o(cmd_idx[FlowBucketsLog2 +: FlowBucketsLog2])
  );
  flow_hash #(.OutW(ListenBucketsLog2), .Seed(SeedL), .Mult(MultL), .RotStep(RotL),
              .KeyMask(ListenMask)) u_cmd_hashl (
    .clk_i, .rst_ni, .en_i(cmd_accept), .key_i(cmd_key_i), .hash_o(cmd_lidx)
  );

  // ---------------------------------------------------------------------------
  // Lookup pipeline: stage 1 fold, stage 2 mix, stage 3 RAM read, then compare.
  logic s1_valid_q, s2_valid_q, s3_valid_q, s3_ok_q;
  norman_pkg::flow_key_t s1_key_q, s2_key_q, s3_key_q;
  logic [TagW-1:0] s1_tag_q, s2_tag_q, s3_tag_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      s2_valid_q <= 1'b0;
      s3_valid_q <= 1'b0;
      s3_ok_q <= 1'b0;
    end else begin
      s1_valid_q <= lookup_valid_i;
      s2_valid_q <= s1_valid_q;
      s3_valid_q <= s2_valid_q;
      // The RAM read happens in stage 2: its data is clean once the sweep is done.
      s3_ok_q <= (state_q != CmdClear);
    end
  end

  always_ff @(posedge clk_i) begin
    if (lookup_valid_i) begin
      s1_key_q <= lookup_key_i;
      s1_tag_q <= lookup_tag_i;
    end
    if (s1_valid_q) begin
      s2_key_q <= s1_key_q;
      s2_tag_q <= s1_tag_q;
    end
    if (s2_valid_q) begin
      s3_key_q <= s2_key_q;
      s3_tag_q <= s2_tag_q;
    end
  end

  // ---------------------------------------------------------------------------
  // Storage: one bucket memory per flow sub-table, one for listening. Each
  // sub-table compares its own bucket and hands on only narrow results (the
  // simulator then never copies whole buckets between modules).
  logic b_re, b_clr, lsn_clr;
  logic [Tables*Ways-1:0] flow_we;
  logic [ListenBucketsLog2-1:0] lsn_addr;
  logic [Ways-1:0] lsn_we;
  logic [ClrW-1:0] clr_q;
  norman_pkg::flow_key_t key_q;
  if (KeyW != $bits(key_q)) begin : g_key_w_mismatch
    $error("conn_table: KeyW does not match flow_key_t");
  end
  flow_entry_t wentry_q;    // what an insert writes ('0 for a delete)
  listen_entry_t wlentry_q;

  logic [Tables-1:0] tbl_hit;              // stage 3: lookup hit in this sub-table
  logic [Tables*norman_pkg::ConnIdW-1:0] tbl_hit_conn;
  logic [Tables*Ways-1:0] fmatch;          // registered in CmdCmp: ways holding key_q
  logic [Tables*Ways-1:0] fvalid;          // ... ways in use
  logic [Tables*norman_pkg::ConnIdW-1:0] fconn;  // ... conn of the matching way

  for (genvar t = 0; t < Tables; t++) begin : g_table
    /* verilator lint_off UNUSEDSIGNAL */
    logic [Ways*FlowEntryW-1:0] lk_bkt, cmd_bkt;  // way w at [w*FlowEntryW +: FlowEntryW]
    flow_entry_t lk_e, cmd_e;                     // pad bits unused
    /* verilator lint_on UNUSEDSIGNAL */
    logic hit;
    logic [norman_pkg::ConnIdW-1:0] hit_conn, fconn_d, fconn_q;
    logic [Ways-1:0] fmatch_d, fvalid_d, fmatch_q, fvalid_q;

    conn_table_ram #(.Width(FlowEntryW), .Ways(Ways), .Depth(FlowBuckets)) u_ram (
      .clk_i,
      .a_re_i   (s2_valid_q),
      .a_addr_i (lk_idx[t*FlowBucketsLog2 +: FlowBucketsLog2]),
      .a_rdata_o(lk_bkt),
      .b_re_i   (b_re),
      .b_addr_i (b_clr ? FlowBucketsLog2'(clr_q) : cmd_idx[t*FlowBucketsLog2 +: FlowBucketsLog2]),
      .b_rdata_o(cmd_bkt),
      .b_clr_i  (b_clr),
      .b_we_i   (flow_we[t*Ways +: Ways]),
      .b_wdata_i(wentry_q)
    );

    always_comb begin
      hit = 1'b0;
      hit_conn = '0;
      lk_e = '0;
      if (s3_valid_q) begin
        for (int unsigned w = 0; w < Ways; w++) begin
          lk_e = lk_bkt[w*FlowEntryW +: FlowEntryW];
          if (lk_e.valid && lk_e.key == s3_key_q) begin
            hit = 1'b1;
            hit_conn = lk_e.conn;
          end
        end
      end
    end

    always_comb begin
      fconn_d = '0;
      cmd_e = '0;
      for (int unsigned w = 0; w < Ways; w++) begin
        cmd_e = cmd_bkt[w*FlowEntryW +: FlowEntryW];
        fvalid_d[w] = cmd_e.valid;
        fmatch_d[w] = cmd_e.valid && cmd_e.key == key_q;
        if (cmd_e.valid && cmd_e.key == key_q) fconn_d = cmd_e.conn;
      end
    end

    always_ff @(posedge clk_i) begin
      if (state_q == CmdCmp) begin
        fconn_q <= fconn_d;
        fvalid_q <= fvalid_d;
        fmatch_q <= fmatch_d;
      end
    end

    assign tbl_hit[t] = hit;
    assign tbl_hit_conn[t*norman_pkg::ConnIdW +: norman_pkg::ConnIdW] = hit_conn;
    assign fmatch[t*Ways +: Ways] = fmatch_q;
    assign fvalid[t*Ways +: Ways] = fvalid_q;
    assign fconn[t*norman_pkg::ConnIdW +: norman_pkg::ConnIdW] = fconn_q;
  end

  /* verilator lint_off UNUSEDSIGNAL */
  logic [Ways*ListenEntryW-1:0] lk_lbkt, cmd_lbkt;  // way w at [w*ListenEntryW +: ListenEntryW]
  listen_entry_t lk_le, cmd_le;                     // pad bits unused
  /* verilator lint_on UNUSEDSIGNAL */

  assign lsn_addr = b_clr ? ListenBucketsLog2'(clr_q) : cmd_lidx;
  assign lsn_clr = b_clr && ((clr_q >> ListenBucketsLog2) == '0);

  conn_table_ram #(.Width(ListenEntryW), .Ways(Ways), .Depth(ListenBuckets)) u_listen_ram (
    .clk_i,
    .a_re_i   (s2_valid_q),
    .a_addr_i (lk_lidx),
    .a_rdata_o(lk_lbkt),
    .b_re_i   (b_re),
    .b_addr_i (lsn_addr),
    .b_rdata_o(cmd_lbkt),
    .b_clr_i  (lsn_clr),
    .b_we_i   (lsn_we),
    .b_wdata_i(wlentry_q)
  );

  // ---------------------------------------------------------------------------
  // Lookup result (stage 3), skipped by the simulator when no lookup is there.
  typedef struct packed {
    logic               hit;
    logic               listen;
    logic [norman_pkg::ConnIdW-1:0] conn;
  } result_t;

  result_t lk_res;
  logic spec_hit, wild_hit;
  logic [norman_pkg::ConnIdW-1:0] spec_conn, wild_conn;

  always_comb begin
    lk_res = '0;
    spec_hit = 1'b0;
    wild_hit = 1'b0;
    spec_conn = '0;
    wild_conn = '0;
    lk_le = '0;
    if (s3_valid_q && s3_ok_q) begin
      for (int unsigned t = 0; t < Tables; t++) begin
        if (tbl_hit[t]) begin
          lk_res.hit = 1'b1;
          lk_res.conn = tbl_hit_conn[t*norman_pkg::ConnIdW +: norman_pkg::ConnIdW];
        end
      end
      for (int unsigned w = 0; w < Ways; w++) begin
        lk_le = lk_lbkt[w*ListenEntryW +: ListenEntryW];
        if (lk_le.valid && lk_le.proto == s3_key_q.proto
            && lk_le.is_ipv6 == s3_key_q.is_ipv6 && lk_le.port == s3_key_q.local_port) begin
          if (lk_le.ip == '0) begin
            wild_hit = 1'b1;
            wild_conn = lk_le.conn;
          end else if (lk_le.ip == s3_key_q.local_ip) begin
            spec_hit = 1'b1;
            spec_conn = lk_le.conn;
          end
        end
      end
      if (!lk_res.hit && (spec_hit || wild_hit)) begin
        lk_res.hit = 1'b1;
        lk_res.listen = 1'b1;
        lk_res.conn = spec_hit ? spec_conn : wild_conn;
      end
    end
  end

  logic out_valid_q;
  logic [TagW-1:0] out_tag_q;
  result_t out_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q <= 1'b0;
      out_tag_q <= '0;
      out_q <= '0;
    end else begin
      out_valid_q <= s3_valid_q;
      out_q <= lk_res;  // '0 without a lookup
      if (s3_valid_q) out_tag_q <= s3_tag_q;
    end
  end

  assign lookup_valid_o = out_valid_q;
  assign lookup_tag_o = out_tag_q;
  assign lookup_hit_o = out_q.hit;
  assign lookup_listen_o = out_q.listen;
  assign lookup_conn_o = out_q.conn;

  // ---------------------------------------------------------------------------
  // Command FSM: Idle (accept) -> Hash -> Read (both candidate buckets and the
  // listening bucket) -> Cmp (register what the buckets hold) -> Act (write
  // at most one entry, done).
  logic [1:0] op_q;
  logic listen_q;
  logic [norman_pkg::ConnIdW-1:0] conn_q;

  // Registered in Cmp (the flow sub-tables' are in g_table).
  logic [Ways-1:0] lmatch_d, lvalid_d, lmatch_q, lvalid_q;
  logic [norman_pkg::ConnIdW-1:0] lfound_conn_d, lfound_conn_q;

  always_ff @(posedge clk_i) begin
    if (cmd_accept) begin
      op_q <= cmd_op_i;
      listen_q <= cmd_listen_i;
      key_q <= cmd_key_i;
      conn_q <= cmd_conn_i;
      wentry_q <= '0;
      wlentry_q <= '0;
      if (cmd_op_i == OpInsert) begin
        wentry_q.valid <= 1'b1;
        wentry_q.conn <= cmd_conn_i;
        wentry_q.key <= cmd_key_i;
        wlentry_q.valid <= 1'b1;
        wlentry_q.conn <= cmd_conn_i;
        wlentry_q.port <= cmd_key_i.local_port;
        wlentry_q.is_ipv6 <= cmd_key_i.is_ipv6;
        wlentry_q.proto <= cmd_key_i.proto;
        wlentry_q.ip <= cmd_key_i.local_ip;
      end
    end
    if (state_q == CmdCmp) begin
      lfound_conn_q <= lfound_conn_d;
      lvalid_q <= lvalid_d;
      lmatch_q <= lmatch_d;
    end
  end

  always_comb begin
    lfound_conn_d = '0;
    cmd_le = '0;
    for (int unsigned w = 0; w < Ways; w++) begin
      cmd_le = cmd_lbkt[w*ListenEntryW +: ListenEntryW];
      lvalid_d[w] = cmd_le.valid;
      lmatch_d[w] = cmd_le.valid && cmd_le.proto == key_q.proto && cmd_le.is_ipv6 == key_q.is_ipv6
                    && cmd_le.port == key_q.local_port && cmd_le.ip == key_q.local_ip;
      if (lmatch_d[w]) lfound_conn_d = cmd_le.conn;
    end
  end

  // Act-stage decision (narrow).
  logic [Tables*LoadW-1:0] load;
  logic ffound, lfound, ins_ok, ins_table;
  logic [Ways-1:0] ins_way, lins_way, lfree;
  logic [norman_pkg::ConnIdW-1:0] ffound_conn;

  always_comb begin
    ffound = 1'b0;
    ffound_conn = '0;
    for (int unsigned t = 0; t < Tables; t++) begin
      load[t*LoadW +: LoadW] = '0;
      for (int unsigned w = 0; w < Ways; w++) begin
        load[t*LoadW +: LoadW] = load[t*LoadW +: LoadW] + LoadW'(fvalid[t*Ways + w]);
      end
      if (fmatch[t*Ways +: Ways] != '0) begin
        ffound = 1'b1;
        ffound_conn = fconn[t*norman_pkg::ConnIdW +: norman_pkg::ConnIdW];
      end
    end
    lfound = (lmatch_q != '0);
    lfree = ~lvalid_q;
    // Less-loaded candidate bucket, table 0 on a tie; full only if both are.
    ins_table = (load[LoadW +: LoadW] < load[0 +: LoadW]);
    ins_ok = (load[32'(ins_table)*LoadW +: LoadW] < LoadW'(Ways));
    // First free way (one-hot).
    ins_way = ~fvalid[32'(ins_table)*Ways +: Ways] & (fvalid[32'(ins_table)*Ways +: Ways] + Ways'(1));
    lins_way = lfree & ~(lfree - Ways'(1));
  end

  norman_regmap_pkg::cmd_status_e status_d, status_q;
  logic [norman_pkg::ConnIdW-1:0] res_conn_d, res_conn_q;
  logic [15:0] bucket_q;
  logic done_q;

  always_comb begin
    state_d = state_q;
    b_re = 1'b0;
    b_clr = 1'b0;
    flow_we = '0;
    lsn_we = '0;
    status_d = norman_regmap_pkg::ST_OK;
    res_conn_d = '0;

    unique case (state_q)
      CmdClear: begin
        b_clr = 1'b1;
        if (clr_q == '1) state_d = CmdIdle;
      end
      CmdIdle: if (cmd_accept) state_d = CmdHash;
      CmdHash: state_d = CmdRead;
      CmdRead: begin
        b_re = 1'b1;
        state_d = CmdCmp;
      end
      CmdCmp: state_d = CmdAct;
      CmdAct: begin
        state_d = CmdIdle;
        if (listen_q) begin
          unique case (op_q)
            OpInsert: begin
              if (lfound) begin
                status_d = norman_regmap_pkg::ST_EXISTS;
                res_conn_d = lfound_conn_q;
              end else if (lfree != '0) begin
                lsn_we = lins_way;
                res_conn_d = conn_q;
              end else begin
                status_d = norman_regmap_pkg::ST_FULL;
              end
            end
            OpDelete, OpLookup: begin
              if (lfound) begin
                res_conn_d = lfound_conn_q;
                if (op_q == OpDelete) lsn_we = lmatch_q;  // wlentry_q is '0
              end else begin
                status_d = norman_regmap_pkg::ST_NOT_FOUND;
              end
            end
            default: status_d = norman_regmap_pkg::ST_INVALID;
          endcase
        end else begin
          unique case (op_q)
            OpInsert: begin
              if (ffound) begin
                status_d = norman_regmap_pkg::ST_EXISTS;
                res_conn_d = ffound_conn;
              end else if (ins_ok) begin
                flow_we[32'(ins_table)*Ways +: Ways] = ins_way;
                res_conn_d = conn_q;
              end else begin
                status_d = norman_regmap_pkg::ST_FULL;
              end
            end
            OpDelete, OpLookup: begin
              if (ffound) begin
                res_conn_d = ffound_conn;
                if (op_q == OpDelete) begin
                  flow_we = fmatch;  // wentry_q is '0
                end
              end else begin
                status_d = norman_regmap_pkg::ST_NOT_FOUND;
              end
            end
            default: status_d = norman_regmap_pkg::ST_INVALID;
          endcase
        end
      end
      default: state_d = CmdClear;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= CmdClear;
      clr_q <= '0;
      done_q <= 1'b0;
      status_q <= norman_regmap_pkg::ST_OK;
      res_conn_q <= '0;
      bucket_q <= '0;
    end else begin
      state_q <= state_d;
      if (state_q == CmdClear) clr_q <= clr_q + 1'b1;
      done_q <= (state_q == CmdAct);
      if (state_q == CmdAct) begin
        status_q <= status_d;
        res_conn_q <= res_conn_d;
        bucket_q <= listen_q ? 16'(cmd_lidx) : 16'(cmd_idx[0 +: FlowBucketsLog2]);
      end
    end
  end

  assign cmd_done_o = done_q;
  assign cmd_status_o = status_q;
  assign cmd_conn_o = res_conn_q;
  assign cmd_bucket_o = bucket_q;
endmodule

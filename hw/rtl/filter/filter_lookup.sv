// One lookup port of the filter overlay: the range slots (filter_classifier)
// and the exact tables (filter_exact) judge the same key side by side; the
// lowest priority among all their matches decides, ties going to the range
// slot (and among exact entries to the lowest location, filter_exact's
// order). The verdict names a global slot: range slot s is s, exact location
// l is Entries + l. Hit counters (filter_counters) count that winner only,
// so a range slot that matched but lost to an exact entry does not count.
//
// Latency: filter_classifier's (the exact tables are padded to it), plus one
// stage that ranks the two winners: norman_pkg::filter_lookup_latency, fixed
// whatever the tables hold, reported on latency_o.
//
// Banks: one epoch for both. The classifier owns the bank state (commit,
// drain, epoch); the exact tables follow its bank_o and write the other bank
// only while its shadow_ready_o says no key reads it. The drain covers the
// ranking stage too (PostStages), so commit_done_o still means every key of
// the old bank has its verdict.
//
// Reset: the classifier's flag sweep, the exact tables' valid-bit sweep and
// the counters' sweep (Entries + ExactEntries cycles, the longest) run
// together; range and exact writes wait until all are done.
module filter_lookup #(
  parameter int unsigned Entries = norman_regmap_pkg::FILTER_ENTRIES,
  parameter int unsigned Stride = norman_regmap_pkg::FILTER_STRIDE,
  parameter int unsigned ExactTables = norman_regmap_pkg::FILTER_EXACT_TABLES,
  parameter int unsigned ExactBucketsLog2 = norman_regmap_pkg::FILTER_EXACT_BUCKETS_LOG2,
  parameter int unsigned ExactWays = norman_regmap_pkg::FILTER_EXACT_WAYS,
  parameter int unsigned TagW = 1,
  parameter int unsigned BytesW = 16,
  parameter int unsigned EpochW = 32,
  localparam int unsigned KeyW = norman_regmap_pkg::FILTER_RANGE_KEY_W,
  localparam int unsigned FlagsW = norman_regmap_pkg::FILTER_FLAGS_W,
  localparam int unsigned VecW = norman_regmap_pkg::FILTER_EXACT_VECTOR_W,
  localparam int unsigned ExactEntries = ExactTables * (2 ** ExactBucketsLog2) * ExactWays,
  localparam int unsigned SlotW = $clog2(Entries + ExactEntries)
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  // Lookup: one key per cycle, no back-pressure.
  input  logic                            key_valid_i,
  input  logic [KeyW-1:0]                 key_i,
  input  logic [FlagsW-1:0]               flags_i,
  input  logic [BytesW-1:0]               bytes_i,
  input  logic [TagW-1:0]                 tag_i,
  output logic                            res_valid_o,
  output logic [TagW-1:0]                 res_tag_o,
  output logic                            res_hit_o,
  output logic [SlotW-1:0]                res_slot_o,
  output logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      res_action_o,
  output logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] res_reject_with_o,
  output logic                            res_log_o,
  output logic [15:0]                     latency_o,
  // Range slot writes into the shadow bank (filter_classifier).
  input  logic                            wr_valid_i,
  output logic                            wr_ready_o,
  input  logic [norman_regmap_pkg::FILTER_SLOT_W-1:0]        wr_slot_i,
  input  logic                            wr_slot_valid_i,
  input  logic [KeyW-1:0]                 wr_lo_i,
  input  logic [KeyW-1:0]                 wr_hi_i,
  input  logic [norman_regmap_pkg::FILTER_NUM_FIELDS-1:0]    wr_neg_i,
  input  logic [FlagsW-1:0]               wr_flags_value_i,
  input  logic [FlagsW-1:0]               wr_flags_mask_i,
  input  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     wr_prio_i,
  input  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      wr_action_i,
  input  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] wr_reject_with_i,
  input  logic                            wr_log_i,
  output logic                            wr_done_o,
  output logic                            wr_error_o,
  // Exact entry and mask writes into the shadow bank (filter_exact).
  input  logic                            ex_wr_valid_i,
  output logic                            ex_wr_ready_o,
  input  logic                            ex_wr_mask_i,
  input  logic [15:0]                     ex_wr_idx_i,
  input  logic [VecW-1:0]                 ex_wr_vec_i,
  input  logic                            ex_wr_entry_valid_i,
  input  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     ex_wr_prio_i,
  input  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      ex_wr_action_i,
  input  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] ex_wr_reject_with_i,
  input  logic                            ex_wr_log_i,
  output logic                            ex_wr_refused_o,
  // Bank switch (range slots, exact entries and masks together).
  input  logic                            commit_i,
  output logic                            commit_ready_o,
  output logic                            commit_done_o,
  output logic [EpochW-1:0]               epoch_o,
  // Hit counters of global slots (see filter_counters: reads one cycle after
  // cnt_rd_slot_i).
  input  logic [SlotW-1:0]                cnt_rd_slot_i,
  output logic [63:0]                     cnt_rd_pkts_o,
  output logic [63:0]                     cnt_rd_bytes_o,
  input  logic                            cnt_clr_valid_i,
  output logic                            cnt_clr_ready_o,
  input  logic [SlotW-1:0]                cnt_clr_slot_i,
  output logic                            idle_o
);
  localparam int unsigned RangeSlotW = (Entries > 1) ? $clog2(Entries) : 1;
  localparam int unsigned LocW = (ExactEntries > 1) ? $clog2(ExactEntries) : 1;
  localparam int unsigned ClsLatency = norman_pkg::filter_latency(Entries);
  localparam int unsigned Latency = norman_pkg::filter_lookup_latency(Entries);

  // ---------------------------------------------------------------------------
  // Range slots. The frame's bytes ride with the tag, for the counters.
  logic cls_valid, cls_hit, cls_log, cls_wr_ready, cls_idle, bank, shadow_ready;
  logic [BytesW-1:0] cls_bytes;
  logic [TagW-1:0] cls_tag;
  logic [RangeSlotW-1:0] cls_slot;
  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0] cls_prio;
  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0] cls_action;
  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] cls_rej;
  logic [15:0] cls_latency;
  logic cnt_ready, cnt_idle;

  filter_classifier #(
    .Entries(Entries), .Stride(Stride), .TagW(BytesW + TagW), .EpochW(EpochW), .PostStages(1)
  ) u_classifier (
    .clk_i,
    .rst_ni,
    .key_valid_i,
    .key_i,
    .flags_i,
    .tag_i            ({bytes_i, tag_i}),
    .res_valid_o      (cls_valid),
    .res_tag_o        ({cls_bytes, cls_tag}),
    .res_hit_o        (cls_hit),
    .res_slot_o       (cls_slot),
    .res_prio_o       (cls_prio),
    .res_action_o     (cls_action),
    .res_reject_with_o(cls_rej),
    .res_log_o        (cls_log),
    .latency_o        (cls_latency),
    .wr_valid_i       (wr_valid_i && cnt_ready),
    .wr_ready_o       (cls_wr_ready),
    .wr_slot_i,
    .wr_slot_valid_i,
    .wr_lo_i,
    .wr_hi_i,
    .wr_neg_i,
    .wr_flags_value_i,
    .wr_flags_mask_i,
    .wr_prio_i,
    .wr_action_i,
    .wr_reject_with_i,
    .wr_log_i,
    .wr_done_o,
    .wr_error_o,
    .commit_i,
    .commit_ready_o,
    .commit_done_o,
    .epoch_o,
    .bank_o           (bank),
    .shadow_ready_o   (shadow_ready),
    .idle_o           (cls_idle)
  );

  assign wr_ready_o = cls_wr_ready && cnt_ready;

  // ---------------------------------------------------------------------------
  // Exact tables, answering with the classifier.
  logic ex_valid, ex_hit, ex_log, ex_idle;
  logic [LocW-1:0] ex_loc;
  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0] ex_prio;
  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0] ex_action;
  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] ex_rej;

  filter_exact #(
    .Tables(ExactTables), .BucketsLog2(ExactBucketsLog2), .Ways(ExactWays), .Latency(ClsLatency)
  ) u_exact (
    .clk_i,
    .rst_ni,
    .key_valid_i,
    .vec_i            ({flags_i, key_i}),
    .bank_i           (bank),
    .res_valid_o      (ex_valid),
    .res_hit_o        (ex_hit),
    .res_loc_o        (ex_loc),
    .res_prio_o       (ex_prio),
    .res_action_o     (ex_action),
    .res_reject_with_o(ex_rej),
    .res_log_o        (ex_log),
    .shadow_ready_i   (shadow_ready && cnt_ready),
    .wr_valid_i       (ex_wr_valid_i),
    .wr_ready_o       (ex_wr_ready_o),
    .wr_mask_i        (ex_wr_mask_i),
    .wr_idx_i         (ex_wr_idx_i),
    .wr_vec_i         (ex_wr_vec_i),
    .wr_entry_valid_i (ex_wr_entry_valid_i),
    .wr_prio_i        (ex_wr_prio_i),
    .wr_action_i      (ex_wr_action_i),
    .wr_reject_with_i (ex_wr_reject_with_i),
    .wr_log_i         (ex_wr_log_i),
    .wr_refused_o     (ex_wr_refused_o),
    .idle_o           (ex_idle)
  );

  // ---------------------------------------------------------------------------
  // Ranking: the exact winner only with a strictly lower priority.
  logic res_valid_q, res_hit_q, res_log_q;
  logic [TagW-1:0] res_tag_q;
  logic [BytesW-1:0] res_bytes_q;
  logic [SlotW-1:0] res_slot_q;
  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0] res_action_q;
  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] res_rej_q;
  logic ex_wins;

  assign ex_wins = ex_hit && (!cls_hit || ex_prio < cls_prio);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      res_valid_q <= 1'b0;
      res_hit_q <= 1'b0;
    end else begin
      res_valid_q <= cls_valid;
      if (cls_valid) res_hit_q <= cls_hit || ex_hit;
    end
  end

  // A miss leaves the classifier's answer: slot 0, ACCEPT.
  always_ff @(posedge clk_i) begin
    if (cls_valid) begin
      res_tag_q <= cls_tag;
      res_bytes_q <= cls_bytes;
      if (ex_wins) begin
        res_slot_q <= SlotW'(Entries + 32'(ex_loc));
        res_action_q <= ex_action;
        res_rej_q <= ex_rej;
        res_log_q <= ex_log;
      end else begin
        res_slot_q <= SlotW'(cls_slot);
        res_action_q <= cls_action;
        res_rej_q <= cls_rej;
        res_log_q <= cls_log;
      end
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (rst_ni) begin
      assert (ex_valid == cls_valid)
        else $error("filter_lookup: exact tables out of step with the classifier");
    end
  end
`endif

  assign res_valid_o = res_valid_q;
  assign res_tag_o = res_tag_q;
  assign res_hit_o = res_hit_q;
  assign res_slot_o = res_slot_q;
  assign res_action_o = res_action_q;
  assign res_reject_with_o = res_rej_q;
  assign res_log_o = res_log_q;
  assign latency_o = 16'(Latency);

  // ---------------------------------------------------------------------------
  // Hit counters of the winner.
  filter_counters #(.Entries(Entries + ExactEntries), .BytesW(BytesW)) u_counters (
    .clk_i,
    .rst_ni,
    .upd_valid_i(res_valid_q && res_hit_q),
    .upd_slot_i (res_slot_q),
    .upd_bytes_i(res_bytes_q),
    .clr_valid_i(cnt_clr_valid_i),
    .clr_ready_o(cnt_clr_ready_o),
    .clr_slot_i (cnt_clr_slot_i),
    .rd_slot_i  (cnt_rd_slot_i),
    .rd_pkts_o  (cnt_rd_pkts_o),
    .rd_bytes_o (cnt_rd_bytes_o),
    .ready_o    (cnt_ready),
    .idle_o     (cnt_idle)
  );

  // The classifier's own latency is ClsLatency by construction.
  logic unused;
  assign unused = ^cls_latency;

  assign idle_o = cls_idle && ex_idle && cnt_idle && !res_valid_q;
endmodule

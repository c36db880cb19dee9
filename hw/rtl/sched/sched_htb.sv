// The TX scheduler overlay's core (docs/qos.md): hierarchical token-bucket
// scheduling with Linux HTB's semantics at descriptor-fetch time. The sender
// (tx_engine) says which leaves have frames (bl_*); the scheduler grants a
// leaf "send up to grant_budget_o bytes" (quantum + DRR deficit), one grant
// per leaf outstanding; the sender answers each grant with the bytes and
// frames it sent and whether the leaf still has frames (done_*), which are
// charged to the leaf's path.
//
// Structure (one class-state bank per tree depth, sched_bank):
//   grant    keyq pop (lowest key, FIFO within) -> leaf table + deficit read
//            -> path modes -> sched_eval -> grant / move to its new key /
//            drop (a leaf whose path cannot send waits for the scan)
//   done     (even cycles) leaf table + grant record read -> charge every
//            class of the path in its bank (odd slot) -> modes -> eval ->
//            queue the leaf again if it still has frames and may send
//   scan     every leaf once per 2 * NumLeaves cycles: a backlogged leaf
//            that is neither queued nor granted and may send is queued
//            (how a leaf blocked by tokens comes back after the refill)
// Leaf flags (backlog, outstanding, queued) are flip-flops: a leaf is in at
// most one queue or one push request, and has at most one grant.
//
// Configuration (classes, leaves) is written into the shadow bank and takes
// effect atomically with commit_i (epoch_o flips); token state is kept.
module sched_htb #(
  parameter int unsigned NumClasses = 64,  // per depth (bank size)
  parameter int unsigned NumLeaves = 64,
  parameter int unsigned MaxDepth = 4,     // a power of two
  parameter int unsigned TokW = 52,
  parameter int unsigned FracW = 20,
  parameter int unsigned IncW = 40,
  parameter int unsigned BurstW = 32,
  parameter int unsigned ChW = 24,
  parameter int unsigned QW = 24,
  parameter int unsigned BytesW = 48,
  parameter int unsigned PktsW = 32,
  // 1: the sender charges its bytes later, on ch_* (tx_engine learns a
  // frame's length only after the grant's descriptors arrive); a done then
  // only ends the grant and keeps no DRR deficit.
  parameter bit DeferredCharge = 1'b0,
  localparam int unsigned CW = $clog2(NumClasses),
  localparam int unsigned LW = $clog2(NumLeaves),
  localparam int unsigned DW = $clog2(MaxDepth),
  localparam int unsigned KW = DW + 3,
  localparam int unsigned BudW = QW + 1
) (
  input  logic clk_i,
  input  logic rst_ni,
  // Backlog notices: leaf has frames.
  input  logic          bl_valid_i,
  input  logic [LW-1:0] bl_leaf_i,
  // Grants (no back-pressure: at most NumLeaves are ever outstanding).
  output logic            grant_valid_o,
  output logic [LW-1:0]   grant_leaf_o,
  output logic [BudW-1:0] grant_budget_o,
  output logic [DW-1:0]   grant_lender_o,   // depth of the class whose rate tokens pay
  // Completion of a grant (accepted on every other cycle).
  input  logic           done_valid_i,
  output logic           done_ready_o,
  input  logic [LW-1:0]  done_leaf_i,
  input  logic [ChW-1:0] done_bytes_i,
  input  logic [ChW-1:0] done_pkts_i,
  input  logic           done_more_i,
  // Deferred charge of bytes sent under an earlier grant (DeferredCharge):
  // charged to the leaf's path, rate tokens from ch_lender_i up. Accepted
  // on even cycles when no done is.
  input  logic           ch_valid_i,
  output logic           ch_ready_o,
  input  logic [LW-1:0]  ch_leaf_i,
  input  logic [DW-1:0]  ch_lender_i,
  input  logic [ChW-1:0] ch_bytes_i,
  input  logic [ChW-1:0] ch_pkts_i,
  // Class configuration (shadow bank).
  input  logic              cls_we_i,
  input  logic [DW-1:0]     cls_depth_i,
  input  logic [CW-1:0]     cls_idx_i,
  input  logic [IncW-1:0]   cls_inc_i,
  input  logic [IncW-1:0]   cls_cinc_i,
  input  logic [BurstW-1:0] cls_burst_i,
  input  logic [BurstW-1:0] cls_cburst_i,
  // Leaf configuration (shadow bank); clears the leaf's deficit.
  input  logic                   leaf_we_i,
  output logic                   leaf_ready_o,
  input  logic [LW-1:0]          leaf_id_i,
  input  logic                   leaf_en_i,
  input  logic [DW-1:0]          leaf_depth_i,
  input  logic [2:0]             leaf_prio_i,
  input  logic [QW-1:0]          leaf_quantum_i,
  input  logic [MaxDepth*CW-1:0] leaf_path_i,  // bank index at depth j: [j*CW +: CW]
  input  logic                   commit_i,
  output logic                   epoch_o,
  // Class state initialisation (full buckets, counters 0) and statistics.
  input  logic          init_valid_i,
  output logic          init_ready_o,
  input  logic [DW-1:0] init_depth_i,
  input  logic [CW-1:0] init_idx_i,
  input  logic          st_valid_i,
  output logic          st_ready_o,
  input  logic [DW-1:0] st_depth_i,
  input  logic [CW-1:0] st_idx_i,
  output logic              st_valid_o,
  output logic [TokW-1:0]   st_tok_o,
  output logic [TokW-1:0]   st_ctok_o,
  output logic [BytesW-1:0] st_bytes_o,
  output logic [PktsW-1:0]  st_pkts_o
);
  localparam int unsigned NumKeys = 1 << KW;
  localparam int unsigned PathW = MaxDepth * CW;
  localparam int unsigned LcW = 1 + DW + 3 + QW + PathW;
  localparam int unsigned GiW = DW + BudW;
  localparam int unsigned NumRd = 3;  // mode read ports: grant, scan, done

  logic phase_q, epoch_q;
  logic [NumLeaves-1:0] backlog_q, outst_q, queued_q;
  assign epoch_o = epoch_q;

  // ---- Leaf tables -------------------------------------------------------
  logic [LcW-1:0] leaf_wdata;
  assign leaf_wdata = {leaf_en_i, leaf_depth_i, leaf_prio_i, leaf_quantum_i, leaf_path_i};
  logic lc_g_re, lc_s_re, lc_d_re;
  logic [LW-1:0] lc_g_addr, lc_s_addr, lc_d_addr;
  logic [LcW-1:0] lc_g, lc_s, lc_d;
  logic leaf_we;
  assign leaf_we = leaf_we_i && leaf_ready_o;
  ram_1w1r #(.Width(LcW), .Depth(2 * NumLeaves)) u_lc_grant (
    .clk_i, .we_i(leaf_we), .waddr_i({!epoch_q, leaf_id_i}), .wdata_i(leaf_wdata),
    .re_i(lc_g_re), .raddr_i({epoch_q, lc_g_addr}), .rdata_o(lc_g));
  ram_1w1r #(.Width(LcW), .Depth(2 * NumLeaves)) u_lc_scan (
    .clk_i, .we_i(leaf_we), .waddr_i({!epoch_q, leaf_id_i}), .wdata_i(leaf_wdata),
    .re_i(lc_s_re), .raddr_i({epoch_q, lc_s_addr}), .rdata_o(lc_s));
  ram_1w1r #(.Width(LcW), .Depth(2 * NumLeaves)) u_lc_done (
    .clk_i, .we_i(leaf_we), .waddr_i({!epoch_q, leaf_id_i}), .wdata_i(leaf_wdata),
    .re_i(lc_d_re), .raddr_i({epoch_q, lc_d_addr}), .rdata_o(lc_d));

  // Deficit (written by done and by a leaf's configuration, read by grant)
  // and the outstanding grant's record (written by grant, read by done).
  logic def_we, def_re;
  logic [LW-1:0] def_waddr, def_raddr;
  logic [BudW-1:0] def_wdata, def_rdata;
  ram_1w1r #(.Width(BudW), .Depth(NumLeaves)) u_deficit (
    .clk_i, .we_i(def_we), .waddr_i(def_waddr), .wdata_i(def_wdata),
    .re_i(def_re), .raddr_i(def_raddr), .rdata_o(def_rdata));
  logic gi_we, gi_re;
  logic [LW-1:0] gi_waddr, gi_raddr;
  logic [GiW-1:0] gi_wdata, gi_rdata;
  ram_1w1r #(.Width(GiW), .Depth(NumLeaves)) u_ginfo (
    .clk_i, .we_i(gi_we), .waddr_i(gi_waddr), .wdata_i(gi_wdata),
    .re_i(gi_re), .raddr_i(gi_raddr), .rdata_o(gi_rdata));

  // ---- Class banks -------------------------------------------------------
  logic [MaxDepth-1:0] op_valid, op_tok;
  logic [1:0] op_kind;
  logic [MaxDepth*CW-1:0] op_idx;
  logic [ChW-1:0] op_bytes, op_pkts;
  logic [MaxDepth-1:0] bst_valid;
  logic [MaxDepth*TokW-1:0] bst_tok, bst_ctok;
  logic [MaxDepth*BytesW-1:0] bst_bytes;
  logic [MaxDepth*PktsW-1:0] bst_pkts;
  logic [MaxDepth*NumRd*CW-1:0] rd_idx;
  logic [MaxDepth*NumRd*2-1:0] rd_mode;

  for (genvar j = 0; j < MaxDepth; j++) begin : g_bank
    sched_bank #(
      .NumClasses(NumClasses), .NumRd(NumRd), .TokW(TokW), .FracW(FracW), .IncW(IncW),
      .BurstW(BurstW), .ChW(ChW), .BytesW(BytesW), .PktsW(PktsW)
    ) u_bank (
      .clk_i, .rst_ni, .phase_i(phase_q), .epoch_i(epoch_q),
      .op_valid_i(op_valid[j]), .op_kind_i(op_kind), .op_idx_i(op_idx[j*CW +: CW]),
      .op_bytes_i(op_bytes), .op_pkts_i(op_pkts), .op_tok_i(op_tok[j]),
      .st_valid_o(bst_valid[j]), .st_tok_o(bst_tok[j*TokW +: TokW]),
      .st_ctok_o(bst_ctok[j*TokW +: TokW]), .st_bytes_o(bst_bytes[j*BytesW +: BytesW]),
      .st_pkts_o(bst_pkts[j*PktsW +: PktsW]),
      .cfg_we_i(cls_we_i && cls_depth_i == DW'(j)), .cfg_bank_i(!epoch_q), .cfg_idx_i(cls_idx_i),
      .cfg_inc_i(cls_inc_i), .cfg_cinc_i(cls_cinc_i), .cfg_burst_i(cls_burst_i),
      .cfg_cburst_i(cls_cburst_i),
      .rd_idx_i(rd_idx[j*NumRd*CW +: NumRd*CW]), .rd_mode_o(rd_mode[j*NumRd*2 +: NumRd*2]));
  end

  always_comb begin
    st_valid_o = 1'b0;
    st_tok_o = '0;
    st_ctok_o = '0;
    st_bytes_o = '0;
    st_pkts_o = '0;
    for (int j = 0; j < MaxDepth; j++) begin
      if (bst_valid[j]) begin
        st_valid_o = 1'b1;
        st_tok_o = bst_tok[j*TokW +: TokW];
        st_ctok_o = bst_ctok[j*TokW +: TokW];
        st_bytes_o = bst_bytes[j*BytesW +: BytesW];
        st_pkts_o = bst_pkts[j*PktsW +: PktsW];
      end
    end
  end

  // ---- Push port into the ready queues -----------------------------------
  logic pr_d_v_q, pr_g_v_q, pr_s_v_q;
  logic [KW-1:0] pr_d_key_q, pr_g_key_q, pr_s_key_q;
  logic [LW-1:0] pr_d_leaf_q, pr_g_leaf_q, pr_s_leaf_q;
  logic sel_d, sel_g, sel_s, push;
  logic [KW-1:0] push_key;
  logic [LW-1:0] push_leaf;
  assign sel_d = pr_d_v_q;
  assign sel_g = !pr_d_v_q && pr_g_v_q;
  assign sel_s = !pr_d_v_q && !pr_g_v_q && pr_s_v_q;
  assign push = pr_d_v_q || pr_g_v_q || pr_s_v_q;
  assign push_key = sel_d ? pr_d_key_q : sel_g ? pr_g_key_q : pr_s_key_q;
  assign push_leaf = sel_d ? pr_d_leaf_q : sel_g ? pr_g_leaf_q : pr_s_leaf_q;

  logic q_valid;
  logic [KW-1:0] q_key;
  logic [LW-1:0] q_leaf;
  sched_keyq #(.NumKeys(NumKeys), .NumLeaves(NumLeaves)) u_keyq (
    .clk_i, .rst_ni,
    .push_i(push), .push_key_i(push_key), .push_leaf_i(push_leaf),
    .out_valid_o(q_valid), .out_key_o(q_key), .out_leaf_o(q_leaf));

  // ---- Grant pipeline ----------------------------------------------------
  // G2: the popped leaf's table entry and deficit.
  assign lc_g_re = q_valid;
  assign lc_g_addr = q_leaf;
  assign def_re = q_valid;
  assign def_raddr = q_leaf;
  logic g3_v_q;
  logic [KW-1:0] g3_key_q;
  logic [LW-1:0] g3_leaf_q;
  // G3: path modes.
  logic g3_en;
  logic [DW-1:0] g3_depth;
  logic [2:0] g3_prio;
  logic [QW-1:0] g3_quantum;
  logic [PathW-1:0] g3_path;
  assign {g3_en, g3_depth, g3_prio, g3_quantum, g3_path} = lc_g;
  logic g4_v_q, g4_en_q;
  logic [KW-1:0] g4_key_q;
  logic [LW-1:0] g4_leaf_q;
  logic [DW-1:0] g4_depth_q;
  logic [2:0] g4_prio_q;
  logic [BudW-1:0] g4_budget_q;
  logic [2*MaxDepth-1:0] g4_mode_q;
  // G4: evaluate.
  logic g4_elig;
  logic [DW-1:0] g4_lender;
  logic [KW-1:0] g4_newkey;
  sched_eval #(.MaxDepth(MaxDepth)) u_eval_g (
    .mode_i(g4_mode_q), .depth_i(g4_depth_q), .prio_i(g4_prio_q),
    .elig_o(g4_elig), .lender_o(g4_lender), .key_o(g4_newkey));
  // G5: act.
  logic g5_grant_q, g5_move_q, g5_drop_q;
  logic [KW-1:0] g5_key_q;
  logic [LW-1:0] g5_leaf_q;
  logic [DW-1:0] g5_lender_q;
  logic [BudW-1:0] g5_budget_q;
  logic g5_move_ok;
  assign g5_move_ok = g5_move_q && (!pr_g_v_q || sel_g);

  assign grant_valid_o = g5_grant_q;
  assign grant_leaf_o = g5_leaf_q;
  assign grant_budget_o = g5_budget_q;
  assign grant_lender_o = g5_lender_q;
  assign gi_we = g5_grant_q;
  assign gi_waddr = g5_leaf_q;
  assign gi_wdata = {g5_lender_q, g5_budget_q};

  // ---- Done pipeline -----------------------------------------------------
  // E0 (even cycles): accept a done, else a backlog notice (which takes the
  // same path without charging, so an idle leaf is queued at once rather
  // than when the scan passes); read the leaf's table entry and grant record.
  logic done_acc, ch_acc, nt_acc, init_acc, st_acc;
  logic nt_v_q;
  logic [LW-1:0] nt_leaf_q;
  assign done_ready_o = !phase_q;
  assign done_acc = done_valid_i && !phase_q;
  assign ch_ready_o = !phase_q && !done_valid_i;
  assign ch_acc = ch_valid_i && ch_ready_o;
  // Initialisation and statistics come before a notice: a sender that
  // announces leaves every other cycle (tx_engine passing over blocked
  // connections) must not keep them out; a notice waits at most a slot.
  assign nt_acc = nt_v_q && !phase_q && !done_valid_i && !ch_valid_i && !init_valid_i &&
                  !st_valid_i;
  assign init_ready_o = !phase_q && !done_valid_i && !ch_valid_i;
  assign init_acc = init_valid_i && init_ready_o;
  assign st_ready_o = !phase_q && !done_valid_i && !ch_valid_i && !init_valid_i;
  assign st_acc = st_valid_i && st_ready_o;
  assign lc_d_re = done_acc || ch_acc || nt_acc;
  assign lc_d_addr = done_acc ? done_leaf_i : ch_acc ? ch_leaf_i : nt_leaf_q;
  assign gi_re = done_acc;
  assign gi_raddr = done_leaf_i;

  logic d1_v_q, n1_v_q, c1_v_q, d1_more_q, o1_v_q, o1_init_q;
  logic [DW-1:0] c1_lender_q;
  logic [LW-1:0] d1_leaf_q;
  logic [ChW-1:0] d1_bytes_q, d1_pkts_q;
  logic [DW-1:0] o1_depth_q;
  logic [CW-1:0] o1_idx_q;
  // O1: charge the path.
  logic d1_en;
  logic [DW-1:0] d1_depth, d1_lender;
  logic [2:0] d1_prio;
  logic [QW-1:0] d1_quantum;
  logic [PathW-1:0] d1_path;
  logic [BudW-1:0] d1_budget;
  assign {d1_en, d1_depth, d1_prio, d1_quantum, d1_path} = lc_d;
  assign {d1_lender, d1_budget} = gi_rdata;

  // With DeferredCharge a done charges nothing (its bytes are 0); the
  // charge comes on ch_* with the lender the sender kept from the grant.
  logic p1_v;
  logic [DW-1:0] p1_lender;
  assign p1_v = (d1_v_q && !DeferredCharge) || c1_v_q;
  assign p1_lender = c1_v_q ? c1_lender_q : d1_lender;
  always_comb begin
    op_kind = o1_init_q ? 2'd1 : 2'd2;
    if (p1_v) op_kind = 2'd0;
    op_bytes = d1_bytes_q;
    op_pkts = d1_pkts_q;
    for (int j = 0; j < MaxDepth; j++) begin
      op_valid[j] = p1_v ? (DW'(j) <= d1_depth) : (o1_v_q && o1_depth_q == DW'(j));
      op_tok[j] = DW'(j) <= p1_lender;
      op_idx[j*CW +: CW] = p1_v ? d1_path[j*CW +: CW] : o1_idx_q;
    end
  end

  // Deficit: DRR's carry when the leaf still has frames, else 0. A leaf's
  // configuration clears it in a cycle the done path leaves free.
  logic clr_v_q;
  logic [LW-1:0] clr_leaf_q;
  assign leaf_ready_o = !clr_v_q;
  assign def_we = d1_v_q || clr_v_q;
  assign def_waddr = d1_v_q ? d1_leaf_q : clr_leaf_q;
  assign def_wdata = (!DeferredCharge && d1_v_q && d1_more_q && BudW'(d1_bytes_q) < d1_budget)
                     ? d1_budget - BudW'(d1_bytes_q) : '0;

  // D2..D5: wait for the banks' mode update, read the modes, evaluate.
  logic [3:0] dv_q;  // d2..d5 valid
  // The done's leaf, path, depth and prio carried from D2 to D5.
  localparam int unsigned DiW = LW + PathW + DW + 3;
  logic [4*DiW-1:0] dinfo_q;
  logic [LW-1:0] d4_leaf, d5_leaf;
  logic [PathW-1:0] d4_path, d5_path;
  logic [DW-1:0] d4_depth, d5_depth;
  logic [2:0] d4_prio, d5_prio;
  assign {d4_leaf, d4_path, d4_depth, d4_prio} = dinfo_q[2*DiW +: DiW];
  assign {d5_leaf, d5_path, d5_depth, d5_prio} = dinfo_q[3*DiW +: DiW];
  logic [2*MaxDepth-1:0] d5_mode_q;
  logic d5_elig;
  logic [DW-1:0] d5_lender;
  logic [KW-1:0] d5_key;
  sched_eval #(.MaxDepth(MaxDepth)) u_eval_d (
    .mode_i(d5_mode_q), .depth_i(d5_depth), .prio_i(d5_prio),
    .elig_o(d5_elig), .lender_o(d5_lender), .key_o(d5_key));
  logic d5_queue;
  assign d5_queue = dv_q[3] && d5_elig && backlog_q[d5_leaf] && !outst_q[d5_leaf] &&
                    !queued_q[d5_leaf];

  // ---- Scan --------------------------------------------------------------
  logic [LW-1:0] sptr_q, s1_leaf_q, s2_leaf_q;
  logic s1_v_q, s2_v_q, s2_en_q;
  logic [DW-1:0] s2_depth_q;
  logic [2:0] s2_prio_q;
  logic [2*MaxDepth-1:0] s2_mode_q;
  assign lc_s_re = !phase_q;
  assign lc_s_addr = sptr_q;
  logic s1_en;
  logic [DW-1:0] s1_depth;
  logic [2:0] s1_prio;
  logic [QW-1:0] s1_quantum;
  logic [PathW-1:0] s1_path;
  assign {s1_en, s1_depth, s1_prio, s1_quantum, s1_path} = lc_s;
  logic s2_elig;
  logic [DW-1:0] s2_lender;
  logic [KW-1:0] s2_key;
  sched_eval #(.MaxDepth(MaxDepth)) u_eval_s (
    .mode_i(s2_mode_q), .depth_i(s2_depth_q), .prio_i(s2_prio_q),
    .elig_o(s2_elig), .lender_o(s2_lender), .key_o(s2_key));
  logic s2_queue;
  assign s2_queue = s2_v_q && s2_en_q && s2_elig && !pr_s_v_q && backlog_q[s2_leaf_q] &&
                    !outst_q[s2_leaf_q] && !queued_q[s2_leaf_q];

  // Mode read addresses: port 0 grant (G3), 1 scan (S1), 2 done (D4).
  always_comb begin
    for (int j = 0; j < MaxDepth; j++) begin
      rd_idx[j*NumRd*CW +: NumRd*CW] = {d4_path[j*CW +: CW], s1_path[j*CW +: CW],
                                        g3_path[j*CW +: CW]};
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      phase_q <= 1'b0;
      epoch_q <= 1'b0;
      backlog_q <= '0;
      outst_q <= '0;
      queued_q <= '0;
      pr_d_v_q <= 1'b0;
      pr_g_v_q <= 1'b0;
      pr_s_v_q <= 1'b0;
      pr_d_key_q <= '0;
      pr_g_key_q <= '0;
      pr_s_key_q <= '0;
      pr_d_leaf_q <= '0;
      pr_g_leaf_q <= '0;
      pr_s_leaf_q <= '0;
      g3_v_q <= 1'b0;
      g3_key_q <= '0;
      g3_leaf_q <= '0;
      g4_v_q <= 1'b0;
      g4_en_q <= 1'b0;
      g4_key_q <= '0;
      g4_leaf_q <= '0;
      g4_depth_q <= '0;
      g4_prio_q <= '0;
      g4_budget_q <= '0;
      g4_mode_q <= '0;
      g5_grant_q <= 1'b0;
      g5_move_q <= 1'b0;
      g5_drop_q <= 1'b0;
      g5_key_q <= '0;
      g5_leaf_q <= '0;
      g5_lender_q <= '0;
      g5_budget_q <= '0;
      d1_v_q <= 1'b0;
      n1_v_q <= 1'b0;
      c1_v_q <= 1'b0;
      c1_lender_q <= '0;
      nt_v_q <= 1'b0;
      nt_leaf_q <= '0;
      d1_more_q <= 1'b0;
      d1_leaf_q <= '0;
      d1_bytes_q <= '0;
      d1_pkts_q <= '0;
      o1_v_q <= 1'b0;
      o1_init_q <= 1'b0;
      o1_depth_q <= '0;
      o1_idx_q <= '0;
      clr_v_q <= 1'b0;
      clr_leaf_q <= '0;
      dv_q <= '0;
      dinfo_q <= '0;
      d5_mode_q <= '0;
      sptr_q <= '0;
      s1_v_q <= 1'b0;
      s1_leaf_q <= '0;
      s2_v_q <= 1'b0;
      s2_en_q <= 1'b0;
      s2_leaf_q <= '0;
      s2_depth_q <= '0;
      s2_prio_q <= '0;
      s2_mode_q <= '0;
    end else begin
      phase_q <= !phase_q;
      if (commit_i) epoch_q <= !epoch_q;

      // Grant: G2 -> G3 -> G4 -> G5.
      g3_v_q <= q_valid;
      g3_key_q <= q_key;
      g3_leaf_q <= q_leaf;
      g4_v_q <= g3_v_q;
      g4_en_q <= g3_en;
      g4_key_q <= g3_key_q;
      g4_leaf_q <= g3_leaf_q;
      g4_depth_q <= g3_depth;
      g4_prio_q <= g3_prio;
      g4_budget_q <= BudW'(g3_quantum) + def_rdata;
      for (int j = 0; j < MaxDepth; j++) g4_mode_q[2*j +: 2] <= rd_mode[j*NumRd*2 + 0 +: 2];
      g5_grant_q <= g4_v_q && g4_en_q && g4_elig && g4_newkey == g4_key_q;
      g5_move_q <= g4_v_q && g4_en_q && g4_elig && g4_newkey != g4_key_q;
      g5_drop_q <= g4_v_q && !(g4_en_q && g4_elig);
      g5_key_q <= g4_newkey;
      g5_leaf_q <= g4_leaf_q;
      g5_lender_q <= g4_lender;
      g5_budget_q <= g4_budget_q;

      // Done: E0 -> O1 -> D2..D5.
      d1_v_q <= done_acc;
      n1_v_q <= nt_acc;
      c1_v_q <= ch_acc;
      c1_lender_q <= ch_lender_i;
      d1_more_q <= done_more_i;
      d1_leaf_q <= done_acc ? done_leaf_i : ch_acc ? ch_leaf_i : nt_leaf_q;
      // One notice waits; a later one while it does is left to the scan
      // (its backlog flag is set all the same).
      if (nt_acc) nt_v_q <= 1'b0;
      if (bl_valid_i && (!nt_v_q || nt_acc)) begin
        nt_v_q <= 1'b1;
        nt_leaf_q <= bl_leaf_i;
      end
      d1_bytes_q <= ch_acc ? ch_bytes_i : done_bytes_i;
      d1_pkts_q <= ch_acc ? ch_pkts_i : done_pkts_i;
      o1_v_q <= init_acc || st_acc;
      o1_init_q <= init_acc;
      o1_depth_q <= init_acc ? init_depth_i : st_depth_i;
      o1_idx_q <= init_acc ? init_idx_i : st_idx_i;
      dv_q <= {dv_q[2:0], d1_v_q || n1_v_q || c1_v_q};
      dinfo_q <= {dinfo_q[0 +: 3*DiW], d1_leaf_q, d1_path, d1_depth, d1_prio};
      for (int j = 0; j < MaxDepth; j++) d5_mode_q[2*j +: 2] <= rd_mode[j*NumRd*2 + 4 +: 2];

      // Deficit clear after a leaf's configuration.
      if (leaf_we) begin
        clr_v_q <= 1'b1;
        clr_leaf_q <= leaf_id_i;
      end else if (!d1_v_q) begin
        clr_v_q <= 1'b0;
      end

      // Scan: S0 (even) -> S1 -> S2 (even).
      s1_v_q <= !phase_q;
      s1_leaf_q <= sptr_q;
      if (!phase_q) sptr_q <= (sptr_q == LW'(NumLeaves - 1)) ? '0 : sptr_q + 1'b1;
      s2_v_q <= s1_v_q;
      s2_en_q <= s1_en;
      s2_leaf_q <= s1_leaf_q;
      s2_depth_q <= s1_depth;
      s2_prio_q <= s1_prio;
      for (int j = 0; j < MaxDepth; j++) s2_mode_q[2*j +: 2] <= rd_mode[j*NumRd*2 + 2 +: 2];

      // Push requests (each sets the leaf's queued flag when it is taken).
      if (sel_d) pr_d_v_q <= 1'b0;
      if (sel_g) pr_g_v_q <= 1'b0;
      if (sel_s) pr_s_v_q <= 1'b0;
      if (d5_queue) begin
        pr_d_v_q <= 1'b1;
        pr_d_key_q <= d5_key;
        pr_d_leaf_q <= d5_leaf;
      end
      if (g5_move_ok) begin
        pr_g_v_q <= 1'b1;
        pr_g_key_q <= g5_key_q;
        pr_g_leaf_q <= g5_leaf_q;
      end
      if (s2_queue) begin
        pr_s_v_q <= 1'b1;
        pr_s_key_q <= s2_key;
        pr_s_leaf_q <= s2_leaf_q;
      end

      // Leaf flags.
      if (g5_grant_q || g5_drop_q || (g5_move_q && !g5_move_ok)) queued_q[g5_leaf_q] <= 1'b0;
      if (d5_queue) queued_q[d5_leaf] <= 1'b1;
      if (s2_queue) queued_q[s2_leaf_q] <= 1'b1;
      if (g5_grant_q) outst_q[g5_leaf_q] <= 1'b1;
      if (d1_v_q) begin
        outst_q[d1_leaf_q] <= 1'b0;
        backlog_q[d1_leaf_q] <= d1_more_q;
      end
      if (bl_valid_i) backlog_q[bl_leaf_i] <= 1'b1;
    end
  end

  // Unused: the done path's lender (the record has it), quantum fields of
  // the scan and done reads, the scan's lender.
  /* verilator lint_off UNUSEDSIGNAL */
  logic unused;
  assign unused = ^{d1_en, d1_quantum, d4_leaf, d4_depth, d4_prio, d5_path, s1_quantum, s2_lender, d5_lender, g5_drop_q};
  /* verilator lint_on UNUSEDSIGNAL */
endmodule

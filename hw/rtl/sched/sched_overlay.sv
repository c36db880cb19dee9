// The TX scheduler overlay as nic_core sees it (docs/qos.md): the SCHED
// register block (decoded by csr_regs, which forwards its accesses here,
// read data valid the cycle after the read), the scheduler core (sched_htb,
// charged later by the sender: DeferredCharge) and the connection -> leaf
// map (sched_conn_map). tx_engine looks connections up in the map, holds
// the grants, and reports dones, charges and backlog notices.
//
// Posted operations (leaf write, class init, statistics read, map write)
// wait in one register each until the core takes them; STATUS.BUSY is set
// while any waits, and a write of an operation that still waits is refused
// and counted (REFUSED): nothing is silently replaced.
module sched_overlay #(
  parameter int unsigned NumClasses = norman_regmap_pkg::SCHED_CLASSES,
  parameter int unsigned NumLeaves = norman_regmap_pkg::SCHED_LEAVES,
  parameter int unsigned MaxDepth = norman_regmap_pkg::SCHED_DEPTHS,
  localparam int unsigned CW = $clog2(NumClasses),
  localparam int unsigned LW = $clog2(NumLeaves),
  localparam int unsigned DW = $clog2(MaxDepth)
) (
  input  logic clk_i,
  input  logic rst_ni,
  // SCHED block accesses (offset in the block), from csr_regs.
  input  logic        csr_wr_i,
  input  logic        csr_rd_i,
  input  logic [11:0] csr_addr_i,
  input  logic [63:0] csr_wdata_i,
  output logic [63:0] csr_rdata_o,
  // To tx_engine.
  output logic                           en_o,
  input  logic                           lk_valid_i,
  input  logic [norman_pkg::ConnIdW-1:0] lk_conn_i,
  output logic [LW-1:0]                  lk_leaf_o,
  output logic                           grant_valid_o,
  output logic [LW-1:0]                  grant_leaf_o,
  output logic [DW-1:0]                  grant_lender_o,
  input  logic                           bl_valid_i,
  input  logic [LW-1:0]                  bl_leaf_i,
  input  logic                           done_valid_i,
  output logic                           done_ready_o,
  input  logic [LW-1:0]                  done_leaf_i,
  input  logic                           done_more_i,
  input  logic                           ch_valid_i,
  output logic                           ch_ready_o,
  input  logic [LW-1:0]                  ch_leaf_i,
  input  logic [DW-1:0]                  ch_lender_i,
  input  logic [23:0]                    ch_bytes_i,
  input  logic [23:0]                    ch_pkts_i
);
  localparam int unsigned TokW = 52;
  localparam int unsigned FracW = 20;
  localparam logic [11:0] Base = 12'(norman_regmap_pkg::BLK_SCHED_BASE);

  // A register's offset in the block (the block is 4 KB).
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic [11:0] off(logic [31:0] reg_addr);
    off = 12'(reg_addr) - Base;
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // ---- Registers -----------------------------------------------------------
  logic en_q, dflt_we;
  logic [LW-1:0] dflt_q;
  logic [39:0] inc_q, cinc_q;
  logic [63:0] burst_q, leaf_cfg_q, leaf_path_q;
  logic [63:0] st_bytes_q, st_pkts_q, st_tok_q, st_ctok_q, held_q, grants_q, refused_q;

  // Posted operations: one waiting register each.
  logic lw_v_q, in_v_q, sr_v_q, sr_wait_q, mp_v_q;
  logic [LW-1:0] lw_leaf_q;
  logic [DW-1:0] in_depth_q, sr_depth_q;
  logic [CW-1:0] in_idx_q, sr_idx_q;
  logic [norman_pkg::ConnIdW-1:0] mp_conn_q;
  logic [LW-1:0] mp_leaf_q;
  logic mp_en_q;

  logic wr_cls, wr_init, wr_leaf, wr_map, wr_stat, wr_commit;
  assign wr_cls = csr_wr_i && csr_addr_i == off(norman_regmap_pkg::REG_SCHED_CLS_WRITE);
  assign wr_init = csr_wr_i && csr_addr_i == off(norman_regmap_pkg::REG_SCHED_CLS_INIT);
  assign wr_leaf = csr_wr_i && csr_addr_i == off(norman_regmap_pkg::REG_SCHED_LEAF_WRITE);
  assign wr_map = csr_wr_i && csr_addr_i == off(norman_regmap_pkg::REG_SCHED_MAP);
  assign wr_stat = csr_wr_i && csr_addr_i == off(norman_regmap_pkg::REG_SCHED_STAT_SEL);
  assign wr_commit = csr_wr_i && csr_addr_i == off(norman_regmap_pkg::REG_SCHED_COMMIT) && csr_wdata_i[0];
  assign dflt_we = csr_wr_i && csr_addr_i == off(norman_regmap_pkg::REG_SCHED_DEFAULT_LEAF);

  logic leaf_ready, init_ready, st_ready, st_valid, map_ready, epoch;
  logic busy, refuse;
  assign busy = lw_v_q || in_v_q || sr_v_q || sr_wait_q || mp_v_q;
  assign refuse = (wr_init && in_v_q) || (wr_leaf && lw_v_q) || (wr_map && (mp_v_q || !map_ready))
                  || (wr_stat && (sr_v_q || sr_wait_q));

  // ---- The core ------------------------------------------------------------
  logic [TokW-1:0] st_tok, st_ctok;
  logic [47:0] st_bytes;
  logic [31:0] st_pkts;
  logic [24:0] grant_budget;
  logic [MaxDepth*CW-1:0] leaf_path;
  for (genvar j = 0; j < MaxDepth; j++) begin : g_path
    assign leaf_path[j*CW +: CW] = leaf_path_q[16*j +: CW];
  end

  sched_htb #(
    .NumClasses(NumClasses), .NumLeaves(NumLeaves), .MaxDepth(MaxDepth), .TokW(TokW),
    .FracW(FracW), .DeferredCharge(1'b1)
  ) u_htb (
    .clk_i, .rst_ni,
    .bl_valid_i(bl_valid_i && en_q), .bl_leaf_i(bl_leaf_i),
    .grant_valid_o(grant_valid_o), .grant_leaf_o(grant_leaf_o), .grant_budget_o(grant_budget),
    .grant_lender_o(grant_lender_o),
    .done_valid_i(done_valid_i), .done_ready_o(done_ready_o), .done_leaf_i(done_leaf_i),
    .done_bytes_i('0), .done_pkts_i('0), .done_more_i(done_more_i),
    .ch_valid_i(ch_valid_i), .ch_ready_o(ch_ready_o), .ch_leaf_i(ch_leaf_i),
    .ch_lender_i(ch_lender_i), .ch_bytes_i(ch_bytes_i), .ch_pkts_i(ch_pkts_i),
    .cls_we_i(wr_cls), .cls_depth_i(DW'(csr_wdata_i[16 +: 4])), .cls_idx_i(CW'(csr_wdata_i[15:0])),
    .cls_inc_i(inc_q), .cls_cinc_i(cinc_q), .cls_burst_i(burst_q[31:0]),
    .cls_cburst_i(burst_q[63:32]),
    .leaf_we_i(lw_v_q), .leaf_ready_o(leaf_ready), .leaf_id_i(lw_leaf_q),
    .leaf_en_i(leaf_cfg_q[32]), .leaf_depth_i(DW'(leaf_cfg_q[28 +: 4])),
    .leaf_prio_i(leaf_cfg_q[26:24]), .leaf_quantum_i(leaf_cfg_q[23:0]), .leaf_path_i(leaf_path),
    .commit_i(wr_commit), .epoch_o(epoch),
    .init_valid_i(in_v_q), .init_ready_o(init_ready), .init_depth_i(in_depth_q),
    .init_idx_i(in_idx_q),
    .st_valid_i(sr_v_q), .st_ready_o(st_ready), .st_depth_i(sr_depth_q), .st_idx_i(sr_idx_q),
    .st_valid_o(st_valid), .st_tok_o(st_tok), .st_ctok_o(st_ctok), .st_bytes_o(st_bytes),
    .st_pkts_o(st_pkts));

  logic lk_valid_unused;
  logic [norman_pkg::ConnIdW-1:0] lk_conn_unused;
  sched_conn_map #(.NumConns(1 << norman_pkg::ConnIdW), .NumLeaves(NumLeaves)) u_map (
    .clk_i, .rst_ni, .default_leaf_i(dflt_q),
    .lk_valid_i(lk_valid_i), .lk_conn_i(lk_conn_i), .lk_valid_o(lk_valid_unused), .lk_conn_o(lk_conn_unused),
    .lk_leaf_o(lk_leaf_o),
    .wr_valid_i(mp_v_q), .wr_ready_o(map_ready), .wr_conn_i(mp_conn_q), .wr_en_i(mp_en_q),
    .wr_leaf_i(mp_leaf_q));

  assign en_o = en_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      en_q <= 1'b0;
      dflt_q <= '0;
      inc_q <= '0;
      cinc_q <= '0;
      burst_q <= '0;
      leaf_cfg_q <= '0;
      leaf_path_q <= '0;
      lw_v_q <= 1'b0;
      lw_leaf_q <= '0;
      in_v_q <= 1'b0;
      in_depth_q <= '0;
      in_idx_q <= '0;
      sr_v_q <= 1'b0;
      sr_wait_q <= 1'b0;
      sr_depth_q <= '0;
      sr_idx_q <= '0;
      mp_v_q <= 1'b0;
      mp_conn_q <= '0;
      mp_leaf_q <= '0;
      mp_en_q <= 1'b0;
      st_bytes_q <= '0;
      st_pkts_q <= '0;
      st_tok_q <= '0;
      st_ctok_q <= '0;
      held_q <= '0;
      grants_q <= '0;
      refused_q <= '0;
    end else begin
      if (csr_wr_i) begin
        unique case (csr_addr_i)
          off(norman_regmap_pkg::REG_SCHED_ENABLE): en_q <= csr_wdata_i[0];
          off(norman_regmap_pkg::REG_SCHED_CLS_INC): inc_q <= csr_wdata_i[39:0];
          off(norman_regmap_pkg::REG_SCHED_CLS_CINC): cinc_q <= csr_wdata_i[39:0];
          off(norman_regmap_pkg::REG_SCHED_CLS_BURST): burst_q <= csr_wdata_i;
          off(norman_regmap_pkg::REG_SCHED_LEAF_CFG): leaf_cfg_q <= csr_wdata_i;
          off(norman_regmap_pkg::REG_SCHED_LEAF_PATH): leaf_path_q <= csr_wdata_i;
          default: ;
        endcase
      end
      if (dflt_we) dflt_q <= LW'(csr_wdata_i[15:0]);
      // Posted operations: taken when the core is ready; refused while one
      // of the same kind waits.
      if (lw_v_q && leaf_ready) lw_v_q <= 1'b0;
      if (wr_leaf && !lw_v_q) begin
        lw_v_q <= 1'b1;
        lw_leaf_q <= LW'(csr_wdata_i[15:0]);
      end
      if (in_v_q && init_ready) in_v_q <= 1'b0;
      if (wr_init && !in_v_q) begin
        in_v_q <= 1'b1;
        in_depth_q <= DW'(csr_wdata_i[16 +: 4]);
        in_idx_q <= CW'(csr_wdata_i[15:0]);
      end
      if (sr_v_q && st_ready) begin
        sr_v_q <= 1'b0;
        sr_wait_q <= 1'b1;
      end
      if (st_valid) begin
        sr_wait_q <= 1'b0;
        st_bytes_q <= 64'(st_bytes);
        st_pkts_q <= 64'(st_pkts);
        st_tok_q <= 64'($signed(st_tok));
        st_ctok_q <= 64'($signed(st_ctok));
      end
      if (wr_stat && !sr_v_q && !sr_wait_q) begin
        sr_v_q <= 1'b1;
        sr_depth_q <= DW'(csr_wdata_i[16 +: 4]);
        sr_idx_q <= CW'(csr_wdata_i[15:0]);
      end
      if (mp_v_q && map_ready) mp_v_q <= 1'b0;
      if (wr_map && !mp_v_q && map_ready) begin
        mp_v_q <= 1'b1;
        mp_conn_q <= norman_pkg::ConnIdW'(csr_wdata_i[15:0]);
        mp_leaf_q <= LW'(csr_wdata_i[31:16]);
        mp_en_q <= csr_wdata_i[32];
      end
      if (bl_valid_i && en_q) held_q <= held_q + 1'b1;
      if (grant_valid_o) grants_q <= grants_q + 1'b1;
      if (refuse) refused_q <= refused_q + 1'b1;
    end
  end

  // ---- Reads (data the cycle after the access) -------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      csr_rdata_o <= '0;
    end else if (csr_rd_i) begin
      unique case (csr_addr_i)
        12'h000: csr_rdata_o <= norman_regmap_pkg::BLK_SCHED_HEADER;
        off(norman_regmap_pkg::REG_SCHED_GEOMETRY):
          csr_rdata_o <= {16'd0, 8'(FracW), 8'(MaxDepth), 16'(NumLeaves), 16'(NumClasses)};
        off(norman_regmap_pkg::REG_SCHED_ENABLE): csr_rdata_o <= 64'(en_q);
        off(norman_regmap_pkg::REG_SCHED_STATUS): csr_rdata_o <= {61'd0, !map_ready, epoch, busy};
        off(norman_regmap_pkg::REG_SCHED_DEFAULT_LEAF): csr_rdata_o <= 64'(dflt_q);
        off(norman_regmap_pkg::REG_SCHED_CLS_INC): csr_rdata_o <= 64'(inc_q);
        off(norman_regmap_pkg::REG_SCHED_CLS_CINC): csr_rdata_o <= 64'(cinc_q);
        off(norman_regmap_pkg::REG_SCHED_CLS_BURST): csr_rdata_o <= burst_q;
        off(norman_regmap_pkg::REG_SCHED_LEAF_CFG): csr_rdata_o <= leaf_cfg_q;
        off(norman_regmap_pkg::REG_SCHED_LEAF_PATH): csr_rdata_o <= leaf_path_q;
        off(norman_regmap_pkg::REG_SCHED_STAT_BYTES): csr_rdata_o <= st_bytes_q;
        off(norman_regmap_pkg::REG_SCHED_STAT_PKTS): csr_rdata_o <= st_pkts_q;
        off(norman_regmap_pkg::REG_SCHED_STAT_TOKENS): csr_rdata_o <= st_tok_q;
        off(norman_regmap_pkg::REG_SCHED_STAT_CTOKENS): csr_rdata_o <= st_ctok_q;
        off(norman_regmap_pkg::REG_SCHED_HELD): csr_rdata_o <= held_q;
        off(norman_regmap_pkg::REG_SCHED_GRANTS): csr_rdata_o <= grants_q;
        off(norman_regmap_pkg::REG_SCHED_REFUSED): csr_rdata_o <= refused_q;
        default: csr_rdata_o <= '0;
      endcase
    end
  end

  // The budget is the standalone core's (a sender that knows its frame
  // lengths before it fetches them); tx_engine takes one batch per grant.
  logic unused;
  assign unused = ^{grant_budget, csr_wdata_i[63:33], lk_valid_unused, lk_conn_unused};
endmodule

// The Norman NIC core: vendor-neutral, one 250 MHz clock domain, 512-bit
// AXI4-Stream Ethernet ports, a CSR (MMIO) port, DMA read/write ports to host
// memory and interrupt requests. Board wrappers adapt these to vendor IP.
// See docs/hw-interfaces.md for how the modules below fit together.
module nic_core
#(
  parameter int unsigned NumPorts = 2,
  // Filter overlay range slots; both lookup ports (INPUT, OUTPUT) hold all of
  // them, and the exact tables of the register map's geometry beside them.
  parameter int unsigned FilterEntries = norman_regmap_pkg::FILTER_ENTRIES
) (
  input  logic                           clk_i,
  input  logic                           rst_ni,
  // Ethernet RX from the MACs; tuser marks a bad frame and is sampled with tlast.
  input  logic [NumPorts-1:0]            eth_rx_tvalid_i,
  output logic [NumPorts-1:0]            eth_rx_tready_o,
  input  logic [NumPorts-1:0][norman_pkg::DataW-1:0] eth_rx_tdata_i,
  input  logic [NumPorts-1:0][norman_pkg::KeepW-1:0] eth_rx_tkeep_i,
  input  logic [NumPorts-1:0]            eth_rx_tlast_i,
  input  logic [NumPorts-1:0]            eth_rx_tuser_i,
  // Ethernet TX to the MACs.
  output logic [NumPorts-1:0]            eth_tx_tvalid_o,
  input  logic [NumPorts-1:0]            eth_tx_tready_i,
  output logic [NumPorts-1:0][norman_pkg::DataW-1:0] eth_tx_tdata_o,
  output logic [NumPorts-1:0][norman_pkg::KeepW-1:0] eth_tx_tkeep_o,
  output logic [NumPorts-1:0]            eth_tx_tlast_o,
  // CSR / MMIO: 64-bit accesses; one read response per read, in order.
  input  logic                           csr_req_valid_i,
  output logic                           csr_req_ready_o,
  input  logic                           csr_req_write_i,
  input  logic [norman_pkg::CsrAddrW-1:0]            csr_req_addr_i,
  input  logic [63:0]                    csr_req_wdata_i,
  output logic                           csr_rsp_valid_o,
  output logic [63:0]                    csr_rsp_rdata_o,
  // DMA write: address-aligned beats (host byte A travels in lane A mod 64);
  // addr and len are held constant on every beat of a request.
  output logic                           dma_wr_valid_o,
  input  logic                           dma_wr_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]            dma_wr_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]             dma_wr_len_o,
  output logic [norman_pkg::DataW-1:0]               dma_wr_data_o,
  output logic                           dma_wr_last_o,
  // DMA read: completions arrive in request order, packed from lane 0.
  output logic                           dma_rd_req_valid_o,
  input  logic                           dma_rd_req_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]            dma_rd_req_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]             dma_rd_req_len_o,
  output logic [norman_pkg::DmaTagW-1:0]             dma_rd_req_tag_o,
  input  logic                           dma_rd_cpl_valid_i,
  output logic                           dma_rd_cpl_ready_o,
  input  logic [norman_pkg::DataW-1:0]               dma_rd_cpl_data_i,
  input  logic [norman_pkg::DmaTagW-1:0]             dma_rd_cpl_tag_i,
  input  logic                           dma_rd_cpl_last_i,
  // Interrupt requests (one vector per notification queue).
  output logic                           irq_valid_o,
  input  logic                           irq_ready_i,
  output logic [norman_pkg::IrqVecW-1:0]             irq_vector_o,
  // Nothing in flight: the simulator may sleep until new input arrives.
  output logic                           idle_o
);
  localparam int unsigned CntIdxW = $clog2(norman_regmap_pkg::NUM_COUNTERS);
  // Counter sources: csr, classify, rx_dma, notify, tx_engine, tx_check, dma,
  // filter_log, ports. Adds: RX bytes per port, TX bytes, LOG records dropped.
  localparam int unsigned NumCntSrc = 8 + NumPorts;
  localparam int unsigned NumCntAdd = NumPorts + 2;

  logic [NumCntSrc-1:0][norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_src;
  logic [NumCntAdd-1:0]                   add_valid;
  logic [NumCntAdd-1:0][CntIdxW-1:0]      add_idx;
  logic [NumCntAdd-1:0][15:0]             add_val;

  // ---------------------------------------------------------------- CSR
  logic rx_enable, tx_enable, cnt_clear, csr_busy;
  logic [CntIdxW-1:0] cnt_rd_idx;
  logic [63:0] cnt_rd_val;
  logic flow_valid, flow_ready, flow_listen, flow_done;
  logic [1:0] flow_op;
  norman_pkg::flow_key_t flow_key;
  logic [norman_pkg::ConnIdW-1:0] flow_conn_req, flow_conn_rsp;
  norman_regmap_pkg::cmd_status_e flow_status;
  logic [15:0] flow_bucket;
  logic ctx_we, ctx_probe_valid, ring_reset;
  logic [norman_pkg::ConnIdW-1:0] ctx_wconn, ctx_probe_conn, ring_reset_conn, query_conn;
  norman_pkg::conn_ctx_t ctx_wdata;
  logic [15:0] query_rx_prod, query_tx_cons, query_tx_prod;
  logic query_tx_busy, drain_valid;
  logic [norman_pkg::ConnIdW-1:0] drain_conn;
  logic [NumPorts-1:0][47:0] port_mac;
  logic [NumPorts-1:0] port_promisc;
  logic [NumPorts-1:0][31:0] port_bcast;
  logic nq_cfg_valid, nq_cfg_enable;
  logic [norman_pkg::NqIdW-1:0] nq_cfg_nq;
  logic [63:0] nq_cfg_base;
  logic [4:0] nq_cfg_log2;
  logic [norman_pkg::IrqVecW-1:0] nq_cfg_vector;
  logic rx_db_valid, tx_db_valid, nq_db_cons_valid, nq_db_arm_valid;
  logic [norman_pkg::ConnIdW-1:0] rx_db_conn, tx_db_conn;
  logic [15:0] rx_db_cons, tx_db_prod, nq_db_cons;
  logic [norman_pkg::NqIdW-1:0] nq_db_nq;

  // Filter overlay: index 0 judges received frames (INPUT), 1 transmitted ones (OUTPUT).
  // Global slots: range slots, then exact locations.
  localparam int unsigned FltSlots = FilterEntries + norman_regmap_pkg::FILTER_EXACT_ENTRIES;
  localparam int unsigned FltSlotW = $clog2(FltSlots);
  localparam int unsigned FltLatency = norman_pkg::filter_lookup_latency(FilterEntries);
  localparam int unsigned FltIn = 0, FltOut = 1;
  logic [1:0] flt_wr_valid, flt_wr_ready, flt_wr_done, flt_wr_error;
  logic [1:0] flt_commit, flt_commit_ready, flt_commit_done, flt_clr_valid, flt_clr_ready, flt_idle;
  logic [norman_regmap_pkg::FILTER_SLOT_W-1:0] flt_wr_slot;
  logic flt_wr_slot_valid, flt_wr_log;
  logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0] flt_wr_lo, flt_wr_hi;
  logic [norman_regmap_pkg::FILTER_NUM_FIELDS-1:0] flt_wr_neg;
  logic [norman_regmap_pkg::FILTER_FLAGS_W-1:0] flt_wr_fv, flt_wr_fm;
  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0] flt_wr_prio;
  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0] flt_wr_action;
  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] flt_wr_rej;
  logic [1:0][31:0] flt_epoch;
  logic [1:0][15:0] flt_latency;
  logic [15:0] flt_clr_slot;
  logic [16:0] flt_cnt_sel;
  logic [1:0][63:0] flt_cnt_pkts, flt_cnt_bytes;
  logic [63:0] flt_sel_pkts, flt_sel_bytes;
  // LOG ring configuration (FILTER.LOG_*) and the cycle counter for records.
  logic [63:0] flt_log_base, cycles;
  logic [4:0] flt_log_log2;
  logic flt_log_cfg_we, flt_log_rate_we;
  logic [15:0] flt_log_cons, flt_log_burst;
  logic [31:0] flt_log_period;
  // Per lookup port: key in, verdict out.
  logic [1:0] flt_key_valid, flt_res_valid, flt_res_hit, flt_res_log;
  logic [1:0][norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0] flt_key;
  logic [1:0][norman_regmap_pkg::FILTER_FLAGS_W-1:0] flt_flags;
  logic [1:0][15:0] flt_bytes;
  logic [1:0][norman_regmap_pkg::FILTER_ACTION_W-1:0] flt_res_action;
  // Exact tables: one posted write for both ports.
  logic flt_ex_wr_valid, flt_ex_wr_mask, flt_ex_wr_entry_valid, flt_ex_wr_log;
  logic [1:0] flt_ex_wr_ready, flt_ex_refused;
  logic [15:0] flt_ex_wr_idx;
  logic [norman_regmap_pkg::FILTER_EXACT_VECTOR_W-1:0] flt_ex_wr_vec;
  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0] flt_ex_wr_prio;
  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0] flt_ex_wr_action;
  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] flt_ex_wr_rej;

  // CAPTURE block accesses, to cap_core.
  logic cap_csr_wr, cap_csr_rd;
  logic [11:0] cap_csr_addr;
  logic [63:0] cap_csr_wdata, cap_csr_rdata;
  // SCHED block accesses, to sched_overlay.
  logic sched_csr_wr, sched_csr_rd;
  logic [11:0] sched_csr_addr;
  logic [63:0] sched_csr_wdata, sched_csr_rdata;

  csr_regs #(.NumPorts(NumPorts), .FilterEntries(FilterEntries)) u_csr (
    .clk_i, .rst_ni,
    .req_valid_i(csr_req_valid_i), .req_ready_o(csr_req_ready_o), .req_write_i(csr_req_write_i),
    .req_addr_i(csr_req_addr_i), .req_wdata_i(csr_req_wdata_i),
    .rsp_valid_o(csr_rsp_valid_o), .rsp_rdata_o(csr_rsp_rdata_o),
    .rx_enable_o(rx_enable), .tx_enable_o(tx_enable),
    .port_mac_o(port_mac), .port_promisc_o(port_promisc), .port_bcast_o(port_bcast),
    .cnt_clear_o(cnt_clear), .cnt_rd_idx_o(cnt_rd_idx), .cnt_rd_val_i(cnt_rd_val), .cnt_o(cnt_src[0]),
    .flow_valid_o(flow_valid), .flow_ready_i(flow_ready), .flow_op_o(flow_op),
    .flow_listen_o(flow_listen), .flow_key_o(flow_key), .flow_conn_o(flow_conn_req),
    .flow_done_i(flow_done), .flow_status_i(flow_status), .flow_conn_i(flow_conn_rsp),
    .flow_bucket_i(flow_bucket),
    .ctx_we_o(ctx_we), .ctx_conn_o(ctx_wconn), .ctx_data_o(ctx_wdata),
    .ctx_probe_conn_o(ctx_probe_conn), .ctx_probe_valid_i(ctx_probe_valid),
    .ring_reset_o(ring_reset), .ring_reset_conn_o(ring_reset_conn),
    .query_conn_o(query_conn), .query_rx_prod_i(query_rx_prod), .query_tx_cons_i(query_tx_cons),
    .query_tx_prod_i(query_tx_prod), .query_tx_busy_i(query_tx_busy),
    .drain_valid_o(drain_valid), .drain_conn_o(drain_conn),
    .nq_cfg_valid_o(nq_cfg_valid), .nq_cfg_nq_o(nq_cfg_nq), .nq_cfg_enable_o(nq_cfg_enable),
    .nq_cfg_base_o(nq_cfg_base), .nq_cfg_log2_o(nq_cfg_log2), .nq_cfg_vector_o(nq_cfg_vector),
    .rx_db_valid_o(rx_db_valid), .rx_db_conn_o(rx_db_conn), .rx_db_cons_o(rx_db_cons),
    .tx_db_valid_o(tx_db_valid), .tx_db_conn_o(tx_db_conn), .tx_db_prod_o(tx_db_prod),
    .nq_db_cons_valid_o(nq_db_cons_valid), .nq_db_arm_valid_o(nq_db_arm_valid),
    .nq_db_nq_o(nq_db_nq), .nq_db_cons_o(nq_db_cons),
    .flt_wr_valid_o(flt_wr_valid), .flt_wr_ready_i(flt_wr_ready), .flt_wr_slot_o(flt_wr_slot),
    .flt_wr_slot_valid_o(flt_wr_slot_valid), .flt_wr_lo_o(flt_wr_lo), .flt_wr_hi_o(flt_wr_hi),
    .flt_wr_neg_o(flt_wr_neg), .flt_wr_flags_value_o(flt_wr_fv), .flt_wr_flags_mask_o(flt_wr_fm),
    .flt_wr_prio_o(flt_wr_prio), .flt_wr_action_o(flt_wr_action), .flt_wr_reject_with_o(flt_wr_rej),
    .flt_wr_log_o(flt_wr_log), .flt_wr_done_i(flt_wr_done), .flt_wr_error_i(flt_wr_error),
    .flt_commit_o(flt_commit), .flt_commit_ready_i(flt_commit_ready),
    .flt_commit_done_i(flt_commit_done), .flt_epoch_i(flt_epoch[FltIn]),
    .flt_clr_valid_o(flt_clr_valid), .flt_clr_ready_i(flt_clr_ready), .flt_clr_slot_o(flt_clr_slot),
    .flt_cnt_sel_o(flt_cnt_sel), .flt_cnt_pkts_i(flt_sel_pkts), .flt_cnt_bytes_i(flt_sel_bytes),
    .flt_latency_i(flt_latency[FltIn]),
    .flt_ex_wr_valid_o(flt_ex_wr_valid), .flt_ex_wr_ready_i(flt_ex_wr_ready),
    .flt_ex_wr_mask_o(flt_ex_wr_mask), .flt_ex_wr_idx_o(flt_ex_wr_idx), .flt_ex_wr_vec_o(flt_ex_wr_vec),
    .flt_ex_wr_entry_valid_o(flt_ex_wr_entry_valid), .flt_ex_wr_prio_o(flt_ex_wr_prio),
    .flt_ex_wr_action_o(flt_ex_wr_action), .flt_ex_wr_reject_with_o(flt_ex_wr_rej),
    .flt_ex_wr_log_o(flt_ex_wr_log), .flt_ex_refused_i(flt_ex_refused[FltIn]),
    .flt_log_base_o(flt_log_base), .flt_log_log2_o(flt_log_log2), .flt_log_cfg_we_o(flt_log_cfg_we),
    .flt_log_cons_o(flt_log_cons), .flt_log_rate_period_o(flt_log_period),
    .flt_log_rate_burst_o(flt_log_burst), .flt_log_rate_we_o(flt_log_rate_we), .cycles_o(cycles),
    .cap_wr_o(cap_csr_wr), .cap_rd_o(cap_csr_rd), .cap_addr_o(cap_csr_addr), .cap_wdata_o(cap_csr_wdata),
    .cap_rdata_i(cap_csr_rdata),
    .sched_wr_o(sched_csr_wr), .sched_rd_o(sched_csr_rd), .sched_addr_o(sched_csr_addr),
    .sched_wdata_o(sched_csr_wdata), .sched_rdata_i(sched_csr_rdata),
    .busy_o(csr_busy));

  // Both lookup ports get every write, commit and clear (csr_regs waits for
  // both), so they hold the same slots and switch banks together.
  // The lookup carries each key beside it as its tag (in flops enabled by
  // the key's valid bit): a LOG record needs the whole key with the verdict,
  // and rx_classify/tx_check have long moved on by then.
  localparam int unsigned FltTagW = norman_regmap_pkg::FILTER_RANGE_KEY_W + norman_regmap_pkg::FILTER_FLAGS_W + 16;
  logic [1:0] log_ev;
  logic [1:0][norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0] log_key;
  logic [1:0][norman_regmap_pkg::FILTER_FLAGS_W-1:0] log_flags;
  logic [1:0][15:0] log_bytes;
  logic [1:0][FltSlotW-1:0] log_slot;
  for (genvar i = 0; i < 2; i++) begin : g_filter
    logic [FltSlotW-1:0] res_slot;
    logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] res_rej;
    logic [FltTagW-1:0] res_tag;
    filter_lookup #(.Entries(FilterEntries), .TagW(FltTagW), .BytesW(16), .EpochW(32)) u_lookup (
      .clk_i, .rst_ni,
      .key_valid_i(flt_key_valid[i]), .key_i(flt_key[i]), .flags_i(flt_flags[i]),
      .bytes_i(flt_bytes[i]), .tag_i({flt_bytes[i], flt_flags[i], flt_key[i]}),
      .res_valid_o(flt_res_valid[i]), .res_tag_o(res_tag), .res_hit_o(flt_res_hit[i]),
      .res_slot_o(res_slot), .res_action_o(flt_res_action[i]), .res_reject_with_o(res_rej),
      .res_log_o(flt_res_log[i]), .latency_o(flt_latency[i]),
      .wr_valid_i(flt_wr_valid[i]), .wr_ready_o(flt_wr_ready[i]), .wr_slot_i(flt_wr_slot),
      .wr_slot_valid_i(flt_wr_slot_valid), .wr_lo_i(flt_wr_lo), .wr_hi_i(flt_wr_hi),
      .wr_neg_i(flt_wr_neg), .wr_flags_value_i(flt_wr_fv), .wr_flags_mask_i(flt_wr_fm),
      .wr_prio_i(flt_wr_prio), .wr_action_i(flt_wr_action), .wr_reject_with_i(flt_wr_rej),
      .wr_log_i(flt_wr_log), .wr_done_o(flt_wr_done[i]), .wr_error_o(flt_wr_error[i]),
      .ex_wr_valid_i(flt_ex_wr_valid), .ex_wr_ready_o(flt_ex_wr_ready[i]), .ex_wr_mask_i(flt_ex_wr_mask),
      .ex_wr_idx_i(flt_ex_wr_idx), .ex_wr_vec_i(flt_ex_wr_vec), .ex_wr_entry_valid_i(flt_ex_wr_entry_valid),
      .ex_wr_prio_i(flt_ex_wr_prio), .ex_wr_action_i(flt_ex_wr_action),
      .ex_wr_reject_with_i(flt_ex_wr_rej), .ex_wr_log_i(flt_ex_wr_log),
      .ex_wr_refused_o(flt_ex_refused[i]),
      .commit_i(flt_commit[i]), .commit_ready_o(flt_commit_ready[i]),
      .commit_done_o(flt_commit_done[i]), .epoch_o(flt_epoch[i]),
      .cnt_rd_slot_i(FltSlotW'(flt_cnt_sel[15:0])), .cnt_rd_pkts_o(flt_cnt_pkts[i]),
      .cnt_rd_bytes_o(flt_cnt_bytes[i]),
      .cnt_clr_valid_i(flt_clr_valid[i]), .cnt_clr_ready_o(flt_clr_ready[i]),
      .cnt_clr_slot_i(FltSlotW'(flt_clr_slot)), .idle_o(flt_idle[i]));
    assign log_ev[i] = flt_res_valid[i] && flt_res_hit[i] && flt_res_log[i];
    assign {log_bytes[i], log_flags[i], log_key[i]} = res_tag;
    assign log_slot[i] = res_slot;
    // reject_with: REJECT replies are built by the control plane from the frame.
    logic unused;
    assign unused = ^res_rej;
  end

  // CNT_SEL: bit 16 picks the lookup port; slots past the tables read zero.
  logic flt_sel_in_range;
  assign flt_sel_in_range = 32'(flt_cnt_sel[15:0]) < FltSlots;
  assign flt_sel_pkts = flt_sel_in_range ? flt_cnt_pkts[flt_cnt_sel[16]] : '0;
  assign flt_sel_bytes = flt_sel_in_range ? flt_cnt_bytes[flt_cnt_sel[16]] : '0;

  counter_bank #(.NumSrc(NumCntSrc), .NumAdd(NumCntAdd)) u_counters (
    .clk_i, .rst_ni, .inc_i(cnt_src), .add_valid_i(add_valid), .add_idx_i(add_idx),
    .add_val_i(add_val), .clear_i(cnt_clear), .rd_idx_i(cnt_rd_idx), .rd_val_o(cnt_rd_val));

  // ---------------------------------------------------------------- contexts
  logic ctx_rx_re, ctx_tx_re;
  logic [norman_pkg::ConnIdW-1:0] ctx_rx_conn, ctx_tx_conn;
  norman_pkg::conn_ctx_t ctx_rx, ctx_tx;
  conn_ctx_mem u_ctx (
    .clk_i, .rst_ni, .we_i(ctx_we), .wconn_i(ctx_wconn), .wdata_i(ctx_wdata),
    .rx_re_i(ctx_rx_re), .rx_conn_i(ctx_rx_conn), .rx_ctx_o(ctx_rx),
    .tx_re_i(ctx_tx_re), .tx_conn_i(ctx_tx_conn), .tx_ctx_o(ctx_tx),
    .probe_conn_i(ctx_probe_conn), .probe_valid_o(ctx_probe_valid));

  // ---------------------------------------------------------------- RX
  logic meta_valid, meta_ready;
  norman_pkg::rx_meta_t meta;
  logic rxd_valid, rxd_ready, rxd_last;
  logic [norman_pkg::DataW-1:0] rxd_data;
  logic [norman_pkg::KeepW-1:0] rxd_keep;
  logic [NumPorts-1:0] rx_bytes_valid;
  logic [NumPorts-1:0][15:0] rx_bytes;
  logic ingress_idle;

  rx_ingress #(.NumPorts(NumPorts)) u_ingress (
    .clk_i, .rst_ni,
    .eth_rx_tvalid_i, .eth_rx_tready_o, .eth_rx_tdata_i, .eth_rx_tkeep_i, .eth_rx_tlast_i,
    .eth_rx_tuser_i, .rx_enable_i(rx_enable),
    .meta_valid_o(meta_valid), .meta_ready_i(meta_ready), .meta_o(meta),
    .data_valid_o(rxd_valid), .data_ready_i(rxd_ready), .data_o(rxd_data), .keep_o(rxd_keep),
    .last_o(rxd_last), .cnt_o(cnt_src[NumCntSrc-1 -: NumPorts]),
    .bytes_valid_o(rx_bytes_valid), .bytes_o(rx_bytes), .idle_o(ingress_idle));

  for (genvar p = 0; p < NumPorts; p++) begin : g_rx_bytes
    assign add_valid[p] = rx_bytes_valid[p];
    assign add_idx[p] = CntIdxW'(norman_regmap_pkg::CNT_RX_BYTES);
    assign add_val[p] = rx_bytes[p];
  end

  logic lk_valid_in, lk_valid_out, lk_hit, lk_listen;
  norman_pkg::flow_key_t lk_key;
  norman_pkg::rx_tag_t lk_tag_in, lk_tag_out;
  logic [norman_pkg::ConnIdW-1:0] lk_conn;
  conn_table #(.TagW(norman_pkg::RxTagW)) u_conn_table (
    .clk_i, .rst_ni,
    .lookup_valid_i(lk_valid_in), .lookup_key_i(lk_key), .lookup_tag_i(lk_tag_in),
    .lookup_valid_o(lk_valid_out), .lookup_tag_o(lk_tag_out), .lookup_hit_o(lk_hit),
    .lookup_listen_o(lk_listen), .lookup_conn_o(lk_conn),
    .cmd_valid_i(flow_valid), .cmd_ready_o(flow_ready), .cmd_op_i(flow_op),
    .cmd_listen_i(flow_listen), .cmd_key_i(flow_key), .cmd_conn_i(flow_conn_req),
    .cmd_done_o(flow_done), .cmd_status_o(flow_status), .cmd_conn_o(flow_conn_rsp),
    .cmd_bucket_o(flow_bucket));

  logic desc_valid, desc_ready, classify_idle;
  norman_pkg::rx_desc_t desc;
  rx_classify #(.NumPorts(NumPorts), .FilterLatency(FltLatency)) u_classify (
    .clk_i, .rst_ni,
    .meta_valid_i(meta_valid), .meta_ready_o(meta_ready), .meta_i(meta),
    .port_mac_i(port_mac), .port_promisc_i(port_promisc),
    .lookup_valid_o(lk_valid_in), .lookup_key_o(lk_key), .lookup_tag_o(lk_tag_in),
    .lookup_valid_i(lk_valid_out), .lookup_tag_i(lk_tag_out), .lookup_hit_i(lk_hit),
    .lookup_conn_i(lk_conn),
    .ctx_re_o(ctx_rx_re), .ctx_conn_o(ctx_rx_conn), .ctx_i(ctx_rx),
    .ctx_we_i(ctx_we), .ctx_wconn_i(ctx_wconn), .ctx_wdata_i(ctx_wdata),
    .flt_valid_o(flt_key_valid[FltIn]), .flt_key_o(flt_key[FltIn]), .flt_flags_o(flt_flags[FltIn]),
    .flt_bytes_o(flt_bytes[FltIn]), .flt_valid_i(flt_res_valid[FltIn]),
    .flt_hit_i(flt_res_hit[FltIn]), .flt_action_i(flt_res_action[FltIn]),
    .flt_log_i(flt_res_log[FltIn]),
    .desc_valid_o(desc_valid), .desc_ready_i(desc_ready), .desc_o(desc),
    .cnt_o(cnt_src[1]), .idle_o(classify_idle));

  // DMA write sources: 0 RX data, 1 notifications, 2 TX descriptor
  // write-back, 3 LOG records, 4 capture records (3 and 4 low priority).
  localparam int unsigned NumWrSrc = 5;
  logic [NumWrSrc-1:0] wr_valid, wr_ready, wr_last;
  logic [NumWrSrc-1:0][norman_pkg::DmaAddrW-1:0] wr_addr;
  logic [NumWrSrc-1:0][norman_pkg::DmaLenW-1:0] wr_len;
  logic [NumWrSrc-1:0][norman_pkg::DataW-1:0] wr_data;

  // ---------------------------------------------------------------- LOG records
  logic log_drop_valid, log_idle;
  logic [1:0] log_drop_count;
  filter_log #(.SlotW(FltSlotW)) u_filter_log (
    .clk_i, .rst_ni,
    .ev_valid_i(log_ev), .ev_key_i(log_key), .ev_flags_i(log_flags), .ev_bytes_i(log_bytes),
    .ev_slot_i(log_slot), .cycle_i(cycles),
    .base_i(flt_log_base), .log2_i(flt_log_log2), .cfg_we_i(flt_log_cfg_we), .cons_i(flt_log_cons),
    .rate_period_i(flt_log_period), .rate_burst_i(flt_log_burst), .rate_we_i(flt_log_rate_we),
    .wr_valid_o(wr_valid[3]), .wr_ready_i(wr_ready[3]), .wr_addr_o(wr_addr[3]),
    .wr_len_o(wr_len[3]), .wr_data_o(wr_data[3]), .wr_last_o(wr_last[3]),
    .cnt_o(cnt_src[7]), .drop_valid_o(log_drop_valid), .drop_count_o(log_drop_count),
    .idle_o(log_idle));
  assign add_valid[NumPorts+1] = log_drop_valid;
  assign add_idx[NumPorts+1] = CntIdxW'(norman_regmap_pkg::CNT_FILTER_LOG_DROPPED);
  assign add_val[NumPorts+1] = 16'(log_drop_count);

  logic rx_notify_valid, rx_notify_ready, rx_dma_idle;
  norman_pkg::notify_req_t rx_notify;
  rx_dma_engine u_rx_dma (
    .clk_i, .rst_ni,
    .desc_valid_i(desc_valid), .desc_ready_o(desc_ready), .desc_i(desc),
    .data_valid_i(rxd_valid), .data_ready_o(rxd_ready), .data_i(rxd_data), .keep_i(rxd_keep),
    .last_i(rxd_last),
    .cfg_valid_i(ring_reset), .cfg_conn_i(ring_reset_conn), .cfg_nq_i(ctx_wdata.nq_id),
    .db_valid_i(rx_db_valid), .db_conn_i(rx_db_conn), .db_cons_i(rx_db_cons),
    .query_conn_i(query_conn), .query_prod_o(query_rx_prod),
    .wr_valid_o(wr_valid[0]), .wr_ready_i(wr_ready[0]), .wr_addr_o(wr_addr[0]),
    .wr_len_o(wr_len[0]), .wr_data_o(wr_data[0]), .wr_last_o(wr_last[0]),
    .notify_valid_o(rx_notify_valid), .notify_ready_i(rx_notify_ready), .notify_o(rx_notify),
    .cnt_o(cnt_src[2]), .idle_o(rx_dma_idle));

  // ---------------------------------------------------------------- notifications
  // RX and TX both post notifications; alternate between them when both wait.
  logic tx_notify_valid, tx_notify_ready, nq_valid, nq_ready, notify_idle, prefer_tx_q;
  norman_pkg::notify_req_t tx_notify, nq_req;
  logic pick_tx;
  assign pick_tx = tx_notify_valid && (!rx_notify_valid || prefer_tx_q);
  assign nq_valid = rx_notify_valid || tx_notify_valid;
  assign nq_req = pick_tx ? tx_notify : rx_notify;
  assign rx_notify_ready = nq_ready && !pick_tx;
  assign tx_notify_ready = nq_ready && pick_tx;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) prefer_tx_q <= 1'b0;
    else if (nq_valid && nq_ready) prefer_tx_q <= !pick_tx;
  end

  notify_engine u_notify (
    .clk_i, .rst_ni,
    .cfg_valid_i(nq_cfg_valid), .cfg_nq_i(nq_cfg_nq), .cfg_enable_i(nq_cfg_enable),
    .cfg_base_i(nq_cfg_base), .cfg_log2_i(nq_cfg_log2), .cfg_vector_i(nq_cfg_vector),
    .db_cons_valid_i(nq_db_cons_valid), .db_nq_i(nq_db_nq), .db_cons_i(nq_db_cons),
    .db_arm_valid_i(nq_db_arm_valid), .db_arm_nq_i(nq_db_nq),
    .notify_valid_i(nq_valid), .notify_ready_o(nq_ready), .notify_i(nq_req),
    .wr_valid_o(wr_valid[1]), .wr_ready_i(wr_ready[1]), .wr_addr_o(wr_addr[1]),
    .wr_len_o(wr_len[1]), .wr_data_o(wr_data[1]), .wr_last_o(wr_last[1]),
    .irq_valid_o, .irq_ready_i, .irq_vector_o, .cnt_o(cnt_src[3]), .idle_o(notify_idle));

  // ---------------------------------------------------------------- TX
  logic frm_valid, frm_ready, frm_last, cpl_valid, cpl_ready, tx_engine_idle, tx_check_idle;
  logic [norman_pkg::DataW-1:0] frm_data;
  logic [norman_pkg::KeepW-1:0] frm_keep;
  norman_pkg::tx_info_t frm_info;
  logic [norman_pkg::ConnIdW-1:0] cpl_conn;
  logic [15:0] cpl_idx;
  logic [norman_regmap_pkg::TX_DESC_STATUS_W-1:0] cpl_status;

  // ---------------------------------------------------------------- TX scheduler
  // sched_overlay (docs/qos.md): the SCHED registers, the HTB core and the
  // connection map; tx_engine fetches a connection's descriptors under its
  // leaf's grants when SCHED.ENABLE is set.
  localparam int unsigned SchedLW = $clog2(norman_regmap_pkg::SCHED_LEAVES);
  localparam int unsigned SchedDW = $clog2(norman_regmap_pkg::SCHED_DEPTHS);
  logic sched_en, sched_lk_valid, sched_grant_valid, sched_bl_valid;
  logic sched_done_valid, sched_done_ready, sched_done_more, sched_ch_valid, sched_ch_ready;
  logic [norman_pkg::ConnIdW-1:0] sched_lk_conn;
  logic [SchedLW-1:0] sched_lk_leaf, sched_grant_leaf, sched_bl_leaf, sched_done_leaf, sched_ch_leaf;
  logic [SchedDW-1:0] sched_grant_lender, sched_ch_lender;
  logic [23:0] sched_ch_bytes, sched_ch_pkts;
  sched_overlay u_sched (
    .clk_i, .rst_ni,
    .csr_wr_i(sched_csr_wr), .csr_rd_i(sched_csr_rd), .csr_addr_i(sched_csr_addr),
    .csr_wdata_i(sched_csr_wdata), .csr_rdata_o(sched_csr_rdata),
    .en_o(sched_en), .lk_valid_i(sched_lk_valid), .lk_conn_i(sched_lk_conn),
    .lk_leaf_o(sched_lk_leaf),
    .grant_valid_o(sched_grant_valid), .grant_leaf_o(sched_grant_leaf),
    .grant_lender_o(sched_grant_lender),
    .bl_valid_i(sched_bl_valid), .bl_leaf_i(sched_bl_leaf),
    .done_valid_i(sched_done_valid), .done_ready_o(sched_done_ready),
    .done_leaf_i(sched_done_leaf), .done_more_i(sched_done_more),
    .ch_valid_i(sched_ch_valid), .ch_ready_o(sched_ch_ready), .ch_leaf_i(sched_ch_leaf),
    .ch_lender_i(sched_ch_lender), .ch_bytes_i(sched_ch_bytes), .ch_pkts_i(sched_ch_pkts));

  tx_engine #(
    .SchedLeaves(norman_regmap_pkg::SCHED_LEAVES), .SchedDepth(norman_regmap_pkg::SCHED_DEPTHS)
  ) u_tx_engine (
    .clk_i, .rst_ni,
    .cfg_valid_i(ring_reset), .cfg_conn_i(ring_reset_conn),
    .db_valid_i(tx_db_valid), .db_conn_i(tx_db_conn), .db_prod_i(tx_db_prod),
    .ctx_rd_valid_o(ctx_tx_re), .ctx_rd_conn_o(ctx_tx_conn), .ctx_rd_data_i(ctx_tx),
    .dma_rd_req_valid_o, .dma_rd_req_ready_i, .dma_rd_req_addr_o, .dma_rd_req_len_o,
    .dma_rd_req_tag_o, .dma_rd_cpl_valid_i, .dma_rd_cpl_ready_o, .dma_rd_cpl_data_i,
    .dma_rd_cpl_tag_i, .dma_rd_cpl_last_i,
    .dma_wr_valid_o(wr_valid[2]), .dma_wr_ready_i(wr_ready[2]), .dma_wr_addr_o(wr_addr[2]),
    .dma_wr_len_o(wr_len[2]), .dma_wr_data_o(wr_data[2]), .dma_wr_last_o(wr_last[2]),
    .frame_valid_o(frm_valid), .frame_ready_i(frm_ready), .frame_data_o(frm_data),
    .frame_keep_o(frm_keep), .frame_last_o(frm_last), .frame_info_o(frm_info),
    .cpl_valid_i(cpl_valid), .cpl_ready_o(cpl_ready), .cpl_conn_i(cpl_conn),
    .cpl_idx_i(cpl_idx), .cpl_status_i(cpl_status),
    .notify_valid_o(tx_notify_valid), .notify_ready_i(tx_notify_ready), .notify_o(tx_notify),
    .query_conn_i(query_conn), .query_cons_o(query_tx_cons), .query_prod_o(query_tx_prod),
    .query_busy_o(query_tx_busy),
    .cnt_o(cnt_src[4]), .idle_o(tx_engine_idle),
    .sched_en_i(sched_en), .sched_lk_valid_o(sched_lk_valid), .sched_lk_conn_o(sched_lk_conn),
    .sched_lk_leaf_i(sched_lk_leaf),
    .sched_grant_valid_i(sched_grant_valid), .sched_grant_leaf_i(sched_grant_leaf),
    .sched_grant_lender_i(sched_grant_lender),
    .sched_bl_valid_o(sched_bl_valid), .sched_bl_leaf_o(sched_bl_leaf),
    .sched_done_valid_o(sched_done_valid), .sched_done_ready_i(sched_done_ready),
    .sched_done_leaf_o(sched_done_leaf), .sched_done_more_o(sched_done_more),
    .sched_ch_valid_o(sched_ch_valid), .sched_ch_ready_i(sched_ch_ready),
    .sched_ch_leaf_o(sched_ch_leaf), .sched_ch_lender_o(sched_ch_lender),
    .sched_ch_bytes_o(sched_ch_bytes), .sched_ch_pkts_o(sched_ch_pkts));

  // CTRL.ENABLE bit 1 pauses transmission: frames wait, none is lost.
  logic [NumPorts-1:0] tx_valid, tx_ready;
  logic tx_bytes_valid;
  logic [15:0] tx_bytes;
  tx_check #(.NumPorts(NumPorts), .FilterLatency(FltLatency)) u_tx_check (
    .clk_i, .rst_ni,
    .in_valid_i(frm_valid), .in_ready_o(frm_ready), .in_data_i(frm_data), .in_keep_i(frm_keep),
    .in_last_i(frm_last), .in_info_i(frm_info),
    .drain_valid_i(drain_valid), .drain_conn_i(drain_conn), .port_bcast_i(port_bcast),
    .flt_valid_o(flt_key_valid[FltOut]), .flt_key_o(flt_key[FltOut]), .flt_flags_o(flt_flags[FltOut]),
    .flt_bytes_o(flt_bytes[FltOut]), .flt_valid_i(flt_res_valid[FltOut]),
    .flt_hit_i(flt_res_hit[FltOut]), .flt_action_i(flt_res_action[FltOut]),
    .flt_log_i(flt_res_log[FltOut]),
    .eth_tx_tvalid_o(tx_valid), .eth_tx_tready_i(tx_ready), .eth_tx_tdata_o,
    .eth_tx_tkeep_o, .eth_tx_tlast_o,
    .cpl_valid_o(cpl_valid), .cpl_ready_i(cpl_ready), .cpl_conn_o(cpl_conn), .cpl_idx_o(cpl_idx),
    .cpl_status_o(cpl_status), .cnt_o(cnt_src[5]),
    .tx_bytes_valid_o(tx_bytes_valid), .tx_bytes_o(tx_bytes), .idle_o(tx_check_idle));
  assign eth_tx_tvalid_o = tx_enable ? tx_valid : '0;
  assign tx_ready = tx_enable ? eth_tx_tready_i : '0;
  assign add_valid[NumPorts] = tx_bytes_valid;
  assign add_idx[NumPorts] = CntIdxW'(norman_regmap_pkg::CNT_TX_BYTES);
  assign add_val[NumPorts] = tx_bytes;

  // ---------------------------------------------------------------- capture taps
  // Receive: the beats rx_dma_engine takes (every frame the parser passed,
  // in frame order), with the frame's flow-table result (its connection, or
  // the fallback's) and the descriptor rx_classify gave it, which holds the
  // filter overlay's verdict. A frame condemned before the filter (MAC
  // error, runt, too big, not our MAC, no queue) is not captured; those
  // have their own counters. Each frame's lookup result and descriptor
  // precede its data (rx_dma_engine takes the descriptor before it moves
  // any of the frame's data), so two FIFOs in frame order pair them: the
  // lookup result waits through the classifier (at most its DescFifoDepth
  // frames) and rx_dma_engine's jobs, the descriptor only through the jobs.
  localparam int unsigned CapLkDepth = 64, CapDescDepth = 16;
  typedef struct packed {
    logic [norman_pkg::ConnIdW-1:0] conn;
    logic owner_valid;
    logic [norman_pkg::PortIdW-1:0] port;
  } cap_lk_t;
  typedef struct packed {
    logic cap;
    logic [1:0] verdict;
    logic [15:0] len;
  } cap_desc_t;
  cap_lk_t cap_lk_in, cap_lk;
  cap_desc_t cap_desc_in, cap_desc;
  logic cap_lk_hit, cap_rx_beat, cap_rx_last, cap_lk_valid, cap_desc_valid;
  logic cap_lk_in_ready, cap_desc_in_ready;
  logic [$clog2(CapLkDepth + 1)-1:0] cap_lk_count;
  logic [$clog2(CapDescDepth + 1)-1:0] cap_desc_count;
  assign cap_lk_hit = lk_tag_out.eligible && lk_hit;
  assign cap_lk_in.conn = cap_lk_hit ? lk_conn : norman_pkg::ConnIdW'(norman_regmap_pkg::FALLBACK_CONN);
  assign cap_lk_in.owner_valid = cap_lk_hit;
  assign cap_lk_in.port = lk_tag_out.port;
  always_comb begin
    cap_desc_in.len = 16'(desc.len);
    if (desc.flags[norman_regmap_pkg::RX_SLOT_FLAGS_REJECT]) begin
      cap_desc_in.cap = 1'b1;
      cap_desc_in.verdict = 2'(norman_regmap_pkg::CAPTURE_REC_KINDS_REJECT);
    end else if (desc.drop == norman_pkg::RXD_FILTER) begin
      cap_desc_in.cap = 1'b1;
      cap_desc_in.verdict = 2'(norman_regmap_pkg::CAPTURE_REC_KINDS_DROP);
    end else begin
      cap_desc_in.cap = desc.drop == norman_pkg::RXD_NONE;
      cap_desc_in.verdict = 2'(norman_regmap_pkg::CAPTURE_REC_KINDS_ACCEPT);
    end
  end
  assign cap_rx_beat = rxd_valid && rxd_ready;
  assign cap_rx_last = cap_rx_beat && rxd_last;
  sync_fifo #(.Width($bits(cap_lk_in)), .Depth(CapLkDepth)) u_cap_lk (
    .clk_i, .rst_ni,
    .in_valid_i(lk_valid_out), .in_ready_o(cap_lk_in_ready), .in_data_i(cap_lk_in),
    .out_valid_o(cap_lk_valid), .out_ready_i(cap_rx_last), .out_data_o(cap_lk),
    .count_o(cap_lk_count));
  sync_fifo #(.Width($bits(cap_desc_in)), .Depth(CapDescDepth)) u_cap_desc (
    .clk_i, .rst_ni,
    .in_valid_i(desc_valid && desc_ready), .in_ready_o(cap_desc_in_ready), .in_data_i(cap_desc_in),
    .out_valid_o(cap_desc_valid), .out_ready_i(cap_rx_last), .out_data_o(cap_desc),
    .count_o(cap_desc_count));

  // Transmit: the beats tx_check sends to a port (what it passed; CTRL.ENABLE
  // applied), verdict accept. tx_check keeps frame order and finishes every
  // frame with exactly one fate counter (TX_SENT or a TX_DROP_*), so a FIFO
  // of the sending connections, written as frames enter tx_check and read
  // as they finish, has the sent frame's connection at its head while the
  // frame is on the wire. tx_check holds at most MaxFrames (32) frames.
  localparam int unsigned CapTxDepth = 32;
  typedef struct packed {
    logic [norman_pkg::ConnIdW-1:0] conn;
    logic owner_valid;
  } cap_tx_t;
  cap_tx_t cap_tx_in, cap_tx;
  logic cap_tx_in_frame_q, cap_tx_push, cap_tx_done, cap_tx_valid, cap_tx_in_ready, cap_tx_beat;
  logic [$clog2(CapTxDepth + 1)-1:0] cap_tx_count;
  logic [NumPorts-1:0] cap_tx_fire;
  logic [3:0] cap_tx_port;
  assign cap_tx_push = frm_valid && frm_ready && !cap_tx_in_frame_q;
  assign cap_tx_in.conn = frm_info.conn_id;
  assign cap_tx_in.owner_valid = frm_info.owner_valid;
  assign cap_tx_done = cnt_src[5][norman_regmap_pkg::CNT_TX_SENT]
                       || cnt_src[5][norman_regmap_pkg::CNT_TX_DROP_SPOOF]
                       || cnt_src[5][norman_regmap_pkg::CNT_TX_DROP_FILTER]
                       || cnt_src[5][norman_regmap_pkg::CNT_TX_DROP_VLAN]
                       || cnt_src[5][norman_regmap_pkg::CNT_TX_DROP_MARTIAN]
                       || cnt_src[5][norman_regmap_pkg::CNT_TX_DROP_BROADCAST]
                       || cnt_src[5][norman_regmap_pkg::CNT_TX_DROP_CLOSED];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) cap_tx_in_frame_q <= 1'b0;
    else if (frm_valid && frm_ready) cap_tx_in_frame_q <= !frm_last;
  end
  sync_fifo #(.Width($bits(cap_tx_in)), .Depth(CapTxDepth)) u_cap_tx (
    .clk_i, .rst_ni,
    .in_valid_i(cap_tx_push), .in_ready_o(cap_tx_in_ready), .in_data_i(cap_tx_in),
    .out_valid_o(cap_tx_valid), .out_ready_i(cap_tx_done), .out_data_o(cap_tx),
    .count_o(cap_tx_count));
  assign cap_tx_fire = eth_tx_tvalid_o & eth_tx_tready_i;
  assign cap_tx_beat = cap_tx_fire != '0;
  logic [norman_pkg::DataW-1:0] cap_tx_data;
  logic cap_tx_last;
  always_comb begin
    cap_tx_port = '0;
    cap_tx_data = eth_tx_tdata_o[0];
    cap_tx_last = eth_tx_tlast_o[0];
    for (int unsigned p = 0; p < NumPorts; p++) begin
      if (cap_tx_fire[p]) begin
        cap_tx_port = 4'(p);
        cap_tx_data = eth_tx_tdata_o[p];
        cap_tx_last = eth_tx_tlast_o[p];
      end
    end
  end

`ifndef SYNTHESIS
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (rst_ni) begin
      assert (!cap_rx_beat || (cap_lk_valid && cap_desc_valid))
        else $error("nic_core: RX capture tap lost its frame's lookup or descriptor");
      assert (!cap_tx_beat || cap_tx_valid)
        else $error("nic_core: TX capture tap lost its frame's connection");
      assert (cap_lk_in_ready && cap_desc_in_ready && cap_tx_in_ready)
        else $error("nic_core: capture tap FIFO full");
    end
  end
`endif

  logic cap_idle;
  cap_core u_capture (
    .clk_i, .rst_ni,
    .tap_valid_i({cap_tx_beat, cap_rx_beat}),
    .tap_data_i({cap_tx_data, rxd_data}),
    .tap_last_i({cap_tx_last, rxd_last}),
    .tap_cap_i({1'b1, cap_desc.cap}),
    .tap_port_i({cap_tx_port, 4'(cap_lk.port)}),
    .tap_len_i({tx_bytes, cap_desc.len}),
    .tap_conn_i({16'(cap_tx.conn), 16'(cap_lk.conn)}),
    .tap_owner_valid_i({cap_tx.owner_valid, cap_lk.owner_valid}),
    .tap_verdict_i({2'(norman_regmap_pkg::CAPTURE_REC_KINDS_ACCEPT), cap_desc.verdict}),
    .cycle_i(cycles),
    .csr_wr_i(cap_csr_wr), .csr_rd_i(cap_csr_rd), .csr_addr_i(cap_csr_addr), .csr_wdata_i(cap_csr_wdata),
    .csr_rdata_o(cap_csr_rdata),
    .wr_valid_o(wr_valid[4]), .wr_ready_i(wr_ready[4]), .wr_addr_o(wr_addr[4]),
    .wr_len_o(wr_len[4]), .wr_data_o(wr_data[4]), .wr_last_o(wr_last[4]),
    .idle_o(cap_idle));

  // ---------------------------------------------------------------- DMA
  dma_wr_arbiter #(.NumSrc(NumWrSrc), .LowPrio(5'b11000)) u_wr_arb (
    .clk_i, .rst_ni,
    .in_valid_i(wr_valid), .in_ready_o(wr_ready), .in_addr_i(wr_addr), .in_len_i(wr_len),
    .in_data_i(wr_data), .in_last_i(wr_last),
    .out_valid_o(dma_wr_valid_o), .out_ready_i(dma_wr_ready_i), .out_addr_o(dma_wr_addr_o),
    .out_len_o(dma_wr_len_o), .out_data_o(dma_wr_data_o), .out_last_o(dma_wr_last_o));

  // Count requests, not beats: a write request starts on the beat after a last.
  logic wr_in_req_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) wr_in_req_q <= 1'b0;
    else if (dma_wr_valid_o && dma_wr_ready_i) wr_in_req_q <= !dma_wr_last_o;
  end
  always_comb begin
    cnt_src[6] = '0;
    cnt_src[6][norman_regmap_pkg::CNT_DMA_WR_REQS] = dma_wr_valid_o && dma_wr_ready_i && !wr_in_req_q;
    cnt_src[6][norman_regmap_pkg::CNT_DMA_RD_REQS] = dma_rd_req_valid_o && dma_rd_req_ready_i;
  end

  // The flow table's listen flag is for diagnostics; the classifier needs only
  // the hit. Both lookup ports count epochs, report latency and refuse exact
  // writes alike. Slot arguments are 16 bits wide; the tables may be smaller.
  logic unused;
  assign unused = ^{lk_listen, flt_epoch[FltOut], flt_latency[FltOut], flt_ex_refused[FltOut],
                    flt_clr_slot, cap_lk_count, cap_desc_count, cap_tx_count,
                    cap_lk_in_ready, cap_desc_in_ready, cap_tx_in_ready, cap_lk_valid, cap_desc_valid,
                    cap_tx_valid};

  assign idle_o = ingress_idle && classify_idle && rx_dma_idle && notify_idle && tx_engine_idle
                  && tx_check_idle && !csr_busy && !wr_in_req_q && (&flt_idle) && log_idle && cap_idle;
endmodule

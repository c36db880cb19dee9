// Test top for the TX path: tx_engine + tx_check with a connection context
// memory that the C++ test writes field by field (no packed-struct packing on
// the C++ side). DMA, Ethernet and notification ports are left to the test.
module tx_tb
  import norman_pkg::*;
  import norman_regmap_pkg::*;
#(
  parameter int unsigned NumPorts = 2
) (
  input  logic                           clk_i,
  input  logic                           rst_ni,
  // Context write (also resets the connection's TX indices, like CONN_SET,
  // unless ctx_keep_idx_i: csr_regs' first, invalidating write of a drain).
  input  logic                           ctx_we_i,
  input  logic                           ctx_keep_idx_i,
  input  logic                           ctx_broadcast_i,
  input  logic [ConnIdW-1:0]             ctx_conn_i,
  input  logic                           ctx_valid_i,
  input  logic [NqIdW-1:0]               ctx_nq_id_i,
  input  logic [PortIdW-1:0]             ctx_port_i,
  input  logic                           ctx_raw_i,
  input  logic                           ctx_notify_tx_i,
  input  logic [63:0]                    ctx_tx_desc_base_i,
  input  logic [63:0]                    ctx_tx_data_base_i,
  input  logic [4:0]                     ctx_tx_log2_i,
  input  logic [47:0]                    ctx_src_mac_i,
  input  logic [7:0]                     ctx_proto_i,
  input  logic                           ctx_is_ipv6_i,
  input  logic [15:0]                    ctx_src_port_i,
  input  logic [127:0]                   ctx_src_ip_i,
  input  logic                           db_valid_i,
  input  logic [ConnIdW-1:0]             db_conn_i,
  input  logic [15:0]                    db_prod_i,
  input  logic [ConnIdW-1:0]             query_conn_i,
  output logic [15:0]                    query_cons_o,
  output logic [15:0]                    query_prod_o,
  output logic                           query_busy_o,
  // csr_regs' drain of a connection (CONN_SET/CONN_CLEAR), and PORT_BCAST.
  input  logic                           drain_valid_i,
  input  logic [ConnIdW-1:0]             drain_conn_i,
  input  logic [NumPorts-1:0][31:0]      port_bcast_i,
  output logic                           dma_rd_req_valid_o,
  input  logic                           dma_rd_req_ready_i,
  output logic [DmaAddrW-1:0]            dma_rd_req_addr_o,
  output logic [DmaLenW-1:0]             dma_rd_req_len_o,
  output logic [DmaTagW-1:0]             dma_rd_req_tag_o,
  input  logic                           dma_rd_cpl_valid_i,
  output logic                           dma_rd_cpl_ready_o,
  input  logic [DataW-1:0]               dma_rd_cpl_data_i,
  input  logic [DmaTagW-1:0]             dma_rd_cpl_tag_i,
  input  logic                           dma_rd_cpl_last_i,
  output logic                           dma_wr_valid_o,
  input  logic                           dma_wr_ready_i,
  output logic [DmaAddrW-1:0]            dma_wr_addr_o,
  output logic [DmaLenW-1:0]             dma_wr_len_o,
  output logic [DataW-1:0]               dma_wr_data_o,
  output logic                           dma_wr_last_o,
  output logic [NumPorts-1:0]            eth_tx_tvalid_o,
  input  logic [NumPorts-1:0]            eth_tx_tready_i,
  output logic [NumPorts-1:0][DataW-1:0] eth_tx_tdata_o,
  output logic [NumPorts-1:0][KeepW-1:0] eth_tx_tkeep_o,
  output logic [NumPorts-1:0]            eth_tx_tlast_o,
  output logic                           notify_valid_o,
  input  logic                           notify_ready_i,
  output logic [NqIdW-1:0]               notify_nq_id_o,
  output logic [ConnIdW-1:0]             notify_conn_o,
  output logic [15:0]                    notify_kind_o,
  output logic [NUM_COUNTERS-1:0]        cnt_o,
  output logic                           tx_bytes_valid_o,
  output logic [15:0]                    tx_bytes_o,
  output logic                           idle_o
);
  conn_ctx_t wctx, tx_ctx, rx_ctx_unused;
  always_comb begin
    wctx = '0;
    wctx.valid = ctx_valid_i;
    wctx.nq_id = ctx_nq_id_i;
    wctx.port = ctx_port_i;
    wctx.raw = ctx_raw_i;
    wctx.notify_tx = ctx_notify_tx_i;
    wctx.broadcast = ctx_broadcast_i;
    wctx.tx_desc_base = ctx_tx_desc_base_i;
    wctx.tx_data_base = ctx_tx_data_base_i;
    wctx.tx_log2 = ctx_tx_log2_i;
    wctx.src_mac = ctx_src_mac_i;
    wctx.proto = ctx_proto_i;
    wctx.is_ipv6 = ctx_is_ipv6_i;
    wctx.src_port = ctx_src_port_i;
    wctx.src_ip = ctx_src_ip_i;
  end

  logic               ctx_rd_valid, probe_unused;
  logic [ConnIdW-1:0] ctx_rd_conn;

  conn_ctx_mem u_ctx (
    .clk_i, .rst_ni,
    .we_i(ctx_we_i), .wconn_i(ctx_conn_i), .wdata_i(wctx),
    .rx_re_i(1'b0), .rx_conn_i('0), .rx_ctx_o(rx_ctx_unused),
    .tx_re_i(ctx_rd_valid), .tx_conn_i(ctx_rd_conn), .tx_ctx_o(tx_ctx),
    .probe_conn_i('0), .probe_valid_o(probe_unused));

  logic                        f_valid, f_ready, f_last;
  logic [DataW-1:0]            f_data;
  logic [KeepW-1:0]            f_keep;
  tx_info_t                    f_info;
  logic                        c_valid, c_ready;
  logic [ConnIdW-1:0]          c_conn;
  logic [15:0]                 c_idx;
  logic [TX_DESC_STATUS_W-1:0] c_status;
  notify_req_t                 notify;
  logic [NUM_COUNTERS-1:0]     eng_cnt, chk_cnt;
  logic                        eng_idle, chk_idle;

  tx_engine u_engine (
    .clk_i, .rst_ni,
    .cfg_valid_i(ctx_we_i && !ctx_keep_idx_i), .cfg_conn_i(ctx_conn_i),
    .db_valid_i, .db_conn_i, .db_prod_i,
    .ctx_rd_valid_o(ctx_rd_valid), .ctx_rd_conn_o(ctx_rd_conn), .ctx_rd_data_i(tx_ctx),
    .dma_rd_req_valid_o, .dma_rd_req_ready_i, .dma_rd_req_addr_o, .dma_rd_req_len_o,
    .dma_rd_req_tag_o, .dma_rd_cpl_valid_i, .dma_rd_cpl_ready_o, .dma_rd_cpl_data_i,
    .dma_rd_cpl_tag_i, .dma_rd_cpl_last_i,
    .dma_wr_valid_o, .dma_wr_ready_i, .dma_wr_addr_o, .dma_wr_len_o, .dma_wr_data_o,
    .dma_wr_last_o,
    .frame_valid_o(f_valid), .frame_ready_i(f_ready), .frame_data_o(f_data),
    .frame_keep_o(f_keep), .frame_last_o(f_last), .frame_info_o(f_info),
    .cpl_valid_i(c_valid), .cpl_ready_o(c_ready), .cpl_conn_i(c_conn), .cpl_idx_i(c_idx),
    .cpl_status_i(c_status),
    .notify_valid_o, .notify_ready_i, .notify_o(notify),
    .query_conn_i, .query_cons_o, .query_prod_o, .query_busy_o,
    .cnt_o(eng_cnt), .idle_o(eng_idle),
    // The TX scheduler is nic_core's (tests/nic/sched_test.cpp): disabled here.
    .sched_en_i(1'b0), .sched_lk_valid_o(sched_unused[0]), .sched_lk_conn_o(sched_lk_conn_unused),
    .sched_lk_leaf_i('0), .sched_grant_valid_i(1'b0), .sched_grant_leaf_i('0),
    .sched_grant_lender_i('0), .sched_bl_valid_o(sched_unused[1]), .sched_bl_leaf_o(sched_leaf_unused[0]),
    .sched_done_valid_o(sched_unused[2]), .sched_done_ready_i(1'b1),
    .sched_done_leaf_o(sched_leaf_unused[1]), .sched_done_more_o(sched_unused[3]),
    .sched_ch_valid_o(sched_unused[4]), .sched_ch_ready_i(1'b1), .sched_ch_leaf_o(sched_leaf_unused[2]),
    .sched_ch_lender_o(sched_lender_unused), .sched_ch_bytes_o(sched_cnt_unused[0]),
    .sched_ch_pkts_o(sched_cnt_unused[1]));
  /* verilator lint_off UNUSEDSIGNAL */
  logic [4:0] sched_unused;
  logic [norman_pkg::ConnIdW-1:0] sched_lk_conn_unused;
  logic [2:0][5:0] sched_leaf_unused;
  logic [1:0] sched_lender_unused;
  logic [1:0][23:0] sched_cnt_unused;
  /* verilator lint_on UNUSEDSIGNAL */

  // An empty filter overlay: every judged frame passes, at the real latency.
  localparam int unsigned FltEntries = 4;
  logic                              flt_kv, flt_rv, flt_hit, flt_log, flt_tag;
  logic [FILTER_RANGE_KEY_W-1:0]     flt_key;
  logic [FILTER_FLAGS_W-1:0]         flt_flags;
  logic [15:0]                       flt_bytes, flt_lat;
  logic [FILTER_ACTION_W-1:0]        flt_action;
  logic [1:0]                        flt_slot;
  logic [FILTER_PRIO_BITS-1:0]       flt_prio;
  logic [FILTER_REJECT_WITH_W-1:0]   flt_rej;
  logic                              flt_wr_ready, flt_wr_done, flt_wr_err, flt_cready, flt_cdone;
  logic                              flt_bank, flt_shadow_ready, flt_idle;
  logic [31:0]                       flt_epoch;

  filter_classifier #(.Entries(FltEntries)) u_filter (
    .clk_i, .rst_ni,
    .key_valid_i(flt_kv), .key_i(flt_key), .flags_i(flt_flags), .tag_i(1'b0),
    .res_valid_o(flt_rv), .res_tag_o(flt_tag), .res_hit_o(flt_hit), .res_slot_o(flt_slot),
    .res_prio_o(flt_prio),
    .res_action_o(flt_action), .res_reject_with_o(flt_rej), .res_log_o(flt_log),
    .latency_o(flt_lat),
    .wr_valid_i(1'b0), .wr_ready_o(flt_wr_ready), .wr_slot_i('0), .wr_slot_valid_i(1'b0),
    .wr_lo_i('0), .wr_hi_i('0), .wr_neg_i('0), .wr_flags_value_i('0), .wr_flags_mask_i('0),
    .wr_prio_i('0), .wr_action_i('0), .wr_reject_with_i('0), .wr_log_i(1'b0),
    .wr_done_o(flt_wr_done), .wr_error_o(flt_wr_err),
    .commit_i(1'b0), .commit_ready_o(flt_cready), .commit_done_o(flt_cdone), .epoch_o(flt_epoch),
    .bank_o(flt_bank), .shadow_ready_o(flt_shadow_ready), .idle_o(flt_idle));

  tx_check #(.NumPorts(NumPorts), .FilterLatency(filter_latency(FltEntries))) u_check (
    .clk_i, .rst_ni,
    .in_valid_i(f_valid), .in_ready_o(f_ready), .in_data_i(f_data), .in_keep_i(f_keep),
    .in_last_i(f_last), .in_info_i(f_info),
    .drain_valid_i, .drain_conn_i, .port_bcast_i,
    .flt_valid_o(flt_kv), .flt_key_o(flt_key), .flt_flags_o(flt_flags), .flt_bytes_o(flt_bytes),
    .flt_valid_i(flt_rv), .flt_hit_i(flt_hit), .flt_action_i(flt_action), .flt_log_i(flt_log),
    .eth_tx_tvalid_o, .eth_tx_tready_i, .eth_tx_tdata_o, .eth_tx_tkeep_o, .eth_tx_tlast_o,
    .cpl_valid_o(c_valid), .cpl_ready_i(c_ready), .cpl_conn_o(c_conn), .cpl_idx_o(c_idx),
    .cpl_status_o(c_status),
    .cnt_o(chk_cnt), .tx_bytes_valid_o, .tx_bytes_o, .idle_o(chk_idle));

  // The two modules own disjoint counters.
  assign cnt_o = eng_cnt | chk_cnt;
  assign idle_o = eng_idle && chk_idle && flt_idle;
  assign notify_nq_id_o = notify.nq_id;
  assign notify_conn_o = notify.conn_id;
  assign notify_kind_o = notify.kind;

  /* verilator lint_off UNUSEDSIGNAL */
  logic unused;
  assign unused = ^{rx_ctx_unused, probe_unused, flt_tag, flt_slot, flt_prio, flt_rej, flt_lat,
                    flt_wr_ready, flt_wr_done, flt_wr_err, flt_cready, flt_cdone, flt_bank,
                    flt_shadow_ready, flt_epoch, flt_bytes};
  /* verilator lint_on UNUSEDSIGNAL */
endmodule

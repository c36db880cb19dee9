// Host register interface: the self-describing register blocks, the command
// interface that configures the flow table, connection contexts,
// notification queues and the filter overlay, and decoding of the doorbell
// pages. Addresses, opcodes and field positions all come from the generated
// norman_regmap_pkg.
//
// The filter overlay has one lookup per port (0 INPUT, 1 OUTPUT). Every
// FILTER_* command goes to both and completes when both have: the two hold
// the same slots and the same active bank at all times.
//
// CONN_SET/CONN_CLEAR drain the connection's TX work before they complete:
// CMD_DONE writes an invalid context (no new doorbells, no new batches),
// CMD_DRAIN tells tx_check to complete the connection's frames DROP_CLOSED
// and waits until tx_engine holds no work of it (query_tx_busy_i, read after
// DrainMinCycles so that decisions taken on the old context have landed),
// then writes the new context and resets the ring indices. After
// CONN_DRAIN_CYCLES it gives up with ST_BUSY (the context stays invalid).
//
// Exact tables: EXACT_WRITE and EXACT_MASK are posted writes, taken by both
// lookup ports in the cycle the register write is accepted, with the staged
// EXACT_DATA vector. So that they take effect in order with every other
// register access, such a write is held on the bus (req_ready_o low) while
// either port cannot take it (reset sweep, commit draining) and while a
// FILTER_COMMIT runs: a write after the commit's OP belongs to the next
// shadow bank, never to the one being made active.
module csr_regs
#(
  parameter int unsigned NumPorts = 2,
  parameter int unsigned FilterEntries = norman_regmap_pkg::FILTER_ENTRIES,
  localparam int unsigned CntIdxW = $clog2(norman_regmap_pkg::NUM_COUNTERS)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  // CSR requests from the host.
  input  logic                    req_valid_i,
  output logic                    req_ready_o,
  input  logic                    req_write_i,
  input  logic [norman_pkg::CsrAddrW-1:0]     req_addr_i,
  input  logic [63:0]             req_wdata_i,
  output logic                    rsp_valid_o,
  output logic [63:0]             rsp_rdata_o,
  // Global control.
  output logic                    rx_enable_o,
  output logic                    tx_enable_o,
  // CTRL.PORT_MAC and PORT_BCAST of each port.
  output logic [NumPorts-1:0][47:0] port_mac_o,
  output logic [NumPorts-1:0]     port_promisc_o,
  output logic [NumPorts-1:0][31:0] port_bcast_o,
  // Counters.
  output logic                    cnt_clear_o,
  output logic [CntIdxW-1:0]      cnt_rd_idx_o,
  input  logic [63:0]             cnt_rd_val_i,
  output logic [norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_o,
  // Flow table commands.
  output logic                    flow_valid_o,
  input  logic                    flow_ready_i,
  output logic [1:0]              flow_op_o,
  output logic                    flow_listen_o,
  output norman_pkg::flow_key_t               flow_key_o,
  output logic [norman_pkg::ConnIdW-1:0]      flow_conn_o,
  input  logic                    flow_done_i,
  input  norman_regmap_pkg::cmd_status_e             flow_status_i,
  input  logic [norman_pkg::ConnIdW-1:0]      flow_conn_i,
  input  logic [15:0]             flow_bucket_i,
  // Connection contexts, and the engines' per-connection ring indices.
  output logic                    ctx_we_o,
  output logic [norman_pkg::ConnIdW-1:0]      ctx_conn_o,
  output norman_pkg::conn_ctx_t               ctx_data_o,
  output logic [norman_pkg::ConnIdW-1:0]      ctx_probe_conn_o,
  input  logic                    ctx_probe_valid_i,
  output logic                    ring_reset_o,      // to rx_dma_engine and tx_engine
  output logic [norman_pkg::ConnIdW-1:0]      ring_reset_conn_o,
  output logic [norman_pkg::ConnIdW-1:0]      query_conn_o,
  input  logic [15:0]             query_rx_prod_i,   // registered by the engines
  input  logic [15:0]             query_tx_cons_i,
  input  logic [15:0]             query_tx_prod_i,
  input  logic                    query_tx_busy_i,   // tx_engine holds work of the conn (registered)
  // The connection a CONN_SET/CONN_CLEAR is draining (to tx_check).
  output logic                    drain_valid_o,
  output logic [norman_pkg::ConnIdW-1:0]      drain_conn_o,
  // Notification queues.
  output logic                    nq_cfg_valid_o,
  output logic [norman_pkg::NqIdW-1:0]        nq_cfg_nq_o,
  output logic                    nq_cfg_enable_o,
  output logic [63:0]             nq_cfg_base_o,
  output logic [4:0]              nq_cfg_log2_o,
  output logic [norman_pkg::IrqVecW-1:0]      nq_cfg_vector_o,
  // Doorbells.
  output logic                    rx_db_valid_o,
  output logic [norman_pkg::ConnIdW-1:0]      rx_db_conn_o,
  output logic [15:0]             rx_db_cons_o,
  output logic                    tx_db_valid_o,
  output logic [norman_pkg::ConnIdW-1:0]      tx_db_conn_o,
  output logic [15:0]             tx_db_prod_o,
  output logic                    nq_db_cons_valid_o,
  output logic                    nq_db_arm_valid_o,
  output logic [norman_pkg::NqIdW-1:0]        nq_db_nq_o,
  output logic [15:0]             nq_db_cons_o,
  // Filter overlay, one bit per lookup port where the two differ.
  output logic [1:0]                      flt_wr_valid_o,
  input  logic [1:0]                      flt_wr_ready_i,
  output logic [norman_regmap_pkg::FILTER_SLOT_W-1:0]        flt_wr_slot_o,
  output logic                            flt_wr_slot_valid_o,
  output logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0]   flt_wr_lo_o,
  output logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0]   flt_wr_hi_o,
  output logic [norman_regmap_pkg::FILTER_NUM_FIELDS-1:0]    flt_wr_neg_o,
  output logic [norman_regmap_pkg::FILTER_FLAGS_W-1:0]       flt_wr_flags_value_o,
  output logic [norman_regmap_pkg::FILTER_FLAGS_W-1:0]       flt_wr_flags_mask_o,
  output logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     flt_wr_prio_o,
  output logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      flt_wr_action_o,
  output logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] flt_wr_reject_with_o,
  output logic                            flt_wr_log_o,
  input  logic [1:0]                      flt_wr_done_i,
  input  logic [1:0]                      flt_wr_error_i,
  output logic [1:0]                      flt_commit_o,
  input  logic [1:0]                      flt_commit_ready_i,
  input  logic [1:0]                      flt_commit_done_i,
  input  logic [31:0]                     flt_epoch_i,     // port 0's; both count alike
  output logic [1:0]                      flt_clr_valid_o,
  input  logic [1:0]                      flt_clr_ready_i,
  output logic [15:0]                     flt_clr_slot_o,
  output logic [16:0]                     flt_cnt_sel_o,   // FILTER.CNT_SEL: {port, slot}
  input  logic [63:0]                     flt_cnt_pkts_i,  // the selected counter
  input  logic [63:0]                     flt_cnt_bytes_i,
  input  logic [15:0]                     flt_latency_i,
  // FILTER.EXACT_WRITE / EXACT_MASK for both lookup ports (one write, the
  // cycle it is accepted); a mask write names its table in flt_ex_wr_idx_o.
  output logic                            flt_ex_wr_valid_o,
  input  logic [1:0]                      flt_ex_wr_ready_i,
  output logic                            flt_ex_wr_mask_o,
  output logic [15:0]                     flt_ex_wr_idx_o,
  output logic [norman_regmap_pkg::FILTER_EXACT_VECTOR_W-1:0] flt_ex_wr_vec_o,
  output logic                            flt_ex_wr_entry_valid_o,
  output logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     flt_ex_wr_prio_o,
  output logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      flt_ex_wr_action_o,
  output logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] flt_ex_wr_reject_with_o,
  output logic                            flt_ex_wr_log_o,
  input  logic                            flt_ex_refused_i,  // FILTER_EXACT_REFUSED
  // FILTER.LOG_* for filter_log. The write strobes come the cycle after the
  // register write, together with the new value.
  output logic [63:0]                     flt_log_base_o,
  output logic [4:0]                      flt_log_log2_o,
  output logic                            flt_log_cfg_we_o,  // resets the producer index
  output logic [15:0]                     flt_log_cons_o,
  output logic [31:0]                     flt_log_rate_period_o,
  output logic [15:0]                     flt_log_rate_burst_o,
  output logic                            flt_log_rate_we_o, // refills the token bucket
  output logic [63:0]                     cycles_o,          // CTRL.CYCLES
  // CAPTURE block (cap_core): accesses to its registers, the offset in the
  // block; cap_core answers a read with data valid the next cycle.
  output logic                            cap_wr_o,
  output logic                            cap_rd_o,
  output logic [11:0]                     cap_addr_o,
  output logic [63:0]                     cap_wdata_o,
  input  logic [63:0]                     cap_rdata_i,
  // SCHED block (sched_overlay): as CAPTURE, read data valid the next cycle.
  output logic                            sched_wr_o,
  output logic                            sched_rd_o,
  output logic [11:0]                     sched_addr_o,
  output logic [63:0]                     sched_wdata_o,
  input  logic [63:0]                     sched_rdata_i,
  output logic                            busy_o
);
  localparam int unsigned NumArgs = norman_regmap_pkg::REG_CMD_ARG_COUNT;
  localparam int unsigned DrainW = $clog2(norman_regmap_pkg::CONN_DRAIN_CYCLES + 1);
  localparam int unsigned DrainMinCycles = 4;

  // ---------------------------------------------------------------- decode
  typedef enum logic [2:0] {
    SP_CSR, SP_CONN_DB, SP_NQ_DB, SP_NONE
  } space_e;

  space_e space;
  logic [31:0] conn_page, nq_page;
  logic [11:0] page_off;
  always_comb begin
    conn_page = (req_addr_i - 32'(norman_regmap_pkg::CONN_DB_BASE)) >> 12;
    nq_page = (req_addr_i - 32'(norman_regmap_pkg::NQ_DB_BASE)) >> 12;
    page_off = req_addr_i[11:0];
    if (req_addr_i < 32'(norman_regmap_pkg::CSR_SPACE_BYTES)) space = SP_CSR;
    else if (req_addr_i >= 32'(norman_regmap_pkg::CONN_DB_BASE) && conn_page < 32'(norman_regmap_pkg::NUM_CONNS)) space = SP_CONN_DB;
    else if (req_addr_i >= 32'(norman_regmap_pkg::NQ_DB_BASE) && nq_page < 32'(norman_regmap_pkg::NUM_NQS)) space = SP_NQ_DB;
    else space = SP_NONE;
  end

  // ---------------------------------------------------------------- state
  logic [63:0] args_q [NumArgs];
  logic [63:0] scratch_q, cycles_q;
  logic [16:0] cnt_sel_q;
  logic [63:0] ex_data_q [norman_regmap_pkg::REG_FILTER_EXACT_DATA_COUNT];
  // LOG registers read back exactly what was written; filter_log uses the
  // documented bits.
  logic [63:0] log_base_q, log_cfg_q, log_cons_q, log_rate_q;
  logic        log_cfg_we_q, log_rate_we_q;
  logic        rx_en_q, tx_en_q;
  logic [norman_regmap_pkg::PORT_MAC_PROMISC_BIT:0] port_mac_q [NumPorts];  // {PROMISC, MAC}
  logic [31:0] port_bcast_q [NumPorts];
  logic [DrainW-1:0] drain_q;

  typedef enum logic [2:0] {
    CMD_IDLE, CMD_FLOW_ISSUE, CMD_FLOW_WAIT, CMD_QUERY, CMD_QUERY2, CMD_DONE, CMD_FILTER,
    CMD_DRAIN
  } cmd_state_e;
  cmd_state_e cmd_state_q, cmd_state_d;
  // Opcodes as plain bytes (Yosys reads no enum casts); compared with the
  // cmd_op_e values.
  logic [7:0] op_in, op_q;
  assign op_in = req_wdata_i[7:0];
  norman_regmap_pkg::cmd_status_e status_q, status_d;
  logic [31:0] result_q, result_d;

  logic acc, wr, rd, ex_req, ex_hold;
  assign ex_req = req_valid_i && req_write_i && space == SP_CSR
                  && (req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_WRITE || req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_MASK);
  assign ex_hold = ex_req && (flt_ex_wr_ready_i != 2'b11
                              || (cmd_state_q == CMD_FILTER && op_q == norman_regmap_pkg::OP_FILTER_COMMIT));
  assign req_ready_o = !ex_hold;
  assign acc = req_valid_i && !ex_hold;
  assign wr = acc && req_write_i;
  assign rd = acc && !req_write_i;

  // ---------------------------------------------------------------- arguments
  function automatic logic [63:0] fld(logic [63:0] word, int unsigned lsb, int unsigned w);
    logic [63:0] mask;
    mask = (w >= 64) ? '1 : ((64'd1 << w) - 64'd1);
    fld = (word >> lsb) & mask;
  endfunction

  norman_pkg::flow_key_t key;
  always_comb begin
    key = '0;
    key.proto = 8'(fld(args_q[norman_regmap_pkg::FLOW_PROTO_ARG], norman_regmap_pkg::FLOW_PROTO_LSB, norman_regmap_pkg::FLOW_PROTO_W));
    key.is_ipv6 = fld(args_q[norman_regmap_pkg::FLOW_IS_IPV6_ARG], norman_regmap_pkg::FLOW_IS_IPV6_LSB, norman_regmap_pkg::FLOW_IS_IPV6_W) != 0;
    key.local_port = 16'(fld(args_q[norman_regmap_pkg::FLOW_LOCAL_PORT_ARG], norman_regmap_pkg::FLOW_LOCAL_PORT_LSB, norman_regmap_pkg::FLOW_LOCAL_PORT_W));
    key.remote_port = 16'(fld(args_q[norman_regmap_pkg::FLOW_REMOTE_PORT_ARG], norman_regmap_pkg::FLOW_REMOTE_PORT_LSB, norman_regmap_pkg::FLOW_REMOTE_PORT_W));
    key.local_ip = {args_q[norman_regmap_pkg::FLOW_LOCAL_IP_HI_ARG], args_q[norman_regmap_pkg::FLOW_LOCAL_IP_LO_ARG]};
    key.remote_ip = {args_q[norman_regmap_pkg::FLOW_REMOTE_IP_HI_ARG], args_q[norman_regmap_pkg::FLOW_REMOTE_IP_LO_ARG]};
  end

  norman_pkg::conn_ctx_t ctx;
  logic [norman_pkg::ConnIdW-1:0] arg_conn;
  logic [15:0] arg_nq16;
  logic ctx_args_ok;
  always_comb begin
    ctx = '0;
    arg_conn = norman_pkg::ConnIdW'(fld(args_q[norman_regmap_pkg::CONN_CONN_ID_ARG], norman_regmap_pkg::CONN_CONN_ID_LSB, norman_regmap_pkg::CONN_CONN_ID_W));
    arg_nq16 = 16'(fld(args_q[norman_regmap_pkg::CONN_NQ_ID_ARG], norman_regmap_pkg::CONN_NQ_ID_LSB, norman_regmap_pkg::CONN_NQ_ID_W));
    ctx.valid = 1'b1;
    ctx.nq_id = norman_pkg::NqIdW'(arg_nq16);
    ctx.port = norman_pkg::PortIdW'(fld(args_q[norman_regmap_pkg::CONN_PORT_ARG], norman_regmap_pkg::CONN_PORT_LSB, norman_regmap_pkg::CONN_PORT_W));
    ctx.raw = fld(args_q[norman_regmap_pkg::CONN_RAW_ARG], norman_regmap_pkg::CONN_RAW_LSB, norman_regmap_pkg::CONN_RAW_W) != 0;
    ctx.notify_tx = fld(args_q[norman_regmap_pkg::CONN_NOTIFY_TX_ARG], norman_regmap_pkg::CONN_NOTIFY_TX_LSB, norman_regmap_pkg::CONN_NOTIFY_TX_W) != 0;
    ctx.broadcast = fld(args_q[norman_regmap_pkg::CONN_BROADCAST_ARG], norman_regmap_pkg::CONN_BROADCAST_LSB, norman_regmap_pkg::CONN_BROADCAST_W) != 0;
    ctx.rx_base = args_q[norman_regmap_pkg::CONN_RX_BASE_ARG];
    ctx.rx_log2 = 5'(fld(args_q[norman_regmap_pkg::CONN_RX_LOG2_ARG], norman_regmap_pkg::CONN_RX_LOG2_LSB, norman_regmap_pkg::CONN_RX_LOG2_W));
    ctx.tx_log2 = 5'(fld(args_q[norman_regmap_pkg::CONN_TX_LOG2_ARG], norman_regmap_pkg::CONN_TX_LOG2_LSB, norman_regmap_pkg::CONN_TX_LOG2_W));
    ctx.tx_desc_base = args_q[norman_regmap_pkg::CONN_TX_DESC_BASE_ARG];
    ctx.tx_data_base = args_q[norman_regmap_pkg::CONN_TX_DATA_BASE_ARG];
    ctx.owner.pid = 32'(fld(args_q[norman_regmap_pkg::CONN_PID_ARG], norman_regmap_pkg::CONN_PID_LSB, norman_regmap_pkg::CONN_PID_W));
    ctx.owner.uid = 32'(fld(args_q[norman_regmap_pkg::CONN_UID_ARG], norman_regmap_pkg::CONN_UID_LSB, norman_regmap_pkg::CONN_UID_W));
    ctx.owner.gid = 32'(fld(args_q[norman_regmap_pkg::CONN_GID_ARG], norman_regmap_pkg::CONN_GID_LSB, norman_regmap_pkg::CONN_GID_W));
    ctx.owner.cmd_id = 16'(fld(args_q[norman_regmap_pkg::CONN_CMD_ID_ARG], norman_regmap_pkg::CONN_CMD_ID_LSB, norman_regmap_pkg::CONN_CMD_ID_W));
    ctx.owner.cgroup = 16'(fld(args_q[norman_regmap_pkg::CONN_CGROUP_ARG], norman_regmap_pkg::CONN_CGROUP_LSB, norman_regmap_pkg::CONN_CGROUP_W));
    ctx.src_mac = 48'(fld(args_q[norman_regmap_pkg::CONN_SRC_MAC_ARG], norman_regmap_pkg::CONN_SRC_MAC_LSB, norman_regmap_pkg::CONN_SRC_MAC_W));
    ctx.proto = 8'(fld(args_q[norman_regmap_pkg::CONN_PROTO_ARG], norman_regmap_pkg::CONN_PROTO_LSB, norman_regmap_pkg::CONN_PROTO_W));
    ctx.is_ipv6 = fld(args_q[norman_regmap_pkg::CONN_IS_IPV6_ARG], norman_regmap_pkg::CONN_IS_IPV6_LSB, norman_regmap_pkg::CONN_IS_IPV6_W) != 0;
    ctx.src_port = 16'(fld(args_q[norman_regmap_pkg::CONN_SRC_PORT_ARG], norman_regmap_pkg::CONN_SRC_PORT_LSB, norman_regmap_pkg::CONN_SRC_PORT_W));
    ctx.src_ip = {args_q[norman_regmap_pkg::CONN_SRC_IP_HI_ARG], args_q[norman_regmap_pkg::CONN_SRC_IP_LO_ARG]};
    // rx_dma_engine needs beat-aligned slots (the trailer ends its last beat).
    ctx_args_ok = (32'(arg_nq16) < norman_regmap_pkg::NUM_NQS) && (32'(ctx.rx_log2) <= norman_regmap_pkg::MAX_RING_LOG2)
                  && (32'(ctx.tx_log2) <= norman_regmap_pkg::MAX_RING_LOG2) && (32'(ctx.port) < NumPorts)
                  && (ctx.rx_base[$clog2(norman_pkg::DataW / 8)-1:0] == '0);
  end

  logic [15:0] arg_nq_id;
  logic [4:0] arg_nq_log2;
  assign arg_nq_id = 16'(fld(args_q[norman_regmap_pkg::NQ_NQ_ID_ARG], norman_regmap_pkg::NQ_NQ_ID_LSB, norman_regmap_pkg::NQ_NQ_ID_W));
  assign arg_nq_log2 = 5'(fld(args_q[norman_regmap_pkg::NQ_LOG2_ARG], norman_regmap_pkg::NQ_LOG2_LSB, norman_regmap_pkg::NQ_LOG2_W));

  // FILTER_WRITE: range field f is lo = ARG[2 + f][31:0], hi = ARG[2 + f][63:32].
  // Bounds wider than the field saturate at its maximum, as encode_write
  // clips them, so a raw write means what the driver's would.
  localparam int unsigned FltRangeArg0 = 2;
  logic [15:0] arg_flt_slot;
  always_comb begin
    arg_flt_slot = 16'(fld(args_q[norman_regmap_pkg::FILTER_SLOT_ARG], norman_regmap_pkg::FILTER_SLOT_LSB, norman_regmap_pkg::FILTER_SLOT_W));
    flt_wr_slot_o = norman_regmap_pkg::FILTER_SLOT_W'(arg_flt_slot);
    flt_wr_slot_valid_o = fld(args_q[norman_regmap_pkg::FILTER_VALID_ARG], norman_regmap_pkg::FILTER_VALID_LSB, norman_regmap_pkg::FILTER_VALID_W) != 0;
    flt_wr_log_o = fld(args_q[norman_regmap_pkg::FILTER_LOG_ARG], norman_regmap_pkg::FILTER_LOG_LSB, norman_regmap_pkg::FILTER_LOG_W) != 0;
    flt_wr_action_o = norman_regmap_pkg::FILTER_ACTION_W'(fld(args_q[norman_regmap_pkg::FILTER_ACTION_ARG], norman_regmap_pkg::FILTER_ACTION_LSB, norman_regmap_pkg::FILTER_ACTION_W));
    flt_wr_reject_with_o = norman_regmap_pkg::FILTER_REJECT_WITH_W'(fld(args_q[norman_regmap_pkg::FILTER_REJECT_WITH_ARG],
                                                     norman_regmap_pkg::FILTER_REJECT_WITH_LSB, norman_regmap_pkg::FILTER_REJECT_WITH_W));
    flt_wr_prio_o = norman_regmap_pkg::FILTER_PRIO_BITS'(fld(args_q[norman_regmap_pkg::FILTER_PRIO_ARG], norman_regmap_pkg::FILTER_PRIO_LSB, norman_regmap_pkg::FILTER_PRIO_W));
    flt_wr_neg_o = norman_regmap_pkg::FILTER_NUM_FIELDS'(fld(args_q[norman_regmap_pkg::FILTER_NEG_ARG], norman_regmap_pkg::FILTER_NEG_LSB, norman_regmap_pkg::FILTER_NEG_W));
    flt_wr_flags_value_o = norman_regmap_pkg::FILTER_FLAGS_W'(fld(args_q[norman_regmap_pkg::FILTER_FLAGS_VALUE_ARG], norman_regmap_pkg::FILTER_FLAGS_VALUE_LSB,
                                               norman_regmap_pkg::FILTER_FLAGS_VALUE_W));
    flt_wr_flags_mask_o = norman_regmap_pkg::FILTER_FLAGS_W'(fld(args_q[norman_regmap_pkg::FILTER_FLAGS_MASK_ARG], norman_regmap_pkg::FILTER_FLAGS_MASK_LSB,
                                              norman_regmap_pkg::FILTER_FLAGS_MASK_W));
    flt_wr_lo_o = '0;
    flt_wr_hi_o = '0;
    for (int unsigned f = 0; f < norman_regmap_pkg::FILTER_NUM_FIELDS; f++) begin
      logic [31:0] lo, hi, fmax;
      fmax = 32'((64'd1 << norman_regmap_pkg::filter_field_w(f)) - 64'd1);
      lo = args_q[FltRangeArg0 + f][31:0];
      hi = args_q[FltRangeArg0 + f][63:32];
      if (lo > fmax) lo = fmax;
      if (hi > fmax) hi = fmax;
      for (int unsigned b = 0; b < 32; b++) begin
        if (b < norman_regmap_pkg::filter_field_w(f)) begin
          flt_wr_lo_o[norman_regmap_pkg::filter_field_lsb(f) + b] = lo[b];
          flt_wr_hi_o[norman_regmap_pkg::filter_field_lsb(f) + b] = hi[b];
        end
      end
    end
  end
  assign flt_clr_slot_o = arg_flt_slot;

  // EXACT_WRITE: the fields of FILTER_WRITE's ARG[0], at the same positions.
  // Bits of EXACT_DATA past the vector are ignored.
  logic [norman_regmap_pkg::REG_FILTER_EXACT_DATA_COUNT*64-1:0] ex_data;
  always_comb begin
    for (int unsigned i = 0; i < norman_regmap_pkg::REG_FILTER_EXACT_DATA_COUNT; i++) ex_data[64*i+:64] = ex_data_q[i];
  end
  logic unused_ex_data;
  assign unused_ex_data = ^ex_data[$bits(ex_data)-1:norman_regmap_pkg::FILTER_EXACT_VECTOR_W];
  assign flt_ex_wr_valid_o = wr && space == SP_CSR
                             && (req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_WRITE || req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_MASK);
  assign flt_ex_wr_mask_o = req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_MASK;
  assign flt_ex_wr_idx_o = (req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_MASK)
                           ? {8'd0, req_wdata_i[7:0]}
                           : 16'(fld(req_wdata_i, norman_regmap_pkg::FILTER_SLOT_LSB, norman_regmap_pkg::FILTER_SLOT_W));
  assign flt_ex_wr_vec_o = norman_regmap_pkg::FILTER_EXACT_VECTOR_W'(ex_data);
  assign flt_ex_wr_entry_valid_o = fld(req_wdata_i, norman_regmap_pkg::FILTER_VALID_LSB, norman_regmap_pkg::FILTER_VALID_W) != 0;
  assign flt_ex_wr_log_o = fld(req_wdata_i, norman_regmap_pkg::FILTER_LOG_LSB, norman_regmap_pkg::FILTER_LOG_W) != 0;
  assign flt_ex_wr_action_o = norman_regmap_pkg::FILTER_ACTION_W'(fld(req_wdata_i, norman_regmap_pkg::FILTER_ACTION_LSB, norman_regmap_pkg::FILTER_ACTION_W));
  assign flt_ex_wr_reject_with_o = norman_regmap_pkg::FILTER_REJECT_WITH_W'(fld(req_wdata_i, norman_regmap_pkg::FILTER_REJECT_WITH_LSB,
                                                             norman_regmap_pkg::FILTER_REJECT_WITH_W));
  assign flt_ex_wr_prio_o = norman_regmap_pkg::FILTER_PRIO_BITS'(fld(req_wdata_i, norman_regmap_pkg::FILTER_PRIO_LSB, norman_regmap_pkg::FILTER_PRIO_W));

  // Per lookup port: request not yet taken / command finished / write refused.
  logic [1:0] flt_pend_q, flt_pend_d, flt_fin_q, flt_fin_d, flt_taken;
  logic flt_err_q, flt_err_d;

  // ---------------------------------------------------------------- command FSM
  logic op_write, op_start;
  assign op_write = wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_CMD_OP;
  assign op_start = op_write && cmd_state_q == CMD_IDLE;

  always_comb begin
    cmd_state_d = cmd_state_q;
    status_d = status_q;
    result_d = result_q;
    flow_valid_o = 1'b0;
    ctx_we_o = 1'b0;
    ctx_data_o = ctx;
    ctx_conn_o = arg_conn;
    ring_reset_o = 1'b0;
    ring_reset_conn_o = arg_conn;
    nq_cfg_valid_o = 1'b0;
    nq_cfg_enable_o = 1'b0;
    flt_pend_d = flt_pend_q;
    flt_fin_d = flt_fin_q;
    flt_err_d = flt_err_q;
    flt_wr_valid_o = '0;
    flt_commit_o = '0;
    flt_clr_valid_o = '0;
    flt_taken = '0;
    unique case (cmd_state_q)
      CMD_IDLE: begin
        if (op_start) begin
          status_d = norman_regmap_pkg::ST_OK;
          result_d = '0;
          unique case (op_in)
            norman_regmap_pkg::OP_NOP: cmd_state_d = CMD_DONE;
            norman_regmap_pkg::OP_FLOW_INSERT, norman_regmap_pkg::OP_FLOW_DELETE, norman_regmap_pkg::OP_FLOW_LOOKUP: cmd_state_d = CMD_FLOW_ISSUE;
            norman_regmap_pkg::OP_CONN_SET, norman_regmap_pkg::OP_CONN_CLEAR, norman_regmap_pkg::OP_NQ_SET, norman_regmap_pkg::OP_NQ_CLEAR: cmd_state_d = CMD_DONE;
            norman_regmap_pkg::OP_CONN_QUERY, norman_regmap_pkg::OP_CONN_TX_STATE: cmd_state_d = CMD_QUERY;
            norman_regmap_pkg::OP_FILTER_WRITE, norman_regmap_pkg::OP_FILTER_COMMIT, norman_regmap_pkg::OP_FILTER_CNT_CLEAR: begin
              if (op_in == norman_regmap_pkg::OP_FILTER_CNT_CLEAR
                  && 32'(arg_flt_slot) >= FilterEntries + norman_regmap_pkg::FILTER_EXACT_ENTRIES) begin
                status_d = norman_regmap_pkg::ST_INVALID;
                cmd_state_d = CMD_DONE;
              end else begin
                cmd_state_d = CMD_FILTER;
                flt_pend_d = 2'b11;
                flt_fin_d = 2'b00;
                flt_err_d = 1'b0;
              end
            end
            default: begin
              status_d = norman_regmap_pkg::ST_INVALID;
              cmd_state_d = CMD_DONE;
            end
          endcase
        end
      end
      CMD_FLOW_ISSUE: begin
        flow_valid_o = 1'b1;
        if (flow_ready_i) cmd_state_d = CMD_FLOW_WAIT;
      end
      CMD_FLOW_WAIT: begin
        if (flow_done_i) begin
          status_d = flow_status_i;
          result_d = {flow_bucket_i, 16'(flow_conn_i)};
          cmd_state_d = CMD_IDLE;
        end
      end
      // Both lookup ports take the request, each when it is ready, and the
      // command ends when both are done with it.
      CMD_FILTER: begin
        unique case (op_q)
          norman_regmap_pkg::OP_FILTER_WRITE: begin
            flt_wr_valid_o = flt_pend_q;
            flt_taken = flt_pend_q & flt_wr_ready_i;
            flt_fin_d = flt_fin_q | flt_wr_done_i;
            flt_err_d = flt_err_q || |(flt_wr_done_i & flt_wr_error_i);
          end
          norman_regmap_pkg::OP_FILTER_COMMIT: begin
            flt_commit_o = flt_pend_q;
            flt_taken = flt_pend_q & flt_commit_ready_i;
            flt_fin_d = flt_fin_q | flt_commit_done_i;
          end
          default: begin  // OP_FILTER_CNT_CLEAR: done once taken
            flt_clr_valid_o = flt_pend_q;
            flt_taken = flt_pend_q & flt_clr_ready_i;
            flt_fin_d = flt_fin_q | flt_taken;
          end
        endcase
        flt_pend_d = flt_pend_q & ~flt_taken;
        if (flt_fin_d == 2'b11) begin
          status_d = flt_err_d ? norman_regmap_pkg::ST_INVALID : norman_regmap_pkg::ST_OK;
          result_d = (op_q == norman_regmap_pkg::OP_FILTER_COMMIT) ? flt_epoch_i : '0;
          cmd_state_d = CMD_IDLE;
        end
      end
      // The engines register their query outputs: wait one cycle for them.
      CMD_QUERY: cmd_state_d = CMD_QUERY2;
      CMD_QUERY2: begin
        result_d = (op_q == norman_regmap_pkg::OP_CONN_TX_STATE) ? {query_tx_prod_i, query_tx_cons_i}
                                              : {query_tx_cons_i, query_rx_prod_i};
        cmd_state_d = CMD_IDLE;
      end
      // The old context is invalid; finish once TX holds nothing of the conn.
      CMD_DRAIN: begin
        if (32'(drain_q) >= DrainMinCycles && !query_tx_busy_i) begin
          ctx_we_o = 1'b1;
          if (op_q == norman_regmap_pkg::OP_CONN_CLEAR) ctx_data_o = '0;
          ring_reset_o = 1'b1;
          cmd_state_d = CMD_IDLE;
        end else if (32'(drain_q) >= norman_regmap_pkg::CONN_DRAIN_CYCLES) begin
          status_d = norman_regmap_pkg::ST_BUSY;
          cmd_state_d = CMD_IDLE;
        end
      end
      CMD_DONE: begin
        // Single-cycle configuration commands take effect here.
        cmd_state_d = CMD_IDLE;
        unique case (op_q)
          norman_regmap_pkg::OP_CONN_SET, norman_regmap_pkg::OP_CONN_CLEAR: begin
            if (op_q == norman_regmap_pkg::OP_CONN_CLEAR || ctx_args_ok) begin
              ctx_we_o = 1'b1;
              ctx_data_o = '0;
              cmd_state_d = CMD_DRAIN;
            end else begin
              status_d = norman_regmap_pkg::ST_INVALID;
            end
          end
          norman_regmap_pkg::OP_NQ_SET, norman_regmap_pkg::OP_NQ_CLEAR: begin
            // notify_engine writes each entry in one beat: entries must be aligned.
            if (32'(arg_nq_id) < norman_regmap_pkg::NUM_NQS && 32'(arg_nq_log2) <= norman_regmap_pkg::MAX_RING_LOG2
                && (op_q == norman_regmap_pkg::OP_NQ_CLEAR || nq_cfg_base_o[$clog2(norman_regmap_pkg::NOTIFY_ENTRY_BYTES)-1:0] == '0)) begin
              nq_cfg_valid_o = 1'b1;
              nq_cfg_enable_o = (op_q == norman_regmap_pkg::OP_NQ_SET);
            end else begin
              status_d = norman_regmap_pkg::ST_INVALID;
            end
          end
          default: ;
        endcase
      end
      default: cmd_state_d = CMD_IDLE;
    endcase
  end

  assign flow_op_o = (op_q == norman_regmap_pkg::OP_FLOW_INSERT) ? 2'd0 : (op_q == norman_regmap_pkg::OP_FLOW_DELETE) ? 2'd1 : 2'd2;
  assign flow_listen_o = fld(args_q[norman_regmap_pkg::FLOW_LISTEN_ARG], norman_regmap_pkg::FLOW_LISTEN_LSB, norman_regmap_pkg::FLOW_LISTEN_W) != 0;
  assign flow_key_o = key;
  assign flow_conn_o = norman_pkg::ConnIdW'(fld(args_q[norman_regmap_pkg::FLOW_CONN_ID_ARG], norman_regmap_pkg::FLOW_CONN_ID_LSB, norman_regmap_pkg::FLOW_CONN_ID_W));
  assign query_conn_o = arg_conn;
  assign nq_cfg_nq_o = norman_pkg::NqIdW'(arg_nq_id);
  assign nq_cfg_base_o = args_q[norman_regmap_pkg::NQ_BASE_ARG];
  assign nq_cfg_log2_o = arg_nq_log2;
  assign nq_cfg_vector_o = norman_pkg::IrqVecW'(fld(args_q[norman_regmap_pkg::NQ_VECTOR_ARG], norman_regmap_pkg::NQ_VECTOR_LSB, norman_regmap_pkg::NQ_VECTOR_W));
  assign busy_o = cmd_state_q != CMD_IDLE;
  assign drain_valid_o = cmd_state_q == CMD_DRAIN;
  assign drain_conn_o = arg_conn;
  // The counters' read port takes a new CNT_SEL in the cycle it is written,
  // so a read in any later cycle returns the new selection.
  assign flt_cnt_sel_o = (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_CNT_SEL)
                         ? req_wdata_i[16:0] : cnt_sel_q;

  // ---------------------------------------------------------------- doorbells
  logic db_conn_valid;
  assign ctx_probe_conn_o = norman_pkg::ConnIdW'(conn_page);
  assign db_conn_valid = ctx_probe_valid_i;

  always_comb begin
    rx_db_valid_o = 1'b0;
    tx_db_valid_o = 1'b0;
    nq_db_cons_valid_o = 1'b0;
    nq_db_arm_valid_o = 1'b0;
    if (wr && space == SP_CONN_DB && db_conn_valid) begin
      rx_db_valid_o = page_off == norman_regmap_pkg::DB_CONN_RX_CONS;
      tx_db_valid_o = page_off == norman_regmap_pkg::DB_CONN_TX_PROD;
    end
    if (wr && space == SP_NQ_DB) begin
      nq_db_cons_valid_o = page_off == norman_regmap_pkg::DB_NQ_CONS;
      nq_db_arm_valid_o = page_off == norman_regmap_pkg::DB_NQ_ARM && req_wdata_i[0];
    end
  end
  assign rx_db_conn_o = norman_pkg::ConnIdW'(conn_page);
  assign tx_db_conn_o = norman_pkg::ConnIdW'(conn_page);
  assign rx_db_cons_o = req_wdata_i[15:0];
  assign tx_db_prod_o = req_wdata_i[15:0];
  assign nq_db_nq_o = norman_pkg::NqIdW'(nq_page);
  assign nq_db_cons_o = req_wdata_i[15:0];

  // ---------------------------------------------------------------- CAPTURE block
  // Decoded here (which registers exist, for CSR_INVALID), held in cap_core.
  function automatic logic cap_in(logic [31:0] a, logic [31:0] first, int unsigned count);
    cap_in = a >= first && a < first + 32'(8 * count);
  endfunction
  logic cap_rd_known, cap_wr_known, cap_rsp_q, sched_rsp_q;
  logic [63:0] rsp_rdata_q;
  always_comb begin
    cap_rd_known = 1'b0;
    cap_wr_known = 1'b0;
    if (space == SP_CSR && req_addr_i[2:0] == 3'd0) begin
      cap_wr_known = cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_BASE, norman_regmap_pkg::REG_CAPTURE_BASE_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_CFG, norman_regmap_pkg::REG_CAPTURE_CFG_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_SNAP, norman_regmap_pkg::REG_CAPTURE_SNAP_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_CONS, norman_regmap_pkg::REG_CAPTURE_CONS_COUNT)
                     || req_addr_i == norman_regmap_pkg::REG_CAPTURE_PROG_ADDR
                     || req_addr_i == norman_regmap_pkg::REG_CAPTURE_PROG_INSN
                     || req_addr_i == norman_regmap_pkg::REG_CAPTURE_OWNER_SET
                     || req_addr_i == norman_regmap_pkg::REG_CAPTURE_OWNER_SWEEP;
      cap_rd_known = cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_BASE, norman_regmap_pkg::REG_CAPTURE_BASE_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_CFG, norman_regmap_pkg::REG_CAPTURE_CFG_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_SNAP, norman_regmap_pkg::REG_CAPTURE_SNAP_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_CONS, norman_regmap_pkg::REG_CAPTURE_CONS_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_MATCHED, norman_regmap_pkg::REG_CAPTURE_MATCHED_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_CAPTURED, norman_regmap_pkg::REG_CAPTURE_CAPTURED_COUNT)
                     || cap_in(req_addr_i, norman_regmap_pkg::REG_CAPTURE_DROPPED, norman_regmap_pkg::REG_CAPTURE_DROPPED_COUNT)
                     || req_addr_i == norman_regmap_pkg::REG_CAPTURE_SESSIONS
                     || req_addr_i == norman_regmap_pkg::REG_CAPTURE_STATUS;
    end
  end
  assign cap_wr_o = wr && cap_wr_known;
  assign cap_rd_o = rd && cap_rd_known;
  assign cap_addr_o = 12'(req_addr_i - norman_regmap_pkg::BLK_CAPTURE_BASE);
  assign cap_wdata_o = req_wdata_i;
  assign rsp_rdata_o = cap_rsp_q ? cap_rdata_i : sched_rsp_q ? sched_rdata_i : rsp_rdata_q;

  // ---------------------------------------------------------------- SCHED block
  // Decoded here (which registers exist, for CSR_INVALID), held in sched_overlay.
  logic sched_rd_known, sched_wr_known;
  always_comb begin
    sched_rd_known = 1'b0;
    sched_wr_known = 1'b0;
    if (space == SP_CSR && req_addr_i[2:0] == 3'd0) begin
      unique case (req_addr_i)
        norman_regmap_pkg::REG_SCHED_ENABLE, norman_regmap_pkg::REG_SCHED_DEFAULT_LEAF,
        norman_regmap_pkg::REG_SCHED_CLS_INC, norman_regmap_pkg::REG_SCHED_CLS_CINC,
        norman_regmap_pkg::REG_SCHED_CLS_BURST, norman_regmap_pkg::REG_SCHED_LEAF_CFG,
        norman_regmap_pkg::REG_SCHED_LEAF_PATH: begin
          sched_rd_known = 1'b1;
          sched_wr_known = 1'b1;
        end
        norman_regmap_pkg::REG_SCHED_COMMIT, norman_regmap_pkg::REG_SCHED_CLS_WRITE,
        norman_regmap_pkg::REG_SCHED_CLS_INIT, norman_regmap_pkg::REG_SCHED_LEAF_WRITE,
        norman_regmap_pkg::REG_SCHED_MAP, norman_regmap_pkg::REG_SCHED_STAT_SEL:
          sched_wr_known = 1'b1;
        norman_regmap_pkg::BLK_SCHED_BASE, norman_regmap_pkg::REG_SCHED_GEOMETRY,
        norman_regmap_pkg::REG_SCHED_STATUS, norman_regmap_pkg::REG_SCHED_STAT_BYTES,
        norman_regmap_pkg::REG_SCHED_STAT_PKTS, norman_regmap_pkg::REG_SCHED_STAT_TOKENS,
        norman_regmap_pkg::REG_SCHED_STAT_CTOKENS, norman_regmap_pkg::REG_SCHED_HELD,
        norman_regmap_pkg::REG_SCHED_GRANTS, norman_regmap_pkg::REG_SCHED_REFUSED:
          sched_rd_known = 1'b1;
        default: ;
      endcase
    end
  end
  assign sched_wr_o = wr && sched_wr_known;
  assign sched_rd_o = rd && sched_rd_known;
  assign sched_addr_o = 12'(req_addr_i - norman_regmap_pkg::BLK_SCHED_BASE);
  assign sched_wdata_o = req_wdata_i;

  // ---------------------------------------------------------------- register reads
  logic [63:0] rdata;
  logic known;
  logic [31:0] arg_idx, cnt_idx, ex_idx, pmac_idx, pbc_idx;
  logic ex_data_acc, pmac_acc, pbc_acc;
  assign pmac_idx = (req_addr_i - norman_regmap_pkg::REG_CTRL_PORT_MAC) >> 3;
  assign pbc_idx = (req_addr_i - norman_regmap_pkg::REG_CTRL_PORT_BCAST) >> 3;
  assign pmac_acc = space == SP_CSR && req_addr_i[2:0] == 3'd0 && req_addr_i >= norman_regmap_pkg::REG_CTRL_PORT_MAC
                    && pmac_idx < norman_regmap_pkg::REG_CTRL_PORT_MAC_COUNT;
  assign pbc_acc = space == SP_CSR && req_addr_i[2:0] == 3'd0 && req_addr_i >= norman_regmap_pkg::REG_CTRL_PORT_BCAST
                   && pbc_idx < norman_regmap_pkg::REG_CTRL_PORT_BCAST_COUNT;
  assign arg_idx = (req_addr_i - norman_regmap_pkg::REG_CMD_ARG) >> 3;
  assign ex_idx = (req_addr_i - norman_regmap_pkg::REG_FILTER_EXACT_DATA) >> 3;
  assign ex_data_acc = space == SP_CSR && req_addr_i[2:0] == 3'd0 && req_addr_i >= norman_regmap_pkg::REG_FILTER_EXACT_DATA
                       && ex_idx < norman_regmap_pkg::REG_FILTER_EXACT_DATA_COUNT;
  assign cnt_idx = (req_addr_i - norman_regmap_pkg::REG_COUNTERS_VALUE) >> 3;
  assign cnt_rd_idx_o = CntIdxW'(cnt_idx);
  always_comb begin
    rdata = '0;
    known = 1'b1;
    if (space != SP_CSR) begin
      known = 1'b0;  // doorbells are write-only
    end else if (req_addr_i[2:0] != 3'd0) begin
      known = 1'b0;
    end else if (req_addr_i >= norman_regmap_pkg::REG_CMD_ARG && arg_idx < NumArgs) begin
      rdata = args_q[arg_idx[$clog2(NumArgs)-1:0]];
    end else if (req_addr_i >= norman_regmap_pkg::REG_COUNTERS_VALUE && cnt_idx < norman_regmap_pkg::REG_COUNTERS_VALUE_COUNT) begin
      rdata = cnt_rd_val_i;  // indices past NUM_COUNTERS read as zero
    end else if (ex_data_acc) begin
      rdata = ex_data_q[ex_idx[$clog2(norman_regmap_pkg::REG_FILTER_EXACT_DATA_COUNT)-1:0]];
    end else if (pmac_acc) begin
      // Registers of ports the NIC does not have read as zero.
      for (int unsigned p = 0; p < NumPorts; p++) if (pmac_idx == p) rdata = 64'(port_mac_q[p]);
    end else if (pbc_acc) begin
      for (int unsigned p = 0; p < NumPorts; p++) if (pbc_idx == p) rdata = 64'(port_bcast_q[p]);
    end else if (cap_rd_known) begin
      rdata = '0;  // cap_core answers
    end else if (sched_rd_known) begin
      rdata = '0;  // sched_overlay answers
    end else begin
      unique case (req_addr_i)
        norman_regmap_pkg::BLK_ID_BASE:         rdata = norman_regmap_pkg::BLK_ID_HEADER;
        norman_regmap_pkg::REG_ID_MAGIC:        rdata = 64'(norman_regmap_pkg::MAGIC);
        norman_regmap_pkg::REG_ID_BUILD_ID:     rdata = norman_regmap_pkg::BUILD_ID;
        norman_regmap_pkg::REG_ID_NUM_PORTS:    rdata = 64'(NumPorts);
        norman_regmap_pkg::REG_ID_NUM_CONNS:    rdata = 64'(norman_regmap_pkg::NUM_CONNS);
        norman_regmap_pkg::REG_ID_NUM_NQS:      rdata = 64'(norman_regmap_pkg::NUM_NQS);
        norman_regmap_pkg::REG_ID_CLOCK_HZ:     rdata = 64'(norman_regmap_pkg::CLOCK_HZ);
        norman_regmap_pkg::BLK_CTRL_BASE:       rdata = norman_regmap_pkg::BLK_CTRL_HEADER;
        norman_regmap_pkg::REG_CTRL_ENABLE:     rdata = {62'd0, tx_en_q, rx_en_q};
        norman_regmap_pkg::REG_CTRL_CYCLES:     rdata = cycles_q;
        norman_regmap_pkg::REG_CTRL_SCRATCH:    rdata = scratch_q;
        norman_regmap_pkg::BLK_CMD_BASE:        rdata = norman_regmap_pkg::BLK_CMD_HEADER;
        norman_regmap_pkg::REG_CMD_STATUS:      rdata = {result_q, 16'd0, 8'(status_q), 7'd0, cmd_state_q != CMD_IDLE};
        norman_regmap_pkg::BLK_COUNTERS_BASE:   rdata = norman_regmap_pkg::BLK_COUNTERS_HEADER;
        norman_regmap_pkg::REG_COUNTERS_COUNT:  rdata = 64'(norman_regmap_pkg::NUM_COUNTERS);
        norman_regmap_pkg::BLK_FILTER_BASE:     rdata = norman_regmap_pkg::BLK_FILTER_HEADER;
        norman_regmap_pkg::REG_FILTER_ENTRIES:  rdata = 64'(FilterEntries);
        norman_regmap_pkg::REG_FILTER_EPOCH:    rdata = 64'(flt_epoch_i);
        norman_regmap_pkg::REG_FILTER_LATENCY:  rdata = 64'(flt_latency_i);
        norman_regmap_pkg::REG_FILTER_CNT_SEL:  rdata = 64'(cnt_sel_q);
        // The selected counter (see flt_cnt_sel_o): right from the cycle
        // after the CNT_SEL write. Updates still in the counters' two-stage
        // pipeline (at most 2 cycles old) may be missing.
        norman_regmap_pkg::REG_FILTER_CNT_PKTS:  rdata = flt_cnt_pkts_i;
        norman_regmap_pkg::REG_FILTER_CNT_BYTES: rdata = flt_cnt_bytes_i;
        norman_regmap_pkg::REG_FILTER_LOG_BASE:  rdata = log_base_q;
        norman_regmap_pkg::REG_FILTER_LOG_CFG:   rdata = log_cfg_q;
        norman_regmap_pkg::REG_FILTER_LOG_CONS:  rdata = log_cons_q;
        norman_regmap_pkg::REG_FILTER_LOG_RATE:  rdata = log_rate_q;
        norman_regmap_pkg::BLK_CAPTURE_BASE:     rdata = norman_regmap_pkg::BLK_CAPTURE_HEADER;
        norman_regmap_pkg::REG_FILTER_EXACT:     rdata = {40'd0, 8'(norman_regmap_pkg::FILTER_EXACT_WAYS), 8'(norman_regmap_pkg::FILTER_EXACT_BUCKETS_LOG2),
                                       8'(norman_regmap_pkg::FILTER_EXACT_TABLES)};
        default:             known = 1'b0;
      endcase
    end
  end

  // Writes to read-only or unmapped registers are refused and counted.
  logic wr_known;
  always_comb begin
    wr_known = 1'b0;
    if (space == SP_CSR && req_addr_i[2:0] == 3'd0) begin
      if (req_addr_i >= norman_regmap_pkg::REG_CMD_ARG && arg_idx < NumArgs) wr_known = 1'b1;
      else if (ex_data_acc || pmac_acc || pbc_acc || cap_wr_known || sched_wr_known) wr_known = 1'b1;
      else if (req_addr_i == norman_regmap_pkg::REG_CMD_OP || req_addr_i == norman_regmap_pkg::REG_CTRL_ENABLE
               || req_addr_i == norman_regmap_pkg::REG_CTRL_SCRATCH || req_addr_i == norman_regmap_pkg::REG_COUNTERS_CLEAR
               || req_addr_i == norman_regmap_pkg::REG_FILTER_CNT_SEL || req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_BASE
               || req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_CFG || req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_CONS
               || req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_RATE || req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_WRITE
               || req_addr_i == norman_regmap_pkg::REG_FILTER_EXACT_MASK) wr_known = 1'b1;
    end else if (space == SP_CONN_DB) begin
      wr_known = page_off == norman_regmap_pkg::DB_CONN_RX_CONS || page_off == norman_regmap_pkg::DB_CONN_TX_PROD;
    end else if (space == SP_NQ_DB) begin
      wr_known = page_off == norman_regmap_pkg::DB_NQ_CONS || page_off == norman_regmap_pkg::DB_NQ_ARM;
    end
  end

  always_comb begin
    cnt_o = '0;
    cnt_o[norman_regmap_pkg::CNT_CSR_INVALID] = (rd && !known) || (wr && !wr_known);
    cnt_o[norman_regmap_pkg::CNT_CMD_REJECTED] = (op_write || arg_write) && cmd_state_q != CMD_IDLE;
    cnt_o[norman_regmap_pkg::CNT_DOORBELL_INVALID] = wr && space == SP_CONN_DB && wr_known && !db_conn_valid;
    cnt_o[norman_regmap_pkg::CNT_FILTER_EXACT_REFUSED] = flt_ex_refused_i;
  end

  assign cnt_clear_o = wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_COUNTERS_CLEAR && req_wdata_i[0];
  // The LOG registers' upper bits are stored for read-back only.
  logic unused_log;
  assign unused_log = ^{log_cfg_q[63:5], log_cons_q[63:16], log_rate_q[63:48]};
  assign flt_log_base_o = log_base_q;
  assign flt_log_log2_o = log_cfg_q[4:0];
  assign flt_log_cfg_we_o = log_cfg_we_q;
  assign flt_log_cons_o = log_cons_q[15:0];
  assign flt_log_rate_period_o = log_rate_q[31:0];
  assign flt_log_rate_burst_o = log_rate_q[47:32];
  assign flt_log_rate_we_o = log_rate_we_q;
  assign cycles_o = cycles_q;
  assign rx_enable_o = rx_en_q;
  always_comb begin
    for (int unsigned p = 0; p < NumPorts; p++) begin
      port_mac_o[p] = port_mac_q[p][47:0];
      port_promisc_o[p] = port_mac_q[p][norman_regmap_pkg::PORT_MAC_PROMISC_BIT];
      port_bcast_o[p] = port_bcast_q[p];
    end
  end
  assign tx_enable_o = tx_en_q;

  // ---------------------------------------------------------------- flops
  // Arguments are frozen while a command runs: a write then is refused and
  // counted (CMD_REJECTED) rather than changing the command in flight.
  logic arg_write;
  assign arg_write = wr && space == SP_CSR && req_addr_i >= norman_regmap_pkg::REG_CMD_ARG && arg_idx < NumArgs
                     && req_addr_i[2:0] == 3'd0;
  always_ff @(posedge clk_i) begin
    if (arg_write && cmd_state_q == CMD_IDLE) begin
      args_q[arg_idx[$clog2(NumArgs)-1:0]] <= req_wdata_i;
    end
  end

  // EXACT_DATA reads back what was written; bits past the vector are ignored.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int unsigned i = 0; i < norman_regmap_pkg::REG_FILTER_EXACT_DATA_COUNT; i++) ex_data_q[i] <= '0;
    end else if (wr && ex_data_acc) begin
      ex_data_q[ex_idx[$clog2(norman_regmap_pkg::REG_FILTER_EXACT_DATA_COUNT)-1:0]] <= req_wdata_i;
    end
  end

  // Ports start promiscuous (accept every frame) until the control plane
  // gives them their MAC.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int unsigned p = 0; p < NumPorts; p++) begin
        port_mac_q[p] <= 49'(1) << norman_regmap_pkg::PORT_MAC_PROMISC_BIT;
        port_bcast_q[p] <= '0;
      end
      drain_q <= '0;
    end else begin
      for (int unsigned p = 0; p < NumPorts; p++) begin
        if (wr && pmac_acc && pmac_idx == p) port_mac_q[p] <= req_wdata_i[norman_regmap_pkg::PORT_MAC_PROMISC_BIT:0];
        if (wr && pbc_acc && pbc_idx == p) port_bcast_q[p] <= req_wdata_i[31:0];
      end
      drain_q <= (cmd_state_q == CMD_DRAIN) ? drain_q + DrainW'(1) : '0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cmd_state_q <= CMD_IDLE;
      op_q <= norman_regmap_pkg::OP_NOP;
      status_q <= norman_regmap_pkg::ST_OK;
      result_q <= '0;
      scratch_q <= '0;
      cnt_sel_q <= '0;
      log_base_q <= '0;
      log_cfg_q <= '0;
      log_cons_q <= '0;
      log_rate_q <= '0;
      log_cfg_we_q <= 1'b0;
      log_rate_we_q <= 1'b0;
      flt_pend_q <= '0;
      flt_fin_q <= '0;
      flt_err_q <= 1'b0;
      cycles_q <= '0;
      rx_en_q <= 1'b1;
      tx_en_q <= 1'b1;
      rsp_valid_o <= 1'b0;
      rsp_rdata_q <= '0;
      cap_rsp_q <= 1'b0;
      sched_rsp_q <= 1'b0;
    end else begin
      cmd_state_q <= cmd_state_d;
      status_q <= status_d;
      result_q <= result_d;
      if (op_start) op_q <= op_in;
      cycles_q <= cycles_q + 64'd1;
      flt_pend_q <= flt_pend_d;
      flt_fin_q <= flt_fin_d;
      flt_err_q <= flt_err_d;
      if (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_CTRL_SCRATCH) scratch_q <= req_wdata_i;
      if (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_CNT_SEL) cnt_sel_q <= req_wdata_i[16:0];
      if (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_BASE) log_base_q <= req_wdata_i;
      if (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_CFG) log_cfg_q <= req_wdata_i;
      if (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_CONS) log_cons_q <= req_wdata_i;
      if (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_RATE) log_rate_q <= req_wdata_i;
      log_cfg_we_q <= wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_CFG;
      log_rate_we_q <= wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_FILTER_LOG_RATE;
      if (wr && space == SP_CSR && req_addr_i == norman_regmap_pkg::REG_CTRL_ENABLE) begin
        rx_en_q <= req_wdata_i[0];
        tx_en_q <= req_wdata_i[1];
      end
      rsp_valid_o <= rd;
      rsp_rdata_q <= known ? rdata : '1;
      cap_rsp_q <= cap_rd_o;
      sched_rsp_q <= sched_rd_o;
    end
  end
endmodule

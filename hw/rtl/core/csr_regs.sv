// Host register interface: the self-describing register blocks, the command
// interface that configures the flow table, connection contexts and
// notification queues, and decoding of the doorbell pages. Addresses, opcodes
// and field positions all come from the generated norman_regmap_pkg.
module csr_regs
  import norman_pkg::*;
  import norman_regmap_pkg::*;
#(
  parameter int unsigned NumPorts = 2,
  localparam int unsigned CntIdxW = $clog2(NUM_COUNTERS)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  // CSR requests from the host.
  input  logic                    req_valid_i,
  output logic                    req_ready_o,
  input  logic                    req_write_i,
  input  logic [CsrAddrW-1:0]     req_addr_i,
  input  logic [63:0]             req_wdata_i,
  output logic                    rsp_valid_o,
  output logic [63:0]             rsp_rdata_o,
  // Global control.
  output logic                    rx_enable_o,
  output logic                    tx_enable_o,
  // Counters.
  output logic                    cnt_clear_o,
  output logic [CntIdxW-1:0]      cnt_rd_idx_o,
  input  logic [63:0]             cnt_rd_val_i,
  output logic [NUM_COUNTERS-1:0] cnt_o,
  // Flow table commands.
  output logic                    flow_valid_o,
  input  logic                    flow_ready_i,
  output logic [1:0]              flow_op_o,
  output logic                    flow_listen_o,
  output flow_key_t               flow_key_o,
  output logic [ConnIdW-1:0]      flow_conn_o,
  input  logic                    flow_done_i,
  input  cmd_status_e             flow_status_i,
  input  logic [ConnIdW-1:0]      flow_conn_i,
  input  logic [15:0]             flow_bucket_i,
  // Connection contexts, and the engines' per-connection ring indices.
  output logic                    ctx_we_o,
  output logic [ConnIdW-1:0]      ctx_conn_o,
  output conn_ctx_t               ctx_data_o,
  output logic [ConnIdW-1:0]      ctx_probe_conn_o,
  input  logic                    ctx_probe_valid_i,
  output logic                    ring_reset_o,      // to rx_dma_engine and tx_engine
  output logic [ConnIdW-1:0]      ring_reset_conn_o,
  output logic [ConnIdW-1:0]      query_conn_o,
  input  logic [15:0]             query_rx_prod_i,   // registered by the engines
  input  logic [15:0]             query_tx_cons_i,
  // Notification queues.
  output logic                    nq_cfg_valid_o,
  output logic [NqIdW-1:0]        nq_cfg_nq_o,
  output logic                    nq_cfg_enable_o,
  output logic [63:0]             nq_cfg_base_o,
  output logic [4:0]              nq_cfg_log2_o,
  output logic [IrqVecW-1:0]      nq_cfg_vector_o,
  // Doorbells.
  output logic                    rx_db_valid_o,
  output logic [ConnIdW-1:0]      rx_db_conn_o,
  output logic [15:0]             rx_db_cons_o,
  output logic                    tx_db_valid_o,
  output logic [ConnIdW-1:0]      tx_db_conn_o,
  output logic [15:0]             tx_db_prod_o,
  output logic                    nq_db_cons_valid_o,
  output logic                    nq_db_arm_valid_o,
  output logic [NqIdW-1:0]        nq_db_nq_o,
  output logic [15:0]             nq_db_cons_o,
  output logic                    busy_o
);
  localparam int unsigned NumArgs = REG_CMD_ARG_COUNT;

  // ---------------------------------------------------------------- decode
  typedef enum logic [2:0] {
    SP_CSR, SP_CONN_DB, SP_NQ_DB, SP_NONE
  } space_e;

  space_e space;
  logic [31:0] conn_page, nq_page;
  logic [11:0] page_off;
  always_comb begin
    conn_page = (req_addr_i - 32'(CONN_DB_BASE)) >> 12;
    nq_page = (req_addr_i - 32'(NQ_DB_BASE)) >> 12;
    page_off = req_addr_i[11:0];
    if (req_addr_i < 32'(CSR_SPACE_BYTES)) space = SP_CSR;
    else if (req_addr_i >= 32'(CONN_DB_BASE) && conn_page < 32'(NUM_CONNS)) space = SP_CONN_DB;
    else if (req_addr_i >= 32'(NQ_DB_BASE) && nq_page < 32'(NUM_NQS)) space = SP_NQ_DB;
    else space = SP_NONE;
  end

  logic acc, wr, rd;
  assign req_ready_o = 1'b1;
  assign acc = req_valid_i;
  assign wr = acc && req_write_i;
  assign rd = acc && !req_write_i;

  // ---------------------------------------------------------------- state
  logic [63:0] args_q [NumArgs];
  logic [63:0] scratch_q, cycles_q;
  logic        rx_en_q, tx_en_q;

  typedef enum logic [2:0] {
    CMD_IDLE, CMD_FLOW_ISSUE, CMD_FLOW_WAIT, CMD_QUERY, CMD_QUERY2, CMD_DONE
  } cmd_state_e;
  cmd_state_e cmd_state_q, cmd_state_d;
  cmd_op_e op_q;
  cmd_status_e status_q, status_d;
  logic [31:0] result_q, result_d;

  // ---------------------------------------------------------------- arguments
  function automatic logic [63:0] fld(logic [63:0] word, int unsigned lsb, int unsigned w);
    logic [63:0] mask;
    mask = (w >= 64) ? '1 : ((64'd1 << w) - 64'd1);
    return (word >> lsb) & mask;
  endfunction

  flow_key_t key;
  always_comb begin
    key = '0;
    key.proto = 8'(fld(args_q[FLOW_PROTO_ARG], FLOW_PROTO_LSB, FLOW_PROTO_W));
    key.is_ipv6 = fld(args_q[FLOW_IS_IPV6_ARG], FLOW_IS_IPV6_LSB, FLOW_IS_IPV6_W) != 0;
    key.local_port = 16'(fld(args_q[FLOW_LOCAL_PORT_ARG], FLOW_LOCAL_PORT_LSB, FLOW_LOCAL_PORT_W));
    key.remote_port = 16'(fld(args_q[FLOW_REMOTE_PORT_ARG], FLOW_REMOTE_PORT_LSB, FLOW_REMOTE_PORT_W));
    key.local_ip = {args_q[FLOW_LOCAL_IP_HI_ARG], args_q[FLOW_LOCAL_IP_LO_ARG]};
    key.remote_ip = {args_q[FLOW_REMOTE_IP_HI_ARG], args_q[FLOW_REMOTE_IP_LO_ARG]};
  end

  conn_ctx_t ctx;
  logic [ConnIdW-1:0] arg_conn;
  logic [15:0] arg_nq16;
  logic ctx_args_ok;
  always_comb begin
    ctx = '0;
    arg_conn = ConnIdW'(fld(args_q[CONN_CONN_ID_ARG], CONN_CONN_ID_LSB, CONN_CONN_ID_W));
    arg_nq16 = 16'(fld(args_q[CONN_NQ_ID_ARG], CONN_NQ_ID_LSB, CONN_NQ_ID_W));
    ctx.valid = 1'b1;
    ctx.nq_id = NqIdW'(arg_nq16);
    ctx.port = PortIdW'(fld(args_q[CONN_PORT_ARG], CONN_PORT_LSB, CONN_PORT_W));
    ctx.raw = fld(args_q[CONN_RAW_ARG], CONN_RAW_LSB, CONN_RAW_W) != 0;
    ctx.notify_tx = fld(args_q[CONN_NOTIFY_TX_ARG], CONN_NOTIFY_TX_LSB, CONN_NOTIFY_TX_W) != 0;
    ctx.rx_base = args_q[CONN_RX_BASE_ARG];
    ctx.rx_log2 = 5'(fld(args_q[CONN_RX_LOG2_ARG], CONN_RX_LOG2_LSB, CONN_RX_LOG2_W));
    ctx.tx_log2 = 5'(fld(args_q[CONN_TX_LOG2_ARG], CONN_TX_LOG2_LSB, CONN_TX_LOG2_W));
    ctx.tx_desc_base = args_q[CONN_TX_DESC_BASE_ARG];
    ctx.tx_data_base = args_q[CONN_TX_DATA_BASE_ARG];
    ctx.owner.pid = 32'(fld(args_q[CONN_PID_ARG], CONN_PID_LSB, CONN_PID_W));
    ctx.owner.uid = 32'(fld(args_q[CONN_UID_ARG], CONN_UID_LSB, CONN_UID_W));
    ctx.owner.gid = 32'(fld(args_q[CONN_GID_ARG], CONN_GID_LSB, CONN_GID_W));
    ctx.owner.cmd_id = 16'(fld(args_q[CONN_CMD_ID_ARG], CONN_CMD_ID_LSB, CONN_CMD_ID_W));
    ctx.owner.cgroup = 16'(fld(args_q[CONN_CGROUP_ARG], CONN_CGROUP_LSB, CONN_CGROUP_W));
    ctx.src_mac = 48'(fld(args_q[CONN_SRC_MAC_ARG], CONN_SRC_MAC_LSB, CONN_SRC_MAC_W));
    ctx.proto = 8'(fld(args_q[CONN_PROTO_ARG], CONN_PROTO_LSB, CONN_PROTO_W));
    ctx.is_ipv6 = fld(args_q[CONN_IS_IPV6_ARG], CONN_IS_IPV6_LSB, CONN_IS_IPV6_W) != 0;
    ctx.src_port = 16'(fld(args_q[CONN_SRC_PORT_ARG], CONN_SRC_PORT_LSB, CONN_SRC_PORT_W));
    ctx.src_ip = {args_q[CONN_SRC_IP_HI_ARG], args_q[CONN_SRC_IP_LO_ARG]};
    // rx_dma_engine needs beat-aligned slots (the trailer ends its last beat).
    ctx_args_ok = (32'(arg_nq16) < NUM_NQS) && (32'(ctx.rx_log2) <= MAX_RING_LOG2)
                  && (32'(ctx.tx_log2) <= MAX_RING_LOG2) && (32'(ctx.port) < NumPorts)
                  && (ctx.rx_base[$clog2(DataW / 8)-1:0] == '0);
  end

  logic [15:0] arg_nq_id;
  logic [4:0] arg_nq_log2;
  assign arg_nq_id = 16'(fld(args_q[NQ_NQ_ID_ARG], NQ_NQ_ID_LSB, NQ_NQ_ID_W));
  assign arg_nq_log2 = 5'(fld(args_q[NQ_LOG2_ARG], NQ_LOG2_LSB, NQ_LOG2_W));

  // ---------------------------------------------------------------- command FSM
  logic op_write, op_start;
  assign op_write = wr && space == SP_CSR && req_addr_i == REG_CMD_OP;
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
    unique case (cmd_state_q)
      CMD_IDLE: begin
        if (op_start) begin
          status_d = ST_OK;
          result_d = '0;
          unique case (cmd_op_e'(req_wdata_i[7:0]))
            OP_NOP: cmd_state_d = CMD_DONE;
            OP_FLOW_INSERT, OP_FLOW_DELETE, OP_FLOW_LOOKUP: cmd_state_d = CMD_FLOW_ISSUE;
            OP_CONN_SET, OP_CONN_CLEAR, OP_NQ_SET, OP_NQ_CLEAR: cmd_state_d = CMD_DONE;
            OP_CONN_QUERY: cmd_state_d = CMD_QUERY;
            default: begin
              status_d = ST_INVALID;
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
      // The engines register their query outputs: wait one cycle for them.
      CMD_QUERY: cmd_state_d = CMD_QUERY2;
      CMD_QUERY2: begin
        result_d = {query_tx_cons_i, query_rx_prod_i};
        cmd_state_d = CMD_IDLE;
      end
      CMD_DONE: begin
        // Single-cycle configuration commands take effect here.
        cmd_state_d = CMD_IDLE;
        unique case (op_q)
          OP_CONN_SET: begin
            if (ctx_args_ok) begin
              ctx_we_o = 1'b1;
              ring_reset_o = 1'b1;
            end else begin
              status_d = ST_INVALID;
            end
          end
          OP_CONN_CLEAR: begin
            ctx_we_o = 1'b1;
            ctx_data_o = '0;
            ring_reset_o = 1'b1;
          end
          OP_NQ_SET, OP_NQ_CLEAR: begin
            // notify_engine writes each entry in one beat: entries must be aligned.
            if (32'(arg_nq_id) < NUM_NQS && 32'(arg_nq_log2) <= MAX_RING_LOG2
                && (op_q == OP_NQ_CLEAR || nq_cfg_base_o[$clog2(NOTIFY_ENTRY_BYTES)-1:0] == '0)) begin
              nq_cfg_valid_o = 1'b1;
              nq_cfg_enable_o = (op_q == OP_NQ_SET);
            end else begin
              status_d = ST_INVALID;
            end
          end
          default: ;
        endcase
      end
      default: cmd_state_d = CMD_IDLE;
    endcase
  end

  assign flow_op_o = (op_q == OP_FLOW_INSERT) ? 2'd0 : (op_q == OP_FLOW_DELETE) ? 2'd1 : 2'd2;
  assign flow_listen_o = fld(args_q[FLOW_LISTEN_ARG], FLOW_LISTEN_LSB, FLOW_LISTEN_W) != 0;
  assign flow_key_o = key;
  assign flow_conn_o = ConnIdW'(fld(args_q[FLOW_CONN_ID_ARG], FLOW_CONN_ID_LSB, FLOW_CONN_ID_W));
  assign query_conn_o = arg_conn;
  assign nq_cfg_nq_o = NqIdW'(arg_nq_id);
  assign nq_cfg_base_o = args_q[NQ_BASE_ARG];
  assign nq_cfg_log2_o = arg_nq_log2;
  assign nq_cfg_vector_o = IrqVecW'(fld(args_q[NQ_VECTOR_ARG], NQ_VECTOR_LSB, NQ_VECTOR_W));
  assign busy_o = cmd_state_q != CMD_IDLE;

  // ---------------------------------------------------------------- doorbells
  logic db_conn_valid;
  assign ctx_probe_conn_o = ConnIdW'(conn_page);
  assign db_conn_valid = ctx_probe_valid_i;

  always_comb begin
    rx_db_valid_o = 1'b0;
    tx_db_valid_o = 1'b0;
    nq_db_cons_valid_o = 1'b0;
    nq_db_arm_valid_o = 1'b0;
    if (wr && space == SP_CONN_DB && db_conn_valid) begin
      rx_db_valid_o = page_off == DB_CONN_RX_CONS;
      tx_db_valid_o = page_off == DB_CONN_TX_PROD;
    end
    if (wr && space == SP_NQ_DB) begin
      nq_db_cons_valid_o = page_off == DB_NQ_CONS;
      nq_db_arm_valid_o = page_off == DB_NQ_ARM && req_wdata_i[0];
    end
  end
  assign rx_db_conn_o = ConnIdW'(conn_page);
  assign tx_db_conn_o = ConnIdW'(conn_page);
  assign rx_db_cons_o = req_wdata_i[15:0];
  assign tx_db_prod_o = req_wdata_i[15:0];
  assign nq_db_nq_o = NqIdW'(nq_page);
  assign nq_db_cons_o = req_wdata_i[15:0];

  // ---------------------------------------------------------------- register reads
  logic [63:0] rdata;
  logic known;
  logic [31:0] arg_idx, cnt_idx;
  assign arg_idx = (req_addr_i - REG_CMD_ARG) >> 3;
  assign cnt_idx = (req_addr_i - REG_COUNTERS_VALUE) >> 3;
  assign cnt_rd_idx_o = CntIdxW'(cnt_idx);
  always_comb begin
    rdata = '0;
    known = 1'b1;
    if (space != SP_CSR) begin
      known = 1'b0;  // doorbells are write-only
    end else if (req_addr_i[2:0] != 3'd0) begin
      known = 1'b0;
    end else if (req_addr_i >= REG_CMD_ARG && arg_idx < NumArgs) begin
      rdata = args_q[arg_idx[$clog2(NumArgs)-1:0]];
    end else if (req_addr_i >= REG_COUNTERS_VALUE && cnt_idx < REG_COUNTERS_VALUE_COUNT) begin
      rdata = cnt_rd_val_i;  // indices past NUM_COUNTERS read as zero
    end else begin
      unique case (req_addr_i)
        BLK_ID_BASE:         rdata = BLK_ID_HEADER;
        REG_ID_MAGIC:        rdata = 64'(MAGIC);
        REG_ID_BUILD_ID:     rdata = BUILD_ID;
        REG_ID_NUM_PORTS:    rdata = 64'(NumPorts);
        REG_ID_NUM_CONNS:    rdata = 64'(NUM_CONNS);
        REG_ID_NUM_NQS:      rdata = 64'(NUM_NQS);
        REG_ID_CLOCK_HZ:     rdata = 64'(CLOCK_HZ);
        BLK_CTRL_BASE:       rdata = BLK_CTRL_HEADER;
        REG_CTRL_ENABLE:     rdata = {62'd0, tx_en_q, rx_en_q};
        REG_CTRL_CYCLES:     rdata = cycles_q;
        REG_CTRL_SCRATCH:    rdata = scratch_q;
        BLK_CMD_BASE:        rdata = BLK_CMD_HEADER;
        REG_CMD_STATUS:      rdata = {result_q, 16'd0, 8'(status_q), 7'd0, cmd_state_q != CMD_IDLE};
        BLK_COUNTERS_BASE:   rdata = BLK_COUNTERS_HEADER;
        REG_COUNTERS_COUNT:  rdata = 64'(NUM_COUNTERS);
        // The filter overlay's block: present before its engine, so software
        // sees the capacity (FILTER_WRITE answers INVALID until then).
        BLK_FILTER_BASE:     rdata = BLK_FILTER_HEADER;
        REG_FILTER_ENTRIES:  rdata = 64'(FILTER_ENTRIES);
        REG_FILTER_EPOCH, REG_FILTER_LATENCY, REG_FILTER_CNT_SEL, REG_FILTER_CNT_PKTS,
        REG_FILTER_CNT_BYTES: rdata = '0;
        default:             known = 1'b0;
      endcase
    end
  end

  // Writes to read-only or unmapped registers are refused and counted.
  logic wr_known;
  always_comb begin
    wr_known = 1'b0;
    if (space == SP_CSR && req_addr_i[2:0] == 3'd0) begin
      if (req_addr_i >= REG_CMD_ARG && arg_idx < NumArgs) wr_known = 1'b1;
      else if (req_addr_i == REG_CMD_OP || req_addr_i == REG_CTRL_ENABLE
               || req_addr_i == REG_CTRL_SCRATCH || req_addr_i == REG_COUNTERS_CLEAR) wr_known = 1'b1;
    end else if (space == SP_CONN_DB) begin
      wr_known = page_off == DB_CONN_RX_CONS || page_off == DB_CONN_TX_PROD;
    end else if (space == SP_NQ_DB) begin
      wr_known = page_off == DB_NQ_CONS || page_off == DB_NQ_ARM;
    end
  end

  always_comb begin
    cnt_o = '0;
    cnt_o[CNT_CSR_INVALID] = (rd && !known) || (wr && !wr_known);
    cnt_o[CNT_CMD_REJECTED] = (op_write || arg_write) && cmd_state_q != CMD_IDLE;
    cnt_o[CNT_DOORBELL_INVALID] = wr && space == SP_CONN_DB && wr_known && !db_conn_valid;
  end

  assign cnt_clear_o = wr && space == SP_CSR && req_addr_i == REG_COUNTERS_CLEAR && req_wdata_i[0];
  assign rx_enable_o = rx_en_q;
  assign tx_enable_o = tx_en_q;

  // ---------------------------------------------------------------- flops
  // Arguments are frozen while a command runs: a write then is refused and
  // counted (CMD_REJECTED) rather than changing the command in flight.
  logic arg_write;
  assign arg_write = wr && space == SP_CSR && req_addr_i >= REG_CMD_ARG && arg_idx < NumArgs
                     && req_addr_i[2:0] == 3'd0;
  always_ff @(posedge clk_i) begin
    if (arg_write && cmd_state_q == CMD_IDLE) begin
      args_q[arg_idx[$clog2(NumArgs)-1:0]] <= req_wdata_i;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cmd_state_q <= CMD_IDLE;
      op_q <= OP_NOP;
      status_q <= ST_OK;
      result_q <= '0;
      scratch_q <= '0;
      cycles_q <= '0;
      rx_en_q <= 1'b1;
      tx_en_q <= 1'b1;
      rsp_valid_o <= 1'b0;
      rsp_rdata_o <= '0;
    end else begin
      cmd_state_q <= cmd_state_d;
      status_q <= status_d;
      result_q <= result_d;
      if (op_start) op_q <= cmd_op_e'(req_wdata_i[7:0]);
      cycles_q <= cycles_q + 64'd1;
      if (wr && space == SP_CSR && req_addr_i == REG_CTRL_SCRATCH) scratch_q <= req_wdata_i;
      if (wr && space == SP_CSR && req_addr_i == REG_CTRL_ENABLE) begin
        rx_en_q <= req_wdata_i[0];
        tx_en_q <= req_wdata_i[1];
      end
      rsp_valid_o <= rd;
      rsp_rdata_o <= known ? rdata : '1;
    end
  end
endmodule

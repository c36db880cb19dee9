// Test top for the host-facing RX side: rx_dma_engine -> notify_engine, both
// DMA write ports through dma_wr_arbiter (source 0 RX, source 1 notify), the
// way nic_core wires them. Descriptor fields are separate ports so the C++
// test need not know the packed layout of rx_desc_t.
module rx_dma_tb
  import norman_pkg::*;
  import norman_regmap_pkg::*;
(
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    desc_valid_i,
  output logic                    desc_ready_o,
  input  logic [ConnIdW-1:0]      desc_conn_i,
  input  logic [63:0]             desc_base_i,
  input  logic [4:0]              desc_log2_i,
  input  logic [NqIdW-1:0]        desc_nq_i,
  input  logic [LenW-1:0]         desc_len_i,
  input  logic [3:0]              desc_flags_i,
  input  logic [3:0]              desc_drop_i,
  input  logic                    desc_fallback_i,
  input  logic                    data_valid_i,
  output logic                    data_ready_o,
  input  logic [DataW-1:0]        data_i,
  input  logic [KeepW-1:0]        keep_i,
  input  logic                    last_i,
  input  logic                    cfg_valid_i,
  input  logic [ConnIdW-1:0]      cfg_conn_i,
  input  logic [NqIdW-1:0]        cfg_nq_i,
  input  logic                    db_valid_i,
  input  logic [ConnIdW-1:0]      db_conn_i,
  input  logic [15:0]             db_cons_i,
  input  logic [ConnIdW-1:0]      query_conn_i,
  output logic [15:0]             query_prod_o,
  input  logic                    nq_cfg_valid_i,
  input  logic [NqIdW-1:0]        nq_cfg_nq_i,
  input  logic                    nq_cfg_enable_i,
  input  logic [63:0]             nq_cfg_base_i,
  input  logic [4:0]              nq_cfg_log2_i,
  input  logic [IrqVecW-1:0]      nq_cfg_vector_i,
  input  logic                    nq_db_cons_valid_i,
  input  logic [NqIdW-1:0]        nq_db_nq_i,
  input  logic [15:0]             nq_db_cons_i,
  input  logic                    nq_db_arm_valid_i,
  input  logic [NqIdW-1:0]        nq_db_arm_nq_i,
  output logic                    wr_valid_o,
  input  logic                    wr_ready_i,
  output logic [DmaAddrW-1:0]     wr_addr_o,
  output logic [DmaLenW-1:0]      wr_len_o,
  output logic [DataW-1:0]        wr_data_o,
  output logic                    wr_last_o,
  output logic                    irq_valid_o,
  input  logic                    irq_ready_i,
  output logic [IrqVecW-1:0]      irq_vector_o,
  // The notification requests between the engines, for observation.
  output logic                    nreq_fire_o,
  output logic [NqIdW-1:0]        nreq_nq_o,
  output logic [ConnIdW-1:0]      nreq_conn_o,
  output logic [NUM_COUNTERS-1:0] cnt_o,
  output logic                    idle_o
);
  rx_desc_t desc;
  always_comb begin
    desc.conn_id = desc_conn_i;
    desc.rx_base = desc_base_i;
    desc.rx_log2 = desc_log2_i;
    desc.nq_id = desc_nq_i;
    desc.len = desc_len_i;
    desc.flags = desc_flags_i;
    desc.drop = rx_drop_e'(desc_drop_i);
    desc.fallback = desc_fallback_i;
  end

  logic n_valid, n_ready;
  notify_req_t n_req;
  logic [1:0] a_valid, a_ready, a_last;
  logic [1:0][DmaAddrW-1:0] a_addr;
  logic [1:0][DmaLenW-1:0] a_len;
  logic [1:0][DataW-1:0] a_data;
  logic [NUM_COUNTERS-1:0] rx_cnt, nq_cnt;
  logic rx_idle, nq_idle;

  rx_dma_engine u_rx (
    .clk_i, .rst_ni,
    .desc_valid_i, .desc_ready_o, .desc_i (desc),
    .data_valid_i, .data_ready_o, .data_i, .keep_i, .last_i,
    .cfg_valid_i, .cfg_conn_i, .cfg_nq_i,
    .db_valid_i, .db_conn_i, .db_cons_i,
    .query_conn_i, .query_prod_o,
    .wr_valid_o (a_valid[0]), .wr_ready_i (a_ready[0]), .wr_addr_o (a_addr[0]),
    .wr_len_o (a_len[0]), .wr_data_o (a_data[0]), .wr_last_o (a_last[0]),
    .notify_valid_o (n_valid), .notify_ready_i (n_ready), .notify_o (n_req),
    .cnt_o (rx_cnt), .idle_o (rx_idle)
  );

  notify_engine u_nq (
    .clk_i, .rst_ni,
    .cfg_valid_i (nq_cfg_valid_i), .cfg_nq_i (nq_cfg_nq_i), .cfg_enable_i (nq_cfg_enable_i),
    .cfg_base_i (nq_cfg_base_i), .cfg_log2_i (nq_cfg_log2_i), .cfg_vector_i (nq_cfg_vector_i),
    .db_cons_valid_i (nq_db_cons_valid_i), .db_nq_i (nq_db_nq_i), .db_cons_i (nq_db_cons_i),
    .db_arm_valid_i (nq_db_arm_valid_i), .db_arm_nq_i (nq_db_arm_nq_i),
    .notify_valid_i (n_valid), .notify_ready_o (n_ready), .notify_i (n_req),
    .wr_valid_o (a_valid[1]), .wr_ready_i (a_ready[1]), .wr_addr_o (a_addr[1]),
    .wr_len_o (a_len[1]), .wr_data_o (a_data[1]), .wr_last_o (a_last[1]),
    .irq_valid_o, .irq_ready_i, .irq_vector_o,
    .cnt_o (nq_cnt), .idle_o (nq_idle)
  );

  dma_wr_arbiter #(.NumSrc(2)) u_arb (
    .clk_i, .rst_ni,
    .in_valid_i (a_valid), .in_ready_o (a_ready), .in_addr_i (a_addr), .in_len_i (a_len),
    .in_data_i (a_data), .in_last_i (a_last),
    .out_valid_o (wr_valid_o), .out_ready_i (wr_ready_i), .out_addr_o (wr_addr_o),
    .out_len_o (wr_len_o), .out_data_o (wr_data_o), .out_last_o (wr_last_o)
  );

  // Each module pulses only its own counters (DOORBELL_INVALID may come
  // from both), so the sum the counter bank would form is this OR except
  // in that one case, which the tests never provoke.
  assign cnt_o = rx_cnt | nq_cnt;
  assign nreq_fire_o = n_valid && n_ready;
  assign nreq_nq_o = n_req.nq_id;
  assign nreq_conn_o = n_req.conn_id;
  assign idle_o = rx_idle && nq_idle;
endmodule

// Norman in the OpenNIC shell's 250 MHz box: included by box_250mhz.sv
// (build.tcl -user_plugin hw/boards/alveo/onic_plugin). Expects the box
// built with NUM_PHYS_FUNC = 1, NUM_QDMA = 1 and the ports the Norman shell
// patch adds to box_250mhz (m_axib_*, usr_irq_*, norman_status): see
// docs/boards.md. NORMAN_CSR_WINDOW_BITS: 20 for the stock 1 MiB box
// window (registers only), 30 once the box decodes a 1 GiB window.
`ifndef NORMAN_CSR_WINDOW_BITS
`define NORMAN_CSR_WINDOW_BITS 20
`endif

// Only user block 0 (Norman) has a reset to report.
assign mod_rst_done[15:1] = {15{1'b1}};

norman_onic_box #(
  .NumCmacPort   (NUM_CMAC_PORT),
  .CsrWindowBits (`NORMAN_CSR_WINDOW_BITS)
) norman_box_inst (
  .s_axil_awvalid                   (s_axil_awvalid),
  .s_axil_awaddr                    (s_axil_awaddr),
  .s_axil_awready                   (s_axil_awready),
  .s_axil_wvalid                    (s_axil_wvalid),
  .s_axil_wdata                     (s_axil_wdata),
  .s_axil_wready                    (s_axil_wready),
  .s_axil_bvalid                    (s_axil_bvalid),
  .s_axil_bresp                     (s_axil_bresp),
  .s_axil_bready                    (s_axil_bready),
  .s_axil_arvalid                   (s_axil_arvalid),
  .s_axil_araddr                    (s_axil_araddr),
  .s_axil_arready                   (s_axil_arready),
  .s_axil_rvalid                    (s_axil_rvalid),
  .s_axil_rdata                     (s_axil_rdata),
  .s_axil_rresp                     (s_axil_rresp),
  .s_axil_rready                    (s_axil_rready),

  .s_axis_qdma_h2c_tvalid           (s_axis_qdma_h2c_tvalid),
  .s_axis_qdma_h2c_tdata            (s_axis_qdma_h2c_tdata),
  .s_axis_qdma_h2c_tkeep            (s_axis_qdma_h2c_tkeep),
  .s_axis_qdma_h2c_tlast            (s_axis_qdma_h2c_tlast),
  .s_axis_qdma_h2c_tuser_size       (s_axis_qdma_h2c_tuser_size),
  .s_axis_qdma_h2c_tuser_src        (s_axis_qdma_h2c_tuser_src),
  .s_axis_qdma_h2c_tuser_dst        (s_axis_qdma_h2c_tuser_dst),
  .s_axis_qdma_h2c_tready           (s_axis_qdma_h2c_tready),
  .m_axis_qdma_c2h_tvalid           (m_axis_qdma_c2h_tvalid),
  .m_axis_qdma_c2h_tdata            (m_axis_qdma_c2h_tdata),
  .m_axis_qdma_c2h_tkeep            (m_axis_qdma_c2h_tkeep),
  .m_axis_qdma_c2h_tlast            (m_axis_qdma_c2h_tlast),
  .m_axis_qdma_c2h_tuser_size       (m_axis_qdma_c2h_tuser_size),
  .m_axis_qdma_c2h_tuser_src        (m_axis_qdma_c2h_tuser_src),
  .m_axis_qdma_c2h_tuser_dst        (m_axis_qdma_c2h_tuser_dst),
  .m_axis_qdma_c2h_tready           (m_axis_qdma_c2h_tready),

  .m_axis_adap_tx_250mhz_tvalid     (m_axis_adap_tx_250mhz_tvalid),
  .m_axis_adap_tx_250mhz_tdata      (m_axis_adap_tx_250mhz_tdata),
  .m_axis_adap_tx_250mhz_tkeep      (m_axis_adap_tx_250mhz_tkeep),
  .m_axis_adap_tx_250mhz_tlast      (m_axis_adap_tx_250mhz_tlast),
  .m_axis_adap_tx_250mhz_tuser_size (m_axis_adap_tx_250mhz_tuser_size),
  .m_axis_adap_tx_250mhz_tuser_src  (m_axis_adap_tx_250mhz_tuser_src),
  .m_axis_adap_tx_250mhz_tuser_dst  (m_axis_adap_tx_250mhz_tuser_dst),
  .m_axis_adap_tx_250mhz_tready     (m_axis_adap_tx_250mhz_tready),
  .s_axis_adap_rx_250mhz_tvalid     (s_axis_adap_rx_250mhz_tvalid),
  .s_axis_adap_rx_250mhz_tdata      (s_axis_adap_rx_250mhz_tdata),
  .s_axis_adap_rx_250mhz_tkeep      (s_axis_adap_rx_250mhz_tkeep),
  .s_axis_adap_rx_250mhz_tlast      (s_axis_adap_rx_250mhz_tlast),
  .s_axis_adap_rx_250mhz_tuser_size (s_axis_adap_rx_250mhz_tuser_size),
  .s_axis_adap_rx_250mhz_tuser_src  (s_axis_adap_rx_250mhz_tuser_src),
  .s_axis_adap_rx_250mhz_tuser_dst  (s_axis_adap_rx_250mhz_tuser_dst),
  .s_axis_adap_rx_250mhz_tready     (s_axis_adap_rx_250mhz_tready),

  .m_axib_awvalid                   (m_axib_awvalid),
  .m_axib_awready                   (m_axib_awready),
  .m_axib_awaddr                    (m_axib_awaddr),
  .m_axib_awlen                     (m_axib_awlen),
  .m_axib_awsize                    (m_axib_awsize),
  .m_axib_awburst                   (m_axib_awburst),
  .m_axib_wvalid                    (m_axib_wvalid),
  .m_axib_wready                    (m_axib_wready),
  .m_axib_wdata                     (m_axib_wdata),
  .m_axib_wstrb                     (m_axib_wstrb),
  .m_axib_wlast                     (m_axib_wlast),
  .m_axib_bvalid                    (m_axib_bvalid),
  .m_axib_bready                    (m_axib_bready),
  .m_axib_bresp                     (m_axib_bresp),
  .m_axib_arvalid                   (m_axib_arvalid),
  .m_axib_arready                   (m_axib_arready),
  .m_axib_araddr                    (m_axib_araddr),
  .m_axib_arlen                     (m_axib_arlen),
  .m_axib_arsize                    (m_axib_arsize),
  .m_axib_arburst                   (m_axib_arburst),
  .m_axib_rvalid                    (m_axib_rvalid),
  .m_axib_rready                    (m_axib_rready),
  .m_axib_rdata                     (m_axib_rdata),
  .m_axib_rresp                     (m_axib_rresp),
  .m_axib_rlast                     (m_axib_rlast),

  .usr_irq_in_vld                   (usr_irq_in_vld),
  .usr_irq_in_vec                   (usr_irq_in_vec),
  .usr_irq_in_fnc                   (usr_irq_in_fnc),
  .usr_irq_out_ack                  (usr_irq_out_ack),
  .usr_irq_out_fail                 (usr_irq_out_fail),
  .status_o                         (norman_status),

  .box_rstn                         (mod_rstn[0]),
  .box_rst_done                     (mod_rst_done[0]),
  .axil_aclk                        (axil_aclk),
  .axis_aclk                        (axis_aclk)
);

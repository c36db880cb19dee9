// Norman on an Alveo U250/U280: the user logic of the AMD OpenNIC shell's
// 250 MHz box (box_250mhz), with the extra ports Norman needs from the
// shell's QDMA. See docs/boards.md for the shell changes that route them.
//
// What maps to what (all on axis_aclk, 250 MHz, unless noted):
// - Ethernet: s_axis_adap_rx_250mhz_* (from each CMAC's packet adapter,
//   bad frames already dropped and counted there) -> eth_rx; eth_tx ->
//   m_axis_adap_tx_250mhz_*, with tuser_size the frame's byte count so far
//   (the adapter rebuilds tkeep from it on tlast) and tuser_dst the port's
//   bit (the adapter drops frames not addressed to its CMAC).
// - Registers: the box's AXI4-Lite slave (axil_aclk, 125 MHz, 32-bit) ->
//   axil_csr_bridge -> the 64-bit CSR port. CsrWindowBits = 20 is the stock
//   shell's 1 MiB box window at BAR2 + 0x100000: the CSR space only; 30
//   gives the doorbell pages too once the shell maps a 1 GiB window.
// - DMA: the core's address-based reads and writes -> AXI4 master ->
//   QDMA AXI slave bridge (m_axib_*), which issues PCIe memory requests to
//   the same (IOMMU) addresses. Norman does not use QDMA queues: the box's
//   QDMA streams (s_axis_qdma_h2c_*, m_axis_qdma_c2h_*) are terminated.
// - Interrupts: irq -> QDMA usr_irq (vectors < NumIrqVectors).
// - Reset: box_rstn (axil_aclk) is synchronised into both domains;
//   box_rst_done follows.
module norman_onic_box
  import norman_pkg::*;
#(
  parameter int unsigned NumCmacPort = 2,
  parameter int unsigned CsrWindowBits = 20,
  parameter int unsigned NumIrqVectors = 32,
  parameter int unsigned FilterEntries = norman_regmap_pkg::FILTER_ENTRIES
) (
  // AXI4-Lite from the shell's address map (axil_aclk)
  input  logic                      s_axil_awvalid,
  input  logic [31:0]               s_axil_awaddr,
  output logic                      s_axil_awready,
  input  logic                      s_axil_wvalid,
  input  logic [31:0]               s_axil_wdata,
  output logic                      s_axil_wready,
  output logic                      s_axil_bvalid,
  output logic [1:0]                s_axil_bresp,
  input  logic                      s_axil_bready,
  input  logic                      s_axil_arvalid,
  input  logic [31:0]               s_axil_araddr,
  output logic                      s_axil_arready,
  output logic                      s_axil_rvalid,
  output logic [31:0]               s_axil_rdata,
  output logic [1:0]                s_axil_rresp,
  input  logic                      s_axil_rready,
  // QDMA H2C/C2H streams of the box (one physical function): unused
  input  logic                      s_axis_qdma_h2c_tvalid,
  input  logic [511:0]              s_axis_qdma_h2c_tdata,
  input  logic [63:0]               s_axis_qdma_h2c_tkeep,
  input  logic                      s_axis_qdma_h2c_tlast,
  input  logic [15:0]               s_axis_qdma_h2c_tuser_size,
  input  logic [15:0]               s_axis_qdma_h2c_tuser_src,
  input  logic [15:0]               s_axis_qdma_h2c_tuser_dst,
  output logic                      s_axis_qdma_h2c_tready,
  output logic                      m_axis_qdma_c2h_tvalid,
  output logic [511:0]              m_axis_qdma_c2h_tdata,
  output logic [63:0]               m_axis_qdma_c2h_tkeep,
  output logic                      m_axis_qdma_c2h_tlast,
  output logic [15:0]               m_axis_qdma_c2h_tuser_size,
  output logic [15:0]               m_axis_qdma_c2h_tuser_src,
  output logic [15:0]               m_axis_qdma_c2h_tuser_dst,
  input  logic                      m_axis_qdma_c2h_tready,
  // Packet adapters (CMAC ports)
  output logic [NumCmacPort-1:0]     m_axis_adap_tx_250mhz_tvalid,
  output logic [512*NumCmacPort-1:0] m_axis_adap_tx_250mhz_tdata,
  output logic [64*NumCmacPort-1:0]  m_axis_adap_tx_250mhz_tkeep,
  output logic [NumCmacPort-1:0]     m_axis_adap_tx_250mhz_tlast,
  output logic [16*NumCmacPort-1:0]  m_axis_adap_tx_250mhz_tuser_size,
  output logic [16*NumCmacPort-1:0]  m_axis_adap_tx_250mhz_tuser_src,
  output logic [16*NumCmacPort-1:0]  m_axis_adap_tx_250mhz_tuser_dst,
  input  logic [NumCmacPort-1:0]     m_axis_adap_tx_250mhz_tready,
  input  logic [NumCmacPort-1:0]     s_axis_adap_rx_250mhz_tvalid,
  input  logic [512*NumCmacPort-1:0] s_axis_adap_rx_250mhz_tdata,
  input  logic [64*NumCmacPort-1:0]  s_axis_adap_rx_250mhz_tkeep,
  input  logic [NumCmacPort-1:0]     s_axis_adap_rx_250mhz_tlast,
  input  logic [16*NumCmacPort-1:0]  s_axis_adap_rx_250mhz_tuser_size,
  input  logic [16*NumCmacPort-1:0]  s_axis_adap_rx_250mhz_tuser_src,
  input  logic [16*NumCmacPort-1:0]  s_axis_adap_rx_250mhz_tuser_dst,
  output logic [NumCmacPort-1:0]     s_axis_adap_rx_250mhz_tready,
  // QDMA AXI slave bridge (routed out of the shell's qdma_subsystem)
  output logic                      m_axib_awvalid,
  input  logic                      m_axib_awready,
  output logic [63:0]               m_axib_awaddr,
  output logic [7:0]                m_axib_awlen,
  output logic [2:0]                m_axib_awsize,
  output logic [1:0]                m_axib_awburst,
  output logic                      m_axib_wvalid,
  input  logic                      m_axib_wready,
  output logic [511:0]              m_axib_wdata,
  output logic [63:0]               m_axib_wstrb,
  output logic                      m_axib_wlast,
  input  logic                      m_axib_bvalid,
  output logic                      m_axib_bready,
  input  logic [1:0]                m_axib_bresp,
  output logic                      m_axib_arvalid,
  input  logic                      m_axib_arready,
  output logic [63:0]               m_axib_araddr,
  output logic [7:0]                m_axib_arlen,
  output logic [2:0]                m_axib_arsize,
  output logic [1:0]                m_axib_arburst,
  input  logic                      m_axib_rvalid,
  output logic                      m_axib_rready,
  input  logic [511:0]              m_axib_rdata,
  input  logic [1:0]                m_axib_rresp,
  input  logic                      m_axib_rlast,
  // QDMA user interrupts
  output logic                      usr_irq_in_vld,
  output logic [4:0]                usr_irq_in_vec,
  output logic [7:0]                usr_irq_in_fnc,
  input  logic                      usr_irq_out_ack,
  input  logic                      usr_irq_out_fail,
  // Sticky DMA errors and interrupt refusals/failures, for the shell's
  // registers or an ILA: {irq failed[15:0], irq refused[15:0], rd error, wr error}
  output logic [33:0]               status_o,
  input  logic                      box_rstn,
  output logic                      box_rst_done,
  input  logic                      axil_aclk,
  input  logic                      axis_aclk
);
  logic axil_rst_n, core_rst_n;
  board_reset_sync u_rst_axil (.clk_i(axil_aclk), .rst_ni(box_rstn), .rst_no(axil_rst_n));
  board_reset_sync u_rst_core (.clk_i(axis_aclk), .rst_ni(box_rstn), .rst_no(core_rst_n));
  assign box_rst_done = axil_rst_n;

  // ---------------------------------------------------------------- CSR
  logic csr_req_valid, csr_req_ready, csr_req_write, csr_rsp_valid;
  logic [CsrAddrW-1:0] csr_req_addr;
  logic [63:0] csr_req_wdata, csr_rsp_rdata;
  axil_csr_bridge #(.WindowBits(CsrWindowBits)) u_csr (
    .axil_clk_i(axil_aclk), .axil_rst_ni(axil_rst_n),
    .s_axil_awvalid, .s_axil_awaddr, .s_axil_awready, .s_axil_wvalid, .s_axil_wdata,
    .s_axil_wready, .s_axil_bvalid, .s_axil_bresp, .s_axil_bready, .s_axil_arvalid,
    .s_axil_araddr, .s_axil_arready, .s_axil_rvalid, .s_axil_rdata, .s_axil_rresp,
    .s_axil_rready,
    .core_clk_i(axis_aclk), .core_rst_ni(core_rst_n),
    .csr_req_valid_o(csr_req_valid), .csr_req_ready_i(csr_req_ready),
    .csr_req_write_o(csr_req_write), .csr_req_addr_o(csr_req_addr),
    .csr_req_wdata_o(csr_req_wdata), .csr_rsp_valid_i(csr_rsp_valid),
    .csr_rsp_rdata_i(csr_rsp_rdata));

  // ---------------------------------------------------------------- Ethernet
  logic [NumCmacPort-1:0] rx_valid, rx_ready, rx_last, tx_valid, tx_ready, tx_last;
  logic [NumCmacPort-1:0][DataW-1:0] rx_data, tx_data;
  logic [NumCmacPort-1:0][KeepW-1:0] rx_keep, tx_keep;
  logic [NumCmacPort-1:0][15:0] tx_bytes_q;

  for (genvar p = 0; p < NumCmacPort; p++) begin : g_port
    assign rx_valid[p] = s_axis_adap_rx_250mhz_tvalid[p];
    assign rx_data[p] = s_axis_adap_rx_250mhz_tdata[512*p +: 512];
    assign rx_keep[p] = s_axis_adap_rx_250mhz_tkeep[64*p +: 64];
    assign rx_last[p] = s_axis_adap_rx_250mhz_tlast[p];
    assign s_axis_adap_rx_250mhz_tready[p] = rx_ready[p];

    assign m_axis_adap_tx_250mhz_tvalid[p] = tx_valid[p];
    assign m_axis_adap_tx_250mhz_tdata[512*p +: 512] = tx_data[p];
    assign m_axis_adap_tx_250mhz_tkeep[64*p +: 64] = tx_keep[p];
    assign m_axis_adap_tx_250mhz_tlast[p] = tx_last[p];
    assign m_axis_adap_tx_250mhz_tuser_size[16*p +: 16] =
        tx_bytes_q[p] + 16'($countones(tx_keep[p]));
    assign m_axis_adap_tx_250mhz_tuser_src[16*p +: 16] = '0;
    assign m_axis_adap_tx_250mhz_tuser_dst[16*p +: 16] = 16'(1) << (p + 6);
    assign tx_ready[p] = m_axis_adap_tx_250mhz_tready[p];

    // Bytes of the frame before this beat (beats before the last are full).
    always_ff @(posedge axis_aclk or negedge core_rst_n) begin
      if (!core_rst_n) tx_bytes_q[p] <= '0;
      else if (tx_valid[p] && tx_ready[p]) tx_bytes_q[p] <= tx_last[p] ? '0 : tx_bytes_q[p] + 16'd64;
    end
  end

  // ---------------------------------------------------------------- DMA
  logic dma_wr_valid, dma_wr_ready, dma_wr_last;
  logic [DmaAddrW-1:0] dma_wr_addr, dma_rd_req_addr;
  logic [DmaLenW-1:0] dma_wr_len, dma_rd_req_len;
  logic [DataW-1:0] dma_wr_data, dma_rd_cpl_data;
  logic dma_rd_req_valid, dma_rd_req_ready, dma_rd_cpl_valid, dma_rd_cpl_ready, dma_rd_cpl_last;
  logic [DmaTagW-1:0] dma_rd_req_tag, dma_rd_cpl_tag;
  logic wr_error, rd_error;

  axi_dma_wr u_dma_wr (
    .clk_i(axis_aclk), .rst_ni(core_rst_n),
    .dma_wr_valid_i(dma_wr_valid), .dma_wr_ready_o(dma_wr_ready), .dma_wr_addr_i(dma_wr_addr),
    .dma_wr_len_i(dma_wr_len), .dma_wr_data_i(dma_wr_data), .dma_wr_last_i(dma_wr_last),
    .m_axi_awvalid(m_axib_awvalid), .m_axi_awready(m_axib_awready), .m_axi_awaddr(m_axib_awaddr),
    .m_axi_awlen(m_axib_awlen), .m_axi_awsize(m_axib_awsize), .m_axi_awburst(m_axib_awburst),
    .m_axi_wvalid(m_axib_wvalid), .m_axi_wready(m_axib_wready), .m_axi_wdata(m_axib_wdata),
    .m_axi_wstrb(m_axib_wstrb), .m_axi_wlast(m_axib_wlast), .m_axi_bvalid(m_axib_bvalid),
    .m_axi_bready(m_axib_bready), .m_axi_bresp(m_axib_bresp), .error_o(wr_error));

  axi_dma_rd u_dma_rd (
    .clk_i(axis_aclk), .rst_ni(core_rst_n),
    .dma_rd_req_valid_i(dma_rd_req_valid), .dma_rd_req_ready_o(dma_rd_req_ready),
    .dma_rd_req_addr_i(dma_rd_req_addr), .dma_rd_req_len_i(dma_rd_req_len),
    .dma_rd_req_tag_i(dma_rd_req_tag),
    .dma_rd_cpl_valid_o(dma_rd_cpl_valid), .dma_rd_cpl_ready_i(dma_rd_cpl_ready),
    .dma_rd_cpl_data_o(dma_rd_cpl_data), .dma_rd_cpl_tag_o(dma_rd_cpl_tag),
    .dma_rd_cpl_last_o(dma_rd_cpl_last),
    .m_axi_arvalid(m_axib_arvalid), .m_axi_arready(m_axib_arready), .m_axi_araddr(m_axib_araddr),
    .m_axi_arlen(m_axib_arlen), .m_axi_arsize(m_axib_arsize), .m_axi_arburst(m_axib_arburst),
    .m_axi_rvalid(m_axib_rvalid), .m_axi_rready(m_axib_rready), .m_axi_rdata(m_axib_rdata),
    .m_axi_rresp(m_axib_rresp), .m_axi_rlast(m_axib_rlast), .error_o(rd_error));

  // ---------------------------------------------------------------- IRQ
  logic irq_valid, irq_ready;
  logic [IrqVecW-1:0] irq_vector;
  logic [15:0] irq_refused, irq_failed;
  qdma_irq #(.NumVectors(NumIrqVectors)) u_irq (
    .clk_i(axis_aclk), .rst_ni(core_rst_n),
    .irq_valid_i(irq_valid), .irq_ready_o(irq_ready), .irq_vector_i(irq_vector),
    .usr_irq_in_vld, .usr_irq_in_vec, .usr_irq_in_fnc, .usr_irq_out_ack, .usr_irq_out_fail,
    .refused_o(irq_refused), .failed_o(irq_failed));
  assign status_o = {irq_failed, irq_refused, rd_error, wr_error};

  // ---------------------------------------------------------------- core
  logic core_idle;  // for the simulator's sleep; nothing to do on a card
  nic_core #(.NumPorts(NumCmacPort), .FilterEntries(FilterEntries)) u_core (
    .clk_i(axis_aclk), .rst_ni(core_rst_n),
    .eth_rx_tvalid_i(rx_valid), .eth_rx_tready_o(rx_ready), .eth_rx_tdata_i(rx_data),
    .eth_rx_tkeep_i(rx_keep), .eth_rx_tlast_i(rx_last),
    .eth_rx_tuser_i('0),  // the packet adapter already dropped frames with errors
    .eth_tx_tvalid_o(tx_valid), .eth_tx_tready_i(tx_ready), .eth_tx_tdata_o(tx_data),
    .eth_tx_tkeep_o(tx_keep), .eth_tx_tlast_o(tx_last),
    .csr_req_valid_i(csr_req_valid), .csr_req_ready_o(csr_req_ready),
    .csr_req_write_i(csr_req_write), .csr_req_addr_i(csr_req_addr),
    .csr_req_wdata_i(csr_req_wdata), .csr_rsp_valid_o(csr_rsp_valid),
    .csr_rsp_rdata_o(csr_rsp_rdata),
    .dma_wr_valid_o(dma_wr_valid), .dma_wr_ready_i(dma_wr_ready), .dma_wr_addr_o(dma_wr_addr),
    .dma_wr_len_o(dma_wr_len), .dma_wr_data_o(dma_wr_data), .dma_wr_last_o(dma_wr_last),
    .dma_rd_req_valid_o(dma_rd_req_valid), .dma_rd_req_ready_i(dma_rd_req_ready),
    .dma_rd_req_addr_o(dma_rd_req_addr), .dma_rd_req_len_o(dma_rd_req_len),
    .dma_rd_req_tag_o(dma_rd_req_tag), .dma_rd_cpl_valid_i(dma_rd_cpl_valid),
    .dma_rd_cpl_ready_o(dma_rd_cpl_ready), .dma_rd_cpl_data_i(dma_rd_cpl_data),
    .dma_rd_cpl_tag_i(dma_rd_cpl_tag), .dma_rd_cpl_last_i(dma_rd_cpl_last),
    .irq_valid_o(irq_valid), .irq_ready_i(irq_ready), .irq_vector_o(irq_vector),
    .idle_o(core_idle));

  // Norman does not use the QDMA's queues: drain H2C, send no C2H.
  assign s_axis_qdma_h2c_tready = 1'b1;
  assign m_axis_qdma_c2h_tvalid = 1'b0;
  assign m_axis_qdma_c2h_tdata = '0;
  assign m_axis_qdma_c2h_tkeep = '0;
  assign m_axis_qdma_c2h_tlast = 1'b0;
  assign m_axis_qdma_c2h_tuser_size = '0;
  assign m_axis_qdma_c2h_tuser_src = '0;
  assign m_axis_qdma_c2h_tuser_dst = '0;

  logic unused_box;
  assign unused_box = ^{core_idle, s_axis_qdma_h2c_tvalid, s_axis_qdma_h2c_tdata,
                        s_axis_qdma_h2c_tkeep, s_axis_qdma_h2c_tlast, s_axis_qdma_h2c_tuser_size,
                        s_axis_qdma_h2c_tuser_src, s_axis_qdma_h2c_tuser_dst,
                        m_axis_qdma_c2h_tready, s_axis_adap_rx_250mhz_tuser_size,
                        s_axis_adap_rx_250mhz_tuser_src, s_axis_adap_rx_250mhz_tuser_dst};
endmodule

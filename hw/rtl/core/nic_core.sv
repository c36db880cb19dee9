// The Norman NIC core: vendor-neutral, one 250 MHz clock domain, 512-bit
// AXI4-Stream Ethernet ports, a CSR (MMIO) port, DMA read/write ports to host
// memory and interrupt requests. Board wrappers adapt these to vendor IP.
// INTEGRATION IN PROGRESS: datapath not yet connected.
module nic_core import norman_pkg::*; #(
  parameter int unsigned NumPorts = 2
) (
  input  logic                           clk_i,
  input  logic                           rst_ni,
  // Ethernet RX from the MACs; tuser marks a bad frame and is sampled with tlast.
  input  logic [NumPorts-1:0]            eth_rx_tvalid_i,
  output logic [NumPorts-1:0]            eth_rx_tready_o,
  input  logic [NumPorts-1:0][DataW-1:0] eth_rx_tdata_i,
  input  logic [NumPorts-1:0][KeepW-1:0] eth_rx_tkeep_i,
  input  logic [NumPorts-1:0]            eth_rx_tlast_i,
  input  logic [NumPorts-1:0]            eth_rx_tuser_i,
  // Ethernet TX to the MACs.
  output logic [NumPorts-1:0]            eth_tx_tvalid_o,
  input  logic [NumPorts-1:0]            eth_tx_tready_i,
  output logic [NumPorts-1:0][DataW-1:0] eth_tx_tdata_o,
  output logic [NumPorts-1:0][KeepW-1:0] eth_tx_tkeep_o,
  output logic [NumPorts-1:0]            eth_tx_tlast_o,
  // CSR / MMIO: 64-bit accesses; one read response per read, in order.
  input  logic                           csr_req_valid_i,
  output logic                           csr_req_ready_o,
  input  logic                           csr_req_write_i,
  input  logic [CsrAddrW-1:0]            csr_req_addr_i,
  input  logic [63:0]                    csr_req_wdata_i,
  output logic                           csr_rsp_valid_o,
  output logic [63:0]                    csr_rsp_rdata_o,
  // DMA write: address-aligned beats (host byte A travels in lane A mod 64);
  // addr and len are held constant on every beat of a request.
  output logic                           dma_wr_valid_o,
  input  logic                           dma_wr_ready_i,
  output logic [DmaAddrW-1:0]            dma_wr_addr_o,
  output logic [DmaLenW-1:0]             dma_wr_len_o,
  output logic [DataW-1:0]               dma_wr_data_o,
  output logic                           dma_wr_last_o,
  // DMA read: completions arrive in request order, packed from lane 0.
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
  // Interrupt requests (one vector per notification queue).
  output logic                           irq_valid_o,
  input  logic                           irq_ready_i,
  output logic [IrqVecW-1:0]             irq_vector_o,
  // Nothing in flight: the simulator may sleep until new input arrives.
  output logic                           idle_o
);
  // verilator lint_off UNUSEDSIGNAL
  logic unused;
  assign unused = ^{eth_rx_tvalid_i, eth_rx_tdata_i, eth_rx_tkeep_i, eth_rx_tlast_i, eth_rx_tuser_i,
                    eth_tx_tready_i, csr_req_valid_i, csr_req_write_i, csr_req_addr_i, csr_req_wdata_i,
                    dma_wr_ready_i, dma_rd_req_ready_i, dma_rd_cpl_valid_i, dma_rd_cpl_data_i,
                    dma_rd_cpl_tag_i, dma_rd_cpl_last_i, irq_ready_i, clk_i, rst_ni};
  // verilator lint_on UNUSEDSIGNAL
  assign eth_rx_tready_o = '1;
  assign eth_tx_tvalid_o = '0;
  assign eth_tx_tdata_o = '0;
  assign eth_tx_tkeep_o = '0;
  assign eth_tx_tlast_o = '0;
  assign csr_req_ready_o = 1'b1;
  assign csr_rsp_valid_o = 1'b0;
  assign csr_rsp_rdata_o = '0;
  assign dma_wr_valid_o = 1'b0;
  assign dma_wr_addr_o = '0;
  assign dma_wr_len_o = '0;
  assign dma_wr_data_o = '0;
  assign dma_wr_last_o = 1'b0;
  assign dma_rd_req_valid_o = 1'b0;
  assign dma_rd_req_addr_o = '0;
  assign dma_rd_req_len_o = '0;
  assign dma_rd_req_tag_o = '0;
  assign dma_rd_cpl_ready_o = 1'b1;
  assign irq_valid_o = 1'b0;
  assign irq_vector_o = '0;
  assign idle_o = 1'b1;
endmodule

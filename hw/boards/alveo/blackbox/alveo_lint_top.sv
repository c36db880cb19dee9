// LINT HARNESS, NOT A DESIGN: a stand-in for the patched box_250mhz. It
// includes the plugin's user_plugin_250mhz_inst.vh exactly as the shell
// does, with the box's ports as this module's ports, and wires the added
// m_axib_*/usr_irq_* ports to the declared QDMA ports (qdma_axib_bb) as the
// patched qdma_subsystem does. Verilator checks names,
// widths and drivers across the boundary (ctest hw_boards_lint_alveo).
module alveo_lint_top #(
  parameter int unsigned NumCmacPort = 2
) (
  input  logic                       axil_aclk,
  input  logic                       axis_aclk,
  input  logic                       box_rstn,
  output logic                       box_rst_done,
  input  logic                       s_axil_awvalid,
  input  logic [31:0]                s_axil_awaddr,
  output logic                       s_axil_awready,
  input  logic                       s_axil_wvalid,
  input  logic [31:0]                s_axil_wdata,
  output logic                       s_axil_wready,
  output logic                       s_axil_bvalid,
  output logic [1:0]                 s_axil_bresp,
  input  logic                       s_axil_bready,
  input  logic                       s_axil_arvalid,
  input  logic [31:0]                s_axil_araddr,
  output logic                       s_axil_arready,
  output logic                       s_axil_rvalid,
  output logic [31:0]                s_axil_rdata,
  output logic [1:0]                 s_axil_rresp,
  input  logic                       s_axil_rready,
  input  logic                       s_axis_qdma_h2c_tvalid,
  input  logic [511:0]               s_axis_qdma_h2c_tdata,
  input  logic [63:0]                s_axis_qdma_h2c_tkeep,
  input  logic                       s_axis_qdma_h2c_tlast,
  input  logic [15:0]                s_axis_qdma_h2c_tuser_size,
  input  logic [15:0]                s_axis_qdma_h2c_tuser_src,
  input  logic [15:0]                s_axis_qdma_h2c_tuser_dst,
  output logic                       s_axis_qdma_h2c_tready,
  output logic                       m_axis_qdma_c2h_tvalid,
  output logic [511:0]               m_axis_qdma_c2h_tdata,
  output logic [63:0]                m_axis_qdma_c2h_tkeep,
  output logic                       m_axis_qdma_c2h_tlast,
  output logic [15:0]                m_axis_qdma_c2h_tuser_size,
  output logic [15:0]                m_axis_qdma_c2h_tuser_src,
  output logic [15:0]                m_axis_qdma_c2h_tuser_dst,
  input  logic                       m_axis_qdma_c2h_tready,
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
  output logic [33:0]                status_o
);
  logic [3:0] bid, rid;

  // The plugin instance, as box_250mhz.sv includes it.
  localparam int unsigned NUM_CMAC_PORT = NumCmacPort;
  logic [15:0] mod_rstn, mod_rst_done;
  logic [33:0] norman_status;
  assign mod_rstn = {16{box_rstn}};
  logic unused_rstn;  // user blocks 1..15 do not exist
  assign unused_rstn = ^mod_rstn[15:1];
  assign box_rst_done = &mod_rst_done;
  assign status_o = norman_status;
  logic m_axib_awvalid, m_axib_awready, m_axib_wvalid, m_axib_wready, m_axib_wlast;
  logic m_axib_bvalid, m_axib_bready, m_axib_arvalid, m_axib_arready;
  logic m_axib_rvalid, m_axib_rready, m_axib_rlast;
  logic [63:0] m_axib_awaddr, m_axib_araddr, m_axib_wstrb;
  logic [7:0] m_axib_awlen, m_axib_arlen;
  logic [2:0] m_axib_awsize, m_axib_arsize;
  logic [1:0] m_axib_awburst, m_axib_arburst, m_axib_bresp, m_axib_rresp;
  logic [511:0] m_axib_wdata, m_axib_rdata;
  logic usr_irq_in_vld, usr_irq_out_ack, usr_irq_out_fail;
  logic [4:0] usr_irq_in_vec;
  logic [7:0] usr_irq_in_fnc;
`include "user_plugin_250mhz_inst.vh"

  qdma_axib_bb u_qdma (
    .axi_aclk(axis_aclk), .axi_aresetn(box_rstn),
    .s_axib_awid('0), .s_axib_awaddr(m_axib_awaddr), .s_axib_awlen(m_axib_awlen), .s_axib_awsize(m_axib_awsize),
    .s_axib_awburst(m_axib_awburst), .s_axib_awvalid(m_axib_awvalid), .s_axib_awready(m_axib_awready),
    .s_axib_wdata(m_axib_wdata), .s_axib_wstrb(m_axib_wstrb), .s_axib_wlast(m_axib_wlast), .s_axib_wvalid(m_axib_wvalid),
    .s_axib_wready(m_axib_wready), .s_axib_bid(bid), .s_axib_bresp(m_axib_bresp), .s_axib_bvalid(m_axib_bvalid),
    .s_axib_bready(m_axib_bready),
    .s_axib_arid('0), .s_axib_araddr(m_axib_araddr), .s_axib_arlen(m_axib_arlen), .s_axib_arsize(m_axib_arsize),
    .s_axib_arburst(m_axib_arburst), .s_axib_arvalid(m_axib_arvalid), .s_axib_arready(m_axib_arready),
    .s_axib_rid(rid), .s_axib_rdata(m_axib_rdata), .s_axib_rresp(m_axib_rresp), .s_axib_rlast(m_axib_rlast),
    .s_axib_rvalid(m_axib_rvalid), .s_axib_rready(m_axib_rready),
    .usr_irq_in_vld(usr_irq_in_vld), .usr_irq_in_vec(usr_irq_in_vec), .usr_irq_in_fnc(usr_irq_in_fnc),
    .usr_irq_out_ack(usr_irq_out_ack), .usr_irq_out_fail(usr_irq_out_fail));

  logic unused_ids;  // one ID: responses come back in order
  assign unused_ids = ^{bid, rid};
endmodule

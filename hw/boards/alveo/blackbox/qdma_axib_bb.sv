// INTERFACE DECLARATION ONLY -- NOT A MODEL.
// The ports of the AMD QDMA subsystem (PG302) that norman_onic_box drives
// once the OpenNIC shell routes them: the AXI slave bridge (user logic ->
// PCIe memory requests to host addresses) and the user interrupt port.
// Names and widths follow the QDMA IP as the shell instantiates it
// (qdma_subsystem_qdma_wrapper.v: usr_irq_in_vec is 5 bits); the bridge
// port set is the AXI4 subset a 512-bit slave needs. It exists so Verilator
// can check that the wrapper connects to these ports with the right names
// and widths (ctest hw_boards_lint_alveo). Vivado never reads this file: it
// uses the real IP. Outputs are left undriven on purpose.
/* verilator lint_off UNDRIVEN */
/* verilator lint_off UNUSEDSIGNAL */
module qdma_axib_bb (
  input  logic         axi_aclk,
  input  logic         axi_aresetn,
  // AXI slave bridge
  input  logic [3:0]   s_axib_awid,
  input  logic [63:0]  s_axib_awaddr,
  input  logic [7:0]   s_axib_awlen,
  input  logic [2:0]   s_axib_awsize,
  input  logic [1:0]   s_axib_awburst,
  input  logic         s_axib_awvalid,
  output logic         s_axib_awready,
  input  logic [511:0] s_axib_wdata,
  input  logic [63:0]  s_axib_wstrb,
  input  logic         s_axib_wlast,
  input  logic         s_axib_wvalid,
  output logic         s_axib_wready,
  output logic [3:0]   s_axib_bid,
  output logic [1:0]   s_axib_bresp,
  output logic         s_axib_bvalid,
  input  logic         s_axib_bready,
  input  logic [3:0]   s_axib_arid,
  input  logic [63:0]  s_axib_araddr,
  input  logic [7:0]   s_axib_arlen,
  input  logic [2:0]   s_axib_arsize,
  input  logic [1:0]   s_axib_arburst,
  input  logic         s_axib_arvalid,
  output logic         s_axib_arready,
  output logic [3:0]   s_axib_rid,
  output logic [511:0] s_axib_rdata,
  output logic [1:0]   s_axib_rresp,
  output logic         s_axib_rlast,
  output logic         s_axib_rvalid,
  input  logic         s_axib_rready,
  // user interrupts
  input  logic         usr_irq_in_vld,
  input  logic [4:0]   usr_irq_in_vec,
  input  logic [7:0]   usr_irq_in_fnc,
  output logic         usr_irq_out_ack,
  output logic         usr_irq_out_fail
);
endmodule
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on UNDRIVEN */

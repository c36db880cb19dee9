// INTERFACE DECLARATION ONLY -- NOT A MODEL.
// The client ports of Intel's Low Latency 100G Ethernet IP for Stratix 10
// (H-tile transceivers, MAC + PCS + RS-FEC), as the variant s10_eth_100g that
// hw/boards/s10mx/s10mx_project.tcl generates, with the ports norman_s10mx_top uses:
// the 512-bit Avalon-ST client interface ("l8_", 390.625 MHz clk_txmac /
// clk_rxmac; first byte of a frame in data[511:504], `empty` unused bytes
// on the end-of-packet beat, FCS removed/inserted by the MAC). Named after
// Intel's user guide; widths to be checked against the generated variant
// (docs/boards.md). Lint only (ctest hw_boards_lint_s10mx).
/* verilator lint_off UNDRIVEN */
/* verilator lint_off UNUSEDSIGNAL */
module s10_eth_100g (
  input  logic         clk_ref,
  input  logic         clk_status,  // 100 MHz management clock
  input  logic         csr_rst_n,
  input  logic         tx_rst_n,
  input  logic         rx_rst_n,
  input  logic [3:0]   rx_serial,
  output logic [3:0]   tx_serial,
  output logic         clk_txmac,
  output logic         clk_rxmac,
  output logic         tx_lanes_stable,
  output logic         rx_pcs_ready,
  input  logic [511:0] l8_tx_data,
  input  logic [5:0]   l8_tx_empty,
  input  logic         l8_tx_startofpacket,
  input  logic         l8_tx_endofpacket,
  input  logic         l8_tx_valid,
  output logic         l8_tx_ready,
  input  logic         l8_tx_error,
  output logic [511:0] l8_rx_data,
  output logic [5:0]   l8_rx_empty,
  output logic         l8_rx_startofpacket,
  output logic         l8_rx_endofpacket,
  output logic         l8_rx_valid,
  output logic [5:0]   l8_rx_error,
  output logic         l8_rx_fcs_error
);
endmodule
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on UNDRIVEN */

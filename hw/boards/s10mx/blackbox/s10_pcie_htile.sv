// INTERFACE DECLARATION ONLY -- NOT A MODEL.
// The application-side ports of the Intel Stratix 10 H-tile Avalon-ST Hard
// IP for PCI Express (Gen3 x16, 512-bit interface, 250 MHz coreclkout_hip)
// that norman_s10mx_top connects: the Platform Designer variant named
// s10_pcie_htile in hw/boards/s10mx/s10mx_project.tcl exposes them. Names
// follow Intel's user guide for the H-tile Avalon-ST interface; widths must
// be checked against the generated variant of the Quartus version used
// (docs/boards.md). Verilator uses this to check the wrapper's side of the
// boundary (ctest hw_boards_lint_s10mx); Quartus never reads it.
/* verilator lint_off UNDRIVEN */
/* verilator lint_off UNUSEDSIGNAL */
module s10_pcie_htile (
  input  logic         refclk,
  input  logic         pin_perst,
  input  logic         npor,
  output logic         coreclkout_hip,
  output logic         reset_status,
  output logic         link_up,
  // RX: TLPs from the host, one TLP starting per beat, header in DW0..
  output logic [511:0] rx_st_data,
  output logic         rx_st_sop,
  output logic         rx_st_eop,
  output logic         rx_st_valid,
  input  logic         rx_st_ready,
  output logic [2:0]   rx_st_bar_range,
  // TX: TLPs to the host
  input  logic [511:0] tx_st_data,
  input  logic         tx_st_sop,
  input  logic         tx_st_eop,
  input  logic         tx_st_valid,
  output logic         tx_st_ready,
  input  logic         tx_st_err,
  // TX credits available (net) and what the application consumes
  output logic [7:0]   tx_ph_cdts,
  output logic [11:0]  tx_pd_cdts,
  output logic [7:0]   tx_nph_cdts,
  output logic [11:0]  tx_npd_cdts,
  output logic [7:0]   tx_cplh_cdts,
  output logic [11:0]  tx_cpld_cdts,
  input  logic         tx_hdr_cdts_consumed,
  input  logic         tx_data_cdts_consumed,
  input  logic [1:0]   tx_cdts_type,
  input  logic [1:0]   tx_cdts_data_value,
  // Configuration space, time-multiplexed
  output logic [3:0]   tl_cfg_add,
  output logic [31:0]  tl_cfg_ctl,
  output logic [1:0]   tl_cfg_func,
  // MSI requests
  input  logic         app_msi_req,
  output logic         app_msi_ack,
  input  logic [4:0]   app_msi_num,
  input  logic [2:0]   app_msi_tc,
  input  logic [1:0]   app_msi_func_num,
  output logic [1:0]   app_msi_status
);
endmodule
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on UNDRIVEN */

// Norman on a Stratix 10 MX card: the FPGA top. nic_core runs on the PCIe
// hard IP's application clock (coreclkout_hip, 250 MHz for Gen3 x16 with
// the 512-bit interface), so the PCIe side needs no clock crossing; each
// 100G MAC (390.625 MHz) crosses through eth_avst_rx/eth_avst_tx.
//
// What maps to what:
// - BAR0 (1 GiB, 64-bit): the core's whole address space (registers below
//   1 MiB, doorbell pages above) through pcie_mmio_target.
// - DMA writes -> pcie_dma_wr (MWr TLPs), DMA reads -> pcie_dma_rd (MRd
//   TLPs, reorder buffer), both on the H-tile's Avalon-ST ports; TX TLPs
//   through pcie_tx_arb (writes first, credit checks).
// - Interrupts -> MSI (app_msi, 32 vectors) through s10_msi.
// - Ethernet port p <-> Low Latency 100G MAC p.
// The H-tile's Avalon-ST ports have a ready latency of 3 cycles: RX beats
// land in a skid FIFO that asks for no more while 4 entries are left, and
// a TX beat is offered only in cycles the IP announced 3 cycles earlier.
// See docs/boards.md for the Platform Designer settings this expects.
module norman_s10mx_top
  import norman_pkg::*;
#(
  parameter int unsigned NumPorts = 2,
  parameter int unsigned FilterEntries = norman_regmap_pkg::FILTER_ENTRIES
) (
  input  logic                   pcie_refclk,
  input  logic                   pcie_perst_n,
  input  logic [15:0]            pcie_rx,
  output logic [15:0]            pcie_tx,
  input  logic                   clk_100m,        // Ethernet IP management clock
  input  logic [NumPorts-1:0]    eth_refclk,      // 644.53125 MHz transceiver reference
  input  logic [NumPorts-1:0][3:0] eth_rx,
  output logic [NumPorts-1:0][3:0] eth_tx,
  output logic [3:0]             led
);
  // ---------------------------------------------------------------- PCIe IP
  logic clk, reset_status, link_up;
  logic [511:0] rx_st_data, tx_st_data;
  logic rx_st_sop, rx_st_eop, rx_st_valid, rx_st_ready;
  logic [2:0] rx_st_bar_range;
  logic tx_st_sop, tx_st_eop, tx_st_valid, tx_st_ready;
  logic [7:0] tx_ph_cdts, tx_nph_cdts, tx_cplh_cdts;
  logic [11:0] tx_pd_cdts, tx_npd_cdts, tx_cpld_cdts;
  logic hdr_consumed, data_consumed;
  logic [1:0] cdts_type, cdts_data_value;
  logic [3:0] tl_cfg_add;
  logic [31:0] tl_cfg_ctl;
  logic [1:0] tl_cfg_func, app_msi_status;
  logic app_msi_req, app_msi_ack;
  logic [4:0] app_msi_num;

  s10_pcie_htile u_pcie (
    .refclk(pcie_refclk), .pin_perst(pcie_perst_n), .npor(pcie_perst_n),
    .coreclkout_hip(clk), .reset_status, .link_up,
    .rx_st_data, .rx_st_sop, .rx_st_eop, .rx_st_valid, .rx_st_ready, .rx_st_bar_range,
    .tx_st_data, .tx_st_sop, .tx_st_eop, .tx_st_valid, .tx_st_ready, .tx_st_err(1'b0),
    .tx_ph_cdts, .tx_pd_cdts, .tx_nph_cdts, .tx_npd_cdts, .tx_cplh_cdts, .tx_cpld_cdts,
    .tx_hdr_cdts_consumed(hdr_consumed), .tx_data_cdts_consumed(data_consumed),
    .tx_cdts_type(cdts_type), .tx_cdts_data_value(cdts_data_value),
    .tl_cfg_add, .tl_cfg_ctl, .tl_cfg_func,
    .app_msi_req, .app_msi_ack, .app_msi_num, .app_msi_tc(3'd0), .app_msi_func_num(2'd0),
    .app_msi_status);
  // Serial lanes are the IP's pins (assigned in the .qsf), not logic ports.
  assign pcie_tx = '0;

  logic rst_n;
  board_reset_sync u_rst (.clk_i(clk), .rst_ni(!reset_status), .rst_no(rst_n));

  logic bus_master_en, ext_tag_en;
  logic [2:0] max_payload, max_read_req;
  logic [15:0] requester_id;
  s10_cfg_decode u_cfg (
    .clk_i(clk), .rst_ni(rst_n), .tl_cfg_add_i(tl_cfg_add), .tl_cfg_ctl_i(tl_cfg_ctl),
    .tl_cfg_func_i(tl_cfg_func), .bus_master_en_o(bus_master_en), .ext_tag_en_o(ext_tag_en),
    .max_payload_o(max_payload), .max_read_req_o(max_read_req), .requester_id_o(requester_id));

  // ---------------------------------------------------------------- RX TLPs
  // Skid FIFO for the 3-cycle ready latency, then route each TLP by type.
  localparam int unsigned RxW = 512 + 2 + 3;
  logic [RxW-1:0] rx_head;
  logic rx_valid, rx_ready;
  logic [$clog2(9)-1:0] rx_count;
  logic rx_in_ready;
  sync_fifo #(.Width(RxW), .Depth(8)) u_rx_skid (
    .clk_i(clk), .rst_ni(rst_n),
    .in_valid_i(rx_st_valid), .in_ready_o(rx_in_ready),
    .in_data_i({rx_st_data, rx_st_sop, rx_st_eop, rx_st_bar_range}),
    .out_valid_o(rx_valid), .out_ready_i(rx_ready), .out_data_o(rx_head), .count_o(rx_count));
  assign rx_st_ready = (rx_count <= 4'd4);

  logic [511:0] rx_data;
  logic rx_sop, rx_eop, to_cpl_q, to_cpl;
  logic [2:0] rx_bar;
  assign rx_data = rx_head[RxW-1 -: 512];
  assign rx_sop = rx_head[4];
  assign rx_eop = rx_head[3];
  assign rx_bar = rx_head[2:0];
  assign to_cpl = rx_sop ? (rx_data[28:24] == 5'b01010) : to_cpl_q;
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) to_cpl_q <= 1'b0;
    else if (rx_valid && rx_ready && rx_sop) to_cpl_q <= to_cpl;
  end

  logic req_ready, cpl_in_ready;
  assign rx_ready = to_cpl ? cpl_in_ready : req_ready;

  // ---------------------------------------------------------------- core ports
  logic csr_req_valid, csr_req_ready, csr_req_write, csr_rsp_valid;
  logic [CsrAddrW-1:0] csr_req_addr;
  logic [63:0] csr_req_wdata, csr_rsp_rdata;
  logic dma_wr_valid, dma_wr_ready, dma_wr_last;
  logic [DmaAddrW-1:0] dma_wr_addr, dma_rd_req_addr;
  logic [DmaLenW-1:0] dma_wr_len, dma_rd_req_len;
  logic [DataW-1:0] dma_wr_data, dma_rd_cpl_data;
  logic dma_rd_req_valid, dma_rd_req_ready, dma_rd_cpl_valid, dma_rd_cpl_ready, dma_rd_cpl_last;
  logic [DmaTagW-1:0] dma_rd_req_tag, dma_rd_cpl_tag;
  logic irq_valid, irq_ready;
  logic [IrqVecW-1:0] irq_vector;

  // TX TLP sources: 0 DMA writes, 1 MMIO completions, 2 DMA read requests.
  logic [2:0] src_valid, src_ready, src_sop, src_eop;
  logic [2:0][511:0] src_data;
  logic [2:0][1:0] src_type;
  logic [2:0][9:0] src_credits;
  logic [2:0][2:0] src_beat_cr;
  logic wr_idle, wr_error, rd_error;
  logic [2:0] arb_sending;
  logic [15:0] mmio_bad, msi_refused;

  pcie_mmio_target u_mmio (
    .clk_i(clk), .rst_ni(rst_n), .completer_id_i(requester_id),
    .req_valid_i(rx_valid && !to_cpl), .req_ready_o(req_ready), .req_data_i(rx_data),
    .req_sop_i(rx_sop), .req_eop_i(rx_eop), .req_bar_i(rx_bar),
    .csr_req_valid_o(csr_req_valid), .csr_req_ready_i(csr_req_ready),
    .csr_req_write_o(csr_req_write), .csr_req_addr_o(csr_req_addr),
    .csr_req_wdata_o(csr_req_wdata), .csr_rsp_valid_i(csr_rsp_valid),
    .csr_rsp_rdata_i(csr_rsp_rdata),
    .cpl_valid_o(src_valid[1]), .cpl_ready_i(src_ready[1]), .cpl_data_o(src_data[1]),
    .cpl_credits_o(src_credits[1]), .bad_o(mmio_bad));
  assign src_sop[1] = 1'b1;
  assign src_eop[1] = 1'b1;
  assign src_type[1] = 2'd2;
  assign src_beat_cr[1] = 3'(src_credits[1]);

  // Bus mastering off (before the driver enables it, or after it stops the
  // device): DMA stalls rather than sending requests the host would reject.
  logic wr_valid_gated, rd_valid_gated, wr_ready_raw, rd_ready_raw;
  assign wr_valid_gated = dma_wr_valid && bus_master_en;
  assign rd_valid_gated = dma_rd_req_valid && bus_master_en;
  assign dma_wr_ready = wr_ready_raw && bus_master_en;
  assign dma_rd_req_ready = rd_ready_raw && bus_master_en;

  pcie_dma_wr u_dma_wr (
    .clk_i(clk), .rst_ni(rst_n), .requester_id_i(requester_id), .max_payload_i(max_payload),
    .dma_wr_valid_i(wr_valid_gated), .dma_wr_ready_o(wr_ready_raw), .dma_wr_addr_i(dma_wr_addr),
    .dma_wr_len_i(dma_wr_len), .dma_wr_data_i(dma_wr_data), .dma_wr_last_i(dma_wr_last),
    .tlp_valid_o(src_valid[0]), .tlp_ready_i(src_ready[0]), .tlp_data_o(src_data[0]),
    .tlp_sop_o(src_sop[0]), .tlp_eop_o(src_eop[0]), .tlp_credits_o(src_credits[0]),
    .tlp_beat_cr_o(src_beat_cr[0]), .idle_o(wr_idle), .error_o(wr_error));
  assign src_type[0] = 2'd0;

  pcie_dma_rd u_dma_rd (
    .clk_i(clk), .rst_ni(rst_n), .requester_id_i(requester_id), .ext_tag_en_i(ext_tag_en),
    .dma_rd_req_valid_i(rd_valid_gated), .dma_rd_req_ready_o(rd_ready_raw),
    .dma_rd_req_addr_i(dma_rd_req_addr), .dma_rd_req_len_i(dma_rd_req_len),
    .dma_rd_req_tag_i(dma_rd_req_tag),
    .dma_rd_cpl_valid_o(dma_rd_cpl_valid), .dma_rd_cpl_ready_i(dma_rd_cpl_ready),
    .dma_rd_cpl_data_o(dma_rd_cpl_data), .dma_rd_cpl_tag_o(dma_rd_cpl_tag),
    .dma_rd_cpl_last_o(dma_rd_cpl_last),
    .tlp_valid_o(src_valid[2]), .tlp_ready_i(src_ready[2]), .tlp_data_o(src_data[2]),
    .cpl_valid_i(rx_valid && to_cpl), .cpl_ready_o(cpl_in_ready), .cpl_data_i(rx_data),
    .cpl_sop_i(rx_sop), .cpl_eop_i(rx_eop), .error_o(rd_error));
  assign src_sop[2] = 1'b1;
  assign src_eop[2] = 1'b1;
  assign src_type[2] = 2'd1;
  assign src_credits[2] = '0;
  assign src_beat_cr[2] = '0;

  // TX: offer a beat only where the IP's ready of 3 cycles ago allows it.
  logic [2:0] ready_hist_q;
  logic arb_valid;
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) ready_hist_q <= '0;
    else ready_hist_q <= {ready_hist_q[1:0], tx_st_ready};
  end
  pcie_tx_arb #(.NumSrc(3)) u_tx_arb (
    .clk_i(clk), .rst_ni(rst_n),
    .src_valid_i(src_valid), .src_ready_o(src_ready), .src_data_i(src_data),
    .src_sop_i(src_sop), .src_eop_i(src_eop), .src_type_i(src_type),
    .src_credits_i(src_credits), .src_beat_cr_i(src_beat_cr),
    .tx_st_data_o(tx_st_data), .tx_st_sop_o(tx_st_sop), .tx_st_eop_o(tx_st_eop),
    .tx_st_valid_o(arb_valid), .tx_st_ready_i(ready_hist_q[2]),
    .hdr_avail_i({tx_cplh_cdts, tx_nph_cdts, tx_ph_cdts}),
    .data_avail_i({tx_cpld_cdts, tx_npd_cdts, tx_pd_cdts}),
    .hdr_consumed_o(hdr_consumed), .data_consumed_o(data_consumed),
    .cdts_type_o(cdts_type), .cdts_data_value_o(cdts_data_value), .sending_o(arb_sending));
  assign tx_st_valid = arb_valid && ready_hist_q[2];

  logic msi_writes_idle;
  assign msi_writes_idle = wr_idle && !src_valid[0] && !arb_sending[0];
  s10_msi u_msi (
    .clk_i(clk), .rst_ni(rst_n), .irq_valid_i(irq_valid), .irq_ready_o(irq_ready),
    .irq_vector_i(irq_vector), .writes_idle_i(msi_writes_idle),
    .app_msi_req_o(app_msi_req), .app_msi_ack_i(app_msi_ack), .app_msi_num_o(app_msi_num),
    .refused_o(msi_refused));

  // ---------------------------------------------------------------- Ethernet
  logic [NumPorts-1:0] rx_tvalid, rx_tready, rx_tlast, rx_tuser, tx_tvalid, tx_tready, tx_tlast;
  logic [NumPorts-1:0][DataW-1:0] rx_tdata, tx_tdata;
  logic [NumPorts-1:0][KeepW-1:0] rx_tkeep, tx_tkeep;
  logic [NumPorts-1:0][31:0] mac_dropped;
  logic [NumPorts-1:0] pcs_ready, lanes_stable;

  for (genvar p = 0; p < NumPorts; p++) begin : g_eth
    logic clk_tx, clk_rx, tx_rst_n, rx_rst_n;
    logic [511:0] l8_tx_data, l8_rx_data;
    logic [5:0] l8_tx_empty, l8_rx_empty, l8_rx_error;
    logic l8_tx_sop, l8_tx_eop, l8_tx_valid, l8_tx_ready, l8_tx_error;
    logic l8_rx_sop, l8_rx_eop, l8_rx_valid, l8_rx_fcs_error;

    s10_eth_100g u_mac (
      .clk_ref(eth_refclk[p]), .clk_status(clk_100m), .csr_rst_n(pcie_perst_n), .tx_rst_n(pcie_perst_n),
      .rx_rst_n(pcie_perst_n), .rx_serial(eth_rx[p]), .tx_serial(eth_tx[p]),
      .clk_txmac(clk_tx), .clk_rxmac(clk_rx), .tx_lanes_stable(lanes_stable[p]),
      .rx_pcs_ready(pcs_ready[p]),
      .l8_tx_data, .l8_tx_empty, .l8_tx_startofpacket(l8_tx_sop), .l8_tx_endofpacket(l8_tx_eop),
      .l8_tx_valid, .l8_tx_ready, .l8_tx_error,
      .l8_rx_data, .l8_rx_empty, .l8_rx_startofpacket(l8_rx_sop), .l8_rx_endofpacket(l8_rx_eop),
      .l8_rx_valid, .l8_rx_error, .l8_rx_fcs_error);

    board_reset_sync u_rst_tx (.clk_i(clk_tx), .rst_ni(rst_n && lanes_stable[p]), .rst_no(tx_rst_n));
    board_reset_sync u_rst_rx (.clk_i(clk_rx), .rst_ni(rst_n && pcs_ready[p]), .rst_no(rx_rst_n));

    eth_avst_rx u_rx (
      .mac_clk_i(clk_rx), .mac_rst_ni(rx_rst_n),
      .avst_data_i(l8_rx_data), .avst_empty_i(l8_rx_empty), .avst_sop_i(l8_rx_sop),
      .avst_eop_i(l8_rx_eop), .avst_valid_i(l8_rx_valid), .avst_error_i(l8_rx_error),
      .avst_fcs_error_i(l8_rx_fcs_error), .dropped_o(mac_dropped[p]),
      .core_clk_i(clk), .core_rst_ni(rst_n),
      .tvalid_o(rx_tvalid[p]), .tready_i(rx_tready[p]), .tdata_o(rx_tdata[p]),
      .tkeep_o(rx_tkeep[p]), .tlast_o(rx_tlast[p]), .tuser_o(rx_tuser[p]));

    eth_avst_tx u_tx (
      .core_clk_i(clk), .core_rst_ni(rst_n),
      .tvalid_i(tx_tvalid[p]), .tready_o(tx_tready[p]), .tdata_i(tx_tdata[p]),
      .tkeep_i(tx_tkeep[p]), .tlast_i(tx_tlast[p]),
      .mac_clk_i(clk_tx), .mac_rst_ni(tx_rst_n),
      .avst_data_o(l8_tx_data), .avst_empty_o(l8_tx_empty), .avst_sop_o(l8_tx_sop),
      .avst_eop_o(l8_tx_eop), .avst_valid_o(l8_tx_valid), .avst_ready_i(l8_tx_ready),
      .avst_error_o(l8_tx_error));
  end

  // ---------------------------------------------------------------- core
  logic core_idle;  // for the simulator's sleep; nothing to do on a card
  nic_core #(.NumPorts(NumPorts), .FilterEntries(FilterEntries)) u_core (
    .clk_i(clk), .rst_ni(rst_n),
    .eth_rx_tvalid_i(rx_tvalid), .eth_rx_tready_o(rx_tready), .eth_rx_tdata_i(rx_tdata),
    .eth_rx_tkeep_i(rx_tkeep), .eth_rx_tlast_i(rx_tlast), .eth_rx_tuser_i(rx_tuser),
    .eth_tx_tvalid_o(tx_tvalid), .eth_tx_tready_i(tx_tready), .eth_tx_tdata_o(tx_tdata),
    .eth_tx_tkeep_o(tx_tkeep), .eth_tx_tlast_o(tx_tlast),
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

  // Status LEDs: link up, both DMA directions error-free, Ethernet ready.
  assign led = {&pcs_ready, !(wr_error || rd_error), bus_master_en, link_up};

  logic unused_status;
  assign unused_status = ^{core_idle, rx_in_ready, arb_sending[2:1], max_read_req, app_msi_status, mmio_bad,
                           msi_refused, mac_dropped, pcie_rx};
endmodule

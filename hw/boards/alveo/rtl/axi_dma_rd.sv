// nic_core's DMA reads as AXI4 read bursts through the QDMA's AXI slave
// bridge (PCIe memory reads of the same host address). One burst per 4 KiB
// page of the request; a single ARID keeps the data in request order, which
// is the order the core expects. dma_rd_realign repacks the address-aligned
// data from lane 0. An RRESP other than OKAY still delivers its beats (the
// core must see every completion it waits for) and sets the sticky error_o.
module axi_dma_rd
  import norman_pkg::*;
#(
  parameter int unsigned InfoDepth = 32  // requests in flight (tx_engine keeps up to 32)
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                dma_rd_req_valid_i,
  output logic                dma_rd_req_ready_o,
  input  logic [DmaAddrW-1:0] dma_rd_req_addr_i,
  input  logic [DmaLenW-1:0]  dma_rd_req_len_i,
  input  logic [DmaTagW-1:0]  dma_rd_req_tag_i,
  output logic                dma_rd_cpl_valid_o,
  input  logic                dma_rd_cpl_ready_i,
  output logic [DataW-1:0]    dma_rd_cpl_data_o,
  output logic [DmaTagW-1:0]  dma_rd_cpl_tag_o,
  output logic                dma_rd_cpl_last_o,
  output logic                m_axi_arvalid,
  input  logic                m_axi_arready,
  output logic [63:0]         m_axi_araddr,
  output logic [7:0]          m_axi_arlen,
  output logic [2:0]          m_axi_arsize,
  output logic [1:0]          m_axi_arburst,
  input  logic                m_axi_rvalid,
  output logic                m_axi_rready,
  input  logic [DataW-1:0]    m_axi_rdata,
  input  logic [1:0]          m_axi_rresp,
  input  logic                m_axi_rlast,
  output logic                error_o
);
  localparam int unsigned BeatsW = 11;
  localparam int unsigned InfoW = 6 + 2 * BeatsW + DmaTagW;

  // The core's request is taken at once into cur_*, so its data can never
  // arrive before its handshake; the bursts are issued from the copy.
  logic cur_valid_q;
  logic [DmaAddrW-7:0] blk_q;
  logic [BeatsW-1:0] rem_q;  // blocks not yet requested
  logic [BeatsW-1:0] in_beats, out_beats, to_page_end, burst;
  assign in_beats = BeatsW'((17'(dma_rd_req_addr_i[5:0]) + 17'(dma_rd_req_len_i) + 17'd63) >> 6);
  assign out_beats = BeatsW'((17'(dma_rd_req_len_i) + 17'd63) >> 6);
  assign to_page_end = BeatsW'(7'd64) - BeatsW'(blk_q[5:0]);
  assign burst = (rem_q < to_page_end) ? rem_q : to_page_end;

  logic info_in_ready, info_valid, info_ready;
  logic [InfoW-1:0] info;
  logic [$clog2(InfoDepth + 1)-1:0] info_count, unused_info_count;
  assign unused_info_count = info_count;
  logic ar_fire, last_ar, accept;
  // A zero-length read is not a bus transaction; the core never asks for one
  // (tx_engine reads descriptors and frames of at least MIN_FRAME_BYTES).
  assign m_axi_arvalid = cur_valid_q;
  assign m_axi_araddr = {blk_q, 6'b0};
  assign m_axi_arlen = 8'(burst - 1'b1);
  assign m_axi_arsize = 3'b110;
  assign m_axi_arburst = 2'b01;
  assign ar_fire = m_axi_arvalid && m_axi_arready;
  assign last_ar = ar_fire && (rem_q == burst);
  assign dma_rd_req_ready_o = info_in_ready && (!cur_valid_q || last_ar);
  assign accept = dma_rd_req_valid_i && dma_rd_req_ready_o;

  sync_fifo #(.Width(InfoW), .Depth(InfoDepth)) u_info (
    .clk_i, .rst_ni,
    .in_valid_i(accept), .in_ready_o(info_in_ready),
    .in_data_i({dma_rd_req_addr_i[5:0], in_beats, out_beats, dma_rd_req_tag_i}),
    .out_valid_o(info_valid), .out_ready_i(info_ready), .out_data_o(info), .count_o(info_count));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cur_valid_q <= 1'b0;
      blk_q <= '0;
      rem_q <= '0;
      error_o <= 1'b0;
    end else begin
      if (ar_fire) begin
        blk_q <= blk_q + (DmaAddrW - 6)'(burst);
        rem_q <= rem_q - burst;
        if (last_ar) cur_valid_q <= 1'b0;
      end
      if (accept) begin
        cur_valid_q <= (in_beats != '0);
        blk_q <= dma_rd_req_addr_i[DmaAddrW-1:6];
        rem_q <= in_beats;
      end
      if (m_axi_rvalid && m_axi_rready && m_axi_rresp != 2'b00) error_o <= 1'b1;
    end
  end

  dma_rd_realign #(.BeatsW(BeatsW)) u_realign (
    .clk_i, .rst_ni,
    .info_valid_i(info_valid), .info_ready_o(info_ready),
    .info_off_i(info[InfoW-1 -: 6]), .info_in_beats_i(info[DmaTagW + BeatsW +: BeatsW]),
    .info_out_beats_i(info[DmaTagW +: BeatsW]), .info_tag_i(info[DmaTagW-1:0]),
    .in_valid_i(m_axi_rvalid), .in_ready_o(m_axi_rready), .in_data_i(m_axi_rdata),
    .out_valid_o(dma_rd_cpl_valid_o), .out_ready_i(dma_rd_cpl_ready_i),
    .out_data_o(dma_rd_cpl_data_o), .out_tag_o(dma_rd_cpl_tag_o), .out_last_o(dma_rd_cpl_last_o));

  logic unused_rlast;  // bursts are counted, not delimited by rlast
  assign unused_rlast = m_axi_rlast;
endmodule

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

  logic in_req_q;
  logic [DmaAddrW-7:0] blk_q;
  logic [BeatsW-1:0] rem_q;  // blocks of the request not yet requested

  logic first, done;
  logic [DmaAddrW-7:0] blk;
  logic [BeatsW-1:0] in_beats, out_beats, rem, to_page_end, burst;
  assign first = !in_req_q;
  assign blk = first ? dma_rd_req_addr_i[DmaAddrW-1:6] : blk_q;
  assign in_beats = BeatsW'((17'(dma_rd_req_addr_i[5:0]) + 17'(dma_rd_req_len_i) + 17'd63) >> 6);
  assign out_beats = BeatsW'((17'(dma_rd_req_len_i) + 17'd63) >> 6);
  assign rem = first ? in_beats : rem_q;
  assign to_page_end = BeatsW'(7'd64) - BeatsW'(blk[5:0]);
  assign burst = (rem < to_page_end) ? rem : to_page_end;
  assign done = (rem == burst);

  logic info_in_ready, info_valid, info_ready;
  logic [InfoW-1:0] info;
  logic [$clog2(InfoDepth + 1)-1:0] info_count, unused_info_count;
  assign unused_info_count = info_count;
  logic ar_fire;
  // A zero-length read is not a bus transaction; the core never asks for one
  // (tx_engine reads descriptors and frames of at least MIN_FRAME_BYTES).
  assign m_axi_arvalid = dma_rd_req_valid_i && (rem != '0) && (!first || info_in_ready);
  assign m_axi_araddr = first ? dma_rd_req_addr_i : {blk, 6'b0};
  assign m_axi_arlen = 8'(burst - 1'b1);
  assign m_axi_arsize = 3'b110;
  assign m_axi_arburst = 2'b01;
  assign ar_fire = m_axi_arvalid && m_axi_arready;
  assign dma_rd_req_ready_o = ar_fire && done;

  sync_fifo #(.Width(InfoW), .Depth(InfoDepth)) u_info (
    .clk_i, .rst_ni,
    .in_valid_i(ar_fire && first), .in_ready_o(info_in_ready),
    .in_data_i({dma_rd_req_addr_i[5:0], in_beats, out_beats, dma_rd_req_tag_i}),
    .out_valid_o(info_valid), .out_ready_i(info_ready), .out_data_o(info), .count_o(info_count));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_req_q <= 1'b0;
      blk_q <= '0;
      rem_q <= '0;
      error_o <= 1'b0;
    end else begin
      if (ar_fire) begin
        in_req_q <= !done;
        blk_q <= blk + (DmaAddrW - 6)'(burst);
        rem_q <= rem - burst;
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

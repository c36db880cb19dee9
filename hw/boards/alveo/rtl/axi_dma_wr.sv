// nic_core's DMA writes as AXI4 write bursts into the QDMA's AXI slave
// bridge, which turns them into PCIe memory writes to the same host address.
// The core's beats are already address-aligned (host byte A in lane A mod
// 64), which is the AXI data bus's own lane rule, so each beat becomes one W
// beat with strobes for the bytes of [addr, addr + len) in its block. A
// request is split into one burst per 4 KiB page (AXI bursts may not cross
// one; at most 64 beats each). The AW of a burst is queued when its first
// beat is taken, so AW never trails its data by more than the W register.
// Errors (a B response other than OKAY, a core `last` that disagrees with
// addr/len) set the sticky error_o: the core has no input for them.
module axi_dma_wr
  import norman_pkg::*;
(
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                dma_wr_valid_i,
  output logic                dma_wr_ready_o,
  input  logic [DmaAddrW-1:0] dma_wr_addr_i,
  input  logic [DmaLenW-1:0]  dma_wr_len_i,
  input  logic [DataW-1:0]    dma_wr_data_i,
  input  logic                dma_wr_last_i,
  output logic                m_axi_awvalid,
  input  logic                m_axi_awready,
  output logic [63:0]         m_axi_awaddr,
  output logic [7:0]          m_axi_awlen,
  output logic [2:0]          m_axi_awsize,
  output logic [1:0]          m_axi_awburst,
  output logic                m_axi_wvalid,
  input  logic                m_axi_wready,
  output logic [DataW-1:0]    m_axi_wdata,
  output logic [KeepW-1:0]    m_axi_wstrb,
  output logic                m_axi_wlast,
  input  logic                m_axi_bvalid,
  output logic                m_axi_bready,
  input  logic [1:0]          m_axi_bresp,
  output logic                error_o
);
  localparam int unsigned BeatsW = 11;  // len < 64 KiB: at most 1025 blocks

  logic in_req_q;                 // a beat of the current request was taken
  logic [DmaAddrW-7:0] blk_q;     // block (address / 64) of the next beat
  logic [BeatsW-1:0] left_q;      // beats of the request after the next one

  logic first, is_last, page_start, page_end;
  logic [DmaAddrW-7:0] blk;
  logic [BeatsW-1:0] total, left, to_page_end, burst;
  logic [5:0] lo, hi;
  assign first = !in_req_q;
  assign blk = first ? dma_wr_addr_i[DmaAddrW-1:6] : blk_q;
  assign total = BeatsW'((17'(dma_wr_addr_i[5:0]) + 17'(dma_wr_len_i) + 17'd63) >> 6);
  assign left = first ? ((total == '0) ? '0 : total - 1'b1) : left_q;
  assign is_last = (left == '0);
  assign page_start = first || (blk[5:0] == '0);
  assign page_end = (blk[5:0] == 6'h3f);
  assign to_page_end = BeatsW'(7'd64) - BeatsW'(blk[5:0]);
  assign burst = (left + 1'b1 < to_page_end) ? left + 1'b1 : to_page_end;
  assign lo = first ? dma_wr_addr_i[5:0] : '0;
  assign hi = is_last ? dma_wr_addr_i[5:0] + dma_wr_len_i[5:0] - 6'd1 : 6'h3f;

  // AW queue: {addr, len}.
  logic aw_in_ready;
  logic [71:0] aw_out;
  logic [2:0] unused_aw_count, aw_count;
  assign unused_aw_count = aw_count;
  logic w_valid_q, w_last_q;
  logic [DataW-1:0] w_data_q;
  logic [KeepW-1:0] w_strb_q;
  logic take;
  // Ready must not depend on the request (the core's write arbiter picks
  // its source from ready): ask for AW room on every beat.
  assign dma_wr_ready_o = (!w_valid_q || m_axi_wready) && aw_in_ready;
  assign take = dma_wr_valid_i && dma_wr_ready_o;

  sync_fifo #(.Width(72), .Depth(4)) u_aw (
    .clk_i, .rst_ni,
    .in_valid_i(take && page_start), .in_ready_o(aw_in_ready),
    .in_data_i({first ? dma_wr_addr_i : {blk, 6'b0}, 8'(burst - 1'b1)}),
    .out_valid_o(m_axi_awvalid), .out_ready_i(m_axi_awready), .out_data_o(aw_out),
    .count_o(aw_count));
  assign m_axi_awaddr = aw_out[71:8];
  assign m_axi_awlen = aw_out[7:0];
  assign m_axi_awsize = 3'b110;  // 64 bytes per beat
  assign m_axi_awburst = 2'b01;  // INCR

  always_ff @(posedge clk_i) begin
    if (take) begin
      w_data_q <= dma_wr_data_i;
      for (int unsigned j = 0; j < KeepW; j++) begin
        w_strb_q[j] <= (dma_wr_len_i != '0) && (6'(j) >= lo) && (6'(j) <= hi);
      end
      w_last_q <= is_last || page_end;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_req_q <= 1'b0;
      blk_q <= '0;
      left_q <= '0;
      w_valid_q <= 1'b0;
      error_o <= 1'b0;
    end else begin
      if (take) begin
        in_req_q <= !is_last;
        blk_q <= blk + 1'b1;
        left_q <= left - 1'b1;
        w_valid_q <= 1'b1;
        if (is_last != dma_wr_last_i) error_o <= 1'b1;
      end else if (m_axi_wready) begin
        w_valid_q <= 1'b0;
      end
      if (m_axi_bvalid && m_axi_bresp != 2'b00) error_o <= 1'b1;
    end
  end

  assign m_axi_wvalid = w_valid_q;
  assign m_axi_wdata = w_data_q;
  assign m_axi_wstrb = w_strb_q;
  assign m_axi_wlast = w_last_q;
  assign m_axi_bready = 1'b1;
endmodule

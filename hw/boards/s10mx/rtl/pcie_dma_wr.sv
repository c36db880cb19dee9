// nic_core's DMA writes as PCIe memory-write TLPs on the H-tile's 512-bit
// Avalon-ST port. A request is cut at Max_Payload_Size-aligned addresses
// (so no TLP crosses 4 KiB), each piece one TLP: a 3-DW header (address
// below 4 GiB) or 4-DW header, then the payload packed from the next
// dword. The core's beats are address-aligned; the payload's first dword
// (address cur & ~3) sits at dword cur[5:2] of the first block and must go
// to dword H (header length), so the block stream is shifted by
// cur[5:2] - H dwords: forward (hold one block, as dma_rd_realign does) or,
// when negative, backward (start from a virtual empty block). The header
// overwrites dwords 0..H-1 of the first beat. Byte enables come from
// addr/len. No relaxed ordering: writes land in order (a notification
// never passes the frame it announces).
module pcie_dma_wr
  import norman_pkg::*;
(
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic [15:0]         requester_id_i,
  input  logic [2:0]          max_payload_i,  // Device Control encoding
  input  logic                dma_wr_valid_i,
  output logic                dma_wr_ready_o,
  input  logic [DmaAddrW-1:0] dma_wr_addr_i,
  input  logic [DmaLenW-1:0]  dma_wr_len_i,
  input  logic [DataW-1:0]    dma_wr_data_i,
  input  logic                dma_wr_last_i,
  output logic                tlp_valid_o,
  input  logic                tlp_ready_i,
  output logic [511:0]        tlp_data_o,
  output logic                tlp_sop_o,
  output logic                tlp_eop_o,
  output logic [9:0]          tlp_credits_o,  // data credits of the TLP
  output logic [2:0]          tlp_beat_cr_o,  // data credits to report with this beat
  output logic                idle_o,
  output logic                error_o
);
  localparam int unsigned BeatsW = 11;

  // Max payload used: what the host allows, at most 256 bytes (5 beats).
  logic [8:0] mps;
  assign mps = (max_payload_i == 3'd0) ? 9'd128 : 9'd256;

  logic in_req_q, tlp_q;
  logic [63:0] cur_q;
  logic [16:0] rem_q;

  // ---- TLP setup (one cycle, while no TLP is in progress)
  logic [63:0] cur, end_addr;
  logic [16:0] rem, room, bytes;
  logic [10:0] ndw;
  logic four_dw;
  logic [2:0] hdr_dw;
  logic [BeatsW-1:0] in_beats, out_beats;
  logic [4:0] q;  // cur[5:2] - H, two's complement in 5 bits
  logic [3:0] first_be, last_be;
  logic [1:0] last_byte;
  assign cur = in_req_q ? cur_q : dma_wr_addr_i;
  assign rem = in_req_q ? rem_q : 17'(dma_wr_len_i);
  logic [7:0] mps_off;  // cur's offset in its max-payload window
  assign mps_off = cur[7:0] & 8'(mps - 9'd1);
  assign room = 17'(mps) - 17'(mps_off);
  assign bytes = (rem < room) ? rem : room;
  assign end_addr = cur + 64'(bytes);
  assign ndw = 11'((17'(cur[1:0]) + bytes + 17'd3) >> 2);
  assign four_dw = (cur[63:32] != '0);
  assign hdr_dw = four_dw ? 3'd4 : 3'd3;
  assign in_beats = BeatsW'((17'(cur[5:0]) + bytes + 17'd63) >> 6);
  assign out_beats = BeatsW'((11'(hdr_dw) + ndw + 11'd15) >> 4);
  assign q = 5'(cur[5:2]) - 5'(hdr_dw);
  assign last_byte = 2'(end_addr[1:0] - 2'd1);
  always_comb begin
    first_be = 4'b1111 << cur[1:0];
    last_be = 4'b1111 >> (2'd3 - last_byte);
    if (ndw == 11'd1) begin
      first_be = first_be & last_be;
      last_be = 4'b0000;
    end
  end
  logic setup;
  assign setup = !tlp_q && dma_wr_valid_i && (rem != '0);

  // ---- per-TLP state
  logic [BeatsW-1:0] in_left_q, out_left_q;
  logic [10:0] pay_left_q, pay_sent_q;
  logic [3:0] r_q;
  logic have_prev_q, first_out_q;
  logic [DataW-1:0] prev_q;
  logic [127:0] hdr_q;
  logic [2:0] hdr_dw_q;
  logic [9:0] credits_q;

  logic need_in, store_only, flush, can_out, emit, take;
  logic o_valid_q;
  assign need_in = tlp_q && (in_left_q != '0);
  assign store_only = need_in && !have_prev_q;
  assign flush = tlp_q && !need_in && (out_left_q != '0);
  assign can_out = !o_valid_q || tlp_ready_i;
  assign dma_wr_ready_o = need_in && (store_only || can_out);
  assign take = dma_wr_valid_i && dma_wr_ready_o;
  assign emit = can_out && ((need_in && have_prev_q && dma_wr_valid_i) || flush);

  logic [2*DataW-1:0] pair;
  logic [DataW-1:0] shifted, beat;
  logic [10:0] beat_pay;
  assign pair = {flush ? {DataW{1'b0}} : dma_wr_data_i, prev_q};
  assign shifted = DataW'(pair >> {r_q, 5'b00000});
  always_comb begin
    beat = shifted;
    if (first_out_q) begin
      beat[95:0] = hdr_q[95:0];
      if (hdr_dw_q == 3'd4) beat[127:96] = hdr_q[127:96];
    end
    beat_pay = first_out_q ? 11'd16 - 11'(hdr_dw_q) : 11'd16;
    if (pay_left_q < beat_pay) beat_pay = pay_left_q;
  end

  logic [511:0] o_data_q;
  logic o_sop_q, o_eop_q;
  logic [2:0] o_cr_q;
  logic [9:0] o_credits_q;  // the TLP's, held with its beats (the next TLP may be set up)
  always_ff @(posedge clk_i) begin
    if (take) prev_q <= dma_wr_data_i;
    if (setup) begin
      if (q[4]) prev_q <= '0;  // shifting backward: a virtual empty block first
      hdr_q <= {four_dw ? cur[31:0] : 32'd0,
                four_dw ? cur[63:32] : {cur[31:2], 2'b00},
                requester_id_i, 8'd0, last_be, first_be,
                four_dw ? 3'b011 : 3'b010, 5'b00000, 14'd0, ndw[9:0]};
      if (four_dw) hdr_q[127:96] <= {cur[31:2], 2'b00};
      hdr_dw_q <= hdr_dw;
      credits_q <= 10'((ndw + 11'd3) >> 2);
      r_q <= q[3:0];
    end
    if (emit) begin
      o_data_q <= beat;
      o_sop_q <= first_out_q;
      if (first_out_q) o_credits_q <= credits_q;
      o_eop_q <= (out_left_q == BeatsW'(1));
      // A TLP uses ceil(dwords / 4) credits in all: report, per beat, how
      // far the running total of its dwords has moved that count.
      o_cr_q <= 3'(((pay_sent_q + beat_pay + 11'd3) >> 2) - ((pay_sent_q + 11'd3) >> 2));
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_req_q <= 1'b0;
      tlp_q <= 1'b0;
      cur_q <= '0;
      rem_q <= '0;
      in_left_q <= '0;
      out_left_q <= '0;
      pay_left_q <= '0;
      pay_sent_q <= '0;
      have_prev_q <= 1'b0;
      first_out_q <= 1'b0;
      o_valid_q <= 1'b0;
      error_o <= 1'b0;
    end else begin
      if (setup) begin
        tlp_q <= 1'b1;
        cur_q <= end_addr;
        rem_q <= rem - bytes;
        in_req_q <= (rem != bytes);
        in_left_q <= in_beats;
        out_left_q <= out_beats;
        pay_left_q <= ndw;
        pay_sent_q <= '0;
        have_prev_q <= q[4];
        first_out_q <= 1'b1;
      end
      if (take) begin
        in_left_q <= in_left_q - 1'b1;
        have_prev_q <= 1'b1;
        // The core's `last` must end the request exactly where addr/len do.
        if (dma_wr_last_i != (!in_req_q && in_left_q == BeatsW'(1))) error_o <= 1'b1;
      end
      if (emit) begin
        out_left_q <= out_left_q - 1'b1;
        pay_left_q <= pay_left_q - beat_pay;
        pay_sent_q <= pay_sent_q + beat_pay;
        first_out_q <= 1'b0;
        if (out_left_q == BeatsW'(1)) tlp_q <= 1'b0;
        o_valid_q <= 1'b1;
      end else if (tlp_ready_i) begin
        o_valid_q <= 1'b0;
      end
    end
  end

  assign tlp_valid_o = o_valid_q;
  assign tlp_data_o = o_data_q;
  assign tlp_sop_o = o_sop_q;
  assign tlp_eop_o = o_eop_q;
  assign tlp_credits_o = o_credits_q;
  assign tlp_beat_cr_o = o_cr_q;
  assign idle_o = !tlp_q && !o_valid_q && !dma_wr_valid_i;
endmodule

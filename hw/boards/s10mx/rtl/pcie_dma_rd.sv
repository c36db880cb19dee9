// nic_core's DMA reads as PCIe memory reads, one per 64-byte block: a read
// of one aligned 64-byte block lies inside one read completion boundary, so
// it comes back as exactly one completion whatever the root complex's RCB,
// and a 256-entry reorder buffer (one line per tag, block RAM) puts the
// blocks back in request order before dma_rd_realign repacks them from lane
// 0. Tags are issued in ring order, so retiring in ring order is request
// order. With extended tags off (Device Control) only 32 reads are in
// flight and the tag is the slot's low five bits. A completion with an
// error status still fills its line (the core must see every beat it waits
// for) and sets the sticky error_o.
module pcie_dma_rd
  import norman_pkg::*;
(
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic [15:0]         requester_id_i,
  input  logic                ext_tag_en_i,
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
  // MRd TLPs (one beat each) to pcie_tx_arb
  output logic                tlp_valid_o,
  input  logic                tlp_ready_i,
  output logic [511:0]        tlp_data_o,
  // Completions from the RX port (whole TLPs, header in DW0..2)
  input  logic                cpl_valid_i,
  output logic                cpl_ready_o,
  input  logic [511:0]        cpl_data_i,
  input  logic                cpl_sop_i,
  input  logic                cpl_eop_i,
  output logic                error_o
);
  localparam int unsigned BeatsW = 11;
  localparam int unsigned InfoW = 6 + 2 * BeatsW + DmaTagW;

  // ---------------------------------------------------------------- issue
  // Reorder slots: issue at tail, retire at head; one bit more than the
  // slot index so 256 in flight differs from none.
  logic [8:0] head_q, tail_q;
  logic [8:0] in_flight;
  assign in_flight = tail_q - head_q;

  // The core's request is taken at once into cur_*, so its completions can
  // never arrive before its handshake; the MRds are issued from the copy.
  logic cur_valid_q;
  logic [DmaAddrW-7:0] blk_q;
  logic [BeatsW-1:0] rem_q;  // blocks not yet requested
  logic room;
  logic [BeatsW-1:0] in_beats, out_beats;
  assign in_beats = BeatsW'((17'(dma_rd_req_addr_i[5:0]) + 17'(dma_rd_req_len_i) + 17'd63) >> 6);
  assign out_beats = BeatsW'((17'(dma_rd_req_len_i) + 17'd63) >> 6);
  assign room = (in_flight < (ext_tag_en_i ? 9'd256 : 9'd32));

  logic info_in_ready, info_valid, info_ready;
  logic [InfoW-1:0] info;
  logic [$clog2(33)-1:0] info_count;

  // MRd header: 64-bit address form only above 4 GiB (PCIe requires the
  // 32-bit form below), 16 DW, all bytes enabled.
  logic [63:0] addr;
  logic four_dw;
  logic [7:0] tag;
  assign addr = {blk_q, 6'b0};
  assign four_dw = (addr[63:32] != '0);
  assign tag = ext_tag_en_i ? tail_q[7:0] : {3'b000, tail_q[4:0]};
  always_comb begin
    tlp_data_o = '0;
    tlp_data_o[31:0] = {four_dw ? 3'b001 : 3'b000, 5'b00000, 14'd0, 10'd16};
    tlp_data_o[63:32] = {requester_id_i, tag, 4'hf, 4'hf};
    if (four_dw) begin
      tlp_data_o[95:64] = addr[63:32];
      tlp_data_o[127:96] = addr[31:0];
    end else begin
      tlp_data_o[95:64] = addr[31:0];
    end
  end
  assign tlp_valid_o = cur_valid_q && room;
  logic issue, last_issue, accept;
  assign issue = tlp_valid_o && tlp_ready_i;
  assign last_issue = issue && (rem_q == BeatsW'(1));
  // A zero-length read is no bus transaction; the core never asks for one.
  assign dma_rd_req_ready_o = info_in_ready && (!cur_valid_q || last_issue);
  assign accept = dma_rd_req_valid_i && dma_rd_req_ready_o;

  sync_fifo #(.Width(InfoW), .Depth(32)) u_info (
    .clk_i, .rst_ni,
    .in_valid_i(accept), .in_ready_o(info_in_ready),
    .in_data_i({dma_rd_req_addr_i[5:0], in_beats, out_beats, dma_rd_req_tag_i}),
    .out_valid_o(info_valid), .out_ready_i(info_ready), .out_data_o(info),
    .count_o(info_count));

  // ---------------------------------------------------------------- completions
  // Completion header: DW0 fmt/type/length, DW1 status [15:13] and byte
  // count, DW2 tag [15:8] and lower address [6:0]; data from DW3.
  logic [511:0] beat0_q;
  logic have0_q;
  logic [511:0] hdr_beat;
  assign hdr_beat = have0_q ? beat0_q : cpl_data_i;
  assign cpl_ready_o = 1'b1;  // a line write per completion, never stalls

  logic [DataW-1:0] payload, rotated;
  logic [15:0] dw_en;
  logic [9:0] len_dw;
  logic [3:0] low_dw;
  logic [7:0] cpl_tag;
  logic [7:0] slot;
  logic ok_status, last_cpl, cpl_done;
  assign len_dw = hdr_beat[9:0];
  assign ok_status = (hdr_beat[47:45] == 3'b000);
  assign last_cpl = (32'(hdr_beat[43:32]) <= 32'(len_dw) * 4);  // byte count left fits this one
  assign low_dw = hdr_beat[69:66];  // lower address [5:2]
  assign cpl_tag = hdr_beat[79:72];
  // Without extended tags the tag is the slot's low bits; the slot is the
  // one in flight with those bits (at most 32 are).
  assign slot = ext_tag_en_i ? cpl_tag
              : {head_q[7:5] + 3'(cpl_tag[4:0] < head_q[4:0]), cpl_tag[4:0]};
  logic [7:0] head_slot;
  assign head_slot = head_q[7:0];
  assign payload = have0_q ? {cpl_data_i[95:0], beat0_q[511:96]} : {96'd0, cpl_data_i[511:96]};
  assign rotated = DataW'({payload, payload} << {low_dw, 5'b00000});
  always_comb begin
    for (int unsigned i = 0; i < 16; i++) begin
      dw_en[i] = ok_status && ((5'(i) - 5'(low_dw)) < 5'(len_dw)) && (i >= 32'(low_dw));
    end
  end
  assign cpl_done = cpl_valid_i && cpl_eop_i;

  logic [DataW-1:0] line_q [256];
  logic [255:0] valid_q;
  always_ff @(posedge clk_i) begin
    if (cpl_done) begin
      for (int unsigned i = 0; i < 16; i++) begin
        if (dw_en[i]) line_q[slot][32*i +: 32] <= rotated[32*i +: 32];
      end
    end
  end

  // ---------------------------------------------------------------- retire
  logic rd_valid_q, rd_take, in_ready;
  logic [DataW-1:0] rd_data_q;
  assign rd_take = valid_q[head_slot] && (!rd_valid_q || in_ready) && (in_flight != '0);
  always_ff @(posedge clk_i) begin
    if (rd_take) rd_data_q <= line_q[head_slot];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      head_q <= '0;
      tail_q <= '0;
      cur_valid_q <= 1'b0;
      blk_q <= '0;
      rem_q <= '0;
      beat0_q <= '0;
      have0_q <= 1'b0;
      valid_q <= '0;
      rd_valid_q <= 1'b0;
      error_o <= 1'b0;
    end else begin
      if (issue) begin
        tail_q <= tail_q + 1'b1;
        blk_q <= blk_q + 1'b1;
        rem_q <= rem_q - 1'b1;
        if (last_issue) cur_valid_q <= 1'b0;
      end
      if (accept) begin
        cur_valid_q <= (in_beats != '0);
        blk_q <= dma_rd_req_addr_i[DmaAddrW-1:6];
        rem_q <= in_beats;
      end
      if (cpl_valid_i) begin
        have0_q <= !cpl_eop_i;
        if (cpl_sop_i && !cpl_eop_i) beat0_q <= cpl_data_i;
      end
      if (cpl_done) begin
        if (last_cpl || !ok_status) valid_q[slot] <= 1'b1;
        if (!ok_status) error_o <= 1'b1;
      end
      if (rd_take) begin
        valid_q[head_slot] <= 1'b0;
        head_q <= head_q + 1'b1;
      end
      if (rd_take) rd_valid_q <= 1'b1;
      else if (in_ready) rd_valid_q <= 1'b0;
    end
  end

  dma_rd_realign #(.BeatsW(BeatsW)) u_realign (
    .clk_i, .rst_ni,
    .info_valid_i(info_valid), .info_ready_o(info_ready),
    .info_off_i(info[InfoW-1 -: 6]), .info_in_beats_i(info[DmaTagW + BeatsW +: BeatsW]),
    .info_out_beats_i(info[DmaTagW +: BeatsW]), .info_tag_i(info[DmaTagW-1:0]),
    .in_valid_i(rd_valid_q), .in_ready_o(in_ready), .in_data_i(rd_data_q),
    .out_valid_o(dma_rd_cpl_valid_o), .out_ready_i(dma_rd_cpl_ready_i),
    .out_data_o(dma_rd_cpl_data_o), .out_tag_o(dma_rd_cpl_tag_o), .out_last_o(dma_rd_cpl_last_o));

  logic unused_cpl;
  assign unused_cpl = ^{info_count, hdr_beat[511:80],
                        hdr_beat[71:70], hdr_beat[65:48], hdr_beat[44], hdr_beat[31:10]};
endmodule

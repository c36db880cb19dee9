// DMA read completions in the core's convention from address-aligned beats.
// A host bus (AXI, PCIe completions once reordered) returns the 64-byte
// blocks covering [addr, addr + len); nic_core wants the bytes packed from
// lane 0 with `last` on the request's final beat (docs/hw-interfaces.md,
// "DMA conventions"). Output beat k is bytes [off + 64k, off + 64k + 64) of
// the block stream, off = addr mod 64: the top of one block and the bottom
// of the next, so one block is held back (prev_q) when off != 0, and a
// request may need one flush beat after its last block.
// Per request, the issuing side pushes {off, in_beats, out_beats, tag} into
// an info FIFO whose head drives info_*; it is popped with the last output.
module dma_rd_realign
  import norman_pkg::*;
#(
  parameter int unsigned BeatsW = 11  // up to 1025 blocks: len < 64 KiB
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               info_valid_i,
  output logic               info_ready_o,
  input  logic [5:0]         info_off_i,
  input  logic [BeatsW-1:0]  info_in_beats_i,   // blocks the bus returns (>= 1)
  input  logic [BeatsW-1:0]  info_out_beats_i,  // beats the core receives (>= 1)
  input  logic [DmaTagW-1:0] info_tag_i,
  input  logic               in_valid_i,
  output logic               in_ready_o,
  input  logic [DataW-1:0]   in_data_i,
  output logic               out_valid_o,
  input  logic               out_ready_i,
  output logic [DataW-1:0]   out_data_o,
  output logic [DmaTagW-1:0] out_tag_o,
  output logic               out_last_o
);
  logic [BeatsW-1:0] in_cnt_q, out_cnt_q;
  logic have_prev_q;
  logic [DataW-1:0] prev_q;
  logic o_valid_q, o_last_q;
  logic [DataW-1:0] o_data_q;
  logic [DmaTagW-1:0] o_tag_q;

  logic need_in, shifting, store_only, from_in, flush, can_out, emit, take, last_out;
  assign need_in = info_valid_i && (in_cnt_q != info_in_beats_i);
  assign shifting = (info_off_i != '0);
  assign store_only = need_in && shifting && !have_prev_q;
  assign from_in = need_in && !store_only;
  assign flush = info_valid_i && !need_in && (out_cnt_q != info_out_beats_i);
  assign can_out = !o_valid_q || out_ready_i;
  assign in_ready_o = need_in && (store_only || can_out);
  assign take = in_valid_i && in_ready_o;
  assign emit = can_out && ((from_in && in_valid_i) || flush);
  assign last_out = emit && (out_cnt_q + 1'b1 == info_out_beats_i);
  assign info_ready_o = last_out;

  // {hi, lo} >> 8 * off: lo is the held block (or, unshifted, the new one).
  logic [2*DataW-1:0] pair;
  always_comb begin
    pair = {flush ? {DataW{1'b0}} : in_data_i, shifting ? prev_q : in_data_i};
  end

  always_ff @(posedge clk_i) begin
    if (take) prev_q <= in_data_i;
    if (emit) begin
      o_data_q <= DataW'(pair >> {info_off_i, 3'b000});
      o_tag_q <= info_tag_i;
      o_last_q <= last_out;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_cnt_q <= '0;
      out_cnt_q <= '0;
      have_prev_q <= 1'b0;
      o_valid_q <= 1'b0;
    end else begin
      if (emit) o_valid_q <= 1'b1;
      else if (out_ready_i) o_valid_q <= 1'b0;
      if (last_out) begin
        in_cnt_q <= '0;
        out_cnt_q <= '0;
        have_prev_q <= 1'b0;
      end else begin
        if (take) begin
          in_cnt_q <= in_cnt_q + 1'b1;
          have_prev_q <= 1'b1;
        end
        if (emit) out_cnt_q <= out_cnt_q + 1'b1;
      end
    end
  end

  assign out_valid_o = o_valid_q;
  assign out_data_o = o_data_q;
  assign out_tag_o = o_tag_q;
  assign out_last_o = o_last_q;
endmodule

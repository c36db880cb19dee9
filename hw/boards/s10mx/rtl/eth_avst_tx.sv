// Frames from nic_core's AXI4-Stream TX port (250 MHz) to Intel's 100G MAC
// (Avalon-ST, 390.625 MHz, first byte in the top byte lane). The MAC reads
// faster than the core writes and a frame must not pause once started, so
// a frame is sent only once all of it is in the FIFO: each complete frame
// puts a token in a second crossing FIFO, and the MAC side starts a frame
// only when it holds a token (store and forward; at most 1518 bytes + tag
// = 24 beats, well within the 64-beat FIFO).
module eth_avst_tx
  import norman_pkg::*;
#(
  parameter int unsigned DepthLog2 = 6
) (
  input  logic             core_clk_i,
  input  logic             core_rst_ni,
  input  logic             tvalid_i,
  output logic             tready_o,
  input  logic [DataW-1:0] tdata_i,
  input  logic [KeepW-1:0] tkeep_i,
  input  logic             tlast_i,
  input  logic             mac_clk_i,
  input  logic             mac_rst_ni,
  output logic [DataW-1:0] avst_data_o,
  output logic [5:0]       avst_empty_o,
  output logic             avst_sop_o,
  output logic             avst_eop_o,
  output logic             avst_valid_o,
  input  logic             avst_ready_i,
  output logic             avst_error_o
);
  localparam int unsigned EntryW = DataW + 6 + 1;

  logic [DataW-1:0] swapped;
  always_comb begin
    for (int unsigned i = 0; i < KeepW; i++) swapped[DataW-8-8*i +: 8] = tdata_i[8*i +: 8];
  end
  logic [5:0] empty;
  assign empty = tlast_i ? 6'(7'd64 - 7'($countones(tkeep_i))) : 6'd0;

  logic data_ready, tok_ready, push;
  // A last beat needs room for its token too.
  assign tready_o = data_ready && (!tlast_i || tok_ready);
  assign push = tvalid_i && tready_o;

  logic out_valid, pop, tok_valid, in_frame_q;
  logic [EntryW-1:0] out;
  logic [DepthLog2:0] data_fill, tok_fill;
  logic tok_out;
  board_async_fifo #(.Width(EntryW), .DepthLog2(DepthLog2)) u_data (
    .wclk_i(core_clk_i), .wrst_ni(core_rst_ni),
    .in_valid_i(push), .in_ready_o(data_ready), .in_data_i({swapped, empty, tlast_i}),
    .wfill_o(data_fill),
    .rclk_i(mac_clk_i), .rrst_ni(mac_rst_ni),
    .out_valid_o(out_valid), .out_ready_i(pop), .out_data_o(out));
  board_async_fifo #(.Width(1), .DepthLog2(DepthLog2)) u_tok (
    .wclk_i(core_clk_i), .wrst_ni(core_rst_ni),
    .in_valid_i(push && tlast_i), .in_ready_o(tok_ready), .in_data_i(1'b1), .wfill_o(tok_fill),
    .rclk_i(mac_clk_i), .rrst_ni(mac_rst_ni),
    .out_valid_o(tok_valid), .out_ready_i(pop && out[0]), .out_data_o(tok_out));

  // Send while inside a frame, or start one when a whole frame is queued.
  assign avst_valid_o = out_valid && (in_frame_q || tok_valid);
  assign pop = avst_valid_o && avst_ready_i;
  assign avst_data_o = out[EntryW-1 -: DataW];
  assign avst_empty_o = out[6:1];
  assign avst_eop_o = out[0];
  assign avst_sop_o = !in_frame_q;
  assign avst_error_o = 1'b0;

  always_ff @(posedge mac_clk_i or negedge mac_rst_ni) begin
    if (!mac_rst_ni) in_frame_q <= 1'b0;
    else if (pop) in_frame_q <= !out[0];
  end

  logic unused_fill;
  assign unused_fill = ^{data_fill, tok_fill, tok_out};
endmodule

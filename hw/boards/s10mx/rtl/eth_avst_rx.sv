// Frames from Intel's 100G MAC (Avalon-ST, 390.625 MHz, first byte in the
// top byte lane, `empty` bytes unused on the last beat, no back-pressure)
// to nic_core's AXI4-Stream RX port (250 MHz). The MAC cannot be stalled,
// so a frame is admitted only when the FIFO has room for a whole
// maximum-size frame; a frame arriving without that room is dropped whole
// and counted (dropped_o). A frame longer than that (the MAC's oversize
// limit set above MaxBeats) that fills the FIFO is cut: its remaining
// beats are discarded and a closing beat marked bad (tuser) is sent when
// there is room again, so the core drops and counts it as a MAC error.
// MAC errors and FCS errors on the last beat also set tuser.
module eth_avst_rx
  import norman_pkg::*;
#(
  parameter int unsigned DepthLog2 = 6,
  parameter int unsigned MaxBeats = 25  // 1518 bytes + tag, plus the beat in flight
) (
  input  logic             mac_clk_i,
  input  logic             mac_rst_ni,
  input  logic [DataW-1:0] avst_data_i,
  input  logic [5:0]       avst_empty_i,
  input  logic             avst_sop_i,
  input  logic             avst_eop_i,
  input  logic             avst_valid_i,
  input  logic [5:0]       avst_error_i,
  input  logic             avst_fcs_error_i,
  output logic [31:0]      dropped_o,  // mac_clk_i domain
  input  logic             core_clk_i,
  input  logic             core_rst_ni,
  output logic             tvalid_o,
  input  logic             tready_i,
  output logic [DataW-1:0] tdata_o,
  output logic [KeepW-1:0] tkeep_o,
  output logic             tlast_o,
  output logic             tuser_o
);
  localparam int unsigned EntryW = DataW + 6 + 2;  // data, empty, last, bad

  logic in_frame_q, cut_q;
  logic push, in_ready;
  logic [EntryW-1:0] entry;
  logic [DepthLog2:0] fill;
  logic room_for_frame;
  assign room_for_frame = (32'(fill) + 32'(MaxBeats) <= 32'(1 << DepthLog2));

  // First byte on the wire is byte 0 of the beat (lane 0) in the core.
  logic [DataW-1:0] swapped;
  always_comb begin
    for (int unsigned i = 0; i < KeepW; i++) swapped[8*i +: 8] = avst_data_i[DataW-8-8*i +: 8];
  end

  logic beat_ok, admit, closing;
  assign admit = avst_valid_i && avst_sop_i && room_for_frame && !cut_q;
  assign beat_ok = avst_valid_i && (admit || (in_frame_q && !avst_sop_i));
  assign closing = cut_q && in_ready;
  always_comb begin
    if (closing) begin
      entry = {{DataW{1'b0}}, 6'd63, 1'b1, 1'b1};
    end else begin
      entry = {swapped, avst_eop_i ? avst_empty_i : 6'd0, avst_eop_i,
               avst_eop_i && (avst_error_i != '0 || avst_fcs_error_i)};
    end
  end
  assign push = closing || (beat_ok && in_ready);

  always_ff @(posedge mac_clk_i or negedge mac_rst_ni) begin
    if (!mac_rst_ni) begin
      in_frame_q <= 1'b0;
      cut_q <= 1'b0;
      dropped_o <= '0;
    end else begin
      if (closing) cut_q <= 1'b0;
      if (avst_valid_i && !closing) begin
        if (avst_sop_i) begin
          if (admit) begin
            in_frame_q <= !avst_eop_i;
          end else begin
            in_frame_q <= 1'b0;
            if (dropped_o != '1) dropped_o <= dropped_o + 1'b1;
          end
        end else if (in_frame_q && !in_ready) begin
          // Cut: the rest of this frame is discarded, a bad closing beat follows.
          in_frame_q <= 1'b0;
          cut_q <= 1'b1;
          if (dropped_o != '1) dropped_o <= dropped_o + 1'b1;
        end else if (in_frame_q && avst_eop_i) begin
          in_frame_q <= 1'b0;
        end
      end
    end
  end

  logic out_valid;
  logic [EntryW-1:0] out;
  board_async_fifo #(.Width(EntryW), .DepthLog2(DepthLog2)) u_fifo (
    .wclk_i(mac_clk_i), .wrst_ni(mac_rst_ni),
    .in_valid_i(push), .in_ready_o(in_ready), .in_data_i(entry), .wfill_o(fill),
    .rclk_i(core_clk_i), .rrst_ni(core_rst_ni),
    .out_valid_o(out_valid), .out_ready_i(tready_i), .out_data_o(out));

  logic [5:0] empty;
  assign tvalid_o = out_valid;
  assign tdata_o = out[EntryW-1 -: DataW];
  assign empty = out[7:2];
  assign tlast_o = out[1];
  assign tuser_o = out[0];
  always_comb begin
    for (int unsigned i = 0; i < KeepW; i++) tkeep_o[i] = !tlast_o || (i < KeepW - 32'(empty));
  end
endmodule

// Receive ingress: takes frames from the MACs (which cannot be back-pressured),
// buffers them per port, merges the ports frame by frame into one beat
// stream, and runs the parser beside it. A frame is dropped whole, and
// counted, when RX is disabled or its port buffer has no room for a
// maximum-size frame; a frame longer than that is cut and flagged so the RX
// engine discards it without ever losing the end-of-frame marker.
module rx_ingress
#(
  parameter int unsigned NumPorts = 2,
  parameter int unsigned PortFifoDepth = 64,
  parameter int unsigned DataFifoDepth = 256,
  parameter int unsigned MetaFifoDepth = 64
) (
  input  logic                                  clk_i,
  input  logic                                  rst_ni,
  input  logic [NumPorts-1:0]                   eth_rx_tvalid_i,
  output logic [NumPorts-1:0]                   eth_rx_tready_o,
  input  logic [NumPorts-1:0][norman_pkg::DataW-1:0]        eth_rx_tdata_i,
  input  logic [NumPorts-1:0][norman_pkg::KeepW-1:0]        eth_rx_tkeep_i,
  input  logic [NumPorts-1:0]                   eth_rx_tlast_i,
  input  logic [NumPorts-1:0]                   eth_rx_tuser_i,
  input  logic                                  rx_enable_i,
  // Parsed metadata, one per frame, in frame order.
  output logic                                  meta_valid_o,
  input  logic                                  meta_ready_i,
  output norman_pkg::rx_meta_t                              meta_o,
  // Frame data, in the same order.
  output logic                                  data_valid_o,
  input  logic                                  data_ready_i,
  output logic [norman_pkg::DataW-1:0]                      data_o,
  output logic [norman_pkg::KeepW-1:0]                      keep_o,
  output logic                                  last_o,
  // Events, one vector per port (two ports may finish frames in one cycle).
  output logic [NumPorts-1:0][norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_o,
  output logic [NumPorts-1:0]                   bytes_valid_o,
  output logic [NumPorts-1:0][15:0]             bytes_o,
  output logic                                  idle_o
);
  // A maximum frame plus one beat that stands for a cut-off tail.
  localparam int unsigned MaxFrameBeats = (norman_regmap_pkg::MAX_FRAME_BYTES + norman_pkg::KeepW - 1) / norman_pkg::KeepW;
  localparam int unsigned ReserveBeats = MaxFrameBeats + 2;
  localparam int unsigned PortCntW = $clog2(PortFifoDepth + 1);
  localparam int unsigned PortSelW = (NumPorts > 1) ? $clog2(NumPorts) : 1;

  typedef struct packed {
    logic [norman_pkg::DataW-1:0] data;
    logic [norman_pkg::KeepW-1:0] keep;
    logic             last;
    logic             mac_err;
    logic             too_big;
  } beat_t;

  typedef struct packed {
    logic [norman_pkg::DataW-1:0] data;
    logic [norman_pkg::KeepW-1:0] keep;
    logic             last;
  } data_beat_t;

  function automatic logic [6:0] popcount(logic [norman_pkg::KeepW-1:0] k);
    logic [6:0] n;
    n = '0;
    for (int unsigned i = 0; i < norman_pkg::KeepW; i++) n = n + 7'(k[i]);
    popcount = n;
  endfunction

  // ---------------------------------------------------------------- per port
  logic [NumPorts-1:0] pf_in_valid, pf_in_ready, pf_out_valid, pf_out_ready;
  // Plain vectors: Yosys mis-sizes packed arrays of a struct type.
  beat_t cur;
  logic [NumPorts-1:0][$bits(cur)-1:0] pf_in, pf_out;
  logic [NumPorts-1:0][PortCntW-1:0] pf_count;

  logic [NumPorts-1:0] in_valid_q;  // a MAC beat waits in the input register

  for (genvar p = 0; p < NumPorts; p++) begin : g_port
    // Input register: the MAC's beat and its byte count, so the length,
    // size and drop decisions below start from flip-flops (a 64-bit
    // popcount is most of a cycle on its own).
    logic in_last_q, in_user_q;
    logic [norman_pkg::DataW-1:0] in_data_q;
    logic [norman_pkg::KeepW-1:0] in_keep_q;
    logic [6:0] in_nbytes_q;

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        in_valid_q[p] <= 1'b0;
      end else begin
        in_valid_q[p] <= eth_rx_tvalid_i[p];
      end
    end

    always_ff @(posedge clk_i) begin
      if (eth_rx_tvalid_i[p]) begin
        in_last_q <= eth_rx_tlast_i[p];
        in_user_q <= eth_rx_tuser_i[p];
        in_data_q <= eth_rx_tdata_i[p];
        in_keep_q <= eth_rx_tkeep_i[p];
        in_nbytes_q <= popcount(eth_rx_tkeep_i[p]);
      end
    end

    logic in_frame_q, dropping_q;
    logic [15:0] len_q;   // bytes so far, saturating
    logic [5:0] beats_q;  // beats pushed so far, saturating at ReserveBeats
    logic first, beat, keep_beat;
    logic [15:0] len_next;
    logic [6:0] nbytes;

    assign beat = in_valid_q[p];
    assign first = beat && !in_frame_q;
    assign nbytes = in_nbytes_q;
    always_comb begin
      len_next = (first ? 16'd0 : len_q) + 16'(nbytes);
      if (!first && len_q > 16'hFF00) len_next = len_q;
    end

    // Drop decision at the first beat, for the whole frame.
    logic drop_now, drop_disabled, drop_overflow;
    assign drop_disabled = first && !rx_enable_i;
    assign drop_overflow = first && rx_enable_i
                           && (32'(PortFifoDepth) - 32'(pf_count[p]) < ReserveBeats);
    assign drop_now = first ? (drop_disabled || drop_overflow) : dropping_q;

    // Beats past the reservation are discarded; the final beat still goes in.
    logic [5:0] beat_idx;
    assign beat_idx = first ? 6'd0 : beats_q;
    assign keep_beat = (32'(beat_idx) < ReserveBeats - 1) || in_last_q;

    assign pf_in_valid[p] = beat && !drop_now && keep_beat;
    beat_t pin;
    assign pin.data = in_data_q;
    assign pin.keep = in_keep_q;
    assign pin.last = in_last_q;
    assign pin.mac_err = in_user_q && in_last_q;  // tuser counts only with tlast
    assign pin.too_big = 32'(len_next) > norman_regmap_pkg::MAX_FRAME_BYTES;
    assign pf_in[p] = pin;

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        in_frame_q <= 1'b0;
        dropping_q <= 1'b0;
        len_q <= '0;
        beats_q <= '0;
      end else if (beat) begin
        in_frame_q <= !in_last_q;
        dropping_q <= drop_now;
        len_q <= len_next;
        if (pf_in_valid[p] && beats_q != 6'h3F) beats_q <= beat_idx + 6'd1;
        else if (first) beats_q <= 6'd0;
      end
    end

    always_comb begin
      cnt_o[p] = '0;
      cnt_o[p][norman_regmap_pkg::CNT_RX_FRAMES] = beat && in_last_q;
      cnt_o[p][norman_regmap_pkg::CNT_RX_DROP_DISABLED] = drop_disabled;
      cnt_o[p][norman_regmap_pkg::CNT_RX_DROP_OVERFLOW] = drop_overflow;
    end
    assign bytes_valid_o[p] = beat && in_last_q;
    assign bytes_o[p] = len_next;

    // The reservation at the first beat guarantees room for every kept beat.
    sync_fifo #(.Width($bits(cur)), .Depth(PortFifoDepth)) u_port_fifo (
      .clk_i, .rst_ni,
      .in_valid_i(pf_in_valid[p]), .in_ready_o(pf_in_ready[p]), .in_data_i(pf_in[p]),
      .out_valid_o(pf_out_valid[p]), .out_ready_i(pf_out_ready[p]), .out_data_o(pf_out[p]),
      .count_o(pf_count[p]));
  end
  assign eth_rx_tready_o = '1;

  // ---------------------------------------------------------------- merge
  // Round-robin between ports, switching only between frames.
  logic [PortSelW-1:0] sel_q, sel_d;
  logic locked_q;
  logic df_ready, side_ready, move;
  logic [$clog2(MetaFifoDepth + 1)-1:0] meta_count;
  logic [$clog2(MetaFifoDepth + 1)-1:0] side_count;
  logic room_for_frame;

  assign room_for_frame = 32'(meta_count) + 32'(side_count) + 2 < MetaFifoDepth;

  always_comb begin
    logic found;
    logic [PortSelW:0] sum;
    logic [PortSelW-1:0] port;
    sel_d = sel_q;
    found = 1'b0;
    sum = '0;
    port = '0;
    if (!locked_q) begin
      // Between frames, start with the port after the one served last.
      for (int unsigned k = 1; k <= NumPorts; k++) begin
        // sel_q + k wraps at NumPorts by one conditional subtraction
        // (sel_q < NumPorts, k <= NumPorts): no divider for a `%` by a
        // NumPorts that is not a power of two.
        sum = {1'b0, sel_q} + (PortSelW + 1)'(k);
        port = (32'(sum) >= NumPorts) ? PortSelW'(32'(sum) - NumPorts) : PortSelW'(sum);
        if (!found && pf_out_valid[port]) begin
          sel_d = port;
          found = 1'b1;
        end
      end
    end
  end

  assign cur = pf_out[sel_d];
  assign move = pf_out_valid[sel_d] && df_ready && (locked_q || (room_for_frame && side_ready));
  always_comb begin
    pf_out_ready = '0;
    pf_out_ready[sel_d] = move;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sel_q <= '0;
      locked_q <= 1'b0;
    end else begin
      sel_q <= sel_d;
      if (move) locked_q <= !cur.last;
    end
  end

  // Frame-level facts wait beside the parser for its metadata.
  norman_pkg::rx_side_t side_in, side_out;
  logic side_err_q, side_big_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      side_err_q <= 1'b0;
      side_big_q <= 1'b0;
    end else if (move) begin
      side_err_q <= cur.last ? 1'b0 : (side_err_q || cur.mac_err);
      side_big_q <= cur.last ? 1'b0 : (side_big_q || cur.too_big);
    end
  end
  assign side_in.port = norman_pkg::PortIdW'(sel_d);
  assign side_in.mac_err = side_err_q || cur.mac_err;
  assign side_in.too_big = side_big_q || cur.too_big;

  logic parser_valid, side_valid;
  norman_pkg::pkt_meta_t parser_meta;
  pkt_parser u_parser (
    .clk_i, .rst_ni,
    .beat_valid_i(move), .beat_data_i(cur.data), .beat_keep_i(cur.keep), .beat_last_i(cur.last),
    .meta_valid_o(parser_valid), .meta_o(parser_meta));

  sync_fifo #(.Width(norman_pkg::RxSideW), .Depth(MetaFifoDepth)) u_side_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(move && cur.last), .in_ready_o(side_ready), .in_data_i(side_in),
    .out_valid_o(side_valid), .out_ready_i(parser_valid), .out_data_o(side_out),
    .count_o(side_count));

  norman_pkg::rx_meta_t meta_in;
  assign meta_in.meta = parser_meta;
  assign meta_in.side = side_out;

  logic meta_valid_int, meta_in_ready;
  sync_fifo #(.Width(norman_pkg::RxMetaW), .Depth(MetaFifoDepth)) u_meta_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(parser_valid), .in_ready_o(meta_in_ready), .in_data_i(meta_in),
    .out_valid_o(meta_valid_int), .out_ready_i(meta_ready_i), .out_data_o(meta_o),
    .count_o(meta_count));
  assign meta_valid_o = meta_valid_int;

  data_beat_t df_in, df_out;
  logic df_valid;
  logic [$clog2(DataFifoDepth + 1)-1:0] df_count;
  assign df_in.data = cur.data;
  assign df_in.keep = cur.keep;
  assign df_in.last = cur.last;
  sync_fifo #(.Width($bits(df_in)), .Depth(DataFifoDepth)) u_data_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(move), .in_ready_o(df_ready), .in_data_i(df_in),
    .out_valid_o(df_valid), .out_ready_i(data_ready_i), .out_data_o(df_out),
    .count_o(df_count));
  assign data_valid_o = df_valid;
  assign data_o = df_out.data;
  assign keep_o = df_out.keep;
  assign last_o = df_out.last;

  // Ready signals the reservations make redundant, and side_valid, which
  // parser_valid implies (one metadata per frame, in order).
  logic unused;
  assign unused = side_valid ^ (|df_count) ^ (|pf_in_ready) ^ meta_in_ready;

  assign idle_o = (in_valid_q == '0) && (pf_out_valid == '0) && !df_valid && (side_count == '0) && (meta_count == '0)
                  && !locked_q;
endmodule

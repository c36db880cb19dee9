// Connection -> leaf class of the TX scheduler (docs/qos.md): one entry per
// connection in a ram_1w1r (block RAM), written by normand when a
// connection is created or its classification changes (one write is one
// entry, so every change is atomic). A connection without an entry is the
// default class's (htb default). After reset the table clears itself, one
// entry per cycle (wr_ready_o low meanwhile); lookups during the clear
// answer the default leaf.
module sched_conn_map #(
  parameter int unsigned NumConns = 256,
  parameter int unsigned NumLeaves = 64,
  localparam int unsigned NW = $clog2(NumConns),
  localparam int unsigned LW = $clog2(NumLeaves)
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic [LW-1:0] default_leaf_i,
  // Lookup: result one cycle later.
  input  logic          lk_valid_i,
  input  logic [NW-1:0] lk_conn_i,
  output logic          lk_valid_o,
  output logic [NW-1:0] lk_conn_o,
  output logic [LW-1:0] lk_leaf_o,
  // Write: map (en) or unmap a connection.
  input  logic          wr_valid_i,
  output logic          wr_ready_o,
  input  logic [NW-1:0] wr_conn_i,
  input  logic          wr_en_i,
  input  logic [LW-1:0] wr_leaf_i
);
  logic clearing_q;
  logic [NW-1:0] clr_q;
  logic we, en;
  logic [NW-1:0] waddr;
  logic [LW:0] wdata, rdata;
  assign wr_ready_o = !clearing_q;
  assign we = clearing_q || wr_valid_i;
  assign waddr = clearing_q ? clr_q : wr_conn_i;
  assign wdata = clearing_q ? '0 : {wr_en_i, wr_leaf_i};

  ram_1w1r #(.Width(LW + 1), .Depth(NumConns)) u_map (
    .clk_i, .we_i(we), .waddr_i(waddr), .wdata_i(wdata),
    .re_i(lk_valid_i), .raddr_i(lk_conn_i), .rdata_o(rdata));

  logic rd_clearing_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      clearing_q <= 1'b1;
      clr_q <= '0;
      lk_valid_o <= 1'b0;
      lk_conn_o <= '0;
      rd_clearing_q <= 1'b1;
    end else begin
      if (clearing_q) begin
        clr_q <= clr_q + 1'b1;
        if (clr_q == NW'(NumConns - 1)) clearing_q <= 1'b0;
      end
      lk_valid_o <= lk_valid_i;
      lk_conn_o <= lk_conn_i;
      rd_clearing_q <= clearing_q;
    end
  end
  assign en = rdata[LW] && !rd_clearing_q;
  assign lk_leaf_o = en ? rdata[LW-1:0] : default_leaf_i;
endmodule

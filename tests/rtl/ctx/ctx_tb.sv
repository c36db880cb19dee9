// Test top for conn_ctx_mem: the C++ test writes and reads a few fields of
// each port (no packed-struct packing on the C++ side).
module ctx_tb (
  input  logic                           clk_i,
  input  logic                           rst_ni,
  input  logic                           we_i,
  input  logic [norman_pkg::ConnIdW-1:0] wconn_i,
  input  logic                           wvalid_i,
  input  logic [norman_pkg::NqIdW-1:0]   wnq_i,
  input  logic [63:0]                    wrx_base_i,
  input  logic [63:0]                    wtx_base_i,
  input  logic [31:0]                    wuid_i,
  input  logic [15:0]                    wsport_i,
  input  logic                           rx_re_i,
  input  logic [norman_pkg::ConnIdW-1:0] rx_conn_i,
  output logic                           rx_valid_o,
  output logic [norman_pkg::NqIdW-1:0]   rx_nq_o,
  output logic [63:0]                    rx_base_o,
  output logic [31:0]                    rx_uid_o,
  input  logic                           tx_re_i,
  input  logic [norman_pkg::ConnIdW-1:0] tx_conn_i,
  output logic                           tx_valid_o,
  output logic [norman_pkg::NqIdW-1:0]   tx_nq_o,
  output logic [63:0]                    tx_base_o,
  output logic [31:0]                    tx_uid_o,
  output logic [15:0]                    tx_sport_o,
  input  logic [norman_pkg::ConnIdW-1:0] probe_conn_i,
  output logic                           probe_valid_o
);
  norman_pkg::conn_ctx_t wctx, rx_ctx, tx_ctx;
  always_comb begin
    wctx = '0;
    wctx.valid = wvalid_i;
    wctx.nq_id = wnq_i;
    wctx.rx_base = wrx_base_i;
    wctx.tx_desc_base = wtx_base_i;
    wctx.owner.uid = wuid_i;
    wctx.src_port = wsport_i;
  end

  conn_ctx_mem u_ctx (
    .clk_i, .rst_ni, .we_i, .wconn_i, .wdata_i(wctx),
    .rx_re_i, .rx_conn_i, .rx_ctx_o(rx_ctx),
    .tx_re_i, .tx_conn_i, .tx_ctx_o(tx_ctx),
    .probe_conn_i, .probe_valid_o);

  assign rx_valid_o = rx_ctx.valid;
  assign rx_nq_o = rx_ctx.nq_id;
  assign rx_base_o = rx_ctx.rx_base;
  assign rx_uid_o = rx_ctx.owner.uid;
  assign tx_valid_o = tx_ctx.valid;
  assign tx_nq_o = tx_ctx.nq_id;
  assign tx_base_o = tx_ctx.tx_desc_base;
  assign tx_uid_o = tx_ctx.owner.uid;
  assign tx_sport_o = tx_ctx.src_port;

  // The fields the test does not look at.
  logic unused;
  assign unused = ^{rx_ctx, tx_ctx};
endmodule

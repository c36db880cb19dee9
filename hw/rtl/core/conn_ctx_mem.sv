// Connection contexts (owner, rings, TX check fields), written only by the
// command interface and read by the RX and TX paths. The valid bits live
// apart from the RAM so that reset empties the table in one cycle without a
// reset loop over 65,536 wide entries.
module conn_ctx_mem import norman_pkg::*; #(
  parameter int unsigned NumConns = 65536
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               we_i,
  input  logic [ConnIdW-1:0] wconn_i,
  input  conn_ctx_t          wdata_i,    // wdata_i.valid sets or clears the entry
  // Two read ports with a registered (one-cycle) read; valid folded in.
  input  logic               rx_re_i,
  input  logic [ConnIdW-1:0] rx_conn_i,
  output conn_ctx_t          rx_ctx_o,
  input  logic               tx_re_i,
  input  logic [ConnIdW-1:0] tx_conn_i,
  output conn_ctx_t          tx_ctx_o,
  // Combinational validity, for doorbell screening.
  input  logic [ConnIdW-1:0] probe_conn_i,
  output logic               probe_valid_o
);
  conn_ctx_t mem_q [NumConns];
  logic [NumConns-1:0] valid_q;
  conn_ctx_t rx_raw_q, tx_raw_q;
  logic rx_valid_q, tx_valid_q;

  always_ff @(posedge clk_i) begin
    if (we_i) mem_q[wconn_i] <= wdata_i;
    if (rx_re_i) rx_raw_q <= mem_q[rx_conn_i];
    if (tx_re_i) tx_raw_q <= mem_q[tx_conn_i];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      // One flop per connection, cleared together: intended, not a typo.
      /* verilator lint_off WIDTHCONCAT */
      valid_q <= '0;
      /* verilator lint_on WIDTHCONCAT */
      rx_valid_q <= 1'b0;
      tx_valid_q <= 1'b0;
    end else begin
      if (we_i) valid_q[wconn_i] <= wdata_i.valid;
      // A read in the cycle of a write to the same entry sees the old validity,
      // just as it sees the old data.
      if (rx_re_i) rx_valid_q <= valid_q[rx_conn_i];
      if (tx_re_i) tx_valid_q <= valid_q[tx_conn_i];
    end
  end

  always_comb begin
    rx_ctx_o = rx_raw_q;
    rx_ctx_o.valid = rx_valid_q;
    tx_ctx_o = tx_raw_q;
    tx_ctx_o.valid = tx_valid_q;
  end

  assign probe_valid_o = valid_q[probe_conn_i];
endmodule

// Active-low reset for one clock domain: asserts at once (asynchronously),
// releases on the second clock edge after the source is released, so every
// flop of the domain leaves reset in the same cycle.
module board_reset_sync (
  input  logic clk_i,
  input  logic rst_ni,
  output logic rst_no
);
  (* ASYNC_REG = "TRUE" *) logic [1:0] sync_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sync_q <= '0;
    else sync_q <= {sync_q[0], 1'b1};
  end

  assign rst_no = sync_q[1];
endmodule

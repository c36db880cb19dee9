// nic_core's interrupt requests to the QDMA's user interrupt port: one
// request at a time, vld held until the QDMA acks (raised) or fails it
// (vector masked or not set up). The port carries a 5-bit vector, so a
// notification queue bound to a vector >= NumVectors cannot be raised: it
// is taken from the core and counted in refused_o instead of being raised
// on the wrong vector. Failures count in failed_o. (The core has no
// counter input for either; the shell may expose them in its registers.)
module qdma_irq
  import norman_pkg::*;
#(
  parameter int unsigned NumVectors = 32,
  parameter logic [7:0] Function = 8'd0
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               irq_valid_i,
  output logic               irq_ready_o,
  input  logic [IrqVecW-1:0] irq_vector_i,
  output logic               usr_irq_in_vld,
  output logic [4:0]         usr_irq_in_vec,
  output logic [7:0]         usr_irq_in_fnc,
  input  logic               usr_irq_out_ack,
  input  logic               usr_irq_out_fail,
  output logic [15:0]        refused_o,
  output logic [15:0]        failed_o
);
  logic busy_q;
  logic [4:0] vec_q;
  logic in_range;
  assign in_range = (irq_vector_i < IrqVecW'(NumVectors));
  assign irq_ready_o = !busy_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      vec_q <= '0;
      refused_o <= '0;
      failed_o <= '0;
    end else begin
      if (!busy_q && irq_valid_i) begin
        if (in_range) begin
          busy_q <= 1'b1;
          vec_q <= irq_vector_i[4:0];
        end else if (refused_o != '1) begin
          refused_o <= refused_o + 1'b1;
        end
      end
      if (busy_q && (usr_irq_out_ack || usr_irq_out_fail)) begin
        busy_q <= 1'b0;
        if (usr_irq_out_fail && failed_o != '1) failed_o <= failed_o + 1'b1;
      end
    end
  end

  assign usr_irq_in_vld = busy_q;
  assign usr_irq_in_vec = vec_q;
  assign usr_irq_in_fnc = Function;
endmodule

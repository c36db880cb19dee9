// nic_core's interrupt requests as MSI through the H-tile's app_msi port
// (the IP builds the message from the MSI capability the host programmed).
// One request at a time; app_msi_req is held until app_msi_ack. An MSI is
// raised only when no DMA write is pending or in flight on the TX port
// (writes_idle_i), so it cannot pass the notification write it announces.
// MSI has at most 32 vectors: a queue bound to a vector >= NumVectors is
// taken from the core and counted (refused_o), never raised on another
// vector.
module s10_msi
  import norman_pkg::*;
#(
  parameter int unsigned NumVectors = 32
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               irq_valid_i,
  output logic               irq_ready_o,
  input  logic [IrqVecW-1:0] irq_vector_i,
  input  logic               writes_idle_i,
  output logic               app_msi_req_o,
  input  logic               app_msi_ack_i,
  output logic [4:0]         app_msi_num_o,
  output logic [15:0]        refused_o
);
  logic busy_q, wait_q;
  logic [4:0] vec_q;
  assign irq_ready_o = !busy_q && !wait_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      wait_q <= 1'b0;
      vec_q <= '0;
      refused_o <= '0;
    end else begin
      if (irq_valid_i && irq_ready_o) begin
        if (irq_vector_i < IrqVecW'(NumVectors)) begin
          wait_q <= 1'b1;
          vec_q <= irq_vector_i[4:0];
        end else if (refused_o != '1) begin
          refused_o <= refused_o + 1'b1;
        end
      end
      if (wait_q && writes_idle_i) begin
        wait_q <= 1'b0;
        busy_q <= 1'b1;
      end
      if (busy_q && app_msi_ack_i) busy_q <= 1'b0;
    end
  end

  assign app_msi_req_o = busy_q;
  assign app_msi_num_o = vec_q;
endmodule

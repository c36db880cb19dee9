// A fixed-latency delay line for items that wait beside a pipeline of the
// same depth (the filter classifier): every item leaves exactly Depth cycles
// after it entered, in order, with a flag that says whether it was sent
// into that pipeline. Data moves only with a valid item, so an idle line
// costs nothing in simulation.
module delay_line #(
  parameter int unsigned Width = 1,
  parameter int unsigned Depth = 2  // >= 2
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             valid_i,
  input  logic             flag_i,
  input  logic [Width-1:0] data_i,
  output logic             valid_o,
  output logic             flag_o,
  output logic [Width-1:0] data_o
);
  logic [Depth-1:0] valid_q, flag_q;
  logic [Width-1:0] data_q [Depth];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= '0;
      flag_q <= '0;
    end else begin
      valid_q <= {valid_q[Depth-2:0], valid_i};
      flag_q <= {flag_q[Depth-2:0], flag_i && valid_i};
    end
  end

  always_ff @(posedge clk_i) begin
    if (valid_i) data_q[0] <= data_i;
    for (int unsigned k = 1; k < Depth; k++) begin
      if (valid_q[k-1]) data_q[k] <= data_q[k-1];
    end
  end

  assign valid_o = valid_q[Depth-1];
  assign flag_o = flag_q[Depth-1];
  assign data_o = data_q[Depth-1];
endmodule

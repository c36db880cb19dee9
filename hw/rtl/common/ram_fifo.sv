// Synchronous FIFO for deep queues: the storage is a ram_1w1r (block RAM or
// UltraRAM, registered read) and the RAM's output register is the head, so
// the output is first-word-fall-through with no memory read in front of it.
// A pushed word reaches the head two cycles later (one through the write,
// one through the read). Holds Depth words in the RAM plus one at the head.
module ram_fifo #(
  parameter int unsigned Width = 16,
  parameter int unsigned Depth = 1024,  // a power of two
  localparam int unsigned CountW = $clog2(Depth + 2)
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              in_valid_i,
  output logic              in_ready_o,
  input  logic [Width-1:0]  in_data_i,
  output logic              out_valid_o,
  input  logic              out_ready_i,
  output logic [Width-1:0]  out_data_o,
  output logic [CountW-1:0] count_o     // words in the RAM and at the head
);
  localparam int unsigned PtrW = (Depth > 1) ? $clog2(Depth) : 1;

  logic [PtrW-1:0] rd_ptr_q, wr_ptr_q;
  logic [CountW-1:0] ram_count_q;  // words in the RAM, not yet read out
  logic head_valid_q;
  logic push, pop, load;

  assign in_ready_o = (ram_count_q != CountW'(Depth));
  assign push = in_valid_i && in_ready_o;
  assign pop = head_valid_q && out_ready_i;
  // Refill the head when it is empty or leaving. A word written this cycle
  // is not counted yet, so the read never meets its own write.
  assign load = (ram_count_q != '0) && (!head_valid_q || out_ready_i);

  ram_1w1r #(.Width(Width), .Depth(Depth)) u_ram (
    .clk_i,
    .we_i(push), .waddr_i(wr_ptr_q), .wdata_i(in_data_i),
    .re_i(load), .raddr_i(rd_ptr_q), .rdata_o(out_data_o));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_ptr_q <= '0;
      wr_ptr_q <= '0;
      ram_count_q <= '0;
      head_valid_q <= 1'b0;
    end else begin
      if (push) wr_ptr_q <= wr_ptr_q + 1'b1;
      if (load) rd_ptr_q <= rd_ptr_q + 1'b1;
      ram_count_q <= ram_count_q + CountW'(push) - CountW'(load);
      if (load) head_valid_q <= 1'b1;
      else if (pop) head_valid_q <= 1'b0;
    end
  end

  assign out_valid_o = head_valid_q;
  assign count_o = ram_count_q + CountW'(head_valid_q);
endmodule

// Bucket memory of a conn_table (sub-)table: one word holds the Ways entries
// of a bucket. A dual-port RAM with registered reads and per-way write
// enables, the shape of an FPGA true-dual-port block RAM with byte enables:
// port A reads whole buckets (the lookup pipeline, every cycle); port B reads
// whole buckets or writes single entries / clears a bucket (the command FSM
// and the clear sweep). A read of an address written in the same cycle
// returns the old data. No reset: conn_table keeps a valid bit in each entry
// and clears the memory with a sweep after reset.
module conn_table_ram #(
  parameter int unsigned Width = 32,  // one entry
  parameter int unsigned Ways = 4,
  parameter int unsigned Depth = 1024,
  localparam int unsigned AddrW = (Depth > 1) ? $clog2(Depth) : 1
) (
  input  logic                  clk_i,
  input  logic                  a_re_i,
  input  logic [AddrW-1:0]      a_addr_i,
  output logic [Ways*Width-1:0] a_rdata_o,
  input  logic                  b_re_i,
  input  logic [AddrW-1:0]      b_addr_i,
  output logic [Ways*Width-1:0] b_rdata_o,
  input  logic                  b_clr_i,    // write zero to every way of the bucket
  input  logic [Ways-1:0]       b_we_i,     // else write b_wdata_i to these ways
  input  logic [Width-1:0]      b_wdata_i
);
  logic [Ways*Width-1:0] mem_q [Depth];

  always_ff @(posedge clk_i) begin
    if (b_clr_i) begin
      mem_q[b_addr_i] <= '0;
    end else begin
      for (int unsigned w = 0; w < Ways; w++) begin
        if (b_we_i[w]) mem_q[b_addr_i][w*Width+:Width] <= b_wdata_i;
      end
    end
    if (a_re_i) a_rdata_o <= mem_q[a_addr_i];
    if (b_re_i) b_rdata_o <= mem_q[b_addr_i];
  end
endmodule

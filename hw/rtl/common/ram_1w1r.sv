// Simple dual-port RAM: one write port, one read port with a registered
// (one-cycle) read, the shape of an FPGA block RAM or UltraRAM. A read of the
// address written in the same cycle returns the old data (read-first); the
// user forwards the write if it needs the new one. No reset: users clear the
// contents they need by a sweep or by writing each entry before reading it.
module ram_1w1r #(
  parameter int unsigned Width = 32,
  parameter int unsigned Depth = 1024,
  localparam int unsigned AddrW = (Depth > 1) ? $clog2(Depth) : 1
) (
  input  logic             clk_i,
  input  logic             we_i,
  input  logic [AddrW-1:0] waddr_i,
  input  logic [Width-1:0] wdata_i,
  input  logic             re_i,
  input  logic [AddrW-1:0] raddr_i,
  output logic [Width-1:0] rdata_o
);
  logic [Width-1:0] mem_q [Depth];

  always_ff @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
    if (re_i) rdata_o <= mem_q[raddr_i];
  end
endmodule

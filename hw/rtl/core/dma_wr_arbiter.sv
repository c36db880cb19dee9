// Round-robin arbiter for DMA write requests. A request (all beats up to
// last) is never interleaved with another: once a source is shown on the
// output it keeps the output until its last beat is accepted. Locking as
// soon as a request is presented, not only after its first beat moved, keeps
// the output stable while the host port back-pressures (valid/ready rule).
// Combinational pass-through: no added latency, no buffering.
//
// Sources set in LowPrio (background traffic such as LOG records) are only
// shown when no other source has a request, so they never delay a frame's
// write by more than the one request already on the output. They may starve
// while the others saturate the port; their owners drop rather than wait.
module dma_wr_arbiter #(
  parameter int unsigned NumSrc = 3,
  parameter logic [NumSrc-1:0] LowPrio = '0
) (
  input  logic                             clk_i,
  input  logic                             rst_ni,
  input  logic [NumSrc-1:0]                in_valid_i,
  output logic [NumSrc-1:0]                in_ready_o,
  input  logic [NumSrc-1:0][norman_pkg::DmaAddrW-1:0]  in_addr_i,
  input  logic [NumSrc-1:0][norman_pkg::DmaLenW-1:0]   in_len_i,
  input  logic [NumSrc-1:0][norman_pkg::DataW-1:0]     in_data_i,
  input  logic [NumSrc-1:0]                in_last_i,
  output logic                             out_valid_o,
  input  logic                             out_ready_i,
  output logic [norman_pkg::DmaAddrW-1:0]              out_addr_o,
  output logic [norman_pkg::DmaLenW-1:0]               out_len_o,
  output logic [norman_pkg::DataW-1:0]                 out_data_o,
  output logic                             out_last_o
);
  localparam int unsigned IdxW = (NumSrc > 1) ? $clog2(NumSrc) : 1;

  logic lock_q;
  logic [IdxW-1:0] grant_q;  // the locked source
  logic [IdxW-1:0] prio_q;   // the source granted last; the search starts after it
  logic [IdxW-1:0] pick, sel;
  logic found;
  logic [NumSrc-1:0] cand;
  logic [IdxW:0] sum;
  logic [IdxW-1:0] idx;

  always_comb begin
    cand = (|(in_valid_i & ~LowPrio)) ? (in_valid_i & ~LowPrio) : in_valid_i;
    pick = prio_q;
    found = 1'b0;
    sum = '0;
    idx = '0;
    for (int unsigned i = 1; i <= NumSrc; i++) begin
      // prio_q + i wraps at NumSrc. prio_q < NumSrc and i <= NumSrc, so one
      // conditional subtraction does it: a `%` by a NumSrc that is not a
      // power of two would be a divider, dozens of LUT levels deep.
      sum = {1'b0, prio_q} + (IdxW + 1)'(i);
      idx = (32'(sum) >= NumSrc) ? IdxW'(32'(sum) - NumSrc) : IdxW'(sum);
      if (!found && cand[idx]) begin
        pick = idx;
        found = 1'b1;
      end
    end
    sel = lock_q ? grant_q : pick;
    out_valid_o = lock_q ? in_valid_i[sel] : found;
    out_addr_o = in_addr_i[sel];
    out_len_o = in_len_i[sel];
    out_data_o = in_data_i[sel];
    out_last_o = in_last_i[sel];
    in_ready_o = '0;
    in_ready_o[sel] = out_ready_i && out_valid_o;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      lock_q <= 1'b0;
      grant_q <= '0;
      prio_q <= IdxW'(NumSrc - 1);
    end else if (out_valid_o) begin
      if (out_ready_i && out_last_o) begin
        lock_q <= 1'b0;
        prio_q <= sel;
      end else begin
        lock_q <= 1'b1;
        grant_q <= sel;
      end
    end
  end
endmodule

// Clock-domain-crossing FIFO: Gray-coded pointers through two-flop
// synchronisers, storage written in the write domain and read
// (first-word-fall-through) in the read domain. Small (distributed RAM);
// used for register accesses and Ethernet beats between a vendor core's
// clock and the NIC core's. The constraints files give the pointer
// synchronisers a max-delay of one destination period.
module board_async_fifo #(
  parameter int unsigned Width = 8,
  parameter int unsigned DepthLog2 = 3  // >= 2
) (
  input  logic             wclk_i,
  input  logic             wrst_ni,
  input  logic             in_valid_i,
  output logic             in_ready_o,
  input  logic [Width-1:0] in_data_i,
  // Entries in use as the write side sees them (the read side's progress
  // arrives two cycles late, so this may overstate, never understate).
  output logic [DepthLog2:0] wfill_o,
  input  logic             rclk_i,
  input  logic             rrst_ni,
  output logic             out_valid_o,
  input  logic             out_ready_i,
  output logic [Width-1:0] out_data_o
);
  localparam int unsigned Depth = 1 << DepthLog2;
  localparam int unsigned PtrW = DepthLog2 + 1;

  logic [Width-1:0] mem_q [Depth];
  logic [PtrW-1:0] wbin_q, wgray_q, rbin_q, rgray_q;
  (* ASYNC_REG = "TRUE" *) logic [PtrW-1:0] rgray_w1_q, rgray_w2_q;  // read pointer, write domain
  (* ASYNC_REG = "TRUE" *) logic [PtrW-1:0] wgray_r1_q, wgray_r2_q;  // write pointer, read domain

  function automatic logic [PtrW-1:0] to_gray(logic [PtrW-1:0] b);
    return b ^ (b >> 1);
  endfunction

  function automatic logic [PtrW-1:0] from_gray(logic [PtrW-1:0] g);
    logic [PtrW-1:0] b;
    b[PtrW-1] = g[PtrW-1];
    for (int i = PtrW - 2; i >= 0; i--) b[i] = b[i+1] ^ g[i];
    return b;
  endfunction

  assign wfill_o = wbin_q - from_gray(rgray_w2_q);

  // Full: the write pointer is one lap ahead (Gray: top two bits inverted).
  assign in_ready_o = (wgray_q != {~rgray_w2_q[PtrW-1:PtrW-2], rgray_w2_q[PtrW-3:0]});
  assign out_valid_o = (rgray_q != wgray_r2_q);
  assign out_data_o = mem_q[rbin_q[DepthLog2-1:0]];

  logic push, pop;
  assign push = in_valid_i && in_ready_o;
  assign pop = out_valid_o && out_ready_i;

  always_ff @(posedge wclk_i) begin
    if (push) mem_q[wbin_q[DepthLog2-1:0]] <= in_data_i;
  end

  always_ff @(posedge wclk_i or negedge wrst_ni) begin
    if (!wrst_ni) begin
      wbin_q <= '0;
      wgray_q <= '0;
      rgray_w1_q <= '0;
      rgray_w2_q <= '0;
    end else begin
      rgray_w1_q <= rgray_q;
      rgray_w2_q <= rgray_w1_q;
      if (push) begin
        wbin_q <= wbin_q + 1'b1;
        wgray_q <= to_gray(wbin_q + 1'b1);
      end
    end
  end

  always_ff @(posedge rclk_i or negedge rrst_ni) begin
    if (!rrst_ni) begin
      rbin_q <= '0;
      rgray_q <= '0;
      wgray_r1_q <= '0;
      wgray_r2_q <= '0;
    end else begin
      wgray_r1_q <= wgray_q;
      wgray_r2_q <= wgray_r1_q;
      if (pop) begin
        rbin_q <= rbin_q + 1'b1;
        rgray_q <= to_gray(rbin_q + 1'b1);
      end
    end
  end
endmodule

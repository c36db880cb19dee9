// The OpenNIC shell's AXI4-Lite register port (32-bit, axil_aclk, 125 MHz)
// to nic_core's 64-bit CSR port (250 MHz). Every Norman register is 64 bits
// wide; the QDMA's AXI-Lite master carries 32-bit accesses, so a 64-bit
// access arrives as its low word, then its high word:
// - a write of the low word is held; the write of the high word sends the
//   64-bit write (with the held low word if it was for the same register,
//   else 0). A low word alone writes nothing.
// - a read of the low word reads the register and keeps the high word; a
//   read of the high word right after returns it (one register read per
//   64-bit access, so the two halves are consistent); any other high-word
//   read reads the register again.
// Writes are posted (answered once queued) and stay ordered with reads:
// both go through the same clock-crossing FIFO. One access at a time.
// The core address is the low WindowBits of the AXI address: the shell's
// 1 MiB box window reaches the CSR space, a 1 GiB window the doorbell pages.
module axil_csr_bridge
  import norman_pkg::*;
#(
  parameter int unsigned WindowBits = 20
) (
  input  logic                axil_clk_i,
  input  logic                axil_rst_ni,
  input  logic                s_axil_awvalid,
  input  logic [31:0]         s_axil_awaddr,
  output logic                s_axil_awready,
  input  logic                s_axil_wvalid,
  input  logic [31:0]         s_axil_wdata,
  output logic                s_axil_wready,
  output logic                s_axil_bvalid,
  output logic [1:0]          s_axil_bresp,
  input  logic                s_axil_bready,
  input  logic                s_axil_arvalid,
  input  logic [31:0]         s_axil_araddr,
  output logic                s_axil_arready,
  output logic                s_axil_rvalid,
  output logic [31:0]         s_axil_rdata,
  output logic [1:0]          s_axil_rresp,
  input  logic                s_axil_rready,
  input  logic                core_clk_i,
  input  logic                core_rst_ni,
  output logic                csr_req_valid_o,
  input  logic                csr_req_ready_i,
  output logic                csr_req_write_o,
  output logic [CsrAddrW-1:0] csr_req_addr_o,
  output logic [63:0]         csr_req_wdata_o,
  input  logic                csr_rsp_valid_i,
  input  logic [63:0]         csr_rsp_rdata_i
);
  localparam int unsigned RegW = WindowBits - 3;  // 64-bit register index
  localparam int unsigned ReqW = 1 + RegW + 64;

  typedef enum logic [2:0] {Idle, WrPush, WrResp, RdPush, RdWait, RdResp} state_e;
  state_e state_q;
  logic [RegW-1:0] reg_q, lo_reg_q, hi_reg_q;
  logic high_q, lo_valid_q, hi_valid_q;
  logic [31:0] lo_q, hi_q, rdata_q;
  logic [63:0] wdata_q;

  logic req_valid, req_ready, rsp_valid, rsp_ready;
  logic [ReqW-1:0] req_data, req_out;
  logic [63:0] rsp_data;
  logic [2:0] req_fill, rsp_fill;

  logic take_w, take_r;
  assign take_w = (state_q == Idle) && s_axil_awvalid && s_axil_wvalid;
  assign take_r = (state_q == Idle) && !take_w && s_axil_arvalid;
  assign s_axil_awready = take_w;
  assign s_axil_wready = take_w;
  assign s_axil_arready = take_r;
  assign s_axil_bvalid = (state_q == WrResp);
  assign s_axil_bresp = 2'b00;
  assign s_axil_rvalid = (state_q == RdResp);
  assign s_axil_rdata = rdata_q;
  assign s_axil_rresp = 2'b00;

  assign req_valid = (state_q == WrPush) || (state_q == RdPush);
  assign req_data = {state_q == WrPush, reg_q, wdata_q};
  assign rsp_ready = (state_q == RdWait);

  always_ff @(posedge axil_clk_i or negedge axil_rst_ni) begin
    if (!axil_rst_ni) begin
      state_q <= Idle;
      reg_q <= '0;
      high_q <= 1'b0;
      lo_valid_q <= 1'b0;
      hi_valid_q <= 1'b0;
      lo_reg_q <= '0;
      hi_reg_q <= '0;
      lo_q <= '0;
      hi_q <= '0;
      rdata_q <= '0;
      wdata_q <= '0;
    end else begin
      unique case (state_q)
        Idle: begin
          if (take_w) begin
            reg_q <= s_axil_awaddr[WindowBits-1:3];
            hi_valid_q <= 1'b0;  // a write between the halves of a read: read again
            if (!s_axil_awaddr[2]) begin
              lo_q <= s_axil_wdata;
              lo_reg_q <= s_axil_awaddr[WindowBits-1:3];
              lo_valid_q <= 1'b1;
              state_q <= WrResp;
            end else begin
              wdata_q <= {s_axil_wdata,
                          (lo_valid_q && lo_reg_q == s_axil_awaddr[WindowBits-1:3]) ? lo_q : 32'h0};
              lo_valid_q <= 1'b0;
              state_q <= WrPush;
            end
          end else if (take_r) begin
            reg_q <= s_axil_araddr[WindowBits-1:3];
            high_q <= s_axil_araddr[2];
            if (s_axil_araddr[2] && hi_valid_q && hi_reg_q == s_axil_araddr[WindowBits-1:3]) begin
              rdata_q <= hi_q;
              hi_valid_q <= 1'b0;
              state_q <= RdResp;
            end else begin
              wdata_q <= '0;
              state_q <= RdPush;
            end
          end
        end
        WrPush: if (req_ready) state_q <= WrResp;
        WrResp: if (s_axil_bready) state_q <= Idle;
        RdPush: if (req_ready) state_q <= RdWait;
        RdWait: begin
          if (rsp_valid) begin
            rdata_q <= high_q ? rsp_data[63:32] : rsp_data[31:0];
            hi_q <= rsp_data[63:32];
            hi_reg_q <= reg_q;
            hi_valid_q <= !high_q;
            state_q <= RdResp;
          end
        end
        RdResp: if (s_axil_rready) state_q <= Idle;
        default: state_q <= Idle;
      endcase
    end
  end

  // Requests to the core's clock; responses back. At most one read is
  // outstanding, so the response FIFO always has room for the core's
  // one-cycle response pulse.
  board_async_fifo #(.Width(ReqW), .DepthLog2(2)) u_req (
    .wclk_i(axil_clk_i), .wrst_ni(axil_rst_ni),
    .in_valid_i(req_valid), .in_ready_o(req_ready), .in_data_i(req_data), .wfill_o(req_fill),
    .rclk_i(core_clk_i), .rrst_ni(core_rst_ni),
    .out_valid_o(csr_req_valid_o), .out_ready_i(csr_req_ready_i), .out_data_o(req_out));

  logic rsp_in_ready;
  board_async_fifo #(.Width(64), .DepthLog2(2)) u_rsp (
    .wclk_i(core_clk_i), .wrst_ni(core_rst_ni),
    .in_valid_i(csr_rsp_valid_i), .in_ready_o(rsp_in_ready), .in_data_i(csr_rsp_rdata_i),
    .wfill_o(rsp_fill),
    .rclk_i(axil_clk_i), .rrst_ni(axil_rst_ni),
    .out_valid_o(rsp_valid), .out_ready_i(rsp_ready), .out_data_o(rsp_data));

  assign csr_req_write_o = req_out[ReqW-1];
  assign csr_req_addr_o = CsrAddrW'({req_out[64 +: RegW], 3'b000});
  assign csr_req_wdata_o = req_out[63:0];

  logic unused_axil;
  assign unused_axil = ^{s_axil_awaddr[31:WindowBits], s_axil_awaddr[1:0],
                         s_axil_araddr[31:WindowBits], s_axil_araddr[1:0], rsp_in_ready,
                         req_fill, rsp_fill};
endmodule

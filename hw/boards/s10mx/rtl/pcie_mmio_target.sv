// Host requests to BAR0 (the core's 1 GiB register and doorbell space) as
// nic_core CSR accesses, and the completions of the reads. One request at
// a time, in arrival order (posted writes and reads stay ordered).
// - MWr of 2 DW at an 8-byte-aligned address, all bytes enabled: one
//   64-bit write. 1 DW: the low word is held; the high word sends the
//   64-bit write (with the held low word if it was for the same register,
//   else 0): the same rule as the Alveo bridge, for 32-bit MMIO.
// - MRd of 1 or 2 DW: one 64-bit read, a CplD with the dwords asked for.
// - Anything else (other BARs, longer or partial accesses, I/O, locked
//   reads): reads complete Unsupported Request, writes are dropped; both
//   count in bad_o. Messages and completions never reach this module.
module pcie_mmio_target
  import norman_pkg::*;
(
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic [15:0]         completer_id_i,
  // Requests (whole TLPs from the RX port, header in DW0..3)
  input  logic                req_valid_i,
  output logic                req_ready_o,
  input  logic [511:0]        req_data_i,
  input  logic                req_sop_i,
  input  logic                req_eop_i,
  input  logic [2:0]          req_bar_i,
  // CSR port of nic_core
  output logic                csr_req_valid_o,
  input  logic                csr_req_ready_i,
  output logic                csr_req_write_o,
  output logic [CsrAddrW-1:0] csr_req_addr_o,
  output logic [63:0]         csr_req_wdata_o,
  input  logic                csr_rsp_valid_i,
  input  logic [63:0]         csr_rsp_rdata_i,
  // Completions (one beat) to pcie_tx_arb
  output logic                cpl_valid_o,
  input  logic                cpl_ready_i,
  output logic [511:0]        cpl_data_o,
  output logic [9:0]          cpl_credits_o,
  output logic [15:0]         bad_o
);
  typedef enum logic [2:0] {Idle, Skip, Csr, Wait, Cpl} state_e;
  state_e state_q;

  // ---- decode the header beat
  logic [31:0] dw0, dw1, dw2, dw3;
  assign dw0 = req_data_i[31:0];
  assign dw1 = req_data_i[63:32];
  assign dw2 = req_data_i[95:64];
  assign dw3 = req_data_i[127:96];
  logic four_dw, has_data, is_mem, is_read, is_write;
  logic [9:0] len;
  logic [3:0] fbe, lbe;
  logic [29:0] off;  // byte offset in the 1 GiB BAR
  logic [31:0] pay0, pay1;
  assign four_dw = dw0[29];
  assign has_data = dw0[30];
  assign is_mem = (dw0[28:24] == 5'b00000);
  assign is_read = is_mem && !has_data;
  assign is_write = is_mem && has_data;
  assign len = dw0[9:0];
  assign fbe = dw1[3:0];
  assign lbe = dw1[7:4];
  assign off = four_dw ? {dw3[29:2], 2'b00} : {dw2[29:2], 2'b00};
  assign pay0 = four_dw ? req_data_i[159:128] : req_data_i[127:96];
  assign pay1 = four_dw ? req_data_i[191:160] : req_data_i[159:128];

  // Non-posted requests: memory reads (also locked), I/O and configuration.
  logic non_posted;
  assign non_posted = (is_mem && !has_data) || dw0[28:24] == 5'b00001 || dw0[28:24] == 5'b00010
                      || dw0[28:25] == 4'b0010;
  logic to_bar0, wr64, wr_lo, wr_hi, rd_ok;
  assign to_bar0 = (req_bar_i == 3'd0);
  assign wr64 = is_write && (len == 10'd2) && !off[2] && fbe == 4'hf && lbe == 4'hf;
  assign wr_lo = is_write && (len == 10'd1) && !off[2] && fbe == 4'hf;
  assign wr_hi = is_write && (len == 10'd1) && off[2] && fbe == 4'hf;
  assign rd_ok = is_read && ((len == 10'd1 && lbe == 4'h0) || (len == 10'd2 && !off[2]));

  // ---- request state
  logic write_q, ur_q;
  logic [26:0] reg_q, lo_reg_q;  // 64-bit register index in the BAR
  logic [63:0] wdata_q, rdata_q;
  logic [31:0] lo_q;
  logic lo_valid_q;
  logic [1:0] ndw_q;
  logic hi_q;
  logic [15:0] req_id_q;
  logic [7:0] tag_q;
  logic [2:0] tc_q;
  logic [2:0] attr_q;
  logic [3:0] fbe_q;

  logic take;
  assign req_ready_o = (state_q == Idle) || (state_q == Skip);
  assign take = req_valid_i && (state_q == Idle) && req_sop_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= Idle;
      write_q <= 1'b0;
      ur_q <= 1'b0;
      reg_q <= '0;
      lo_reg_q <= '0;
      wdata_q <= '0;
      rdata_q <= '0;
      lo_q <= '0;
      lo_valid_q <= 1'b0;
      ndw_q <= '0;
      hi_q <= 1'b0;
      req_id_q <= '0;
      tag_q <= '0;
      tc_q <= '0;
      attr_q <= '0;
      fbe_q <= '0;
      bad_o <= '0;
    end else begin
      unique case (state_q)
        Idle: begin
          if (take) begin
            reg_q <= off[29:3];
            hi_q <= off[2];
            ndw_q <= len[1:0];
            req_id_q <= dw1[31:16];
            tag_q <= dw1[15:8];
            tc_q <= dw0[22:20];
            attr_q <= {dw0[18], dw0[13:12]};
            fbe_q <= fbe;
            write_q <= is_write;
            ur_q <= 1'b0;
            if (to_bar0 && wr64) begin
              wdata_q <= {pay1, pay0};
              lo_valid_q <= 1'b0;
              state_q <= Csr;
            end else if (to_bar0 && wr_hi) begin
              wdata_q <= {pay0, (lo_valid_q && lo_reg_q == off[29:3]) ? lo_q : 32'h0};
              lo_valid_q <= 1'b0;
              state_q <= Csr;
            end else if (to_bar0 && wr_lo) begin
              lo_q <= pay0;
              lo_reg_q <= off[29:3];
              lo_valid_q <= 1'b1;
            end else if (to_bar0 && rd_ok) begin
              state_q <= Csr;
            end else begin
              if (bad_o != '1) bad_o <= bad_o + 1'b1;
              if (non_posted) begin  // must be answered: Unsupported Request
                ur_q <= 1'b1;
                state_q <= Cpl;
              end
            end
            // Longer TLPs: skip their remaining beats.
            if (!req_eop_i) state_q <= Skip;
          end
        end
        Skip: if (req_valid_i && req_eop_i) state_q <= Idle;
        Csr: if (csr_req_ready_i) state_q <= write_q ? Idle : Wait;
        Wait: begin
          if (csr_rsp_valid_i) begin
            rdata_q <= csr_rsp_rdata_i;
            state_q <= Cpl;
          end
        end
        Cpl: if (cpl_ready_i) state_q <= Idle;
        default: state_q <= Idle;
      endcase
    end
  end

  assign csr_req_valid_o = (state_q == Csr);
  assign csr_req_write_o = write_q;
  assign csr_req_addr_o = CsrAddrW'({reg_q, 3'b000});
  assign csr_req_wdata_o = wdata_q;

  // ---- completion: CplD with 1 or 2 dwords, or Cpl with UR status
  logic [1:0] lo_byte;
  logic [11:0] byte_count;
  logic [6:0] lower_addr;
  always_comb begin
    lo_byte = 2'd0;
    for (int i = 3; i >= 0; i--) if (fbe_q[i]) lo_byte = 2'(i);
    byte_count = (ndw_q == 2'd2) ? 12'd8 : 12'd4;
    lower_addr = {reg_q[3:0], hi_q, lo_byte};
    if (ur_q) begin
      byte_count = 12'd4;
      lower_addr = '0;
    end
  end
  always_comb begin
    cpl_data_o = '0;
    cpl_data_o[31:0] = {ur_q ? 3'b000 : 3'b010, 5'b01010, 1'b0, tc_q, 1'b0, attr_q[2], 4'b0000,
                        attr_q[1:0], 2'b00, ur_q ? 10'd0 : 10'(ndw_q)};
    cpl_data_o[63:32] = {completer_id_i, ur_q ? 3'b001 : 3'b000, 1'b0, byte_count};
    cpl_data_o[95:64] = {req_id_q, tag_q, 1'b0, lower_addr};
    cpl_data_o[127:96] = (hi_q && ndw_q == 2'd1) ? rdata_q[63:32] : rdata_q[31:0];
    cpl_data_o[159:128] = rdata_q[63:32];
  end
  assign cpl_valid_o = (state_q == Cpl);
  assign cpl_credits_o = ur_q ? 10'd0 : 10'd1;

  logic unused_hdr;
  assign unused_hdr = ^{req_data_i[511:192], dw0[31], dw0[23], dw0[19], off[1:0], dw0[17:14], dw0[11:10], dw2[31:30],
                        dw2[1:0], dw3[31:30], dw3[1:0]};
endmodule

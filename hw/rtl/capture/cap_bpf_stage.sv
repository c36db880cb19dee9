// One instruction of the capture filter's cBPF pipeline (cap_bpf), for all
// sessions at once: stage I runs instruction I of every session's program
// on the lanes whose program counter is I, and passes every other lane on
// unchanged. cBPF jumps only forward, so a program of L instructions runs
// as L such stages at one frame per cycle.
//
// Two register levels per instruction keep each level shallow:
//   a (compute): the load (byte select from the header window, bounds
//     against the frame and the window), the ALU result and the jump
//     condition, all from the lane's A and X as they enter the stage;
//   b (commit): picks the new A, X, program counter or verdict.
//
// Semantics are libpcap's bpf_filter: a load beyond the frame returns 0
// (reject). What the NIC cannot decide exactly makes the lane "unsure"
// (captured, and the host applies the program in software): a load inside
// the frame but beyond the header window, an instruction outside the
// subset (scratch memory, MUL/DIV/MOD/XOR, shifts by X or by 32 or more).
//
// Instruction word, as struct sock_filter: code in bits 63:48, jt 47:40,
// jf 39:32, k 31:0.
module cap_bpf_stage
#(
  parameter int unsigned Index    = 0,
  parameter int unsigned NumSess  = 4,
  parameter int unsigned WinBytes = 64,
  parameter int unsigned MetaW    = 32
) (
  input  logic                          clk_i,
  input  logic                          rst_ni,
  input  logic [NumSess-1:0][63:0]      insn_i,
  // Frame entering the stage.
  input  logic                          valid_i,
  input  logic [WinBytes*8-1:0]         win_i,    // header bytes, byte 0 in bits 7:0
  input  logic [15:0]                   len_i,    // frame length (no FCS)
  input  logic [MetaW-1:0]              meta_i,
  input  logic [NumSess-1:0][7:0]       pc_i,
  input  logic [NumSess-1:0][31:0]      a_i,
  input  logic [NumSess-1:0][31:0]      x_i,
  input  logic [NumSess-1:0]            done_i,
  input  logic [NumSess-1:0]            accept_i,
  input  logic [NumSess-1:0]            unsure_i,
  // Frame leaving the stage, two cycles later.
  output logic                          valid_o,
  output logic [WinBytes*8-1:0]         win_o,
  output logic [15:0]                   len_o,
  output logic [MetaW-1:0]              meta_o,
  output logic [NumSess-1:0][7:0]       pc_o,
  output logic [NumSess-1:0][31:0]      a_o,
  output logic [NumSess-1:0][31:0]      x_o,
  output logic [NumSess-1:0]            done_o,
  output logic [NumSess-1:0]            accept_o,
  output logic [NumSess-1:0]            unsure_o
);
  localparam int unsigned AddrW = $clog2(WinBytes);

  // cBPF opcode fields (linux/filter.h).
  localparam logic [2:0] ClsLd = 3'h0, ClsLdx = 3'h1, ClsAlu = 3'h4, ClsJmp = 3'h5, ClsRet = 3'h6,
                         ClsMisc = 3'h7;
  localparam logic [2:0] ModeImm = 3'h0, ModeAbs = 3'h1, ModeInd = 3'h2, ModeLen = 3'h4,
                         ModeMsh = 3'h5;

  // ---- level a: compute --------------------------------------------------
  logic                          va_q;
  logic [WinBytes*8-1:0]         wina_q;
  logic [15:0]                   lena_q;
  logic [MetaW-1:0]              metaa_q;
  logic [NumSess-1:0][7:0]       pca_q;
  logic [NumSess-1:0][31:0]      aa_q, xa_q;
  logic [NumSess-1:0]            donea_q, accepta_q, unsurea_q;
  // Per lane: is it this stage's turn, and what the instruction yields.
  logic [NumSess-1:0]            act_q;      // lane runs this instruction
  logic [NumSess-1:0]            loads_q;    // a load from the frame
  logic [NumSess-1:0][33:0]      end_q;      // one past its last byte
  logic [NumSess-1:0]            unsup_q;    // outside the subset: unsure
  logic [NumSess-1:0][31:0]      val_q;      // loaded or immediate value (LD/LDX)
  logic [NumSess-1:0][31:0]      alu_q;      // ALU result
  logic [NumSess-1:0]            cond_q;     // jump condition
  logic [NumSess-1:0][63:0]      insna_q;

  for (genvar s = 0; s < NumSess; s++) begin : g_a
    logic [15:0] code;
    logic [31:0] k, src;
    logic [2:0]  cls, mode;
    logic [1:0]  size;
    logic [3:0]  op;
    logic [33:0] addr_end;   // one past the last byte read, never wraps
    logic [32:0] k_end;      // k + bytes read, from the instruction alone
    logic [2:0]  nbytes;
    logic [AddrW-1:0] lo;
    logic [7:0]  b0, b1, b2, b3;
    logic [31:0] ld;
    logic        sup;

    assign code = insn_i[s][63:48];
    assign k    = insn_i[s][31:0];
    assign cls  = code[2:0];
    assign size = code[4:3];
    assign mode = code[7:5];
    assign op   = code[7:4];
    assign src  = code[3] ? x_i[s] : k;

    assign nbytes = (cls == ClsLdx) ? 3'd1 :
                    (size == 2'd0) ? 3'd4 : (size == 2'd1) ? 3'd2 : 3'd1;
    // One adder between X and the end address; the bounds are compared at
    // level b, so no path chains two carries and a multiplexer.
    // The byte select needs only the low bits of the address; beyond the
    // window the lane is unsure whatever they select.
    assign lo = (mode == ModeInd) ? x_i[s][AddrW-1:0] + k[AddrW-1:0] : k[AddrW-1:0];
    assign k_end = {1'b0, k} + {30'd0, nbytes};
    assign addr_end = (mode == ModeInd) ? {2'b0, x_i[s]} + {1'b0, k_end} : {1'b0, k_end};
    assign b0 = win_i[8*(32'(lo))+:8];
    assign b1 = win_i[8*(32'(AddrW'(lo + AddrW'(1))))+:8];
    assign b2 = win_i[8*(32'(AddrW'(lo + AddrW'(2))))+:8];
    assign b3 = win_i[8*(32'(AddrW'(lo + AddrW'(3))))+:8];
    always_comb begin
      unique case (size)
        2'd0:    ld = {b0, b1, b2, b3};
        2'd1:    ld = {16'd0, b0, b1};
        default: ld = {24'd0, b0};
      endcase
    end

    // The subset; anything else is unsure. Opcodes above 0xff do not exist.
    always_comb begin
      sup = 1'b0;
      if (code[15:8] == 8'd0) begin
        unique case (cls)
          ClsLd:   sup = size != 2'd3 && (mode == ModeImm || mode == ModeAbs || mode == ModeInd ||
                                           mode == ModeLen);
          ClsLdx:  sup = ((mode == ModeImm || mode == ModeLen) && size == 2'd0) ||
                         (mode == ModeMsh && size == 2'd2);
          ClsAlu:  sup = op == 4'h0 || op == 4'h1 || op == 4'h4 || op == 4'h5 || op == 4'h8 ||
                         ((op == 4'h6 || op == 4'h7) && !code[3] && k[31:5] == 27'd0);
          ClsJmp:  sup = op <= 4'h4;
          ClsRet:  sup = code[7:5] == 3'd0 && (code[4:3] == 2'd0 || code[4:3] == 2'd2);
          ClsMisc: sup = code[7:3] == 5'h00 || code[7:3] == 5'h10;
          default: sup = 1'b0;
        endcase
      end
    end

    logic loads;
    assign loads = (cls == ClsLd && (mode == ModeAbs || mode == ModeInd)) ||
                   (cls == ClsLdx && mode == ModeMsh);

    // Registers of a frame move only with it (clock enables; also spares a
    // cycle-based simulator the work when no frame is in flight).
    always_ff @(posedge clk_i) begin
      if (valid_i) begin
        act_q[s]   <= !done_i[s] && pc_i[s] == 8'(Index);
        loads_q[s] <= loads;
        end_q[s]   <= addr_end;
        unsup_q[s] <= !sup;
        insna_q[s] <= insn_i[s];
        if (cls == ClsLdx && mode == ModeMsh) val_q[s] <= {26'd0, b0[3:0], 2'd0};
        else if (mode == ModeLen) val_q[s] <= {16'd0, len_i};
        else if (mode == ModeImm) val_q[s] <= k;
        else val_q[s] <= ld;
        unique case (op)
          4'h0:    alu_q[s] <= a_i[s] + src;
          4'h1:    alu_q[s] <= a_i[s] - src;
          4'h4:    alu_q[s] <= a_i[s] | src;
          4'h5:    alu_q[s] <= a_i[s] & src;
          4'h6:    alu_q[s] <= a_i[s] << k[4:0];
          4'h7:    alu_q[s] <= a_i[s] >> k[4:0];
          default: alu_q[s] <= 32'd0 - a_i[s];  // NEG (others are unsupported)
        endcase
        unique case (op)
          4'h0:    cond_q[s] <= 1'b1;  // JA
          4'h1:    cond_q[s] <= a_i[s] == src;
          4'h2:    cond_q[s] <= a_i[s] > src;
          4'h3:    cond_q[s] <= a_i[s] >= src;
          default: cond_q[s] <= (a_i[s] & src) != 32'd0;
        endcase
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (valid_i) begin
      wina_q    <= win_i;
      lena_q    <= len_i;
      metaa_q   <= meta_i;
      pca_q     <= pc_i;
      aa_q      <= a_i;
      xa_q      <= x_i;
      donea_q   <= done_i;
      accepta_q <= accept_i;
      unsurea_q <= unsure_i;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) va_q <= 1'b0;
    else va_q <= valid_i;
  end

  // ---- level b: commit ---------------------------------------------------
  logic                          vb_q;
  logic [WinBytes*8-1:0]         winb_q;
  logic [15:0]                   lenb_q;
  logic [MetaW-1:0]              metab_q;
  logic [NumSess-1:0][7:0]       pcb_q;
  logic [NumSess-1:0][31:0]      ab_q, xb_q;
  logic [NumSess-1:0]            doneb_q, acceptb_q, unsureb_q;

  for (genvar s = 0; s < NumSess; s++) begin : g_b
    logic [15:0] code;
    logic [2:0]  cls;
    logic [31:0] k;
    logic [7:0]  off;
    logic [8:0]  target;
    logic [31:0] retval;
    logic        fault, unsure;

    logic unused_hi;
    assign code = insna_q[s][63:48];
    assign unused_hi = ^code[15:8];  // checked at level a
    assign cls  = code[2:0];
    assign k    = insna_q[s][31:0];
    // Jump offset: JA's k, or jt/jf. Beyond 255 the lane falls off the end.
    assign off = (code[7:4] == 4'h0) ? ((k[31:8] != 24'd0) ? 8'hff : k[7:0]) :
                 cond_q[s] ? insna_q[s][47:40] : insna_q[s][39:32];
    assign target = 9'(Index) + 9'd1 + {1'b0, off};
    assign retval = (code[4:3] == 2'd2) ? aa_q[s] : k;
    // A load beyond the frame rejects (bpf_filter's rule); one inside the
    // frame but beyond the window, or an instruction outside the subset,
    // is unsure.
    assign fault  = loads_q[s] && end_q[s] > {18'd0, lena_q};
    assign unsure = unsup_q[s] || (loads_q[s] && end_q[s] > 34'(WinBytes));

    always_ff @(posedge clk_i) begin
      if (va_q) begin
        pcb_q[s]     <= pca_q[s];
        ab_q[s]      <= aa_q[s];
        xb_q[s]      <= xa_q[s];
        doneb_q[s]   <= donea_q[s];
        acceptb_q[s] <= accepta_q[s];
        unsureb_q[s] <= unsurea_q[s];
        if (act_q[s]) begin
          pcb_q[s] <= 8'(Index + 1);
          if (fault) begin
            doneb_q[s]   <= 1'b1;
            acceptb_q[s] <= 1'b0;
          end else if (unsure) begin
            doneb_q[s]   <= 1'b1;
            unsureb_q[s] <= 1'b1;
          end else begin
            unique case (cls)
              ClsLd:   ab_q[s] <= val_q[s];
              ClsLdx:  xb_q[s] <= val_q[s];
              ClsAlu:  ab_q[s] <= alu_q[s];
              ClsJmp:  pcb_q[s] <= target[8] ? 8'hff : target[7:0];
              ClsRet: begin
                doneb_q[s]   <= 1'b1;
                acceptb_q[s] <= retval != 32'd0;
              end
              default: begin  // MISC: TAX or TXA
                if (code[7]) ab_q[s] <= xa_q[s];
                else xb_q[s] <= aa_q[s];
              end
            endcase
          end
      end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (va_q) begin
        winb_q  <= wina_q;
        lenb_q  <= lena_q;
        metab_q <= metaa_q;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) vb_q <= 1'b0;
    else vb_q <= va_q;
  end

  assign valid_o  = vb_q;
  assign win_o    = winb_q;
  assign len_o    = lenb_q;
  assign meta_o   = metab_q;
  assign pc_o     = pcb_q;
  assign a_o      = ab_q;
  assign x_o      = xb_q;
  assign done_o   = doneb_q;
  assign accept_o = acceptb_q;
  assign unsure_o = unsureb_q;
endmodule

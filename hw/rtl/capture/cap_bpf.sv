// The capture filter: every session's cBPF program (as pcap_compile emits
// it, validated and loaded by normand) run on the first WinBytes bytes of
// each frame, all sessions in parallel, one frame per cycle, fixed latency
// 2 * NumInsn cycles.
//
// Per session the result is one of
//   accept: the program returned non-zero,
//   reject: it returned 0, or loaded beyond the frame (bpf_filter's rule),
//   unsure: the NIC could not decide (load beyond the window, instruction
//           outside the subset, a jump or fall-through past NumInsn); the
//           frame is captured and the host applies the program exactly.
// So the NIC always captures a superset of what the program accepts, and
// exactly that set when no lane is unsure. The subset is in cap_bpf_stage.
//
// Programs are written one instruction at a time (prog_we_i) into flip-flops
// read in parallel by the stages (NumSess x NumInsn x 64 bits). A program
// shorter than NumInsn needs nothing after its last instruction: every path
// of a valid cBPF program ends in RET. Writing while frames are in flight
// gives those frames a mix of old and new instructions; normand only loads a
// session's program while the session is disabled, which the writer
// (cap_writer) applies at the output of this pipeline.
module cap_bpf
#(
  parameter int unsigned NumSess  = 4,
  parameter int unsigned NumInsn  = 32,
  parameter int unsigned WinBytes = 64,
  parameter int unsigned MetaW    = 32
) (
  input  logic                          clk_i,
  input  logic                          rst_ni,
  input  logic                          prog_we_i,
  input  logic [$clog2(NumSess)-1:0]    prog_sess_i,
  input  logic [$clog2(NumInsn)-1:0]    prog_idx_i,
  input  logic [63:0]                   prog_insn_i,
  input  logic                          valid_i,
  input  logic [WinBytes*8-1:0]         win_i,     // byte 0 in bits 7:0
  input  logic [15:0]                   len_i,
  input  logic [MetaW-1:0]              meta_i,
  output logic                          valid_o,
  output logic [15:0]                   len_o,
  output logic [MetaW-1:0]              meta_o,
  output logic [NumSess-1:0]            accept_o,
  output logic [NumSess-1:0]            unsure_o
);
  logic [NumInsn-1:0][NumSess-1:0][63:0] prog_q;

  always_ff @(posedge clk_i) begin
    if (prog_we_i) prog_q[prog_idx_i][prog_sess_i] <= prog_insn_i;
  end

  logic [NumInsn:0]                        v;
  logic [NumInsn:0][WinBytes*8-1:0]        win;
  logic [NumInsn:0][15:0]                  len;
  logic [NumInsn:0][MetaW-1:0]             meta;
  logic [NumInsn:0][NumSess-1:0][7:0]      pc;
  logic [NumInsn:0][NumSess-1:0][31:0]     a, x;
  logic [NumInsn:0][NumSess-1:0]           done, accept, unsure;

  assign v[0]      = valid_i;
  assign win[0]    = win_i;
  assign len[0]    = len_i;
  assign meta[0]   = meta_i;
  assign pc[0]     = '0;
  assign a[0]      = '0;
  assign x[0]      = '0;
  assign done[0]   = '0;
  assign accept[0] = '0;
  assign unsure[0] = '0;

  for (genvar i = 0; i < NumInsn; i++) begin : g_stage
    cap_bpf_stage #(
      .Index(i), .NumSess(NumSess), .WinBytes(WinBytes), .MetaW(MetaW)
    ) u_stage (
      .clk_i, .rst_ni,
      .insn_i  (prog_q[i]),
      .valid_i (v[i]),      .win_i  (win[i]),    .len_i   (len[i]),      .meta_i  (meta[i]),
      .pc_i    (pc[i]),     .a_i    (a[i]),      .x_i     (x[i]),
      .done_i  (done[i]),   .accept_i(accept[i]), .unsure_i(unsure[i]),
      .valid_o (v[i+1]),    .win_o  (win[i+1]),  .len_o   (len[i+1]),    .meta_o  (meta[i+1]),
      .pc_o    (pc[i+1]),   .a_o    (a[i+1]),    .x_o     (x[i+1]),
      .done_o  (done[i+1]), .accept_o(accept[i+1]), .unsure_o(unsure[i+1])
    );
  end

  // The last stage's window and registers are not needed past the end.
  logic unused_tail;
  assign unused_tail = ^{win[NumInsn], pc[NumInsn], a[NumInsn], x[NumInsn]};

  assign valid_o  = v[NumInsn];
  assign len_o    = len[NumInsn];
  assign meta_o   = meta[NumInsn];
  // A lane that ran off the end without RET is unsure.
  assign accept_o = done[NumInsn] & accept[NumInsn] & ~unsure[NumInsn];
  assign unsure_o = unsure[NumInsn] | ~done[NumInsn];
endmodule

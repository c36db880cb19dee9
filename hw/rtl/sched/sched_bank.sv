// One tree depth of the TX scheduler's class state (docs/qos.md): per class
// the rate and ceil token buckets (bytes with FracW fraction bits, signed),
// the byte and packet counters, and its configuration (per-sweep token
// increments, burst and cburst), each in a ram_1w1r (block RAM / UltraRAM).
//
// The state RAM is read-modify-written once per cycle, alternately:
//   even cycles (phase_i = 0): the refill sweep at sweep_q, tokens =
//     min(tokens + inc, burst); every class is refilled exactly once per
//     2 * NumClasses cycles, so the increment is a constant of the config;
//   odd cycles (phase_i = 1): the operation given on op_*: charge the bytes
//     a grant sent (ceil tokens always, rate tokens if op_tok_i, counters),
//     init (full buckets, counters zero) or a statistics read.
// Stage A presents the read, stage B (next cycle) computes and writes, so
// two writes to one class are never closer than a cycle apart; the value
// written in the cycle of a read is forwarded (the RAM reads first).
// Each class's mode (ceil tokens < 0, rate tokens < 0) is kept in
// flip-flops, written a cycle after stage B, and read combinationally on
// NumRd ports by the leaf evaluations.
module sched_bank #(
  parameter int unsigned NumClasses = 64,
  parameter int unsigned NumRd = 3,
  parameter int unsigned TokW = 52,
  parameter int unsigned FracW = 20,
  parameter int unsigned IncW = 40,
  parameter int unsigned BurstW = 32,
  parameter int unsigned ChW = 24,
  parameter int unsigned BytesW = 48,
  parameter int unsigned PktsW = 32,
  localparam int unsigned CW = $clog2(NumClasses)
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic phase_i,   // 0: sweep slot, 1: operation slot
  input  logic epoch_i,   // the active configuration bank
  // Operation (accepted only when phase_i = 1).
  input  logic             op_valid_i,
  input  logic [1:0]       op_kind_i,   // 0 charge, 1 init, 2 statistics
  input  logic [CW-1:0]    op_idx_i,
  input  logic [ChW-1:0]   op_bytes_i,
  input  logic [ChW-1:0]   op_pkts_i,
  input  logic             op_tok_i,    // charge the rate tokens too
  // Statistics result, two cycles after the operation.
  output logic              st_valid_o,
  output logic [TokW-1:0]   st_tok_o,
  output logic [TokW-1:0]   st_ctok_o,
  output logic [BytesW-1:0] st_bytes_o,
  output logic [PktsW-1:0]  st_pkts_o,
  // Configuration write into bank cfg_bank_i (the shadow one, by convention).
  input  logic              cfg_we_i,
  input  logic              cfg_bank_i,
  input  logic [CW-1:0]     cfg_idx_i,
  input  logic [IncW-1:0]   cfg_inc_i,
  input  logic [IncW-1:0]   cfg_cinc_i,
  input  logic [BurstW-1:0] cfg_burst_i,
  input  logic [BurstW-1:0] cfg_cburst_i,
  // Mode read ports: {ceil tokens < 0, rate tokens < 0} of class rd_idx_i.
  input  logic [NumRd*CW-1:0] rd_idx_i,
  output logic [NumRd*2-1:0]  rd_mode_o
);
  localparam int unsigned CfgW = 2 * IncW + 2 * BurstW;
  localparam int unsigned StW = 2 * TokW + BytesW + PktsW;
  localparam logic [1:0] OpCharge = 2'd0;
  localparam logic [1:0] OpInit = 2'd1;
  localparam logic [1:0] OpStats = 2'd2;

  // Stage A: pick the slot's operation and read.
  logic [CW-1:0] sweep_q;
  logic a_valid, a_sweep;
  logic [CW-1:0] a_idx;
  assign a_sweep = !phase_i;
  assign a_valid = a_sweep || op_valid_i;
  assign a_idx = a_sweep ? sweep_q : op_idx_i;

  logic [CfgW-1:0] cfg_rdata;
  logic [StW-1:0] st_rdata, st_wdata;
  logic st_we;
  logic [CW-1:0] st_waddr;

  ram_1w1r #(.Width(CfgW), .Depth(2 * NumClasses)) u_cfg (
    .clk_i,
    .we_i(cfg_we_i), .waddr_i({cfg_bank_i, cfg_idx_i}),
    .wdata_i({cfg_inc_i, cfg_cinc_i, cfg_burst_i, cfg_cburst_i}),
    .re_i(a_valid), .raddr_i({epoch_i, a_idx}), .rdata_o(cfg_rdata));
  ram_1w1r #(.Width(StW), .Depth(NumClasses)) u_state (
    .clk_i,
    .we_i(st_we), .waddr_i(st_waddr), .wdata_i(st_wdata),
    .re_i(a_valid), .raddr_i(a_idx), .rdata_o(st_rdata));

  // Stage B registers.
  logic b_valid_q, b_sweep_q, b_fwd_q, b_tok_q;
  logic [1:0] b_kind_q;
  logic [CW-1:0] b_idx_q;
  logic [ChW-1:0] b_bytes_q, b_pkts_q;
  logic [StW-1:0] last_wdata_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sweep_q <= '0;
      b_valid_q <= 1'b0;
      b_sweep_q <= 1'b0;
      b_fwd_q <= 1'b0;
      b_tok_q <= 1'b0;
      b_kind_q <= OpCharge;
      b_idx_q <= '0;
      b_bytes_q <= '0;
      b_pkts_q <= '0;
      last_wdata_q <= '0;
    end else begin
      if (a_sweep) sweep_q <= (sweep_q == CW'(NumClasses - 1)) ? '0 : sweep_q + 1'b1;
      b_valid_q <= a_valid;
      b_sweep_q <= a_sweep;
      // The write of this cycle (stage B of the other slot) is what the
      // read should have returned.
      b_fwd_q <= st_we && (st_waddr == a_idx);
      b_tok_q <= op_tok_i;
      b_kind_q <= op_kind_i;
      b_idx_q <= a_idx;
      b_bytes_q <= op_bytes_i;
      b_pkts_q <= op_pkts_i;
      if (st_we) last_wdata_q <= st_wdata;
    end
  end

  // Stage B: compute and write back.
  logic [IncW-1:0] inc, cinc;
  logic [BurstW-1:0] burst, cburst;
  assign {inc, cinc, burst, cburst} = cfg_rdata;
  logic [StW-1:0] cur;
  assign cur = b_fwd_q ? last_wdata_q : st_rdata;
  logic signed [TokW-1:0] tok, ctok, tok_n, ctok_n, cap, ccap, tok_r, ctok_r, chg;
  logic [BytesW-1:0] bytes, bytes_n;
  logic [PktsW-1:0] pkts, pkts_n;
  assign {tok, ctok, bytes, pkts} = cur;
  assign cap = TokW'({burst, FracW'(0)});
  assign ccap = TokW'({cburst, FracW'(0)});
  assign chg = TokW'({b_bytes_q, FracW'(0)});
  assign tok_r = tok + TokW'(inc);
  assign ctok_r = ctok + TokW'(cinc);

  always_comb begin
    tok_n = tok;
    ctok_n = ctok;
    bytes_n = bytes;
    pkts_n = pkts;
    if (b_sweep_q) begin
      tok_n = (tok_r > cap) ? cap : tok_r;
      ctok_n = (ctok_r > ccap) ? ccap : ctok_r;
    end else if (b_kind_q == OpInit) begin
      tok_n = cap;
      ctok_n = ccap;
      bytes_n = '0;
      pkts_n = '0;
    end else begin
      if (b_tok_q) tok_n = tok - chg;
      ctok_n = ctok - chg;
      bytes_n = bytes + BytesW'(b_bytes_q);
      pkts_n = pkts + PktsW'(b_pkts_q);
    end
  end

  assign st_we = b_valid_q && (b_sweep_q || b_kind_q != OpStats);
  assign st_waddr = b_idx_q;
  assign st_wdata = {tok_n, ctok_n, bytes_n, pkts_n};

  // Stage C: the mode flip-flops, and the statistics result.
  logic c_we_q;
  logic [CW-1:0] c_idx_q;
  logic [1:0] c_mode_q;
  logic [1:0] mode_q [NumClasses];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      c_we_q <= 1'b0;
      c_idx_q <= '0;
      c_mode_q <= 2'b11;
      st_valid_o <= 1'b0;
      st_tok_o <= '0;
      st_ctok_o <= '0;
      st_bytes_o <= '0;
      st_pkts_o <= '0;
      // Until a class is initialised it may not send.
      for (int unsigned i = 0; i < NumClasses; i++) mode_q[i] <= 2'b11;
    end else begin
      c_we_q <= st_we;
      c_idx_q <= b_idx_q;
      c_mode_q <= {ctok_n[TokW-1], tok_n[TokW-1]};
      if (c_we_q) mode_q[c_idx_q] <= c_mode_q;
      st_valid_o <= b_valid_q && !b_sweep_q && b_kind_q == OpStats;
      st_tok_o <= tok;
      st_ctok_o <= ctok;
      st_bytes_o <= bytes;
      st_pkts_o <= pkts;
    end
  end

  for (genvar r = 0; r < NumRd; r++) begin : g_rd
    assign rd_mode_o[2*r +: 2] = mode_q[rd_idx_i[r*CW +: CW]];
  end
endmodule

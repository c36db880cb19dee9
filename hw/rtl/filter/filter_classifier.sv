// Filter overlay classifier: the firewall's flattened slots (kernel/filter/flat.hpp)
// matched against one key per cycle, at a fixed latency whatever the slots hold.
//
// Decomposition (bit-vector) classifier. Each range field is cut into
// Stride-bit chunks, least significant first. Chunk g has a memory of
// 2^Stride rows per bank, indexed by the key's chunk value v; row v holds,
// for every slot, four bits comparing v with the slot's lo and hi chunks:
// v > lo, v == lo, v < hi, v == hi. A field's lo <= key and key <= hi then
// follow per slot by a lexicographic combine over its chunks (the most
// significant chunk that differs decides), so no comparator per slot and
// field exists; only AND/OR over Entries-bit vectors. The flag bits are a
// ternary field: per flag chunk, row v has one bit per slot,
// ((v ^ value) & mask) == 0, cleared for an empty slot (that is the VALID bit:
// an empty slot matches no flag row). NEG is one bit per slot and field.
//
// Pipeline (a key never waits; Latency cycles from key_valid_i to res_valid_o):
//   S0   the key's row of every chunk and flag memory read (the key's chunk
//        values and the active bank are the read address: a registered read,
//        as a block RAM), the bank registered
//   S1   per field (key in [lo, hi]) ^ neg -> Entries bits per field; flag
//        rows ANDed
//   S2   fields and flags ANDed -> match vector
//   T*   lowest (prio, slot) among matches: a 4:1 tree, two levels per stage,
//        the leaves' priorities straight from the key's bank (flops)
//   out  the winner's action, reject_with and log read (registered address)
// Latency = 4 + ceil(log2(Entries) / 2): 10 for 4096 slots.
//
// Banks: every memory exists twice. Writes go to the shadow bank (the one not
// active); commit flips the active bank for keys entering after it. A key
// carries its bank through the pipeline, so it sees one bank entirely.
// commit_done_o pulses once the last key of the old bank has its result,
// PostStages cycles after it leaves this module (the user's stages that
// still need the bank, see filter_lookup), after which the old bank (the new
// shadow) may be written. While a commit is waiting or draining, wr_ready_o
// and shadow_ready_o are low; a commit requested during a write flips when
// the write completes. After a commit the shadow holds what was active
// before it, not a copy of the new active bank. commit_i is taken only when
// commit_ready_o is high (one commit at a time). bank_o is the bank a key
// entering in this cycle reads; storage beside this module (the exact
// tables) follows it and may write the other bank while shadow_ready_o.
//
// Writes: wr_lo_i/wr_hi_i are packed like key_i. One write takes 2^Stride + 1
// cycles from acceptance to wr_done_o (one row of every chunk memory per
// cycle; the memories have per-slot write enables, so no read is needed).
// A write with slot >= Entries, lo > hi on any field or an unknown action
// answers wr_done_o with wr_error_o the next cycle and changes nothing.
//
// Reset: the flag rows of both banks are cleared by a sweep (2^(Stride+1)
// cycles; keys during it miss); wr_ready_o stays low until it is done.
//
// The result carries the winner's priority (res_prio_o) so that a user can
// rank it against other matches; hit counters are the user's (filter_lookup).
//
// Simulation speed: all per-key work sits in flops enabled by the stage's
// valid bit, so cycles without keys cost little. No register is shared by
// stages that read each other's slices and no wide value passes through a
// function: Verilator would copy either on every clock (tests/rtl/filter,
// filter_model_copies).
module filter_classifier #(
  parameter int unsigned Entries = norman_regmap_pkg::FILTER_ENTRIES,
  parameter int unsigned Stride = norman_regmap_pkg::FILTER_STRIDE,
  parameter int unsigned TagW = 1,
  parameter int unsigned EpochW = 32,
  parameter int unsigned PostStages = 0,
  localparam int unsigned KeyW = norman_regmap_pkg::FILTER_RANGE_KEY_W,
  localparam int unsigned FlagsW = norman_regmap_pkg::FILTER_FLAGS_W,
  localparam int unsigned SlotW = (Entries > 1) ? $clog2(Entries) : 1
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  // Lookup: one key per cycle, no back-pressure.
  input  logic                            key_valid_i,
  input  logic [KeyW-1:0]                 key_i,
  input  logic [FlagsW-1:0]               flags_i,
  input  logic [TagW-1:0]                 tag_i,
  output logic                            res_valid_o,
  output logic [TagW-1:0]                 res_tag_o,
  output logic                            res_hit_o,
  output logic [SlotW-1:0]                res_slot_o,
  output logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     res_prio_o,
  output logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      res_action_o,
  output logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] res_reject_with_o,
  output logic                            res_log_o,
  output logic [15:0]                     latency_o,
  // Slot writes into the shadow bank.
  input  logic                            wr_valid_i,
  output logic                            wr_ready_o,
  input  logic [norman_regmap_pkg::FILTER_SLOT_W-1:0]        wr_slot_i,
  input  logic                            wr_slot_valid_i,
  input  logic [KeyW-1:0]                 wr_lo_i,
  input  logic [KeyW-1:0]                 wr_hi_i,
  input  logic [norman_regmap_pkg::FILTER_NUM_FIELDS-1:0]    wr_neg_i,
  input  logic [FlagsW-1:0]               wr_flags_value_i,
  input  logic [FlagsW-1:0]               wr_flags_mask_i,
  input  logic [norman_regmap_pkg::FILTER_PRIO_BITS-1:0]     wr_prio_i,
  input  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      wr_action_i,
  input  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] wr_reject_with_i,
  input  logic                            wr_log_i,
  output logic                            wr_done_o,
  output logic                            wr_error_o,
  // Bank switch.
  input  logic                            commit_i,
  output logic                            commit_ready_o,
  output logic                            commit_done_o,
  output logic [EpochW-1:0]               epoch_o,
  output logic                            bank_o,
  output logic                            shadow_ready_o,
  output logic                            idle_o
);
  localparam int unsigned NumFields = norman_regmap_pkg::FILTER_NUM_FIELDS;
  localparam int unsigned PrioW = norman_regmap_pkg::FILTER_PRIO_BITS;
  localparam int unsigned Rows = 2 ** Stride;
  localparam int unsigned RowAddrW = Stride + 1;  // {bank, chunk value}
  localparam int unsigned NumFlagChunks = (FlagsW + Stride - 1) / Stride;
  localparam int unsigned Levels = SlotW;
  localparam int unsigned Leaves = 2 ** Levels;
  localparam int unsigned TreeStages = (Levels + 1) / 2;
  // Users size their delay lines by norman_pkg::filter_latency.
  localparam int unsigned Latency = norman_pkg::filter_latency(Entries);
  localparam int unsigned MetaW = norman_regmap_pkg::FILTER_ACTION_W + norman_regmap_pkg::FILTER_REJECT_WITH_W + 1;
  localparam int unsigned Drain = Latency + PostStages;
  localparam int unsigned DrainW = $clog2(Drain + 1);

  /* verilator lint_off UNUSEDSIGNAL */  // field indices are narrower than int
  // Chunk layout: field f owns chunks field_base(f) .. field_base(f) +
  // field_chunks(f) - 1, least significant first; chunk g starts at key bit
  // chunk_lsb(g) and has chunk_bits(g) <= Stride bits of its field. Constant
  // functions, evaluated into localparams of the generate blocks (no
  // unpacked-array or multi-dimensional localparams: Yosys reads neither).
  function automatic int unsigned field_chunks(int unsigned f);
    field_chunks = (norman_regmap_pkg::filter_field_w(f) + Stride - 1) / Stride;
  endfunction

  function automatic int unsigned field_base(int unsigned f);
    int unsigned n;
    n = 0;
    for (int unsigned i = 0; i < f; i++) n += field_chunks(i);
    field_base = n;
  endfunction

  // The field chunk g belongs to.
  function automatic int unsigned chunk_field(int unsigned g);
    int unsigned r;
    r = 0;
    for (int unsigned f = 0; f < NumFields; f++) begin
      if (g >= field_base(f)) r = f;
    end
    chunk_field = r;
  endfunction

  function automatic int unsigned chunk_lsb(int unsigned g);
    chunk_lsb = norman_regmap_pkg::filter_field_lsb(chunk_field(g))
                + (g - field_base(chunk_field(g))) * Stride;
  endfunction

  function automatic int unsigned chunk_bits(int unsigned g);
    int unsigned left;
    left = norman_regmap_pkg::filter_field_w(chunk_field(g))
           - (g - field_base(chunk_field(g))) * Stride;
    chunk_bits = (left < Stride) ? left : Stride;
  endfunction

  // Selection tree: stage t reduces 2^tree_lv(t) : 1, tree_nout(t) nodes out.
  function automatic int unsigned tree_lv(int unsigned t);
    tree_lv = (Levels - 2 * t >= 2) ? 2 : 1;
  endfunction

  function automatic int unsigned tree_nout(int unsigned t);
    tree_nout = (Leaves >> (2 * t)) >> tree_lv(t);
  endfunction

  /* verilator lint_on UNUSEDSIGNAL */

  localparam int unsigned NumChunks = field_base(NumFields);

  // Flags padded to whole chunks (the padding is outside every mask).
  localparam int unsigned FlagsPadW = NumFlagChunks * Stride;

  // A selection node as a flat vector {v, p, i} (Yosys mis-sizes packed
  // arrays of structs): valid, priority, slot.
  localparam int unsigned NodeW = 1 + PrioW + SlotW;

  /* verilator lint_off UNUSEDSIGNAL */  // each reads the fields it needs
  function automatic logic node_v(logic [NodeW-1:0] n);
    node_v = n[NodeW-1];
  endfunction

  function automatic logic [PrioW-1:0] node_p(logic [NodeW-1:0] n);
    node_p = n[SlotW+:PrioW];
  endfunction

  function automatic logic [SlotW-1:0] node_i(logic [NodeW-1:0] n);
    node_i = n[SlotW-1:0];
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // The better of two candidates, a from lower slots than b: ties go to a.
  function automatic logic [NodeW-1:0] best(logic [NodeW-1:0] a, logic [NodeW-1:0] b);
    best = (node_v(b) && (!node_v(a) || node_p(b) < node_p(a))) ? b : a;
  endfunction

  if (Latency != 4 + TreeStages) begin : g_latency_check
    $error("filter_latency() does not describe this pipeline");
  end

  // ---------------------------------------------------------------------------
  // Storage (both banks; row address {bank, chunk value}, slot address
  // {bank, slot}): the chunk and flag memories in their generate blocks
  // below; NEG, priorities and metadata here. All flat vectors.
  // The priorities: one vector per bank, read by the selection tree's leaves
  // a slot at a time (not an array of two: reading one slot's priority from
  // an array element copies the whole element in the simulator).
  logic [Leaves*PrioW-1:0] prio0_q, prio1_q;
  logic [MetaW-1:0] meta_q [2 * Leaves];

  // ---------------------------------------------------------------------------
  // Write engine, reset sweep and bank control.
  typedef enum logic [1:0] {WrSweep, WrIdle, WrRows} wr_state_e;

  wr_state_e wst_q;
  logic [Stride:0] sweep_q;
  logic [Stride-1:0] wrow_q;
  logic [SlotW-1:0] wslot_q;
  logic wsv_q, wlog_q;
  logic [KeyW-1:0] wlo_q, whi_q;
  logic [NumFields-1:0] wneg_q;
  logic [FlagsPadW-1:0] wfv_q, wfm_q;
  logic [PrioW-1:0] wprio_q;
  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0] wact_q;
  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] wrej_q;
  logic wdone_q, werr_q;
  logic [EpochW-1:0] epoch_q;
  logic commit_req_q, cdone_q;
  logic [DrainW-1:0] drain_q;
  logic wr_accept, wr_bad, commit_take, flip, row_we, meta_we, wbank;
  logic [RowAddrW-1:0] waddr;

  assign wr_ready_o = (wst_q == WrIdle) && !commit_req_q && (drain_q == '0);
  assign shadow_ready_o = !commit_req_q && (drain_q == '0);
  assign bank_o = epoch_q[0];
  assign wr_accept = wr_valid_i && wr_ready_o;
  assign commit_ready_o = (wst_q != WrSweep) && !commit_req_q && (drain_q == '0);
  assign commit_take = commit_i && commit_ready_o;
  assign flip = (commit_take || commit_req_q) && (wst_q == WrIdle) && !wr_accept;
  assign wbank = ~epoch_q[0];
  assign row_we = (wst_q == WrRows);
  assign meta_we = row_we && (wrow_q == Stride'(Rows - 1));
  assign waddr = {wbank, wrow_q};

  // lo > hi on any field refuses the write.
  logic [NumFields-1:0] fld_bad;

  for (genvar f = 0; f < NumFields; f++) begin : g_wr_check
    localparam int unsigned Lsb = norman_regmap_pkg::filter_field_lsb(f);
    localparam int unsigned W = norman_regmap_pkg::filter_field_w(f);
    assign fld_bad[f] = (wr_lo_i[Lsb+:W] > wr_hi_i[Lsb+:W]);
  end

  assign wr_bad = (32'(wr_slot_i) >= Entries)
                  || !norman_regmap_pkg::filter_action_ok(32'(wr_action_i))
                  || (fld_bad != '0);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wst_q <= WrSweep;
      sweep_q <= '0;
      wrow_q <= '0;
      wdone_q <= 1'b0;
      werr_q <= 1'b0;
      epoch_q <= '0;
      commit_req_q <= 1'b0;
      drain_q <= '0;
      cdone_q <= 1'b0;
    end else begin
      wdone_q <= 1'b0;
      werr_q <= 1'b0;
      unique case (wst_q)
        WrSweep: begin
          sweep_q <= sweep_q + 1'b1;
          if (sweep_q == '1) wst_q <= WrIdle;
        end
        WrIdle: begin
          if (wr_accept) begin
            if (wr_bad) begin
              wdone_q <= 1'b1;
              werr_q <= 1'b1;
            end else begin
              wst_q <= WrRows;
              wrow_q <= '0;
            end
          end
        end
        WrRows: begin
          wrow_q <= wrow_q + 1'b1;
          if (wrow_q == Stride'(Rows - 1)) begin
            wst_q <= WrIdle;
            wdone_q <= 1'b1;
          end
        end
        default: wst_q <= WrSweep;
      endcase

      // The last key of the old bank reads its metadata Latency - 1 cycles
      // after the flip, and the user's stages hold it PostStages more; done
      // follows it.
      cdone_q <= (drain_q == DrainW'(1));
      if (flip) begin
        epoch_q <= epoch_q + 1'b1;
        drain_q <= DrainW'(Drain);
        commit_req_q <= 1'b0;
      end else begin
        if (commit_take) commit_req_q <= 1'b1;
        if (drain_q != '0) drain_q <= drain_q - 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (wr_accept) begin
      wslot_q <= SlotW'(wr_slot_i);
      wsv_q <= wr_slot_valid_i;
      wlo_q <= wr_lo_i;
      whi_q <= wr_hi_i;
      wneg_q <= wr_neg_i;
      wfv_q <= FlagsPadW'(wr_flags_value_i);
      wfm_q <= FlagsPadW'(wr_flags_mask_i);
      wprio_q <= wr_prio_i;
      wact_q <= wr_action_i;
      wrej_q <= wr_reject_with_i;
      wlog_q <= wr_log_i;
    end
  end

  always_ff @(posedge clk_i) begin
    if (meta_we) begin
      if (wbank) prio1_q[wslot_q*PrioW+:PrioW] <= wprio_q;
      else prio0_q[wslot_q*PrioW+:PrioW] <= wprio_q;
      meta_q[{wbank, wslot_q}] <= {wact_q, wrej_q, wlog_q};
    end
  end

  // ---------------------------------------------------------------------------
  // Lookup pipeline.
  logic s0_valid_q, s1_valid_q, s2_valid_q;
  logic s0_ok_q, s0_bank_q, s1_bank_q, s2_bank_q;
  logic [TagW-1:0] s0_tag_q, s1_tag_q, s2_tag_q;
  logic [Entries-1:0] s1_flg_q;
  logic [Leaves-1:0] s2_match_q;
  // S0: the key's row of every chunk and flag memory, read with the key
  // (registered read, as a block RAM). S1: the per-field results. Each
  // generate block below loads its own slice, only with a key, so idle
  // cycles copy nothing.
  logic [NumChunks*Entries-1:0] s0_gt_q, s0_eqlo_q, s0_lt_q, s0_eqhi_q;
  logic [NumFlagChunks*Entries-1:0] s0_flg_q;
  logic [NumFields*Entries-1:0] s1_fld_q;
  logic [FlagsPadW-1:0] key_flags;

  assign key_flags = FlagsPadW'(flags_i);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s0_valid_q <= 1'b0;
      s1_valid_q <= 1'b0;
      s2_valid_q <= 1'b0;
    end else begin
      s0_valid_q <= key_valid_i;
      s1_valid_q <= s0_valid_q;
      s2_valid_q <= s1_valid_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (key_valid_i) begin
      s0_bank_q <= epoch_q[0];
      s0_ok_q <= (wst_q != WrSweep);
      s0_tag_q <= tag_i;
    end
  end

  // Chunk memories: one row (chunk value wrow_q) of every one per write cycle,
  // one bit (the slot's) per row.
  for (genvar g = 0; g < NumChunks; g++) begin : g_chunk
    localparam int unsigned Lsb = chunk_lsb(g);
    localparam int unsigned Bits = chunk_bits(g);
    logic [Entries-1:0] gtlo_q [2 * Rows];
    logic [Entries-1:0] eqlo_q [2 * Rows];
    logic [Entries-1:0] lthi_q [2 * Rows];
    logic [Entries-1:0] eqhi_q [2 * Rows];
    logic [Stride-1:0] lo, hi;
    logic [RowAddrW-1:0] ra;

    assign lo = Stride'(wlo_q[Lsb+:Bits]);
    assign hi = Stride'(whi_q[Lsb+:Bits]);

    always_ff @(posedge clk_i) begin
      if (row_we) begin
        gtlo_q[waddr][wslot_q] <= (wrow_q > lo);
        eqlo_q[waddr][wslot_q] <= (wrow_q == lo);
        lthi_q[waddr][wslot_q] <= (wrow_q < hi);
        eqhi_q[waddr][wslot_q] <= (wrow_q == hi);
      end
    end

    // The key's bank is the active one, never written while keys read it.
    assign ra = {epoch_q[0], Stride'(key_i[Lsb+:Bits])};

    always_ff @(posedge clk_i) begin
      if (key_valid_i) begin
        s0_gt_q[g*Entries+:Entries] <= gtlo_q[ra];
        s0_eqlo_q[g*Entries+:Entries] <= eqlo_q[ra];
        s0_lt_q[g*Entries+:Entries] <= lthi_q[ra];
        s0_eqhi_q[g*Entries+:Entries] <= eqhi_q[ra];
      end
    end
  end

  for (genvar j = 0; j < NumFlagChunks; j++) begin : g_flag_chunk
    logic [Entries-1:0] flg_q [2 * Rows];

    always_ff @(posedge clk_i) begin
      if (wst_q == WrSweep) begin
        flg_q[sweep_q] <= '0;
      end else if (row_we) begin
        flg_q[waddr][wslot_q] <= wsv_q && (((wrow_q ^ wfv_q[j*Stride+:Stride])
                                            & wfm_q[j*Stride+:Stride]) == '0);
      end
    end

    always_ff @(posedge clk_i) begin
      if (key_valid_i) s0_flg_q[j*Entries+:Entries] <= flg_q[{epoch_q[0], key_flags[j*Stride+:Stride]}];
    end
  end

  // S1, per field: from the least significant chunk up, ge = gt | (eq & ge)
  // and le = lt | (eq & le); the field's result (ge & le) ^ neg.
  for (genvar f = 0; f < NumFields; f++) begin : g_field
    localparam int unsigned Base = field_base(f);
    localparam int unsigned N = field_chunks(f);
    logic [Entries-1:0] neg_q [2];

    always_ff @(posedge clk_i) begin
      if (meta_we) neg_q[wbank][wslot_q] <= wneg_q[f];
    end

    always_ff @(posedge clk_i) begin
      if (s0_valid_q) begin
        logic [Entries-1:0] ge, le;
        ge = '1;
        le = '1;
        for (int unsigned c = 0; c < N; c++) begin
          ge = s0_gt_q[(Base+c)*Entries+:Entries] | (s0_eqlo_q[(Base+c)*Entries+:Entries] & ge);
          le = s0_lt_q[(Base+c)*Entries+:Entries] | (s0_eqhi_q[(Base+c)*Entries+:Entries] & le);
        end
        s1_fld_q[f*Entries+:Entries] <= (ge & le) ^ neg_q[s0_bank_q];
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (s0_valid_q) begin
      logic [Entries-1:0] fo;
      fo = {Entries{s0_ok_q}};
      for (int unsigned j = 0; j < NumFlagChunks; j++) fo = fo & s0_flg_q[j*Entries+:Entries];
      s1_flg_q <= fo;
      s1_bank_q <= s0_bank_q;
      s1_tag_q <= s0_tag_q;
    end
  end

  // S2: the match vector.
  always_ff @(posedge clk_i) begin
    if (s1_valid_q) begin
      logic [Leaves-1:0] m;
      m = Leaves'(s1_flg_q);
      for (int unsigned f = 0; f < NumFields; f++) m = m & Leaves'(s1_fld_q[f*Entries+:Entries]);
      s2_match_q <= m;
      s2_bank_q <= s1_bank_q;
      s2_tag_q <= s1_tag_q;
    end
  end

  // Selection tree: stage t reduces 4:1 (2:1 in a last stage of odd depth).
  // Each stage keeps its nodes, valid, bank and tag in registers of its own
  // generate block and reads only the previous stage's: a chain, so the
  // simulator can update each in place. (Stages sharing one vector, each
  // writing its slice and reading another's, form a cycle the simulator
  // breaks with a shadow copy of the whole vector on every clock, with or
  // without a key: that doubled the cost of an idle cycle.)
  logic [TreeStages-1:0] tree_valid;

  for (genvar t = 0; t < TreeStages; t++) begin : g_tree
    localparam int unsigned Lv = tree_lv(t);
    localparam int unsigned G = 2 ** Lv;
    localparam int unsigned NOut = tree_nout(t);

    logic [NOut*NodeW-1:0] nd_q;
    logic valid_q, bank_q;
    logic [TagW-1:0] tag_q;
    logic in_valid, in_bank;
    logic [TagW-1:0] in_tag;

    if (t == 0) begin : g_src
      // The leaves: a group without a match (the common case) needs no
      // compare. The priorities of the key's bank: written only while it is
      // the shadow, so stable while keys of it are in flight.
      assign in_valid = s2_valid_q;
      assign in_bank = s2_bank_q;
      assign in_tag = s2_tag_q;
      always_ff @(posedge clk_i) begin
        if (in_valid) begin
          logic [4*NodeW-1:0] x;
          logic [NOut*NodeW-1:0] o;
          for (int unsigned n = 0; n < NOut; n++) begin
            if (s2_match_q[G*n+:G] == '0) begin
              o[n*NodeW+:NodeW] = '0;
            end else begin
              // Only a group with a match builds its leaves (in the
              // simulator, most groups of most keys have none).
              x = '0;
              for (int unsigned c = 0; c < G; c++) begin
                x[c*NodeW+:NodeW] = {s2_match_q[G*n+c],
                                     s2_bank_q ? prio1_q[(G*n+c)*PrioW+:PrioW]
                                               : prio0_q[(G*n+c)*PrioW+:PrioW],
                                     SlotW'(G * n + c)};
              end
              if (Lv == 2) begin
                o[n*NodeW+:NodeW] = best(best(x[0+:NodeW], x[NodeW+:NodeW]),
                                         best(x[2*NodeW+:NodeW], x[3*NodeW+:NodeW]));
              end else begin
                o[n*NodeW+:NodeW] = best(x[0+:NodeW], x[NodeW+:NodeW]);
              end
            end
          end
          nd_q <= o;
        end
      end
    end else begin : g_src
      assign in_valid = g_tree[t-1].valid_q;
      assign in_bank = g_tree[t-1].bank_q;
      assign in_tag = g_tree[t-1].tag_q;
      always_ff @(posedge clk_i) begin
        if (in_valid) begin
          logic [NOut*G*NodeW-1:0] x;
          logic [NOut*NodeW-1:0] o;
          x = g_tree[t-1].nd_q;
          for (int unsigned n = 0; n < NOut; n++) begin
            if (Lv == 2) begin
              o[n*NodeW+:NodeW] = best(best(x[(4*n)*NodeW+:NodeW], x[(4*n+1)*NodeW+:NodeW]),
                                       best(x[(4*n+2)*NodeW+:NodeW], x[(4*n+3)*NodeW+:NodeW]));
            end else begin
              o[n*NodeW+:NodeW] = best(x[(2*n)*NodeW+:NodeW], x[(2*n+1)*NodeW+:NodeW]);
            end
          end
          nd_q <= o;
        end
      end
    end

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) valid_q <= 1'b0;
      else valid_q <= in_valid;
    end

    always_ff @(posedge clk_i) begin
      if (in_valid) begin
        bank_q <= in_bank;
        tag_q <= in_tag;
      end
    end

    assign tree_valid[t] = valid_q;
  end

  // Result: the winner's metadata (registered address: the last tree stage).
  localparam int unsigned Last = TreeStages - 1;
  logic [NodeW-1:0] win;
  logic win_v, last_valid, last_bank;
  logic [SlotW-1:0] win_i;
  logic [PrioW-1:0] win_p;
  logic res_valid_q, res_hit_q, res_log_q;
  logic [TagW-1:0] res_tag_q;
  logic [SlotW-1:0] res_slot_q;
  logic [PrioW-1:0] res_prio_q;
  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0] res_action_q;
  logic [norman_regmap_pkg::FILTER_REJECT_WITH_W-1:0] res_rej_q;

  // The last stage's node (it has one).
  assign win = g_tree[Last].nd_q;
  assign win_v = node_v(win);
  assign win_i = node_i(win);
  assign win_p = node_p(win);
  assign last_valid = g_tree[Last].valid_q;
  assign last_bank = g_tree[Last].bank_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      res_valid_q <= 1'b0;
      res_hit_q <= 1'b0;
    end else begin
      res_valid_q <= last_valid;
      if (last_valid) res_hit_q <= win_v;
    end
  end

  always_ff @(posedge clk_i) begin
    if (last_valid) begin
      res_tag_q <= g_tree[Last].tag_q;
      if (win_v) begin
        res_slot_q <= win_i;
        res_prio_q <= win_p;
        {res_action_q, res_rej_q, res_log_q} <= meta_q[{last_bank, win_i}];
      end else begin
        res_slot_q <= '0;
        res_prio_q <= '0;
        res_action_q <= norman_regmap_pkg::FILTER_ACTION_W'(norman_regmap_pkg::FILTER_ACTIONS_ACCEPT);
        res_rej_q <= '0;
        res_log_q <= 1'b0;
      end
    end
  end

  assign res_valid_o = res_valid_q;
  assign res_tag_o = res_tag_q;
  assign res_hit_o = res_hit_q;
  assign res_slot_o = res_slot_q;
  assign res_prio_o = res_prio_q;
  assign res_action_o = res_action_q;
  assign res_reject_with_o = res_rej_q;
  assign res_log_o = res_log_q;
  assign latency_o = 16'(Latency);

  assign wr_done_o = wdone_q;
  assign wr_error_o = werr_q;
  assign commit_done_o = cdone_q;
  assign epoch_o = epoch_q;

  assign idle_o = !s0_valid_q && !s1_valid_q && !s2_valid_q && (tree_valid == '0) && !res_valid_q
                  && (wst_q == WrIdle) && !commit_req_q && (drain_q == '0);
endmodule

// Per-slot hit counters of the filter overlay: 64-bit packets and bytes.
//
// Updates arrive at up to one per cycle, possibly back to back on the same
// slot. The counter memory is modelled like a block RAM (registered read,
// read-before-write), so an update is a two-stage read-modify-write: stage A
// reads the slot, stage B adds and writes. The value written in the cycle of
// stage A's read is not yet visible to that read, so stage B takes it from a
// one-entry bypass instead; that covers every back-to-back case because
// nothing older than one write can be in flight.
//
// A clear needs the write port: it takes it in a cycle where stage B has no
// update, or merges with an update of the same slot (which then counts from
// zero). Under an uninterrupted update on every cycle a clear of another slot
// waits; a NIC port never delivers a frame on every cycle, so it is brief.
//
// Reads (the CSR path) have a port of their own: rd_*_o show the counters of
// rd_slot_i as it was one cycle earlier. An update or clear in flight (at most
// two cycles) may not be included yet.
//
// Storage has no reset: after reset a sweep zeroes one slot per cycle for
// Entries cycles, during which ready_o is low and updates must not come.
module filter_counters #(
  parameter int unsigned Entries = 4096,
  parameter int unsigned BytesW = 16,
  localparam int unsigned SlotW = (Entries > 1) ? $clog2(Entries) : 1
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              upd_valid_i,
  input  logic [SlotW-1:0]  upd_slot_i,
  input  logic [BytesW-1:0] upd_bytes_i,
  input  logic              clr_valid_i,
  output logic              clr_ready_o,
  input  logic [SlotW-1:0]  clr_slot_i,
  input  logic [SlotW-1:0]  rd_slot_i,
  output logic [63:0]       rd_pkts_o,
  output logic [63:0]       rd_bytes_o,
  output logic              ready_o,
  output logic              idle_o
);
  logic [63:0] pkts_q [Entries];
  logic [63:0] bytes_q [Entries];

  logic sweeping_q;
  logic [SlotW-1:0] sweep_q;
  logic a_valid_q;
  logic [SlotW-1:0] a_slot_q;
  logic [BytesW-1:0] a_bytes_q;
  logic [63:0] a_pkts_q, a_bytes_rd_q;
  logic lw_valid_q;
  logic [SlotW-1:0] lw_slot_q;
  logic [63:0] lw_pkts_q, lw_bytes_q;
  logic clr_pend_q;
  logic [SlotW-1:0] clr_slot_q;
  logic clr_take, clr_merge, clr_alone;

  assign clr_ready_o = !clr_pend_q && !sweeping_q;
  assign clr_take = clr_valid_i && clr_ready_o;
  assign clr_merge = clr_pend_q && a_valid_q && (clr_slot_q == a_slot_q);
  assign clr_alone = clr_pend_q && !a_valid_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sweeping_q <= 1'b1;
      sweep_q <= '0;
      a_valid_q <= 1'b0;
      lw_valid_q <= 1'b0;
      clr_pend_q <= 1'b0;
    end else begin
      if (sweeping_q) begin
        sweep_q <= sweep_q + 1'b1;
        if (32'(sweep_q) == Entries - 1) sweeping_q <= 1'b0;
      end
      a_valid_q <= upd_valid_i && !sweeping_q;
      lw_valid_q <= !sweeping_q && (a_valid_q || clr_alone);
      if (clr_take) begin
        clr_pend_q <= 1'b1;
      end else if (clr_merge || clr_alone) begin
        clr_pend_q <= 1'b0;
      end
    end
  end

  // Stage A: registered read of the slot (read-before-write).
  always_ff @(posedge clk_i) begin
    if (upd_valid_i) begin
      a_slot_q <= upd_slot_i;
      a_bytes_q <= upd_bytes_i;
      a_pkts_q <= pkts_q[upd_slot_i];
      a_bytes_rd_q <= bytes_q[upd_slot_i];
    end
    if (clr_take) clr_slot_q <= clr_slot_i;
  end

  // Stage B: add and write (or clear), remembering the write for the bypass.
  always_ff @(posedge clk_i) begin
    if (sweeping_q) begin
      pkts_q[sweep_q] <= '0;
      bytes_q[sweep_q] <= '0;
    end else if (a_valid_q) begin
      logic [63:0] p, b;
      if (lw_valid_q && lw_slot_q == a_slot_q) begin
        p = lw_pkts_q;
        b = lw_bytes_q;
      end else begin
        p = a_pkts_q;
        b = a_bytes_rd_q;
      end
      if (clr_merge) begin
        p = '0;
        b = '0;
      end
      p = p + 64'd1;
      b = b + 64'(a_bytes_q);
      pkts_q[a_slot_q] <= p;
      bytes_q[a_slot_q] <= b;
      lw_slot_q <= a_slot_q;
      lw_pkts_q <= p;
      lw_bytes_q <= b;
    end else if (clr_alone) begin
      pkts_q[clr_slot_q] <= '0;
      bytes_q[clr_slot_q] <= '0;
      lw_slot_q <= clr_slot_q;
      lw_pkts_q <= '0;
      lw_bytes_q <= '0;
    end
  end

  always_ff @(posedge clk_i) begin
    rd_pkts_o <= pkts_q[rd_slot_i];
    rd_bytes_o <= bytes_q[rd_slot_i];
  end

  assign ready_o = !sweeping_q;
  assign idle_o = !a_valid_q && !clr_pend_q && !sweeping_q;
endmodule

// Connection contexts (owner, rings, TX check fields), written only by the
// command interface and read by the RX and TX paths.
//
// Storage, shaped for FPGA memories (nothing per connection in flip-flops):
// - Two context RAMs (ram_1w1r: one write port, registered read), one per
//   read port, each holding only the fields its reader uses: RX (nq_id, RX
//   ring, owner) and TX (nq_id, TX rings, port, check fields, owner). The
//   owner's pid is stored nowhere: no datapath reads it (it reads as 0).
//   Both paths read a context every few cycles without back-pressure, so
//   one RAM cannot be time-multiplexed between them; splitting the fields
//   keeps the second copy small. At 65,536 connections: RX 175 bits -> 3
//   UltraRAM columns x 16 = 48 URAM, TX 447 bits -> 7 x 16 = 112 URAM.
// - Valid bits: a bitmap of NumConns/64 words of 64 bits with a per-bit
//   write enable, plus one "word in use" flag per word (NumConns/64 flops,
//   the only reset state). A word whose flag is clear reads as all zero, and
//   the first write to it clears its other 63 bits, so reset empties the
//   table in one cycle without a sweep. The bitmap has three read ports:
//   the registered RX and TX reads and the combinational doorbell probe
//   (csr_regs screens a doorbell in the cycle it is accepted), so it is
//   distributed RAM: 64 Kbit with three read ports, an estimated 4-5K LUTs
//   at 65,536 connections (see docs/hw-interfaces.md).
// A read in the cycle of a write to the same entry sees the old context,
// valid bit included.
module conn_ctx_mem #(
  parameter int unsigned NumConns = 1 << norman_pkg::ConnIdW
) (
  input  logic                           clk_i,
  input  logic                           rst_ni,
  input  logic                           we_i,
  input  logic [norman_pkg::ConnIdW-1:0] wconn_i,
  input  norman_pkg::conn_ctx_t          wdata_i,    // wdata_i.valid sets or clears the entry
  // Two read ports with a registered (one-cycle) read; valid folded in.
  input  logic                           rx_re_i,
  input  logic [norman_pkg::ConnIdW-1:0] rx_conn_i,
  output norman_pkg::conn_ctx_t          rx_ctx_o,
  input  logic                           tx_re_i,
  input  logic [norman_pkg::ConnIdW-1:0] tx_conn_i,
  output norman_pkg::conn_ctx_t          tx_ctx_o,
  // Combinational validity, for doorbell screening.
  input  logic [norman_pkg::ConnIdW-1:0] probe_conn_i,
  output logic                           probe_valid_o
);
  localparam int unsigned BitW = (NumConns >= 64) ? 6 : $clog2(NumConns);
  localparam int unsigned WordBits = 1 << BitW;
  localparam int unsigned NumWords = NumConns / WordBits;
  localparam int unsigned WordW = (NumWords > 1) ? $clog2(NumWords) : 1;

  // ---------------------------------------------------------------- contexts
  // Field order of the packed words: see the packing below.
  localparam int unsigned RxW = norman_pkg::NqIdW + 64 + 5 + 96;
  localparam int unsigned TxW = norman_pkg::NqIdW + norman_pkg::PortIdW + 3 + 64 + 64 + 5 + 96
                                + 48 + 8 + 1 + 16 + 128;

  logic [RxW-1:0] rx_wword, rx_rword;
  logic [TxW-1:0] tx_wword, tx_rword;

  assign rx_wword = {wdata_i.nq_id, wdata_i.rx_base, wdata_i.rx_log2, wdata_i.owner.uid,
                     wdata_i.owner.gid, wdata_i.owner.cmd_id, wdata_i.owner.cgroup};
  assign tx_wword = {wdata_i.nq_id, wdata_i.port, wdata_i.raw, wdata_i.notify_tx,
                     wdata_i.broadcast, wdata_i.tx_desc_base, wdata_i.tx_data_base,
                     wdata_i.tx_log2, wdata_i.owner.uid, wdata_i.owner.gid,
                     wdata_i.owner.cmd_id, wdata_i.owner.cgroup, wdata_i.src_mac,
                     wdata_i.proto, wdata_i.is_ipv6, wdata_i.src_port, wdata_i.src_ip};

  ram_1w1r #(.Width(RxW), .Depth(NumConns)) u_rx_ram (
    .clk_i, .we_i, .waddr_i(wconn_i), .wdata_i(rx_wword),
    .re_i(rx_re_i), .raddr_i(rx_conn_i), .rdata_o(rx_rword));
  ram_1w1r #(.Width(TxW), .Depth(NumConns)) u_tx_ram (
    .clk_i, .we_i, .waddr_i(wconn_i), .wdata_i(tx_wword),
    .re_i(tx_re_i), .raddr_i(tx_conn_i), .rdata_o(tx_rword));

  // ---------------------------------------------------------------- valid bits
  logic [WordBits-1:0] vmem_q [NumWords];
  logic [NumWords-1:0] used_q;
  logic [WordW-1:0]    wword, rx_word, tx_word, probe_word;
  logic [BitW-1:0]     wbit, rx_bit, tx_bit, probe_bit;
  logic                rx_valid_q, tx_valid_q;

  assign wword = WordW'(wconn_i >> BitW);
  assign wbit = BitW'(wconn_i);
  assign rx_word = WordW'(rx_conn_i >> BitW);
  assign rx_bit = BitW'(rx_conn_i);
  assign tx_word = WordW'(tx_conn_i >> BitW);
  assign tx_bit = BitW'(tx_conn_i);
  assign probe_word = WordW'(probe_conn_i >> BitW);
  assign probe_bit = BitW'(probe_conn_i);

  // The first write to a word since reset also clears its other bits.
  always_ff @(posedge clk_i) begin
    if (we_i) begin
      for (int unsigned b = 0; b < WordBits; b++) begin
        if (BitW'(b) == wbit) vmem_q[wword][b] <= wdata_i.valid;
        else if (!used_q[wword]) vmem_q[wword][b] <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      used_q <= '0;
      rx_valid_q <= 1'b0;
      tx_valid_q <= 1'b0;
    end else begin
      if (we_i) used_q[wword] <= 1'b1;
      if (rx_re_i) rx_valid_q <= used_q[rx_word] && vmem_q[rx_word][rx_bit];
      if (tx_re_i) tx_valid_q <= used_q[tx_word] && vmem_q[tx_word][tx_bit];
    end
  end

  assign probe_valid_o = used_q[probe_word] && vmem_q[probe_word][probe_bit];

  // ---------------------------------------------------------------- outputs
  always_comb begin
    rx_ctx_o = '0;
    rx_ctx_o.valid = rx_valid_q;
    {rx_ctx_o.nq_id, rx_ctx_o.rx_base, rx_ctx_o.rx_log2, rx_ctx_o.owner.uid,
     rx_ctx_o.owner.gid, rx_ctx_o.owner.cmd_id, rx_ctx_o.owner.cgroup} = rx_rword;
    tx_ctx_o = '0;
    tx_ctx_o.valid = tx_valid_q;
    {tx_ctx_o.nq_id, tx_ctx_o.port, tx_ctx_o.raw, tx_ctx_o.notify_tx, tx_ctx_o.broadcast,
     tx_ctx_o.tx_desc_base, tx_ctx_o.tx_data_base, tx_ctx_o.tx_log2, tx_ctx_o.owner.uid,
     tx_ctx_o.owner.gid, tx_ctx_o.owner.cmd_id, tx_ctx_o.owner.cgroup, tx_ctx_o.src_mac,
     tx_ctx_o.proto, tx_ctx_o.is_ipv6, tx_ctx_o.src_port, tx_ctx_o.src_ip} = tx_rword;
  end

  // wdata_i.owner.pid is stored nowhere (see above).
  logic unused_pid;
  assign unused_pid = ^wdata_i.owner.pid;
endmodule

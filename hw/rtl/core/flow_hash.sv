// Bucket hash of a flow key for conn_table, two register stages:
//   stage 1: XOR-fold the (masked) key to 32 bits, each 32-bit chunk rotated
//            by a per-instance amount first (so instances with different
//            RotStep fold with different linear maps, and keys that collide in
//            one fold rarely collide in the other), plus a seed;
//   stage 2: xorshift + odd multiply; the index is the product's top bits,
//            which depend on every bit of the fold.
// hash_o belongs to the key presented with en_i two cycles earlier and holds
// its value until the next en_i (conn_table's command FSM relies on that).
// Both stages compute inside the enabled flops, so an idle hash costs the
// simulator nothing.
module flow_hash #(
  parameter int unsigned OutW = 14,              // 1..32
  parameter logic [31:0] Seed = 32'h9e37_79b9,
  parameter logic [31:0] Mult = 32'h7feb_352d,   // odd
  parameter int unsigned RotStep = 7,            // chunk i is rotated left by i * RotStep
  parameter norman_pkg::flow_key_t   KeyMask = '1            // key bits that take part
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  input  logic            en_i,
  input  norman_pkg::flow_key_t       key_i,
  output logic [OutW-1:0] hash_o
);
  localparam int unsigned KeyW = norman_pkg::FlowKeyW;
  localparam int unsigned Chunks = (KeyW + 31) / 32;

  function automatic logic [31:0] rotl(logic [31:0] x, int unsigned r);
    rotl = (r % 32 == 0) ? x : ((x << (r % 32)) | (x >> (32 - r % 32)));
  endfunction

  localparam logic [Chunks*32-1:0] MaskP = (Chunks * 32)'(KeyMask);

  // k: the key zero-extended to whole chunks (one wide temporary only: the
  // simulator initialises every function temporary on every clock).
  function automatic logic [31:0] fold(logic [Chunks*32-1:0] k);
    logic [31:0] f;
    f = Seed;
    for (int unsigned i = 0; i < Chunks; i++) begin
      f = f ^ rotl(k[i*32+:32] & MaskP[i*32+:32], i * RotStep);
    end
    fold = f;
  endfunction

  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic [OutW-1:0] mix(logic [31:0] f);
    logic [31:0] a, b;  // only the top OutW bits of the product are used
    a = f ^ (f >> 16);
    b = a * Mult;
    mix = b[31-:OutW];
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  logic [31:0] fold_q;
  logic en_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      en_q <= 1'b0;
    end else begin
      en_q <= en_i;
    end
  end

  // Data stages: no reset, updated only when they carry a key.
  always_ff @(posedge clk_i) begin
    if (en_i) fold_q <= fold((Chunks * 32)'(key_i));
    if (en_q) hash_o <= mix(fold_q);
  end
endmodule

// Bucket hash of one exact table (FILTER_EXACT_HASH_* in the register map):
// the driver (filter::exact_bucket) places every entry where this says, so
// the two must agree bit for bit.
//
//   f = SEED ^ (Table * SEED_STEP)
//   f ^= rotl32(v[32i +: 32], (i * ROT_STEP + Table * TABLE_ROT) mod 32), i = 0..Words-1
//   a = f ^ (f >> 16)
//   bucket = ((a * MULT) mod 2^32) >> (32 - BucketsLog2)
//
// The fold is XOR only (the rotations are wiring). The product is split in
// two 16-bit halves of a, so each stage holds one narrow multiplier (a DSP
// slice each): (a * M) mod 2^32 = a_lo * M + ((a_hi * M_lo) mod 2^16) << 16.
//
// Three stages, each loaded by en_i[s] (the valid bit of the key entering
// it), so cycles without keys cost nothing: fold, products, bucket.
module filter_exact_hash #(
  parameter int unsigned Table = 0,
  parameter int unsigned BucketsLog2 = norman_regmap_pkg::FILTER_EXACT_BUCKETS_LOG2,
  localparam int unsigned VecW = norman_regmap_pkg::FILTER_EXACT_VECTOR_W
) (
  input  logic                   clk_i,
  input  logic [2:0]             en_i,
  input  logic [VecW-1:0]        vec_i,     // the key's vector, already masked
  output logic [BucketsLog2-1:0] bucket_o
);
  localparam int unsigned Words = (VecW + 31) / 32;
  localparam logic [31:0] Seed = 32'(norman_regmap_pkg::FILTER_EXACT_HASH_SEED)
                                 ^ 32'(64'(Table) * 64'(norman_regmap_pkg::FILTER_EXACT_HASH_SEED_STEP));
  localparam logic [31:0] Mult = 32'(norman_regmap_pkg::FILTER_EXACT_HASH_MULT);

  if (BucketsLog2 < 1 || BucketsLog2 > 16) begin : g_check
    $error("filter_exact_hash: BucketsLog2 must be 1..16");
  end

  function automatic logic [31:0] rotl32(logic [31:0] x, int unsigned r);
    rotl32 = (x << (r % 32)) | (x >> ((32 - r % 32) % 32));
  endfunction

  function automatic logic [31:0] fold(logic [Words*32-1:0] v);
    logic [31:0] f;
    f = Seed;
    for (int unsigned i = 0; i < Words; i++) begin
      f ^= rotl32(v[32*i+:32], i * norman_regmap_pkg::FILTER_EXACT_HASH_ROT_STEP + Table * norman_regmap_pkg::FILTER_EXACT_HASH_TABLE_ROT);
    end
    fold = f;
  endfunction

  logic [31:0] f_q, lo_q;
  logic [15:0] hi_q;
  logic [BucketsLog2-1:0] bucket_q;

  always_ff @(posedge clk_i) begin
    if (en_i[0]) f_q <= fold((Words * 32)'(vec_i));
  end

  always_ff @(posedge clk_i) begin
    if (en_i[1]) begin
      logic [31:0] a;
      a = f_q ^ (f_q >> 16);
      lo_q <= 32'(64'(a[15:0]) * 64'(Mult));
      hi_q <= 16'(32'(a[31:16]) * 32'(Mult[15:0]));
    end
  end

  always_ff @(posedge clk_i) begin
    if (en_i[2]) bucket_q <= BucketsLog2'((lo_q + {hi_q, 16'd0}) >> (32 - BucketsLog2));
  end

  assign bucket_o = bucket_q;
endmodule

// 64-bit event counters. Modules report events as pulse vectors (one bit per
// counter) and byte counts as (index, amount) adds; several sources may hit
// the same counter in one cycle, so the bank sums rather than ORs.
module counter_bank #(
  parameter int unsigned NumSrc = 1,
  parameter int unsigned NumAdd = 1,
  localparam int unsigned IdxW = $clog2(norman_regmap_pkg::NUM_COUNTERS)
) (
  input  logic                                 clk_i,
  input  logic                                 rst_ni,
  input  logic [NumSrc-1:0][norman_regmap_pkg::NUM_COUNTERS-1:0]  inc_i,
  input  logic [NumAdd-1:0]                    add_valid_i,
  input  logic [NumAdd-1:0][IdxW-1:0]          add_idx_i,
  input  logic [NumAdd-1:0][15:0]              add_val_i,
  input  logic                                 clear_i,
  input  logic [IdxW-1:0]                      rd_idx_i,
  output logic [63:0]                          rd_val_o
);
  logic [63:0] cnt_q [norman_regmap_pkg::NUM_COUNTERS];

  assign rd_val_o = (32'(rd_idx_i) < norman_regmap_pkg::NUM_COUNTERS) ? cnt_q[rd_idx_i] : '0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int unsigned c = 0; c < norman_regmap_pkg::NUM_COUNTERS; c++) cnt_q[c] <= '0;
    end else if (clear_i) begin
      for (int unsigned c = 0; c < norman_regmap_pkg::NUM_COUNTERS; c++) cnt_q[c] <= '0;
    end else begin
      for (int unsigned c = 0; c < norman_regmap_pkg::NUM_COUNTERS; c++) begin
        logic [63:0] sum;
        sum = cnt_q[c];
        for (int unsigned s = 0; s < NumSrc; s++) sum = sum + 64'(inc_i[s][c]);
        for (int unsigned a = 0; a < NumAdd; a++) begin
          if (add_valid_i[a] && 32'(add_idx_i[a]) == c) sum = sum + 64'(add_val_i[a]);
        end
        cnt_q[c] <= sum;
      end
    end
  end
endmodule

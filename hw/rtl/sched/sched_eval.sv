// Whether a leaf may send now, and at which key (docs/qos.md), from the
// modes of the classes on its path, as Linux HTB decides it: walking up
// from the leaf, a class out of ceil tokens blocks, a class with rate tokens
// lends (the leaf sends at that class's level), a class that may borrow
// asks its parent; the root has no parent to ask. Level: 0 for the leaf
// itself, MaxDepth - 1 - depth for an inner class, as Linux numbers them.
// Purely combinational.
module sched_eval #(
  parameter int unsigned MaxDepth = 4,
  localparam int unsigned DW = $clog2(MaxDepth),
  localparam int unsigned KW = DW + 3
) (
  input  logic [2*MaxDepth-1:0] mode_i,   // class at depth j: bits 2j+1 ceil < 0, 2j rate < 0
  input  logic [DW-1:0]         depth_i,  // the leaf's depth
  input  logic [2:0]            prio_i,
  output logic                  elig_o,
  output logic [DW-1:0]         lender_o, // depth of the lending class
  output logic [KW-1:0]         key_o
);
  logic stop;
  logic [DW-1:0] level;
  always_comb begin
    elig_o = 1'b0;
    stop = 1'b0;
    lender_o = '0;
    for (int j = MaxDepth - 1; j >= 0; j--) begin
      if (DW'(j) <= depth_i && !stop) begin
        if (mode_i[2*j+1]) begin
          stop = 1'b1;  // cannot send: blocks its subtree
        end else if (!mode_i[2*j]) begin
          stop = 1'b1;  // has rate tokens: lends
          elig_o = 1'b1;
          lender_o = DW'(j);
        end
      end
    end
    level = (lender_o == depth_i) ? '0 : DW'(MaxDepth - 1) - lender_o;
    key_o = {level, prio_i};
  end
endmodule

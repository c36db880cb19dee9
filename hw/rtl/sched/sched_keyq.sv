// The TX scheduler's ready queues (docs/qos.md): one FIFO of leaf ids per
// key (key = lender level * 8 + prio; a smaller key is served first), each
// a ram_1w1r of NumLeaves entries, since a leaf is in at most one queue.
// FIFO order is the round robin among leaves of equal key.
//
// One push and one pop per cycle: every cycle a queue holds a leaf, the
// head of the lowest nonempty queue is popped; its leaf id comes out two
// cycles later (the RAM read, then the chosen queue's word registered).
// The choice is one-hot, and "count >= 1" and ">= 2" are flip-flops updated
// from the old count by (push, pop), so no adder or compare stands between
// the choice and its effects.
module sched_keyq #(
  parameter int unsigned NumKeys = 32,
  parameter int unsigned NumLeaves = 64,
  localparam int unsigned LW = $clog2(NumLeaves),
  localparam int unsigned KW = $clog2(NumKeys)
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic          push_i,
  input  logic [KW-1:0] push_key_i,
  input  logic [LW-1:0] push_leaf_i,
  output logic          out_valid_o,
  output logic [KW-1:0] out_key_o,
  output logic [LW-1:0] out_leaf_o
);
  localparam int unsigned CntW = LW + 1;

  logic [NumKeys-1:0] nonempty_q, more_q;  // count >= 1, count >= 2
  logic [NumKeys*CntW-1:0] count_q;
  logic [NumKeys*LW-1:0] wr_q, rd_q, rdata;

  // The lowest nonempty queue, one-hot: no binary key between the choice
  // and the pop's effects.
  logic [NumKeys-1:0] pop_oh;
  logic pop;
  logic lower;
  always_comb begin
    lower = 1'b0;
    for (int k = 0; k < NumKeys; k++) begin
      pop_oh[k] = nonempty_q[k] && !lower;
      lower = lower || nonempty_q[k];
    end
  end
  assign pop = |pop_oh;

  for (genvar k = 0; k < NumKeys; k++) begin : g_q
    logic push_k, pop_k, ge3;
    logic [CntW-1:0] cnt;
    logic [LW-1:0] wr, rd;
    assign cnt = count_q[k*CntW +: CntW];
    assign wr = wr_q[k*LW +: LW];
    assign rd = rd_q[k*LW +: LW];
    assign push_k = push_i && push_key_i == KW'(k);
    assign pop_k = pop_oh[k];
    assign ge3 = cnt >= CntW'(3);
    // Read the head every cycle: the word is used only in the cycle after
    // a pop, and a read enable would put the pop choice in front of the
    // RAM's output register.
    ram_1w1r #(.Width(LW), .Depth(NumLeaves)) u_ram (
      .clk_i,
      .we_i(push_k), .waddr_i(wr), .wdata_i(push_leaf_i),
      .re_i(1'b1), .raddr_i(rd), .rdata_o(rdata[k*LW +: LW]));

    // The flags of the new count from the old one's, by (push, pop), so no
    // adder stands between the pop decision and them.
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        count_q[k*CntW +: CntW] <= '0;
        wr_q[k*LW +: LW] <= '0;
        rd_q[k*LW +: LW] <= '0;
        nonempty_q[k] <= 1'b0;
        more_q[k] <= 1'b0;
      end else begin
        if (push_k) wr_q[k*LW +: LW] <= wr + 1'b1;
        if (pop_k) rd_q[k*LW +: LW] <= rd + 1'b1;
        if (push_k && !pop_k) count_q[k*CntW +: CntW] <= cnt + 1'b1;
        if (pop_k && !push_k) count_q[k*CntW +: CntW] <= cnt - 1'b1;
        case ({push_k, pop_k})
          2'b10: begin
            nonempty_q[k] <= 1'b1;
            more_q[k] <= nonempty_q[k];
          end
          2'b01: begin
            nonempty_q[k] <= more_q[k];
            more_q[k] <= ge3;
          end
          default: ;
        endcase
      end
    end
  end

  logic v1_q, v2_q;
  logic [NumKeys-1:0] k1_q;  // the popped queue, one-hot
  // Its word and its key: AND-OR over the queues.
  logic [LW-1:0] head;
  logic [KW-1:0] key1;
  always_comb begin
    head = '0;
    key1 = '0;
    for (int k = 0; k < NumKeys; k++) begin
      if (k1_q[k]) begin
        head = head | rdata[k*LW +: LW];
        key1 = key1 | KW'(k);
      end
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
      k1_q <= '0;
      out_key_o <= '0;
      out_leaf_o <= '0;
    end else begin
      v1_q <= pop;
      k1_q <= pop_oh;
      v2_q <= v1_q;
      out_key_o <= key1;
      out_leaf_o <= head;
    end
  end
  assign out_valid_o = v2_q;
endmodule

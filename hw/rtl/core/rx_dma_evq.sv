// Small flop-based FIFO that accepts up to NumIn pushes per cycle (input 0
// first) and pops one. The RX DMA and notification engines use it to
// serialise control events that arrive without back-pressure, sometimes in
// the same cycle (a CONN_SET/NQ_SET completing while a doorbell is written),
// into their single read-modify-write state pipeline, so that every state
// memory has exactly one write port. Output is first-word-fall-through.
//
// A push that finds the queue full is lost and reported on overflow_o so
// the owner can count it; the owners size Depth so that this needs the host
// to keep ringing doorbells while the DMA write port is stalled for a long time.
module rx_dma_evq #(
  parameter int unsigned Width = 8,
  parameter int unsigned Depth = 16,  // power of two
  parameter int unsigned NumIn = 2,
  localparam int unsigned CountW = $clog2(Depth + 1)
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,
  input  logic [NumIn-1:0]            in_valid_i,
  input  logic [NumIn-1:0][Width-1:0] in_data_i,
  output logic                        out_valid_o,
  input  logic                        out_ready_i,
  output logic [Width-1:0]            out_data_o,
  output logic [CountW-1:0]           count_o,
  output logic                        overflow_o
);
  localparam int unsigned PtrW = $clog2(Depth);

  logic [Width-1:0] mem_q [Depth];
  logic [PtrW-1:0] rd_ptr_q, wr_ptr_q;
  logic [CountW-1:0] count_q;

  logic pop;
  assign out_valid_o = count_q != '0;
  assign out_data_o = mem_q[rd_ptr_q];
  assign pop = out_valid_o && out_ready_i;
  assign count_o = count_q;

  // Room is judged before this cycle's pop so that the write slots computed
  // below never alias the entry being read. A push is accepted when the
  // pushes valid before it (in input order) still leave room: once one is
  // refused the queue is full for every later one, so counting the valid
  // ones rather than the accepted ones gives the same answer, and room[k]
  // depends on count_q alone (no compare behind an adder behind the
  // previous input's decision).
  logic [NumIn-1:0] accept;
  logic [NumIn-1:0] room;
  logic [CountW-1:0] n_acc;
  always_comb begin
    logic [CountW-1:0] n_valid;
    logic ok;
    for (int unsigned k = 0; k < NumIn; k++) begin
      room[k] = 32'(count_q) + k < Depth;
    end
    accept = '0;
    n_acc = '0;
    n_valid = '0;
    overflow_o = 1'b0;
    ok = 1'b0;
    for (int unsigned i = 0; i < NumIn; i++) begin
      if (in_valid_i[i]) begin
        ok = 1'b0;
        for (int unsigned k = 0; k < NumIn; k++) begin
          if (32'(n_valid) == k) ok = room[k];
        end
        if (ok) begin
          accept[i] = 1'b1;
          n_acc = n_acc + 1'b1;
        end else begin
          overflow_o = 1'b1;
        end
        n_valid = n_valid + 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    logic [PtrW-1:0] p;
    p = wr_ptr_q;
    for (int unsigned i = 0; i < NumIn; i++) begin
      if (accept[i]) begin
        mem_q[p] <= in_data_i[i];
        p = p + 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_ptr_q <= '0;
      wr_ptr_q <= '0;
      count_q <= '0;
    end else begin
      wr_ptr_q <= wr_ptr_q + PtrW'(n_acc);
      if (pop) rd_ptr_q <= rd_ptr_q + 1'b1;
      count_q <= count_q + n_acc - CountW'(pop);
    end
  end
endmodule

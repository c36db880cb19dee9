// Receive classification: finds each frame's connection in the flow table,
// reads that connection's context (or the fallback's), and decides the
// frame's fate before any data moves. The overlay slots sit here because this
// is where a frame's owner is first known.
//
// Filter overlay (INPUT chain): a frame that would otherwise be delivered and
// has a good IPv4 header is judged, with the owner of the connection it
// matched (none on the fallback path). Frames already condemned (MAC error,
// runt, too big, no queue) and non-IPv4 frames never reach the rule set, as
// iptables never sees them. Every frame, judged or not, waits the
// filter lookup's fixed latency in a delay line, so order is kept without any
// reordering logic. A DROP verdict turns the frame into RXD_FILTER.
//
// Destination MAC: unless its port is promiscuous (CTRL.PORT_MAC), a frame
// is accepted only for the port's MAC, broadcast or multicast (all groups:
// the host filters them); others are dropped as RXD_DST_MAC after the MAC
// error, size and runt checks. One 48-bit compare against the port's
// register in stage 0, carried in the tag.
//
// REJECT: the NIC does not build ICMP errors or TCP resets; the control plane
// does. A rejected frame is written to the fallback ring (FALLBACK_CONN)
// with the REJECT slot flag instead of to its connection, so normand sees it
// and answers. The fallback's context is needed when the verdict arrives,
// FilterLatency cycles after the frame's own context was read, and the
// context memory's read port is busy with a new frame every cycle. So this
// module keeps its own copy of conn 0's ring fields, written by snooping the
// command interface's context writes (CONN_SET/CONN_CLEAR). It takes effect
// from the cycle after the write, exactly as a read of conn_ctx_mem would, and
// a few registers are cheaper than a second read port on 65,536 entries or
// carrying the fallback context through the delay line beside every frame.
module rx_classify
#(
  parameter int unsigned NumPorts = 2,
  parameter int unsigned FilterLatency = norman_pkg::filter_latency(norman_regmap_pkg::FILTER_ENTRIES),
  // Covers the flow lookup, the context read and the filter verdict, so the
  // pipeline still takes one frame per cycle while the DMA engine drains.
  parameter int unsigned DescFifoDepth = 32
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    meta_valid_i,
  output logic                    meta_ready_o,
  input  norman_pkg::rx_meta_t                meta_i,
  // CTRL.PORT_MAC per port, from flops.
  input  logic [NumPorts-1:0][47:0] port_mac_i,
  input  logic [NumPorts-1:0]     port_promisc_i,
  // Flow table lookup port (fixed latency, no back-pressure).
  output logic                    lookup_valid_o,
  output norman_pkg::flow_key_t               lookup_key_o,
  output norman_pkg::rx_tag_t                 lookup_tag_o,
  input  logic                    lookup_valid_i,
  input  norman_pkg::rx_tag_t                 lookup_tag_i,
  input  logic                    lookup_hit_i,
  input  logic [norman_pkg::ConnIdW-1:0]      lookup_conn_i,
  // Connection context read port (one-cycle latency).
  output logic                    ctx_re_o,
  output logic [norman_pkg::ConnIdW-1:0]      ctx_conn_o,
  input  norman_pkg::conn_ctx_t               ctx_i,
  // Context writes from the command interface (snooped for conn 0).
  input  logic                    ctx_we_i,
  input  logic [norman_pkg::ConnIdW-1:0]      ctx_wconn_i,
  input  norman_pkg::conn_ctx_t               ctx_wdata_i,
  // Filter overlay lookup port (fixed latency FilterLatency, no back-pressure).
  output logic                            flt_valid_o,
  output logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0]   flt_key_o,
  output logic [norman_regmap_pkg::FILTER_FLAGS_W-1:0]       flt_flags_o,
  output logic [15:0]                     flt_bytes_o,
  input  logic                            flt_valid_i,
  input  logic                            flt_hit_i,
  input  logic [norman_regmap_pkg::FILTER_ACTION_W-1:0]      flt_action_i,
  input  logic                            flt_log_i,
  // Instructions for the RX DMA engine.
  output logic                    desc_valid_o,
  input  logic                    desc_ready_i,
  output norman_pkg::rx_desc_t                desc_o,
  output logic [norman_regmap_pkg::NUM_COUNTERS-1:0] cnt_o,
  output logic                    idle_o
);
  // Frames between the meta FIFO and the descriptor FIFO never exceed what
  // the descriptor FIFO can still take, since the flow table cannot stall.
  localparam int unsigned CntW = $clog2(DescFifoDepth + 1);
  logic [CntW-1:0] inflight_q, desc_count;
  logic take, push;

  assign take = meta_valid_i && (32'(inflight_q) + 32'(desc_count) < DescFifoDepth);
  assign meta_ready_o = take;

  // Stage 0: build the key. Only well-formed, first-fragment TCP/UDP frames
  // can belong to a connection; everything else goes to the fallback.
  // The parser extracts more than classification needs; the overlays use the rest.
  /* verilator lint_off UNUSEDSIGNAL */
  norman_pkg::pkt_meta_t m;
  /* verilator lint_on UNUSEDSIGNAL */
  assign m = meta_i.meta;
  logic [47:0] port_mac;
  logic        port_promisc;
  always_comb begin
    port_mac = '0;
    port_promisc = 1'b0;
    for (int unsigned p = 0; p < NumPorts; p++) begin
      if (32'(meta_i.side.port) == p) begin
        port_mac = port_mac_i[p];
        port_promisc = port_promisc_i[p];
      end
    end
  end

  always_comb begin
    lookup_key_o = '0;
    lookup_key_o.proto = m.ip_proto;
    lookup_key_o.is_ipv6 = m.is_ipv6;
    lookup_key_o.local_ip = m.dst_ip;
    lookup_key_o.remote_ip = m.src_ip;
    lookup_key_o.local_port = m.dst_port;
    lookup_key_o.remote_port = m.src_port;
    lookup_tag_o.eligible = (m.is_ipv4 || m.is_ipv6) && (m.is_tcp || m.is_udp) && !m.ip_frag_later
                            && !m.malformed;
    lookup_tag_o.port = meta_i.side.port;
    lookup_tag_o.len = m.frame_len;
    lookup_tag_o.mac_err = meta_i.side.mac_err;
    lookup_tag_o.too_big = meta_i.side.too_big || 32'(m.frame_len) > norman_regmap_pkg::MAX_FRAME_BYTES;
    // Bit 40 is the group bit of the first byte: multicast and broadcast.
    lookup_tag_o.dst_drop = !port_promisc && !m.dst_mac[40] && m.dst_mac != port_mac;
    lookup_tag_o.flags = '0;
    lookup_tag_o.flags[norman_regmap_pkg::RX_SLOT_FLAGS_MALFORMED] = m.malformed;
    lookup_tag_o.flags[norman_regmap_pkg::RX_SLOT_FLAGS_VLAN] = m.has_vlan;
    lookup_tag_o.flags[norman_regmap_pkg::RX_SLOT_FLAGS_FRAG] = m.ip_frag;
    lookup_tag_o.flt = norman_pkg::flt_hdr_of(m);
  end
  assign lookup_valid_o = take;

  // Stage 1: read the context of the matched connection, or of the fallback.
  logic hit;
  assign hit = lookup_valid_i && lookup_tag_i.eligible && lookup_hit_i;
  assign ctx_re_o = lookup_valid_i;
  assign ctx_conn_o = hit ? lookup_conn_i : norman_pkg::ConnIdW'(norman_regmap_pkg::FALLBACK_CONN);

  logic s2_valid_q, s2_hit_q;
  logic s2_runt_q;  // the length check, done here so stage 2 starts from it
  norman_pkg::rx_tag_t s2_tag_q;
  logic [norman_pkg::ConnIdW-1:0] s2_conn_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s2_valid_q <= 1'b0;
      s2_hit_q <= 1'b0;
      s2_runt_q <= 1'b0;
      s2_tag_q <= '0;
      s2_conn_q <= '0;
    end else begin
      s2_valid_q <= lookup_valid_i;
      s2_hit_q <= hit;
      s2_tag_q <= lookup_tag_i;
      s2_runt_q <= 32'(lookup_tag_i.len) < norman_regmap_pkg::MIN_FRAME_BYTES;
      s2_conn_q <= ctx_conn_o;
    end
  end

  // Stage 2: decide the fate. Earlier checks win: a frame the MAC flagged is
  // a MAC error even if it is also too short.
  norman_pkg::rx_desc_t desc;
  always_comb begin
    desc.conn_id = s2_conn_q;
    desc.rx_base = ctx_i.rx_base;
    desc.rx_log2 = ctx_i.rx_log2;
    desc.nq_id = ctx_i.nq_id;
    desc.len = s2_tag_q.len;
    desc.flags = s2_tag_q.flags;
    desc.fallback = !s2_hit_q;
    if (s2_tag_q.mac_err) desc.drop = norman_pkg::RXD_MAC_ERROR;
    else if (s2_tag_q.too_big) desc.drop = norman_pkg::RXD_TOO_BIG;
    else if (s2_runt_q) desc.drop = norman_pkg::RXD_RUNT;
    else if (s2_tag_q.dst_drop) desc.drop = norman_pkg::RXD_DST_MAC;
    else if (!ctx_i.valid) desc.drop = norman_pkg::RXD_NO_QUEUE;
    else desc.drop = norman_pkg::RXD_NONE;
    // Capture overlay slot (ndump): matching frames will be mirrored here.
  end

  // Filter key: the frame's headers, its arrival port and the owner of the
  // connection it matched.
  logic judge;
  norman_pkg::flt_owner_t owner;
  assign judge = s2_valid_q && s2_tag_q.flt.judge && desc.drop == norman_pkg::RXD_NONE;
  assign owner.uid = ctx_i.owner.uid;
  assign owner.gid = ctx_i.owner.gid;
  assign owner.cmd_id = ctx_i.owner.cmd_id;
  assign owner.cgroup = ctx_i.owner.cgroup;
  assign flt_valid_o = judge;
  assign flt_key_o = norman_pkg::flt_key_of(s2_tag_q.flt, s2_tag_q.port, s2_hit_q, owner);
  assign flt_flags_o = norman_pkg::flt_flags_of(s2_tag_q.flt, 1'b0, s2_hit_q);
  assign flt_bytes_o = s2_tag_q.flt.ip_len;

  // Every frame waits exactly FilterLatency cycles, judged or not.
  logic dl_valid, dl_judged;
  norman_pkg::rx_desc_t dl_desc;
  delay_line #(.Width(norman_pkg::RxDescW), .Depth(FilterLatency)) u_delay (
    .clk_i, .rst_ni,
    .valid_i(s2_valid_q), .flag_i(judge), .data_i(desc),
    .valid_o(dl_valid), .flag_o(dl_judged), .data_o(dl_desc));

  // The fallback's ring, as conn_ctx_mem holds it (valid clears on reset,
  // like conn_ctx_mem's valid bits; the rest is qualified by valid).
  logic fb_valid_q;
  logic [63:0] fb_rx_base_q;
  logic [4:0] fb_rx_log2_q;
  logic [norman_pkg::NqIdW-1:0] fb_nq_q;
  logic fb_we;
  assign fb_we = ctx_we_i && ctx_wconn_i == norman_pkg::ConnIdW'(norman_regmap_pkg::FALLBACK_CONN);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) fb_valid_q <= 1'b0;
    else if (fb_we) fb_valid_q <= ctx_wdata_i.valid;
  end
  always_ff @(posedge clk_i) begin
    if (fb_we) begin
      fb_rx_base_q <= ctx_wdata_i.rx_base;
      fb_rx_log2_q <= ctx_wdata_i.rx_log2;
      fb_nq_q <= ctx_wdata_i.nq_id;
    end
  end

  logic last_judged, flt_deny, flt_reject;
  norman_pkg::rx_desc_t desc_out;
  assign last_judged = dl_valid && dl_judged;
  assign flt_deny = last_judged && flt_valid_i && flt_hit_i
                    && 32'(flt_action_i) != norman_regmap_pkg::FILTER_ACTIONS_ACCEPT;
  assign flt_reject = flt_deny && 32'(flt_action_i) == norman_regmap_pkg::FILTER_ACTIONS_REJECT;
  always_comb begin
    desc_out = dl_desc;
    if (flt_reject) begin
      // Judged frames had no drop reason, so this is the frame's only fate:
      // the fallback ring (its indices and notification queue in
      // rx_dma_engine), or no queue if there is no fallback to tell.
      desc_out.conn_id = norman_pkg::ConnIdW'(norman_regmap_pkg::FALLBACK_CONN);
      desc_out.rx_base = fb_rx_base_q;
      desc_out.rx_log2 = fb_rx_log2_q;
      desc_out.nq_id = fb_nq_q;
      desc_out.fallback = 1'b1;
      desc_out.flags[norman_regmap_pkg::RX_SLOT_FLAGS_REJECT] = 1'b1;
      desc_out.drop = fb_valid_q ? norman_pkg::RXD_NONE : norman_pkg::RXD_NO_QUEUE;
    end else if (flt_deny) begin
      desc_out.drop = norman_pkg::RXD_FILTER;
    end
  end

`ifndef SYNTHESIS
  // A verdict belongs to the frame leaving the delay line, or latency is off.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (rst_ni) begin
      assert (flt_valid_i == last_judged)
        else $error("rx_classify: filter verdict out of step with the delay line");
    end
  end
`endif

  assign push = dl_valid;

  logic desc_in_ready;
  sync_fifo #(.Width(norman_pkg::RxDescW), .Depth(DescFifoDepth)) u_desc_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(push), .in_ready_o(desc_in_ready), .in_data_i(desc_out),
    .out_valid_o(desc_valid_o), .out_ready_i(desc_ready_i), .out_data_o(desc_o),
    .count_o(desc_count));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) inflight_q <= '0;
    else inflight_q <= inflight_q + CntW'(take) - CntW'(push);
  end

  always_comb begin
    cnt_o = '0;
    cnt_o[norman_regmap_pkg::CNT_RX_MALFORMED] = take && m.malformed;
    cnt_o[norman_regmap_pkg::CNT_FILTER_RX_LOOKUPS] = judge;
    cnt_o[norman_regmap_pkg::CNT_FILTER_LOG_HITS] = flt_valid_i && flt_hit_i && flt_log_i;
  end

  // The descriptor FIFO cannot overflow (see inflight_q); the TX fields of
  // the context are not the receive path's business.
  logic unused;
  assign unused = desc_in_ready ^ (|ctx_i) ^ s2_tag_q.eligible ^ (|ctx_wdata_i);
  assign idle_o = inflight_q == '0 && !desc_valid_o;
endmodule

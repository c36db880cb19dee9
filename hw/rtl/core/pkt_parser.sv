// Header parser: snoops a beat stream and emits one pkt_meta_t per frame,
// ParserLatency cycles after the frame's last beat.
//
// Pipeline (one frame per cycle, no back-pressure), each stage at most 7 LUT
// levels deep (250 MHz on UltraScale+, docs/hardware.md):
//   input:   register the beat, so nothing upstream adds to the byte count.
//   capture: count the frame's bytes; hold its first beats until the last
//            one; register the frame's length and header window.
//   stage 1: Ethernet + one 802.1Q tag; align the L3 header to byte 0.
//   stage 2: ARP / IPv4 / IPv6; align the L4 header to byte 0.
//   stage 3: TCP / UDP / ICMP(v6) and the error priority; register the result.
//
// Error policy: checks run in header order and the first failure wins. A
// header that fails (or whose bytes are missing) contributes only what its
// predecessors already established, so its own fields and those of every
// later header stay zero. Length checks of a header use the bytes its
// enclosing header grants it: L3 is bounded by the frame, L4 by the IP
// packet (so Ethernet padding never makes a short IP packet look complete).
// is_tcp / is_udp / is_icmp and l4_offset promise an L4 header, so later
// IPv4 fragments (ip_frag_later) carry none of them, only ip_proto.
// A frame whose bytes counted exceed 16 bits reports frame_len = 0xFFFF.
module pkt_parser (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             beat_valid_i,
  input  logic [norman_pkg::DataW-1:0] beat_data_i,
  input  logic [norman_pkg::KeepW-1:0] beat_keep_i,
  input  logic             beat_last_i,
  output logic             meta_valid_o,
  output norman_pkg::pkt_meta_t        meta_o
);

  // Part of the module's contract (docs/hw-interfaces.md); the two register
  // stages below implement it, and users size their side FIFOs by it.
  /* verilator lint_off UNUSEDPARAM */
  localparam int unsigned ParserLatency = 5;
  /* verilator lint_on UNUSEDPARAM */

  localparam int unsigned EthHdrBytes = 14;
  localparam int unsigned MaxL2Bytes  = EthHdrBytes + 4;
  // Bytes of an L4 header the parser reads: TCP up to its flags byte. UDP (8)
  // and ICMP (type, code) need fewer.
  localparam int unsigned L4WinBytes  = 14;
  // Longest IPv4 header (IHL 15) plus the L4 bytes; IPv6 (40 + 14) and ARP
  // (28) fit in less.
  localparam int unsigned L3WinBytes  = 60 + L4WinBytes;
  // No field lies beyond this byte of a frame, so the rest of ParseBytes
  // never needs to be stored.
  localparam int unsigned HdrBytes    = MaxL2Bytes + L3WinBytes;
  localparam int unsigned Beat1Bytes  = HdrBytes - norman_pkg::KeepW;
  localparam int unsigned KeepCntW    = $clog2(norman_pkg::KeepW + 1);

  localparam logic [15:0] EtherTypeIpv4 = 16'h0800;
  localparam logic [15:0] EtherTypeArp  = 16'h0806;
  localparam logic [15:0] EtherTypeVlan = 16'h8100;
  localparam logic [15:0] EtherTypeIpv6 = 16'h86DD;
  localparam logic [7:0]  ProtoIcmp     = 8'd1;
  localparam logic [7:0]  ProtoTcp      = 8'd6;
  localparam logic [7:0]  ProtoUdp      = 8'd17;
  localparam logic [7:0]  ProtoIcmpv6   = 8'd58;

  // ---------------------------------------------------------------------------
  // Capture

  // Input register: the byte count below starts from flip-flops.
  logic                          in_valid_q, in_last_q;
  logic [norman_pkg::DataW-1:0]  in_data_q;
  logic [norman_pkg::KeepW-1:0]  in_keep_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_valid_q <= 1'b0;
    end else begin
      in_valid_q <= beat_valid_i;
    end
  end

  always_ff @(posedge clk_i) begin
    if (beat_valid_i) begin
      in_last_q <= beat_last_i;
      in_data_q <= beat_data_i;
      in_keep_q <= beat_keep_i;
    end
  end

  // 0: the next beat starts a frame, 1: it is the second, 2: third or later.
  logic [1:0]              beat_idx_q;
  logic [norman_pkg::LenW-1:0]         len_q;
  logic [norman_pkg::DataW-1:0]        beat0_q;
  logic [Beat1Bytes*8-1:0] beat1_q;

  logic [KeepCntW-1:0]     beat_bytes;
  logic [norman_pkg::LenW-1:0]         len_base;
  logic [norman_pkg::LenW:0]           len_sum;
  logic [norman_pkg::LenW-1:0]         frame_len;
  logic [HdrBytes*8-1:0]   hdr_flat;

  always_comb begin
    beat_bytes = KeepCntW'($countones(in_keep_q));
    len_base   = (beat_idx_q == 2'd0) ? '0 : len_q;
    len_sum    = {1'b0, len_base} + (norman_pkg::LenW + 1)'(beat_bytes);
    frame_len  = len_sum[norman_pkg::LenW] ? '1 : len_sum[norman_pkg::LenW-1:0];
    // The frame's last beat may be its first or second one, so the header
    // window takes those beats straight from the input register.
    hdr_flat[norman_pkg::KeepW*8-1:0] = (beat_idx_q == 2'd0) ? in_data_q : beat0_q;
    hdr_flat[HdrBytes*8-1:norman_pkg::KeepW*8] =
        (beat_idx_q == 2'd1) ? in_data_q[Beat1Bytes*8-1:0] : beat1_q;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      beat_idx_q <= 2'd0;
      len_q      <= '0;
    end else if (in_valid_q) begin
      beat_idx_q <= in_last_q ? 2'd0 : ((beat_idx_q == 2'd2) ? 2'd2 : beat_idx_q + 2'd1);
      len_q      <= frame_len;
    end
  end

  always_ff @(posedge clk_i) begin
    if (in_valid_q && beat_idx_q == 2'd0) beat0_q <= in_data_q;
    if (in_valid_q && beat_idx_q == 2'd1) beat1_q <= in_data_q[Beat1Bytes*8-1:0];
  end

  logic unused_beat_tail;
  assign unused_beat_tail = ^in_data_q[norman_pkg::DataW-1:Beat1Bytes*8];

  // The finished frame: its length and header window.
  logic                        cap_valid_q;
  logic [norman_pkg::LenW-1:0] cap_len_q;
  logic [HdrBytes*8-1:0]       cap_hdr_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cap_valid_q <= 1'b0;
    end else begin
      cap_valid_q <= in_valid_q && in_last_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (in_valid_q && in_last_q) begin
      cap_len_q <= frame_len;
      cap_hdr_q <= hdr_flat;
    end
  end

  // ---------------------------------------------------------------------------
  // Stage 1: Ethernet and 802.1Q

  typedef struct packed {
    logic [norman_pkg::LenW-1:0]              frame_len;
    logic [47:0]                  dst_mac;
    logic [47:0]                  src_mac;
    logic [15:0]                  ethertype;
    logic                         is_arp;     // L2 ok and the ethertype's class,
    logic                         is_ipv4;    // decided here so that stage 2
    logic                         is_ipv6;    // starts from flip-flops
    logic                         has_vlan;
    logic [11:0]                  vlan_id;
    logic [2:0]                   vlan_pcp;
    norman_pkg::parse_err_e                   err;
    logic [7:0]                   l3_offset;
    logic [norman_pkg::LenW-1:0]              l3_avail;   // frame bytes from the L3 header on
    logic [L3WinBytes-1:0][7:0]   l3;         // byte i = L3 header byte i
  } l2_t;

  logic [MaxL2Bytes-1:0][7:0] hb;
  logic runt, vlan, trunc_vlan, l2_ok;
  l2_t  l2_d, l2_q;
  logic l2_valid_q;

  assign hb = cap_hdr_q[MaxL2Bytes*8-1:0];

  always_comb begin
    runt       = cap_len_q < norman_pkg::LenW'(EthHdrBytes);
    vlan       = !runt && {hb[12], hb[13]} == EtherTypeVlan;
    trunc_vlan = vlan && cap_len_q < norman_pkg::LenW'(MaxL2Bytes);

    l2_d           = '0;
    l2_d.frame_len = cap_len_q;
    l2_ok          = !runt && !trunc_vlan;
    l2_d.has_vlan  = vlan;
    l2_d.err       = runt ? norman_pkg::PERR_RUNT : (trunc_vlan ? norman_pkg::PERR_TRUNC_VLAN : norman_pkg::PERR_NONE);
    if (!runt) begin
      l2_d.dst_mac = {hb[0], hb[1], hb[2], hb[3], hb[4], hb[5]};
      l2_d.src_mac = {hb[6], hb[7], hb[8], hb[9], hb[10], hb[11]};
    end
    if (l2_ok) begin
      if (vlan) begin
        l2_d.vlan_pcp  = hb[14][7:5];
        l2_d.vlan_id   = {hb[14][3:0], hb[15]};
        l2_d.ethertype = {hb[16], hb[17]};
        l2_d.l3_offset = 8'(MaxL2Bytes);
        l2_d.l3        = cap_hdr_q[MaxL2Bytes*8 +: L3WinBytes*8];
      end else begin
        l2_d.ethertype = {hb[12], hb[13]};
        l2_d.l3_offset = 8'(EthHdrBytes);
        l2_d.l3        = cap_hdr_q[EthHdrBytes*8 +: L3WinBytes*8];
      end
      l2_d.l3_avail = cap_len_q - norman_pkg::LenW'(l2_d.l3_offset);
      l2_d.is_arp   = l2_d.ethertype == EtherTypeArp;
      l2_d.is_ipv4  = l2_d.ethertype == EtherTypeIpv4;
      l2_d.is_ipv6  = l2_d.ethertype == EtherTypeIpv6;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      l2_valid_q <= 1'b0;
    end else begin
      l2_valid_q <= cap_valid_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (cap_valid_q) l2_q <= l2_d;
  end

  // ---------------------------------------------------------------------------
  // Stage 2: ARP, IPv4, IPv6

  logic [L3WinBytes-1:0][7:0] b;
  assign b = l2_q.l3;

  // What stage 3 needs besides the metadata established so far.
  typedef struct packed {
    norman_pkg::parse_err_e     l2_err;
    norman_pkg::parse_err_e     l3_err;
    logic                       l4_expected;
    logic                       is_ipv4;
    logic [7:0]                 proto;
    logic [5:0]                 ip_hdr_len;
    logic [15:0]                ip_payload;
    logic [L4WinBytes-1:0][7:0] l4;       // byte i = L4 header byte i
  } l3_t;

  logic            is_arp, is_ipv4, is_ipv6;
  logic [3:0]      ihl;
  logic [5:0]      ip_hdr_len;
  logic [15:0]     ipv4_total, ipv6_payload, ip_payload;
  logic [12:0]     frag_offset;
  logic            ip_ok, l4_expected;
  logic [7:0]      proto;
  norman_pkg::parse_err_e      l3_err;
  norman_pkg::pkt_meta_t       m3_d, m3_q;
  l3_t             l3_d, l3_q;
  logic            l3_valid_q;

  always_comb begin
    is_arp  = l2_q.is_arp;
    is_ipv4 = l2_q.is_ipv4;
    is_ipv6 = l2_q.is_ipv6;

    ihl          = b[0][3:0];
    ipv4_total   = {b[2], b[3]};
    ipv6_payload = {b[4], b[5]};
    frag_offset  = {b[6][4:0], b[7]};
    ip_hdr_len   = is_ipv6 ? 6'd40 : {ihl, 2'b00};
    ip_payload   = is_ipv6 ? ipv6_payload : ipv4_total - 16'(ip_hdr_len);
    proto        = is_ipv6 ? b[6] : b[9];

    l3_err = norman_pkg::PERR_NONE;
    if (is_arp) begin
      if (l2_q.l3_avail < 16'd28) l3_err = norman_pkg::PERR_TRUNC_ARP;
    end else if (is_ipv4) begin
      // The fixed 20 bytes must be there before any field of them is trusted;
      // the options are checked once IHL is known to be sane.
      if (l2_q.l3_avail < 16'd20) l3_err = norman_pkg::PERR_TRUNC_IPV4;
      else if (b[0][7:4] != 4'd4) l3_err = norman_pkg::PERR_IPV4_VERSION;
      else if (ihl < 4'd5) l3_err = norman_pkg::PERR_IPV4_IHL;
      else if (l2_q.l3_avail < 16'(ip_hdr_len)) l3_err = norman_pkg::PERR_TRUNC_IPV4;
      else if (ipv4_total < 16'(ip_hdr_len) || ipv4_total > l2_q.l3_avail) l3_err = norman_pkg::PERR_IPV4_LEN;
    end else if (is_ipv6) begin
      if (l2_q.l3_avail < 16'd40) l3_err = norman_pkg::PERR_TRUNC_IPV6;
      else if (b[0][7:4] != 4'd6) l3_err = norman_pkg::PERR_IPV6_VERSION;
      else if (ipv6_payload > l2_q.l3_avail - 16'd40) l3_err = norman_pkg::PERR_IPV6_LEN;
    end
    ip_ok       = (is_ipv4 || is_ipv6) && l3_err == norman_pkg::PERR_NONE;
    // Later IPv4 fragments start mid-payload: there is no L4 header to read.
    l4_expected = ip_ok && !(is_ipv4 && frag_offset != '0);

    l3_d             = '0;
    l3_d.l2_err      = l2_q.err;
    l3_d.l3_err      = l3_err;
    l3_d.l4_expected = l4_expected;
    l3_d.is_ipv4     = is_ipv4;
    l3_d.proto       = proto;
    l3_d.ip_hdr_len  = ip_hdr_len;
    l3_d.ip_payload  = ip_payload;
    l3_d.l4          = b[ip_hdr_len +: L4WinBytes];

    m3_d = '0;
    m3_d.frame_len = l2_q.frame_len;
    m3_d.dst_mac   = l2_q.dst_mac;
    m3_d.src_mac   = l2_q.src_mac;
    m3_d.ethertype = l2_q.ethertype;
    m3_d.has_vlan  = l2_q.has_vlan;
    m3_d.vlan_id   = l2_q.vlan_id;
    m3_d.vlan_pcp  = l2_q.vlan_pcp;
    m3_d.is_arp    = is_arp;
    m3_d.is_ipv4   = is_ipv4;
    m3_d.is_ipv6   = is_ipv6;
    if (is_arp || is_ipv4 || is_ipv6) m3_d.l3_offset = l2_q.l3_offset;

    if (ip_ok) begin
      m3_d.ip_proto = proto;
      if (is_ipv4) begin
        m3_d.ip_ttl        = b[8];
        m3_d.ip_dscp       = b[1][7:2];
        m3_d.ip_frag       = b[6][5] || frag_offset != '0;
        m3_d.ip_frag_later = frag_offset != '0;
        m3_d.ip_options    = ihl != 4'd5;
        m3_d.ipv4_len      = ipv4_total;
        m3_d.src_ip[31:0]  = {b[12], b[13], b[14], b[15]};
        m3_d.dst_ip[31:0]  = {b[16], b[17], b[18], b[19]};
      end else begin
        m3_d.ip_ttl  = b[7];
        m3_d.ip_dscp = {b[0][3:0], b[1][7:6]};
        for (int unsigned i = 0; i < 16; i++) begin
          m3_d.src_ip[127 - 8*i -: 8] = b[8 + i];
          m3_d.dst_ip[127 - 8*i -: 8] = b[24 + i];
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      l3_valid_q <= 1'b0;
    end else begin
      l3_valid_q <= l2_valid_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (l2_valid_q) begin
      m3_q <= m3_d;
      l3_q <= l3_d;
    end
  end

  // ---------------------------------------------------------------------------
  // Stage 3: TCP, UDP, ICMP(v6)

  logic [L4WinBytes-1:0][7:0] l4;
  logic                       unused_tcp_seq_ack;  // read past only to reach the TCP flags
  logic [15:0]     udp_len;
  logic [3:0]      tcp_doff;
  norman_pkg::parse_err_e      l4_err;
  norman_pkg::pkt_meta_t       meta_d, meta_q;
  logic            meta_valid_q;

  always_comb begin
    l4       = l3_q.l4;
    unused_tcp_seq_ack = ^l4[11:6];
    udp_len  = {l4[4], l4[5]};
    tcp_doff = l4[12][7:4];

    meta_d = m3_q;
    if (l3_q.l4_expected) begin
      meta_d.l4_offset = m3_q.l3_offset + 8'(l3_q.ip_hdr_len);
      meta_d.is_tcp    = l3_q.proto == ProtoTcp;
      meta_d.is_udp    = l3_q.proto == ProtoUdp;
      meta_d.is_icmp   = l3_q.is_ipv4 ? l3_q.proto == ProtoIcmp : l3_q.proto == ProtoIcmpv6;
    end

    l4_err = norman_pkg::PERR_NONE;
    if (meta_d.is_tcp) begin
      if (l3_q.ip_payload < 16'd20) l4_err = norman_pkg::PERR_TRUNC_L4;
      else if (tcp_doff < 4'd5) l4_err = norman_pkg::PERR_TCP_DOFF;
      else if (l3_q.ip_payload < {10'd0, tcp_doff, 2'b00}) l4_err = norman_pkg::PERR_TRUNC_L4;
    end else if (meta_d.is_udp) begin
      if (l3_q.ip_payload < 16'd8) l4_err = norman_pkg::PERR_TRUNC_L4;
      else if (udp_len < 16'd8 || udp_len > l3_q.ip_payload) l4_err = norman_pkg::PERR_UDP_LEN;
    end else if (meta_d.is_icmp) begin
      // ICMP and ICMPv6 messages all carry at least 8 header bytes.
      if (l3_q.ip_payload < 16'd8) l4_err = norman_pkg::PERR_TRUNC_L4;
    end

    if (l4_err == norman_pkg::PERR_NONE) begin
      if (meta_d.is_tcp || meta_d.is_udp) begin
        meta_d.src_port = {l4[0], l4[1]};
        meta_d.dst_port = {l4[2], l4[3]};
      end
      if (meta_d.is_tcp) meta_d.tcp_flags = l4[13];
      if (meta_d.is_icmp) begin
        meta_d.icmp_type = l4[0];
        meta_d.icmp_code = l4[1];
      end
    end

    if (l3_q.l2_err != norman_pkg::PERR_NONE) meta_d.err = l3_q.l2_err;
    else if (l3_q.l3_err != norman_pkg::PERR_NONE) meta_d.err = l3_q.l3_err;
    else meta_d.err = l4_err;
    meta_d.malformed = meta_d.err != norman_pkg::PERR_NONE;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      meta_valid_q <= 1'b0;
    end else begin
      meta_valid_q <= l3_valid_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (l3_valid_q) meta_q <= meta_d;
  end

  assign meta_valid_o = meta_valid_q;
  assign meta_o       = meta_q;

endmodule

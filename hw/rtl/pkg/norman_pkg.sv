// Types shared by the core's modules. Host-visible numbers (addresses,
// opcodes, counter indices, ring formats) come from the generated
// norman_regmap_pkg instead, so they are defined in one place.
/* verilator lint_off UNUSEDPARAM */
package norman_pkg;

  localparam int unsigned DataW = 512;
  localparam int unsigned KeepW = DataW / 8;
  localparam int unsigned ConnIdW = 16;
  localparam int unsigned NqIdW = 10;
  localparam int unsigned PortIdW = 4;
  localparam int unsigned LenW = 16;
  localparam int unsigned DmaAddrW = 64;
  localparam int unsigned DmaLenW = 16;
  localparam int unsigned DmaTagW = 8;
  localparam int unsigned IrqVecW = 16;
  localparam int unsigned CsrAddrW = 32;

  // Bytes of each frame the parser looks at (two beats): enough for
  // Ethernet + 802.1Q + IPv4 with 40 bytes of options + the L4 ports/flags.
  localparam int unsigned ParseBytes = 128;

  // Parser error codes (pkt_meta_t.err); zero means well-formed.
  typedef enum logic [3:0] {
    PERR_NONE         = 4'd0,
    PERR_RUNT         = 4'd1,  // shorter than an Ethernet header
    PERR_TRUNC_VLAN   = 4'd2,  // ends inside the 802.1Q tag
    PERR_TRUNC_ARP    = 4'd3,
    PERR_IPV4_VERSION = 4'd4,  // version field != 4 on an IPv4 ethertype
    PERR_IPV4_IHL     = 4'd5,  // IHL < 5
    PERR_IPV4_LEN     = 4'd6,  // total length < header or > frame
    PERR_TRUNC_IPV4   = 4'd7,  // frame ends inside the IPv4 header
    PERR_IPV6_VERSION = 4'd8,
    PERR_IPV6_LEN     = 4'd9,  // payload length > frame
    PERR_TRUNC_IPV6   = 4'd10,
    PERR_TRUNC_L4     = 4'd11, // frame ends inside the TCP/UDP/ICMP header
    PERR_TCP_DOFF     = 4'd12, // TCP data offset < 5
    PERR_UDP_LEN      = 4'd13  // UDP length < 8 or > IP payload
  } parse_err_e;

  // What the parser extracts from one frame. Addresses of IPv4 frames sit in
  // the low 32 bits of the 128-bit fields; fields of absent headers are zero.
  typedef struct packed {
    logic [LenW-1:0] frame_len;   // bytes, without FCS
    logic [47:0]     dst_mac;
    logic [47:0]     src_mac;
    logic [15:0]     ethertype;   // after any 802.1Q tag
    logic            has_vlan;
    logic [11:0]     vlan_id;
    logic [2:0]      vlan_pcp;
    logic            is_arp;
    logic            is_ipv4;
    logic            is_ipv6;
    logic            is_tcp;
    logic            is_udp;
    logic            is_icmp;     // ICMP over IPv4 or ICMPv6 over IPv6
    logic            ip_frag;     // IPv4 MF set or fragment offset != 0
    logic            ip_frag_later; // not the first fragment: no L4 header
    logic            ip_options;  // IPv4 IHL > 5
    logic [7:0]      ip_proto;    // IPv4 protocol / IPv6 next header
    logic [7:0]      ip_ttl;      // TTL / hop limit
    logic [5:0]      ip_dscp;
    logic [15:0]     ipv4_len;    // IPv4 total length; zero unless the IPv4 header is good
    logic [127:0]    src_ip;
    logic [127:0]    dst_ip;
    logic [15:0]     src_port;    // TCP/UDP only
    logic [15:0]     dst_port;
    logic [7:0]      tcp_flags;   // CWR ECE URG ACK PSH RST SYN FIN
    logic [7:0]      icmp_type;
    logic [7:0]      icmp_code;
    logic [7:0]      l3_offset;   // byte offset of the IP/ARP header
    logic [7:0]      l4_offset;   // byte offset of the L4 header
    logic            malformed;   // err != PERR_NONE
    parse_err_e      err;
  } pkt_meta_t;

  // Exact-match key of the connection table, oriented from the NIC's host
  // side: local = our address (RX destination), remote = the peer.
  typedef struct packed {
    logic [7:0]   proto;
    logic         is_ipv6;
    logic [127:0] local_ip;
    logic [127:0] remote_ip;
    logic [15:0]  local_port;
    logic [15:0]  remote_port;
  } flow_key_t;

  // Owner metadata, written by the control plane with each connection.
  typedef struct packed {
    logic [31:0] pid;
    logic [31:0] uid;
    logic [31:0] gid;
    logic [15:0] cmd_id;
    logic [15:0] cgroup;
  } owner_t;

  // Connection context: everything the datapath needs about a connection
  // besides its ring indices (which the RX/TX engines own).
  typedef struct packed {
    logic                valid;
    logic [NqIdW-1:0]    nq_id;
    logic [PortIdW-1:0]  port;
    logic                raw;        // TX header check waived
    logic                notify_tx;  // post TX_DONE notifications
    logic                broadcast;  // may send to IPv4 broadcast addresses
    logic [63:0]         rx_base;
    logic [4:0]          rx_log2;
    logic [63:0]         tx_desc_base;
    logic [63:0]         tx_data_base;
    logic [4:0]          tx_log2;
    owner_t              owner;
    // TX header check: what the connection's frames must carry.
    logic [47:0]         src_mac;
    logic [7:0]          proto;
    logic                is_ipv6;
    logic [15:0]         src_port;
    logic [127:0]        src_ip;
  } conn_ctx_t;

  // Why the RX path discards a frame (rx_desc_t.drop).
  typedef enum logic [3:0] {
    RXD_NONE      = 4'd0,
    RXD_MAC_ERROR = 4'd1,
    RXD_RUNT      = 4'd2,
    RXD_TOO_BIG   = 4'd3,
    RXD_NO_QUEUE  = 4'd4,
    RXD_DISABLED  = 4'd5,
    RXD_FILTER    = 4'd6,
    RXD_DST_MAC   = 4'd7   // not the port's MAC, broadcast or multicast (PORT_MAC)
  } rx_drop_e;

  // One frame's instructions to the RX DMA engine; its data follows on the
  // packet stream (lane-0 aligned beats, tlast on the final beat).
  typedef struct packed {
    logic [ConnIdW-1:0] conn_id;
    logic [63:0]        rx_base;  // the connection's ring, from its context
    logic [4:0]         rx_log2;
    logic [NqIdW-1:0]   nq_id;
    logic [LenW-1:0]    len;
    logic [3:0]         flags;    // RX_SLOT flags
    rx_drop_e           drop;     // != RXD_NONE: consume the data, write nothing
    // Written to conn 0's ring: nothing matched, or a REJECT verdict (which
    // also sets the REJECT flag and is counted as RX_FILTER_REJECTED).
    logic               fallback;
  } rx_desc_t;

  // Frame facts known at ingress, carried beside the parser's metadata.
  typedef struct packed {
    logic [PortIdW-1:0] port;
    logic               mac_err;  // the MAC flagged the frame
    logic               too_big;  // longer than MAX_FRAME_BYTES (data was cut)
  } rx_side_t;

  typedef struct packed {
    pkt_meta_t meta;
    rx_side_t  side;
  } rx_meta_t;

  // ---------------------------------------------------------------------------
  // Filter overlay (docs/filter-overlay.md). The key layout and flag bits come
  // from the generated package; kernel/filter/key_of_frame.cpp is the C++
  // mirror of flt_hdr_of + flt_key_of + flt_flags_of, check for check.

  // What a frame's headers contribute to its filter key. The rest (IFACE,
  // DIR, the owner) depends on where the frame is judged.
  typedef struct packed {
    logic        judge;      // IPv4 with a good IPv4 header: the filter's business
    logic [7:0]  proto;
    logic [31:0] src_ip;
    logic [31:0] dst_ip;
    logic [15:0] sport;      // TCP/UDP source port; ICMP type << 8 | code
    logic [15:0] dport;
    logic        frag;       // not the first fragment
    logic        l4_valid;   // the L4 header passed the parser's checks
    logic [7:0]  tcp_flags;
    logic [15:0] ip_len;     // IPv4 total length: what the hit counters count
  } flt_hdr_t;

  // The owner fields a filter key matches (owner_t without the pid).
  typedef struct packed {
    logic [31:0] uid;
    logic [31:0] gid;
    logic [15:0] cmd_id;
    logic [15:0] cgroup;
  } flt_owner_t;

  // Cycles from a key entering filter_classifier to its result: the module
  // is built to this.
  function automatic int unsigned filter_latency(int unsigned entries);
    int unsigned slot_w;
    slot_w = (entries > 1) ? $clog2(entries) : 1;
    filter_latency = 4 + (slot_w + 1) / 2;
  endfunction

  // Cycles from a key entering filter_lookup (range slots and exact tables)
  // to its verdict: one stage after the classifier ranks the two winners.
  // The stages that wait for a verdict size their delay lines by it.
  function automatic int unsigned filter_lookup_latency(int unsigned entries);
    filter_lookup_latency = filter_latency(entries) + 1;
  endfunction

  // Each function reads the fields of its arguments it needs.
  /* verilator lint_off UNUSEDSIGNAL */

  // Malformed IPv4 frames whose IPv4 header is good (only their L4 header
  // failed) are still judged, on their IPv4 fields: the parser has zeroed
  // the L4 fields, and l4_valid says so.
  function automatic flt_hdr_t flt_hdr_of(pkt_meta_t m);
    flt_hdr_t h;
    h = '0;
    h.judge = m.is_ipv4 && m.ipv4_len != '0;
    h.proto = m.ip_proto;
    h.src_ip = m.src_ip[31:0];
    h.dst_ip = m.dst_ip[31:0];
    h.frag = m.ip_frag_later;
    h.l4_valid = (m.is_tcp || m.is_udp || m.is_icmp) && !m.malformed;
    if (m.is_icmp) begin
      h.sport = {m.icmp_type, m.icmp_code};
    end else begin
      h.sport = m.src_port;
      h.dport = m.dst_port;
    end
    h.tcp_flags = m.tcp_flags;
    h.ip_len = m.ipv4_len;
    flt_hdr_of = h;
  endfunction

  function automatic logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0] flt_key_of(
      flt_hdr_t h, logic [PortIdW-1:0] iface, logic owner_valid, flt_owner_t owner);
    logic [norman_regmap_pkg::FILTER_RANGE_KEY_W-1:0] k;
    flt_owner_t o;
    o = owner_valid ? owner : '0;
    k = '0;
    k[norman_regmap_pkg::FLT_IFACE_LSB +: norman_regmap_pkg::FLT_IFACE_W] = iface;
    k[norman_regmap_pkg::FLT_PROTO_LSB +: norman_regmap_pkg::FLT_PROTO_W] = h.proto;
    k[norman_regmap_pkg::FLT_SRC_IP_LSB +: norman_regmap_pkg::FLT_SRC_IP_W] = h.src_ip;
    k[norman_regmap_pkg::FLT_DST_IP_LSB +: norman_regmap_pkg::FLT_DST_IP_W] = h.dst_ip;
    k[norman_regmap_pkg::FLT_SPORT_LSB +: norman_regmap_pkg::FLT_SPORT_W] = h.sport;
    k[norman_regmap_pkg::FLT_DPORT_LSB +: norman_regmap_pkg::FLT_DPORT_W] = h.dport;
    k[norman_regmap_pkg::FLT_UID_LSB +: norman_regmap_pkg::FLT_UID_W] = o.uid;
    k[norman_regmap_pkg::FLT_GID_LSB +: norman_regmap_pkg::FLT_GID_W] = o.gid;
    k[norman_regmap_pkg::FLT_CMD_ID_LSB +: norman_regmap_pkg::FLT_CMD_ID_W] = o.cmd_id;
    k[norman_regmap_pkg::FLT_CGROUP_LSB +: norman_regmap_pkg::FLT_CGROUP_W] = o.cgroup;
    flt_key_of = k;
  endfunction

  function automatic logic [norman_regmap_pkg::FILTER_FLAGS_W-1:0] flt_flags_of(
      flt_hdr_t h, logic dir, logic owner_valid);
    logic [norman_regmap_pkg::FILTER_FLAGS_W-1:0] f;
    f = '0;
    f[norman_regmap_pkg::FLT_FLAG_DIR] = dir;
    f[norman_regmap_pkg::FLT_FLAG_FRAG] = h.frag;
    f[norman_regmap_pkg::FLT_FLAG_L4_VALID] = h.l4_valid;
    f[norman_regmap_pkg::FLT_FLAG_OWNER_VALID] = owner_valid;
    for (int unsigned b = 0; b < 8; b++) f[norman_regmap_pkg::FLT_FLAG_TCP_FIN + b] = h.tcp_flags[b];
    flt_flags_of = f;
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // What rx_classify carries through the flow-table lookup.
  typedef struct packed {
    logic               eligible;  // a TCP/UDP frame that may belong to a connection
    logic [PortIdW-1:0] port;
    logic [LenW-1:0]    len;
    logic               mac_err;
    logic               too_big;
    logic               dst_drop;  // the destination MAC is not ours (CTRL.PORT_MAC)
    logic [3:0]         flags;     // RX_SLOT flags
    flt_hdr_t           flt;
  } rx_tag_t;

  // A request to post a notification.
  typedef struct packed {
    logic [NqIdW-1:0]   nq_id;
    logic [ConnIdW-1:0] conn_id;
    logic [15:0]        kind;
  } notify_req_t;

  // What tx_engine hands tx_check beside each frame (held on every beat):
  // whose descriptor it is, for the completion, and the connection's
  // context fields the headers are checked against.
  typedef struct packed {
    logic [ConnIdW-1:0] conn_id;
    logic [15:0]        desc_idx;  // free-running TX descriptor index
    logic [PortIdW-1:0] port;
    logic               raw;       // header check waived
    logic               broadcast; // may send to IPv4 broadcast addresses
    logic [47:0]        src_mac;
    logic [7:0]         proto;
    logic               is_ipv6;
    logic [15:0]        src_port;
    logic [127:0]       src_ip;
    // The sender, for the OUTPUT chain: none for the fallback connection,
    // whose frames come from the host kernel.
    logic               owner_valid;
    flt_owner_t         owner;
  } tx_info_t;

  // Widths of the types above, for parameters of generic storage (FIFOs,
  // delay lines). Yosys takes $bits only of a variable, not of a type.
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic int unsigned flow_key_w();
    flow_key_t v;
    flow_key_w = $bits(v);
  endfunction
  localparam int unsigned FlowKeyW = flow_key_w();
  function automatic int unsigned rx_tag_w();
    rx_tag_t v;
    rx_tag_w = $bits(v);
  endfunction
  localparam int unsigned RxTagW = rx_tag_w();
  function automatic int unsigned rx_desc_w();
    rx_desc_t v;
    rx_desc_w = $bits(v);
  endfunction
  localparam int unsigned RxDescW = rx_desc_w();
  function automatic int unsigned rx_side_w();
    rx_side_t v;
    rx_side_w = $bits(v);
  endfunction
  localparam int unsigned RxSideW = rx_side_w();
  function automatic int unsigned rx_meta_w();
    rx_meta_t v;
    rx_meta_w = $bits(v);
  endfunction
  localparam int unsigned RxMetaW = rx_meta_w();
  function automatic int unsigned notify_req_w();
    notify_req_t v;
    notify_req_w = $bits(v);
  endfunction
  localparam int unsigned NotifyReqW = notify_req_w();
  function automatic int unsigned tx_info_w();
    tx_info_t v;
    tx_info_w = $bits(v);
  endfunction
  localparam int unsigned TxInfoW = tx_info_w();
  /* verilator lint_on UNUSEDSIGNAL */

endpackage
/* verilator lint_on UNUSEDPARAM */

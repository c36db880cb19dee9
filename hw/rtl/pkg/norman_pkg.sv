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
    RXD_FILTER    = 4'd6
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
    logic               fallback; // delivered to conn 0 because nothing matched
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

  // What rx_classify carries through the flow-table lookup.
  typedef struct packed {
    logic               eligible;  // a TCP/UDP frame that may belong to a connection
    logic [PortIdW-1:0] port;
    logic [LenW-1:0]    len;
    logic               mac_err;
    logic               too_big;
    logic [3:0]         flags;     // RX_SLOT flags
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
    logic [47:0]        src_mac;
    logic [7:0]         proto;
    logic               is_ipv6;
    logic [15:0]        src_port;
    logic [127:0]       src_ip;
  } tx_info_t;

endpackage
/* verilator lint_on UNUSEDPARAM */

// The reference model of Linux's connection tracking (nf_conntrack, IPv4),
// written as the specification of the NIC's conntrack engine: an entry is a
// small fixed-size record, TCP transitions are a table, time is a
// nanosecond clock the caller passes in, and the table has a fixed capacity
// with Linux's behaviour when it is full (a NEW packet is dropped and
// counted). See docs/conntrack.md for the states, the timeouts and what is
// simplified (TCP window tracking above all).
//
// Use, per packet, as netfilter does: process() at the first hook
// (PREROUTING for packets received, LOCAL_OUT for packets sent) updates an
// existing entry and says what the packet is (NEW, ESTABLISHED, ...); the
// filter then judges it with view(); confirm() at the end of the walk
// inserts the entry of a NEW packet the filter accepted. A NEW packet the
// filter drops leaves no entry.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ruleset_conntrack.hpp"

namespace norman::conntrack {

// Where the packet meets conntrack. Linux verifies L4 checksums only on
// packets received (nf_conntrack_checksum=1 at PREROUTING).
enum class Hook : std::uint8_t { kPreRouting, kLocalOut };

enum class Dir : std::uint8_t { kOriginal = 0, kReply = 1 };

// nf_conntrack's TCP states, with Linux's numbering (tcp_conntrack).
enum class TcpState : std::uint8_t {
  kNone = 0,
  kSynSent,
  kSynRecv,
  kEstablished,
  kFinWait,
  kCloseWait,
  kLastAck,
  kTimeWait,
  kClose,
  kSynSent2,
};
inline constexpr unsigned kTcpStates = 10;
[[nodiscard]] const char* tcp_state_name(TcpState s);

// One direction of a connection. For ICMP, sport is the echo id and dport
// is type << 8 | code (the tuple Linux keys ICMP queries by).
struct Tuple {
  std::uint32_t src = 0;  // host byte order
  std::uint32_t dst = 0;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t proto = 0;
  friend bool operator==(const Tuple&, const Tuple&) = default;
};

// Linux's defaults (/proc/sys/net/netfilter/nf_conntrack_*), in seconds.
struct Timeouts {
  // Indexed by TcpState (kNone unused).
  std::array<std::uint32_t, kTcpStates> tcp{0, 120, 60, 432000, 120, 60, 30, 120, 10, 120};
  std::uint32_t tcp_unacknowledged = 300;  // ESTABLISHED before any reply (loose pickup)
  std::uint32_t udp = 30;                  // nf_conntrack_udp_timeout (unreplied)
  std::uint32_t udp_stream = 120;          // nf_conntrack_udp_timeout_stream (assured)
  std::uint32_t icmp = 30;
  std::uint32_t generic = 600;
};

struct Config {
  std::size_t capacity = 262144;  // nf_conntrack_max
  Timeouts timeouts;
  bool tcp_loose = true;  // nf_conntrack_tcp_loose: pick up connections mid-stream
};

// The per-connection record, fixed size (the NIC's DRAM entry holds the
// same fields; docs/conntrack.md gives its layout).
struct Entry {
  Tuple orig;               // the reply tuple follows from it (reply_of)
  std::uint8_t status = 0;  // filter::ctstatus bits
  TcpState tcp_state = TcpState::kNone;
  // TCP bookkeeping nf_conntrack_proto_tcp keeps for its special cases:
  // the last in-window (or ignored) packet's direction and flag class, the
  // end sequence of an ignored packet (to resynchronise on a SYN/ACK that
  // answers it), and per-direction "this side sent the first FIN".
  std::uint8_t last_index = 5;  // TcpIndex of the last packet (5: none)
  Dir last_dir = Dir::kOriginal;
  std::uint8_t flags = 0;  // kCloseInit << dir, kSimultaneousOpen, kChallengeAck
  std::uint32_t last_end = 0;
  std::uint64_t expires_ns = 0;            // absolute, on the caller's clock
  std::uint64_t stream_ns = 0;             // UDP: seen as a stream once still active after this
  std::array<std::uint64_t, 2> packets{};  // per Dir
  std::array<std::uint64_t, 2> bytes{};    // IPv4 total length, per Dir
};

inline constexpr std::uint8_t kCloseInit = 1;  // << Dir
inline constexpr std::uint8_t kSimultaneousOpen = 4;
inline constexpr std::uint8_t kChallengeAck = 8;

// What xt_conntrack calls ctinfo, with Linux's "no entry" cases.
enum class PacketState : std::uint8_t { kNew, kEstablished, kRelated, kInvalid, kUntracked };

// Why a packet got no entry (INVALID), or was dropped; counted per reason.
enum class Reason : std::uint8_t {
  kNone,
  kMalformed,      // IPv4/L4 header short or inconsistent
  kFragment,       // Linux reassembles first; the model takes whole datagrams
  kChecksum,       // bad L4 checksum on a received packet
  kTcpFlags,       // a flag combination tcp_error refuses
  kTcpNotNew,      // no entry and the packet cannot open one (FIN, RST, SYN/ACK...)
  kTcpOutOfState,  // the transition table says invalid
  kIcmpNotNew,     // no entry and not an ICMP query
  kIcmpNoRelated,  // an ICMP error about no tracked flow
  kTableFull,      // a NEW packet with the table full: dropped
  kCount
};
[[nodiscard]] const char* reason_name(Reason r);

struct Result {
  PacketState state = PacketState::kInvalid;
  Dir dir = Dir::kOriginal;
  Reason reason = Reason::kNone;
  bool drop = false;  // kTableFull: the packet must be dropped before the filter
  // The entry the packet belongs to (an existing one, or the pending one of
  // a NEW packet: then `pending` is set and confirm() inserts it).
  std::optional<Entry> pending;
  std::optional<Tuple> key;  // the existing entry's original tuple
  filter::CtView view;       // what -m state / -m conntrack see
};

struct Stats {
  std::uint64_t found = 0;
  std::uint64_t inserted = 0;
  std::uint64_t expired = 0;
  std::uint64_t drop = 0;  // NEW dropped, table full (Linux's "drop" statistic)
  std::array<std::uint64_t, static_cast<unsigned>(Reason::kCount)> invalid{};
};

[[nodiscard]] Tuple reply_of(const Tuple& orig);

class Table {
 public:
  explicit Table(Config config = {});

  // One IPv4 packet (from its IPv4 header on) at time now_ns.
  [[nodiscard]] Result process(std::span<const std::uint8_t> ip, Hook hook, std::uint64_t now_ns);
  // The filter accepted the packet: insert its pending entry (no-op otherwise).
  void confirm(const Result& r, std::uint64_t now_ns);

  // Removes entries whose timeout passed; returns how many.
  std::size_t expire(std::uint64_t now_ns);
  [[nodiscard]] std::vector<Entry> list(std::uint64_t now_ns) const;  // live entries
  bool erase(const Tuple& either_direction);
  void flush();
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] const Stats& stats() const { return stats_; }
  [[nodiscard]] const Config& config() const { return config_; }

 private:
  struct TupleHash {
    std::size_t operator()(const Tuple& t) const;
  };
  Entry* find(const Tuple& t, std::uint64_t now_ns, Dir& dir);
  void remove(const Tuple& orig);
  Result invalid(Reason r);

  Config config_;
  Stats stats_;
  std::unordered_map<Tuple, Entry, TupleHash> entries_;   // by original tuple
  std::unordered_map<Tuple, Tuple, TupleHash> by_reply_;  // reply tuple -> original
};

// conntrack -L's line for one entry (conntrack-tools' default output, with
// nf_conntrack_acct=1 counters): timeouts in whole seconds left at now_ns.
[[nodiscard]] std::string format_entry(const Entry& e, std::uint64_t now_ns);

}  // namespace norman::conntrack

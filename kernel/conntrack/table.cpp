// The table and the per-protocol trackers. The order of checks follows
// nf_conntrack_in(): header and checksum errors first (INVALID, no entry),
// ICMP errors looked up by their inner header (RELATED), then the lookup by
// tuple in either direction, then the protocol's packet function on the
// entry found or on a new, unconfirmed one.
#include <algorithm>
#include <tuple>

#include "conntrack.hpp"
#include "packet.hpp"
#include "tcp_transitions.hpp"

namespace norman::conntrack {

namespace {

constexpr std::uint64_t kSecond = 1'000'000'000ULL;
constexpr std::uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;

using filter::ctstatus::kAssured;
using filter::ctstatus::kConfirmed;
using filter::ctstatus::kSeenReply;

// What a protocol's packet function decided (nf_conntrack_*_packet's return).
enum class Verdict : std::uint8_t {
  kAccept,   // state updated, timeout refreshed, packet counted
  kQuiet,    // accepted, entry untouched and packet not counted (ignored, retransmitted SYN)
  kInvalid,  // the packet is INVALID (Linux: -NF_ACCEPT)
  kKill,     // counted, then the entry is deleted (RST before any reply)
  kReopen,   // a SYN reopening a closed connection: delete, look up again
};

bool icmp_opens(std::uint8_t type) { return type == 8 || type == 13 || type == 15 || type == 17; }

void refresh(Entry& e, Dir dir, const Packet& p, std::uint64_t now, std::uint64_t seconds) {
  e.expires_ns = now + seconds * kSecond;
  e.packets[static_cast<unsigned>(dir)] += 1;
  e.bytes[static_cast<unsigned>(dir)] += p.ip_len;
}

Verdict tcp_packet(Entry& e, Dir dir, const Packet& p, std::uint64_t now, const Config& cfg) {
  const std::uint8_t index = tcp_index(p.tcp_flags);
  TcpState old = e.tcp_state;
  std::uint8_t next = tcp_next(dir, index, old);
  const auto ts = [](TcpState s) { return static_cast<std::uint8_t>(s); };

  if (next == ts(TcpState::kSynSent) && old >= TcpState::kTimeWait) {
    // A SYN on a closed or aborted connection: start over.
    if ((e.flags & (kCloseInit | (kCloseInit << 1))) != 0 ||
        (e.last_dir == dir && e.last_index == kIdxRst)) {
      return Verdict::kReopen;
    }
    next = kIgnoreNext;
  }
  if (next == kIgnoreNext) {
    if (index == kIdxSynAck && e.last_index == kIdxSyn && e.last_dir != dir &&
        p.ack == e.last_end) {
      // The SYN/ACK answers a SYN we ignored: both ends are in sync, we were not.
      old = TcpState::kSynSent;
      next = ts(TcpState::kSynRecv);
      e.flags &= static_cast<std::uint8_t>(~kChallengeAck);
    } else {
      e.last_index = index;
      e.last_dir = dir;
      e.last_end = p.tcp_end;
      if (index == kIdxSyn && dir == Dir::kOriginal) {
        e.flags &= static_cast<std::uint8_t>(~kChallengeAck);
        if (old == TcpState::kLastAck) e.flags |= kChallengeAck;
      }
      return Verdict::kQuiet;
    }
  }
  if (next == kInvalidNext) return Verdict::kInvalid;
  if (next == ts(TcpState::kTimeWait) && old == TcpState::kLastAck && index == kIdxAck &&
      e.last_dir != dir && e.last_index == kIdxSyn && (e.flags & kChallengeAck) != 0) {
    // RFC 5961 challenge ACK to a SYN, not the ACK of the last FIN.
    e.flags &= static_cast<std::uint8_t>(~kChallengeAck);
    return Verdict::kQuiet;
  }
  if (next == ts(TcpState::kSynSent2)) e.flags |= kSimultaneousOpen;
  if (next == ts(TcpState::kSynRecv) && dir == Dir::kReply && index == kIdxAck &&
      (e.flags & kSimultaneousOpen) != 0) {
    next = ts(TcpState::kEstablished);
  }
  // (Window tracking would check the segment here; the model accepts it.)
  e.last_index = index;
  e.last_dir = dir;
  const auto to = static_cast<TcpState>(next);
  e.tcp_state = to;
  if (old != to && to == TcpState::kFinWait)
    e.flags |= static_cast<std::uint8_t>(kCloseInit << static_cast<unsigned>(dir));

  std::uint64_t timeout =
      index == kIdxRst ? cfg.timeouts.tcp[ts(TcpState::kClose)] : cfg.timeouts.tcp[next];
  if ((e.status & kSeenReply) == 0) {
    // Only a RST in reply: there never was a connection.
    if (index == kIdxRst) {
      refresh(e, dir, p, now, timeout);
      return Verdict::kKill;
    }
    // A retransmitted SYN does not extend the entry's life.
    if (index == kIdxSyn && old == TcpState::kSynSent) return Verdict::kQuiet;
    if (to == TcpState::kEstablished)
      timeout = std::min<std::uint64_t>(timeout, cfg.timeouts.tcp_unacknowledged);
  } else if ((e.status & kAssured) == 0 &&
             (old == TcpState::kSynRecv || old == TcpState::kEstablished) &&
             to == TcpState::kEstablished) {
    e.status |= kAssured;
  }
  refresh(e, dir, p, now, timeout);
  return Verdict::kAccept;
}

Verdict udp_packet(Entry& e, Dir dir, const Packet& p, std::uint64_t now, const Config& cfg,
                   bool confirmed) {
  if (!confirmed) e.stream_ns = now + 2 * kSecond;
  if ((e.status & kSeenReply) != 0) {
    std::uint64_t extra = cfg.timeouts.udp;
    bool stream = false;
    // Still active two seconds after it began: a stream, kept longer.
    if (now > e.stream_ns) {
      extra = cfg.timeouts.udp_stream;
      stream = (e.status & kAssured) == 0;
    }
    refresh(e, dir, p, now, extra);
    if (stream) e.status |= kAssured;
  } else {
    refresh(e, dir, p, now, cfg.timeouts.udp);
  }
  return Verdict::kAccept;
}

Verdict l4_packet(Entry& e, Dir dir, const Packet& p, std::uint64_t now, const Config& cfg,
                  bool confirmed) {
  switch (p.tuple.proto) {
    case kProtoTcp:
      return tcp_packet(e, dir, p, now, cfg);
    case kProtoUdp:
      return udp_packet(e, dir, p, now, cfg, confirmed);
    case kProtoIcmp:
      if (!confirmed && !icmp_opens(p.icmp_type)) return Verdict::kInvalid;
      refresh(e, dir, p, now, cfg.timeouts.icmp);
      return Verdict::kAccept;
    default:
      refresh(e, dir, p, now, cfg.timeouts.generic);
      return Verdict::kAccept;
  }
}

filter::CtView view_of(const Entry& e, PacketState s, Dir dir) {
  filter::CtView v;
  v.tracked = true;
  v.state = s == PacketState::kNew           ? filter::ctstate::kNew
            : s == PacketState::kEstablished ? filter::ctstate::kEstablished
                                             : filter::ctstate::kRelated;
  v.dir = dir == Dir::kOriginal ? filter::CtDir::kOriginal : filter::CtDir::kReply;
  v.status = e.status;
  v.proto = e.orig.proto;
  v.orig_src = e.orig.src;
  v.orig_dst = e.orig.dst;
  v.orig_sport = e.orig.sport;
  v.orig_dport = e.orig.dport;
  return v;
}

}  // namespace

const char* tcp_state_name(TcpState s) {
  static constexpr const char* kNames[kTcpStates] = {
      "NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
      "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2"};
  const auto i = static_cast<unsigned>(s);
  return i < kTcpStates ? kNames[i] : "?";
}

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::kNone:
      return "none";
    case Reason::kMalformed:
      return "malformed";
    case Reason::kFragment:
      return "fragment";
    case Reason::kChecksum:
      return "checksum";
    case Reason::kTcpFlags:
      return "tcp-flags";
    case Reason::kTcpNotNew:
      return "tcp-not-new";
    case Reason::kTcpOutOfState:
      return "tcp-out-of-state";
    case Reason::kIcmpNotNew:
      return "icmp-not-new";
    case Reason::kIcmpNoRelated:
      return "icmp-no-related";
    case Reason::kTableFull:
      return "table-full";
    case Reason::kCount:
      break;
  }
  return "?";
}

Tuple reply_of(const Tuple& o) {
  Tuple r{o.dst, o.src, o.dport, o.sport, o.proto};
  if (o.proto == kProtoIcmp) {
    if (auto inv = icmp_inverse(static_cast<std::uint8_t>(o.dport >> 8))) {
      r.sport = o.sport;
      r.dport = static_cast<std::uint16_t>((*inv << 8) | (o.dport & 0xFF));
    }
  }
  return r;
}

std::size_t Table::TupleHash::operator()(const Tuple& t) const {
  std::uint64_t h = (std::uint64_t{t.src} << 32) ^ t.dst;
  h ^= (std::uint64_t{t.sport} << 40) ^ (std::uint64_t{t.dport} << 16) ^ t.proto;
  h *= 0x9E3779B97F4A7C15ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

Table::Table(Config config) : config_(config) {}

Entry* Table::find(const Tuple& t, std::uint64_t now, Dir& dir) {
  Tuple orig = t;
  dir = Dir::kOriginal;
  if (entries_.find(t) == entries_.end()) {
    auto r = by_reply_.find(t);
    if (r == by_reply_.end()) return nullptr;
    orig = r->second;
    dir = Dir::kReply;
  }
  auto it = entries_.find(orig);
  // An entry whose time is up is gone, whether or not a sweep removed it yet.
  if (it->second.expires_ns <= now) {
    remove(orig);
    ++stats_.expired;
    return nullptr;
  }
  return &it->second;
}

void Table::remove(const Tuple& orig) {
  by_reply_.erase(reply_of(orig));
  entries_.erase(orig);
}

Result Table::invalid(Reason r) {
  ++stats_.invalid[static_cast<unsigned>(r)];
  Result res;
  res.state = PacketState::kInvalid;
  res.reason = r;
  return res;
}

Result Table::process(std::span<const std::uint8_t> ip, Hook hook, std::uint64_t now) {
  const ParseResult parsed = parse_packet(ip, hook == Hook::kPreRouting);
  if (parsed.reason != Reason::kNone) return invalid(parsed.reason);
  const Packet& p = parsed.packet;

  if (p.icmp_error) {
    // RELATED: the inner header is a packet of a tracked flow, seen from
    // the other side, and the error goes to that flow's end.
    Dir dir{};
    Entry* e = find(reply_of(p.inner), now, dir);
    if (e == nullptr) return invalid(Reason::kIcmpNoRelated);
    const Tuple t = dir == Dir::kOriginal ? e->orig : reply_of(e->orig);
    if (t.dst != p.tuple.dst) return invalid(Reason::kIcmpNoRelated);
    Result res;
    res.state = PacketState::kRelated;
    res.dir = dir;
    res.key = e->orig;
    res.view = view_of(*e, res.state, dir);
    ++stats_.found;
    return res;
  }

  for (int attempt = 0; attempt < 2; ++attempt) {
    Dir dir{};
    if (Entry* e = find(p.tuple, now, dir)) {
      ++stats_.found;
      PacketState state = dir == Dir::kReply || (e->status & kSeenReply) != 0
                              ? PacketState::kEstablished
                              : PacketState::kNew;
      const Verdict v = l4_packet(*e, dir, p, now, config_, true);
      if (v == Verdict::kReopen) {
        remove(e->orig);
        continue;
      }
      if (v == Verdict::kInvalid) return invalid(Reason::kTcpOutOfState);
      if (dir == Dir::kReply) e->status |= kSeenReply;
      Result res;
      res.state = state;
      res.dir = dir;
      res.key = e->orig;
      res.view = view_of(*e, state, dir);
      if (v == Verdict::kKill) remove(e->orig);
      return res;
    }
    // No entry: a new connection, if this packet may open one.
    Entry e;
    e.orig = p.tuple;
    if (p.tuple.proto == kProtoTcp) {
      const std::uint8_t first = tcp_next(Dir::kOriginal, tcp_index(p.tcp_flags), TcpState::kNone);
      if (first != static_cast<std::uint8_t>(TcpState::kSynSent) &&
          !(first == static_cast<std::uint8_t>(TcpState::kEstablished) && config_.tcp_loose)) {
        return invalid(Reason::kTcpNotNew);
      }
    }
    if (p.tuple.proto == kProtoIcmp && !icmp_opens(p.icmp_type))
      return invalid(Reason::kIcmpNotNew);
    if (entries_.size() >= config_.capacity) {
      expire(now);
      if (entries_.size() >= config_.capacity) {
        // Linux: "nf_conntrack: table full, dropping packet".
        ++stats_.drop;
        ++stats_.invalid[static_cast<unsigned>(Reason::kTableFull)];
        Result res;
        res.state = PacketState::kInvalid;
        res.reason = Reason::kTableFull;
        res.drop = true;
        return res;
      }
    }
    const Verdict v = l4_packet(e, Dir::kOriginal, p, now, config_, false);
    if (v == Verdict::kInvalid || v == Verdict::kReopen) return invalid(Reason::kTcpNotNew);
    Result res;
    res.state = PacketState::kNew;
    res.dir = Dir::kOriginal;
    res.view = view_of(e, res.state, Dir::kOriginal);
    res.pending = e;
    return res;
  }
  return invalid(Reason::kTcpOutOfState);
}

void Table::confirm(const Result& r, std::uint64_t now) {
  if (!r.pending) return;
  Entry e = *r.pending;
  Dir dir{};
  // Another packet of the same flow got there first (Linux: insert_failed).
  if (find(e.orig, now, dir) != nullptr || find(reply_of(e.orig), now, dir) != nullptr) return;
  if (entries_.size() >= config_.capacity) {
    ++stats_.drop;
    return;
  }
  e.status |= kConfirmed;
  by_reply_[reply_of(e.orig)] = e.orig;
  entries_[e.orig] = e;
  ++stats_.inserted;
}

std::size_t Table::expire(std::uint64_t now) {
  std::vector<Tuple> dead;
  for (const auto& [k, e] : entries_) {
    if (e.expires_ns <= now) dead.push_back(k);
  }
  for (const Tuple& t : dead) remove(t);
  stats_.expired += dead.size();
  return dead.size();
}

std::vector<Entry> Table::list(std::uint64_t now) const {
  std::vector<Entry> out;
  for (const auto& [k, e] : entries_) {
    if (e.expires_ns > now) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.orig.proto, a.orig.src, a.orig.dst, a.orig.sport, a.orig.dport) <
           std::tie(b.orig.proto, b.orig.src, b.orig.dst, b.orig.sport, b.orig.dport);
  });
  return out;
}

bool Table::erase(const Tuple& t) {
  if (entries_.count(t) != 0) {
    remove(t);
    return true;
  }
  if (auto r = by_reply_.find(t); r != by_reply_.end()) {
    const Tuple orig = r->second;
    remove(orig);
    return true;
  }
  return false;
}

void Table::flush() {
  entries_.clear();
  by_reply_.clear();
}

}  // namespace norman::conntrack

// Connection tracking in the rule model: `-m state --state` and
// `-m conntrack --ct...` as iptables stores them, and the view of a packet's
// conntrack entry that those matches read (what xt_state and xt_conntrack
// see through nf_ct_get). The tracker itself is norman_conntrack; the filter
// only reads this view, so the evaluator needs no table.
#pragma once

#include <cstdint>
#include <optional>

namespace norman::filter {

// --state / --ctstate bits, in the order iptables-save lists them.
namespace ctstate {
inline constexpr std::uint8_t kInvalid = 1;
inline constexpr std::uint8_t kNew = 2;
inline constexpr std::uint8_t kRelated = 4;
inline constexpr std::uint8_t kEstablished = 8;
inline constexpr std::uint8_t kUntracked = 16;
inline constexpr std::uint8_t kSnat = 32;  // --ctstate only
inline constexpr std::uint8_t kDnat = 64;  // --ctstate only
}  // namespace ctstate

// --ctstatus bits (Linux's IPS_EXPECTED, IPS_SEEN_REPLY, IPS_ASSURED,
// IPS_CONFIRMED, which are its bits 0..3), in iptables-save's order.
namespace ctstatus {
inline constexpr std::uint8_t kExpected = 1;
inline constexpr std::uint8_t kSeenReply = 2;
inline constexpr std::uint8_t kAssured = 4;
inline constexpr std::uint8_t kConfirmed = 8;
}  // namespace ctstatus

struct CtStates {
  std::uint8_t mask = 0;  // ctstate bits
  bool negated = false;
  friend bool operator==(const CtStates&, const CtStates&) = default;
};

// --ctorigsrc/--ctorigdst: unlike -s/-d, iptables keeps the address as
// written (host bits and all) and compares under the mask.
struct CtAddr {
  std::uint32_t addr = 0;  // host byte order
  std::uint8_t len = 32;
  bool negated = false;
  friend bool operator==(const CtAddr&, const CtAddr&) = default;
};

// --ctorigsrcport/--ctorigdstport: lo:hi kept as written (lo > hi matches nothing).
struct CtPorts {
  std::uint16_t lo = 0;
  std::uint16_t hi = 0;
  bool negated = false;
  friend bool operator==(const CtPorts&, const CtPorts&) = default;
};

struct CtProto {
  std::uint8_t number = 0;  // 0 ("all") matches no tracked packet, as in the kernel
  bool negated = false;
  friend bool operator==(const CtProto&, const CtProto&) = default;
};

struct CtStatus {
  std::uint8_t mask = 0;  // ctstatus bits; 0 is NONE
  bool negated = false;
  friend bool operator==(const CtStatus&, const CtStatus&) = default;
};

enum class CtDir : std::uint8_t { kOriginal, kReply };

// -m conntrack: each option optional, at least one present.
struct ConntrackMatch {
  std::optional<CtStates> state;
  std::optional<CtProto> proto;
  std::optional<CtAddr> orig_src;
  std::optional<CtAddr> orig_dst;
  std::optional<CtPorts> orig_sport;
  std::optional<CtPorts> orig_dport;
  std::optional<CtStatus> status;
  std::optional<CtDir> dir;
  friend bool operator==(const ConntrackMatch&, const ConntrackMatch&) = default;
};

// A packet's conntrack as the matches see it. `tracked` is false for INVALID
// (no entry) and UNTRACKED; then only --state/--ctstate can match.
struct CtView {
  std::uint8_t state = ctstate::kInvalid;  // exactly one of INVALID..UNTRACKED
  bool tracked = false;
  CtDir dir = CtDir::kOriginal;
  std::uint8_t status = 0;  // ctstatus bits
  std::uint8_t proto = 0;
  std::uint32_t orig_src = 0;
  std::uint32_t orig_dst = 0;
  std::uint16_t orig_sport = 0;  // ICMP: the echo id
  std::uint16_t orig_dport = 0;  // ICMP: type << 8 | code
  friend bool operator==(const CtView&, const CtView&) = default;
};

// xt_state (`-m state`) and xt_conntrack (`-m conntrack`) on one view.
[[nodiscard]] bool state_matches(const CtStates& m, const CtView& v);
[[nodiscard]] bool conntrack_matches(const ConntrackMatch& m, const CtView& v);

}  // namespace norman::filter

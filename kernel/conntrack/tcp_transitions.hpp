// nf_conntrack_proto_tcp's transition table, as data: for a packet of
// direction `dir` and flag class `index` in state `from`, the next state, or
// kInvalid (the packet is INVALID) or kIgnore (let through, state kept).
// The NIC holds the same 2 x 6 x 10 table in a small ROM.
#pragma once

#include <cstdint>

#include "conntrack.hpp"

namespace norman::conntrack {

// get_conntrack_index(): the flag class of a TCP header, in this priority.
enum TcpIndex : std::uint8_t { kIdxSyn = 0, kIdxSynAck, kIdxFin, kIdxAck, kIdxRst, kIdxNone };

inline constexpr std::uint8_t kInvalidNext = 10;
inline constexpr std::uint8_t kIgnoreNext = 11;

[[nodiscard]] std::uint8_t tcp_index(std::uint8_t flags);
// The table entry (a TcpState value, kInvalidNext or kIgnoreNext).
[[nodiscard]] std::uint8_t tcp_next(Dir dir, std::uint8_t index, TcpState from);
// tcp_error()'s flag check: FIN/SYN/RST/ACK/URG combinations Linux accepts
// (PSH, ECE and CWR never matter).
[[nodiscard]] bool tcp_flags_valid(std::uint8_t flags);

}  // namespace norman::conntrack

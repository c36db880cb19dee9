#include "tcp_transitions.hpp"

#include <array>

namespace norman::conntrack {

namespace {

// Column order is TcpState's: NO SS SR ES FW CW LA TW CL S2.
constexpr std::uint8_t NO = 0, SS = 1, SR = 2, ES = 3, FW = 4, CW = 5, LA = 6, TW = 7, CL = 8,
                       S2 = 9, IV = kInvalidNext, IG = kIgnoreNext;

using Row = std::array<std::uint8_t, kTcpStates>;

constexpr std::array<std::array<Row, 6>, 2> kTable{{
    {{
        // ORIGINAL
        /* syn    */ {SS, SS, IG, IG, IG, IG, IG, SS, SS, S2},
        /* synack */ {IV, IV, SR, IV, IV, IV, IV, IV, IV, SR},
        /* fin    */ {IV, IV, FW, FW, LA, LA, LA, TW, CL, IV},
        /* ack    */ {ES, IV, ES, ES, CW, CW, TW, TW, CL, IV},
        /* rst    */ {IV, CL, CL, CL, CL, CL, CL, CL, CL, CL},
        /* none   */ {IV, IV, IV, IV, IV, IV, IV, IV, IV, IV},
    }},
    {{
        // REPLY
        /* syn    */ {IV, S2, IV, IV, IV, IV, IV, SS, IV, S2},
        /* synack */ {IV, SR, IG, IG, IG, IG, IG, IG, IG, SR},
        /* fin    */ {IV, IV, FW, FW, LA, LA, LA, TW, CL, IV},
        /* ack    */ {IV, IG, SR, ES, CW, CW, TW, TW, CL, IG},
        /* rst    */ {IV, CL, CL, CL, CL, CL, CL, CL, CL, CL},
        /* none   */ {IV, IV, IV, IV, IV, IV, IV, IV, IV, IV},
    }},
}};
static_assert(NO == 0);

constexpr std::uint8_t kFinBit = 0x01, kSynBit = 0x02, kRstBit = 0x04, kAckBit = 0x10,
                       kUrgBit = 0x20;

}  // namespace

std::uint8_t tcp_index(std::uint8_t flags) {
  if (flags & kRstBit) return kIdxRst;
  if (flags & kSynBit) return (flags & kAckBit) ? kIdxSynAck : kIdxSyn;
  if (flags & kFinBit) return kIdxFin;
  if (flags & kAckBit) return kIdxAck;
  return kIdxNone;
}

std::uint8_t tcp_next(Dir dir, std::uint8_t index, TcpState from) {
  return kTable[static_cast<unsigned>(dir)][index][static_cast<unsigned>(from)];
}

bool tcp_flags_valid(std::uint8_t flags) {
  switch (flags & (kFinBit | kSynBit | kRstBit | kAckBit | kUrgBit)) {
    case kSynBit:
    case kSynBit | kUrgBit:
    case kSynBit | kAckBit:
    case kRstBit:
    case kRstBit | kAckBit:
    case kFinBit | kAckBit:
    case kFinBit | kAckBit | kUrgBit:
    case kAckBit:
    case kAckBit | kUrgBit:
      return true;
    default:
      return false;
  }
}

}  // namespace norman::conntrack

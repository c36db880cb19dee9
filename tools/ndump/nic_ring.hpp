// The NIC's capture ring as ndump reads it (hw/regmap/norman.json,
// CAPTURE_REC): 2^log2 slots, each a 64-byte header followed by CAPLEN
// bytes of the frame. The NIC writes the header last, so a slot holds the
// record for consumer index c once its SEQ is c + 1 (mod 2^16).
#pragma once

#include <cstddef>
#include <cstdint>

#include "capture_record.hpp"

namespace norman::ndump {

struct RingRecord {
  CaptureRecord rec;          // frame, lengths, direction, port, verdict (no time, no owner yet)
  bool unsure = false;        // the NIC captured a superset: the host decides
  bool owner_valid = false;   // the frame belongs to a connection with an owner
  std::uint32_t conn = 0;     // connection id (0: the fallback, host-kernel path)
  std::uint64_t cycle = 0;    // CTRL.CYCLES at the frame's first beat
  std::uint32_t dropped = 0;  // this session's records lost since the previous one
};

// The slot of consumer index `cons` in a ring of 2^log2 slots.
const std::uint8_t* ring_slot(const std::uint8_t* ring, unsigned log2, std::uint32_t cons);
// Whether that slot holds the record of `cons` yet.
bool slot_ready(const std::uint8_t* slot, std::uint32_t cons);
// Copies the record out of a ready slot (CAPLEN clamped to MAX_CAPLEN).
RingRecord read_slot(const std::uint8_t* slot);

}  // namespace norman::ndump

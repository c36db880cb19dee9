#include "nic_ring.hpp"

#include <algorithm>

#include "norman/regmap.hpp"

namespace norman::ndump {
namespace {

namespace rec = norman::regmap::capture_rec;

std::uint64_t word(const std::uint8_t* slot, unsigned i) {
  // Acquire: the frame bytes written before the header are seen with it.
  return __atomic_load_n(reinterpret_cast<const std::uint64_t*>(slot) + i, __ATOMIC_ACQUIRE);
}

}  // namespace

const std::uint8_t* ring_slot(const std::uint8_t* ring, unsigned log2, std::uint32_t cons) {
  return ring + std::size_t{cons & ((1U << log2) - 1)} * rec::kSlotBytes;
}

bool slot_ready(const std::uint8_t* slot, std::uint32_t cons) {
  return rec::kSeq.get(word(slot, 7)) == ((cons + 1) & 0xFFFF);
}

RingRecord read_slot(const std::uint8_t* slot) {
  RingRecord r;
  const std::uint64_t w0 = word(slot, 0);
  const auto caplen = std::min<std::size_t>(rec::kCaplen.get(w0), rec::kMaxCaplen);
  r.rec.orig_len = static_cast<std::uint32_t>(rec::kOrigLen.get(w0));
  r.rec.data.assign(slot + rec::kHeaderBytes, slot + rec::kHeaderBytes + caplen);
  r.rec.dir = rec::kDir.get(w0) != 0 ? Direction::out : Direction::in;
  r.rec.port = static_cast<std::uint8_t>(rec::kPort.get(w0));
  switch (rec::kVerdict.get(w0)) {
    case rec::kKindsDrop:
      r.rec.verdict = Verdict::drop;
      break;
    case rec::kKindsReject:
      r.rec.verdict = Verdict::reject;
      break;
    default:
      r.rec.verdict = Verdict::accept;
  }
  r.unsure = rec::kUnsure.get(w0) != 0;
  r.owner_valid = rec::kOwnerValid.get(w0) != 0;
  r.conn = static_cast<std::uint32_t>(rec::kConnId.get(word(slot, 1)));
  r.cycle = rec::kCycle.get(word(slot, 2));
  r.dropped = static_cast<std::uint32_t>(rec::kDropped.get(word(slot, 7)));
  return r;
}

}  // namespace norman::ndump

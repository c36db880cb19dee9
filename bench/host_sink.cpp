#include "host_sink.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "norman/regmap.hpp"

namespace norman::bench {

namespace rm = norman::regmap;

namespace {
constexpr std::uint64_t kBeat = 64;

std::uint32_t le32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
}  // namespace

HostSink::HostSink(const SinkConfig& cfg, nsim::HostMemory* mem)
    : cfg_(cfg), mem_(mem), buf_(4096), seen_(kMaxConns, 0), returned_(kMaxConns, 0) {}

void HostSink::error(const std::string& msg) {
  ++errors_;
  if (messages_.size() < 16) {
    messages_.push_back(msg);
  }
}

Delivery HostSink::beat(std::uint64_t cycle, std::uint64_t addr, std::uint32_t len, const std::uint8_t* data,
                        bool last) {
  Delivery d;
  if (!open_) {
    open_ = true;
    w_addr_ = addr;
    w_len_ = len;
    w_beat_ = 0;
    if (len == 0 || len > buf_.size()) {
      error("DMA write with bad length " + std::to_string(len));
      w_len_ = 0;
    }
  } else if (addr != w_addr_ || len != w_len_) {
    error("DMA write: addr/len not held across beats");
  }
  if (w_len_ > 0) {
    std::uint64_t block = (w_addr_ / kBeat + w_beat_) * kBeat;
    std::uint64_t lo = std::max(block, w_addr_);
    std::uint64_t hi = std::min(block + kBeat, w_addr_ + w_len_);
    if (lo < hi) {
      std::memcpy(buf_.data() + (lo - w_addr_), data + (lo - block), static_cast<std::size_t>(hi - lo));
    } else {
      error("DMA write: more beats than the request covers");
    }
  }
  ++w_beat_;
  if (last) {
    open_ = false;
    std::uint32_t expect = static_cast<std::uint32_t>((w_addr_ + w_len_ - 1) / kBeat - w_addr_ / kBeat + 1);
    if (w_len_ > 0 && w_beat_ != expect) {
      error("DMA write: " + std::to_string(w_beat_) + " beats, expected " + std::to_string(expect));
    }
    ++writes_;
    if (w_len_ > 0) {
      if (apply_ && !mem_->dma_write(w_addr_, buf_.data(), w_len_)) {
        error("host memory refused a write");
      }
      finish_write(cycle, d);
    }
  }
  return d;
}

void HostSink::finish_write(std::uint64_t cycle, Delivery& d) {
  const std::uint64_t nq_bytes = std::uint64_t{8} << cfg_.nq_log2;
  const std::uint64_t ring_bytes = cfg_.ring_bytes();
  const std::uint32_t ring_mask = (1U << cfg_.rx_log2) - 1;

  if (w_addr_ >= cfg_.nq_base && w_addr_ < cfg_.nq_base + nq_bytes) {
    // Notification entry.
    std::uint64_t idx = (w_addr_ - cfg_.nq_base) / 8;
    std::uint64_t e = le64(buf_.data());
    std::uint64_t conn = rm::notify::kConnId.get(e);
    std::uint64_t kind = rm::notify::kKind.get(e);
    std::uint64_t seq = rm::notify::kSeq.get(e);
    if (w_len_ != 8 || w_addr_ % 8 != 0 || idx != (nq_seen_ & ((1ULL << cfg_.nq_log2) - 1)) ||
        seq != ((nq_seen_ + 1) & 0xFFFF) || kind != rm::notify::kKindsRx || conn >= kMaxConns) {
      std::ostringstream os;
      os << "bad notification at index " << idx << " (expected " << nq_seen_ << "): conn " << conn << " kind "
         << kind << " seq " << seq;
      error(os.str());
    }
    ++nq_seen_;
    if (nq_seen_ - nq_returned_ >= cfg_.nq_batch) {
      nq_returned_ = nq_seen_;
      doorbells_.push_back(Doorbell{cycle + cfg_.doorbell_delay,
                                    static_cast<std::uint32_t>(rm::kNqDbBase + rm::kDbNqCons),
                                    nq_returned_ & 0xFFFF});
      ++nq_doorbells_;
    }
    return;
  }

  if (w_addr_ < cfg_.ring_base) {
    error("DMA write outside every ring and queue");
    return;
  }
  std::uint64_t rel = w_addr_ - cfg_.ring_base;
  std::uint64_t conn = rel / ring_bytes;
  std::uint64_t off = rel % ring_bytes;
  std::uint64_t slot = off / rm::rx_slot::kSlotBytes;
  std::uint64_t in_slot = off % rm::rx_slot::kSlotBytes;
  if (conn >= kMaxConns || in_slot + w_len_ != rm::rx_slot::kSlotBytes || w_len_ < 4 + 42 + 8) {
    error("RX write does not end at a slot end: addr " + std::to_string(w_addr_) + " len " + std::to_string(w_len_));
    return;
  }
  std::uint32_t c = static_cast<std::uint32_t>(conn);
  std::uint32_t tr = le32(buf_.data() + w_len_ - 4);
  std::uint32_t flen = w_len_ - 4;
  std::uint32_t expect_seq = (seen_[c] + 1) & 0xFFFF;
  if (rm::rx_slot::kLen.get(tr) != flen || rm::rx_slot::kSeq.get(tr) != expect_seq ||
      slot != (seen_[c] & ring_mask) || rm::rx_slot::kFlags.get(tr) != 0) {
    std::ostringstream os;
    os << "bad RX slot write conn " << c << " slot " << slot << " trailer 0x" << std::hex << tr << std::dec
       << " (expected len " << flen << " seq " << expect_seq << " slot " << (seen_[c] & ring_mask) << ")";
    error(os.str());
  }
  ++seen_[c];
  ++slot_writes_;
  if (seen_[c] - returned_[c] >= cfg_.batch) {
    returned_[c] = seen_[c];
    doorbells_.push_back(Doorbell{cycle + cfg_.doorbell_delay,
                                  static_cast<std::uint32_t>(rm::kConnDbBase + std::uint64_t{c} * rm::kPageBytes +
                                                             rm::kDbConnRxCons),
                                  seen_[c] & 0xFFFF});
    ++rx_doorbells_;
  }
  d.valid = true;
  d.conn = c;
  d.len = flen;
  d.frame = buf_.data();
  d.frame_id = le64(buf_.data() + kIdOffset);
}

}  // namespace norman::bench

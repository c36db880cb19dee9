#include "pcie_model.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace norman::nsim {

namespace {

bool pow2_in(std::uint32_t v, std::uint32_t lo, std::uint32_t hi) {
  return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

// Number of `boundary`-aligned TLP starts inside [lo, hi) of a transfer that
// starts at `start` (the start itself counts).
std::uint64_t tlp_starts_in(std::uint64_t start, std::uint64_t lo, std::uint64_t hi, std::uint32_t boundary) {
  std::uint64_t n = (lo <= start && start < hi) ? 1 : 0;
  // Aligned boundaries b with start < b, lo <= b < hi.
  std::uint64_t from = std::max(lo, start + 1);
  if (from < hi) {
    std::uint64_t first = (from + boundary - 1) / boundary * boundary;
    if (first < hi) {
      n += (hi - 1 - first) / boundary + 1;
    }
  }
  return n;
}

}  // namespace

PcieModel::PcieModel(const PcieConfig& cfg, HostMemory& mem)
    : cfg_(cfg), mem_(mem), d2h_tokens_(cfg.burst_bytes), h2d_tokens_(cfg.burst_bytes) {
  if (!pow2_in(cfg_.mps, 64, 4096) || !pow2_in(cfg_.mrrs, 64, 4096)) {
    throw std::invalid_argument("PCIe model: MPS and MRRS must be powers of two in 64..4096");
  }
  if (cfg_.d2h_bytes_per_cycle <= 0 || cfg_.h2d_bytes_per_cycle <= 0 || cfg_.burst_bytes <= 0) {
    throw std::invalid_argument("PCIe model: bandwidths and burst must be positive");
  }
  if (cfg_.max_reads_outstanding == 0 || cfg_.max_writes_pending == 0) {
    throw std::invalid_argument("PCIe model: outstanding limits must be positive");
  }
  update_ready();
}

void PcieModel::reset() {
  wr_open_ = false;
  wr_broken_ = false;
  wr_beats_seen_ = 0;
  wr_beats_expected_ = 0;
  wr_buf_.clear();
  writes_.clear();
  reads_.clear();
  cpl_valid_ = false;
  d2h_tokens_ = cfg_.burst_bytes;
  h2d_tokens_ = cfg_.burst_bytes;
  update_ready();
}

std::uint64_t PcieModel::tlp_count(std::uint64_t addr, std::uint64_t len, std::uint32_t boundary) {
  if (len == 0) {
    return 1;
  }
  return (addr + len - 1) / boundary - addr / boundary + 1;
}

std::uint8_t PcieModel::cpl_tag() const { return reads_.empty() ? 0 : reads_.front().tag; }

bool PcieModel::cpl_last() const {
  if (reads_.empty()) {
    return false;
  }
  const PendingRead& r = reads_.front();
  std::uint32_t beats = std::max<std::uint32_t>(1, (r.len + kBeatBytes - 1) / kBeatBytes);
  return r.next_beat + 1 == beats;
}

void PcieModel::wr_beat(std::uint64_t addr, std::uint32_t len, const std::uint8_t* data, bool last) {
  if (!wr_open_) {
    wr_open_ = true;
    wr_addr_ = addr;
    wr_len_ = len;
    wr_beats_seen_ = 0;
    wr_broken_ = len == 0;
    wr_beats_expected_ =
        len == 0 ? 1 : static_cast<std::uint32_t>((addr + len - 1) / kBeatBytes - addr / kBeatBytes + 1);
    wr_buf_.assign(len, 0);
  } else if (addr != wr_addr_ || len != wr_len_) {
    wr_broken_ = true;  // addr/len must be held on every beat
  }
  std::uint32_t k = wr_beats_seen_++;
  std::uint64_t cost = 0;
  if (k < wr_beats_expected_ && wr_len_ > 0) {
    std::uint64_t block = (wr_addr_ / kBeatBytes + k) * kBeatBytes;
    std::uint64_t lo = std::max(block, wr_addr_);
    std::uint64_t hi = std::min(block + kBeatBytes, wr_addr_ + wr_len_);
    std::memcpy(wr_buf_.data() + (lo - wr_addr_), data + (lo - block), static_cast<std::size_t>(hi - lo));
    std::uint64_t tlps = tlp_starts_in(wr_addr_, block, block + kBeatBytes, cfg_.mps);
    cost = (hi - lo) + tlps * cfg_.tlp_overhead;
    stats_.wr_tlps += tlps;
  } else {
    wr_broken_ = true;  // more beats than the request covers
    cost = kBeatBytes;
  }
  d2h_tokens_ -= static_cast<double>(cost);
  stats_.d2h_bytes += cost;
  if (last) {
    wr_open_ = false;
    if (wr_broken_ || wr_beats_seen_ != wr_beats_expected_) {
      ++stats_.protocol_errors;
      return;
    }
    ++stats_.wr_reqs;
    stats_.wr_bytes += wr_len_;
    writes_.push_back(PendingWrite{now_ + cfg_.write_latency, write_seq_++, wr_addr_, std::move(wr_buf_)});
    wr_buf_ = {};
  }
  update_ready();
}

void PcieModel::rd_req(std::uint64_t addr, std::uint32_t len, std::uint8_t tag) {
  if (len == 0) {
    ++stats_.protocol_errors;  // still answered with one beat so the core does not hang
  }
  std::uint64_t req_tlps = tlp_count(addr, len, cfg_.mrrs);
  std::uint64_t cost = req_tlps * cfg_.tlp_overhead;
  d2h_tokens_ -= static_cast<double>(cost);
  stats_.d2h_bytes += cost;
  stats_.rd_req_tlps += req_tlps;
  ++stats_.rd_reqs;
  stats_.rd_bytes += len;
  PendingRead r;
  r.due = now_ + cfg_.read_latency;
  r.writes_before = write_seq_;
  r.addr = addr;
  r.len = len;
  r.tag = tag;
  reads_.push_back(std::move(r));
  update_ready();
}

void PcieModel::cpl_taken() {
  if (!cpl_valid_ || reads_.empty()) {
    ++stats_.protocol_errors;
    return;
  }
  PendingRead& r = reads_.front();
  std::uint64_t off = static_cast<std::uint64_t>(r.next_beat) * kBeatBytes;
  std::uint64_t bytes = r.len > off ? std::min<std::uint64_t>(kBeatBytes, r.len - off) : 0;
  // Completion TLPs start at MPS-aligned host addresses.
  std::uint64_t tlps = r.len == 0 ? 1 : tlp_starts_in(r.addr, r.addr + off, r.addr + off + bytes, cfg_.mps);
  std::uint64_t cost = bytes + tlps * cfg_.tlp_overhead;
  h2d_tokens_ -= static_cast<double>(cost);
  stats_.h2d_bytes += cost;
  stats_.cpl_tlps += tlps;
  bool last = cpl_last();
  ++r.next_beat;
  if (last) {
    reads_.pop_front();
  }
  cpl_valid_ = false;  // the next beat is prepared by tick()
}

void PcieModel::apply_writes_until(std::uint64_t seq_limit, std::uint64_t due_limit) {
  while (!writes_.empty() && (writes_.front().seq < seq_limit || writes_.front().due <= due_limit)) {
    PendingWrite& w = writes_.front();
    if (!mem_.dma_write(w.addr, w.data.data(), w.data.size())) {
      ++stats_.wr_faults;
    }
    writes_.pop_front();
  }
}

void PcieModel::prepare_cpl() {
  cpl_valid_ = false;
  if (reads_.empty() || h2d_tokens_ <= 0) {
    return;
  }
  PendingRead& r = reads_.front();
  if (r.due > now_) {
    return;
  }
  if (!r.fetched) {
    apply_writes_until(r.writes_before, now_);
    r.data.resize(r.len);
    if (!mem_.dma_read(r.addr, r.data.data(), r.len)) {
      ++stats_.rd_faults;
    }
    r.fetched = true;
  }
  std::uint64_t off = static_cast<std::uint64_t>(r.next_beat) * kBeatBytes;
  std::uint64_t bytes = r.len > off ? std::min<std::uint64_t>(kBeatBytes, r.len - off) : 0;
  std::memset(cpl_beat_.data(), 0, kBeatBytes);
  if (bytes > 0) {
    std::memcpy(cpl_beat_.data(), r.data.data() + off, static_cast<std::size_t>(bytes));
  }
  cpl_valid_ = true;
}

void PcieModel::update_ready() {
  wr_ready_ = d2h_tokens_ > 0 && writes_.size() < cfg_.max_writes_pending;
  rd_ready_ = d2h_tokens_ > 0 && reads_.size() < cfg_.max_reads_outstanding;
}

void PcieModel::tick() {
  ++now_;
  d2h_tokens_ = std::min(d2h_tokens_ + cfg_.d2h_bytes_per_cycle, cfg_.burst_bytes);
  h2d_tokens_ = std::min(h2d_tokens_ + cfg_.h2d_bytes_per_cycle, cfg_.burst_bytes);
  apply_writes_until(0, now_);
  update_ready();
  prepare_cpl();
}

}  // namespace norman::nsim

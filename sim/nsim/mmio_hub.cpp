#include "mmio_hub.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "norman/regmap.hpp"

namespace norman::nsim {

namespace {
// A channel polled every 64 cycles may hand over 64 requests: enough to
// keep the CSR port busy every cycle with posted writes, as a PCIe link
// does (a 64-bit write TLP is ~32 bytes; gen3 x16 carries ~63 per cycle).
constexpr std::size_t kQueueMax = 128;       // CSR requests waiting for the core
constexpr std::size_t kOutstandingMax = 64;  // reads in the core (incl. timed out)
constexpr std::size_t kPullPerChannel = 64;  // per poll, for fairness
constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};
}  // namespace

MmioHub::MmioHub(unsigned csr_addr_bits, std::uint64_t read_timeout_cycles,
                 std::size_t max_channels)
    : csr_addr_bits_(csr_addr_bits), timeout_(read_timeout_cycles), max_channels_(max_channels) {}

MmioHub::~MmioHub() {
  while (!channels_.empty()) {
    close_channel(channels_.begin());
  }
}

bool MmioHub::page_grantable(std::uint64_t page) {
  using namespace norman::regmap;
  std::uint64_t addr = page * kPageBytes;
  bool conn = addr >= kConnDbBase && addr < kConnDbBase + kNumConns * kPageBytes;
  bool nq = addr >= kNqDbBase && addr < kNqDbBase + kNumNqs * kPageBytes;
  return conn || nq;
}

int MmioHub::open(proto::ChannelKind kind, std::span<const std::uint64_t> pages, Opened& out,
                  std::string& why) {
  if (kind != proto::ChannelKind::kPrivileged && kind != proto::ChannelKind::kApp) {
    why = "unknown channel kind";
    return EINVAL;
  }
  if (kind == proto::ChannelKind::kPrivileged && !pages.empty()) {
    why = "a privileged channel takes no page list";
    return EINVAL;
  }
  if (channels_.size() >= max_channels_) {
    why = "too many MMIO channels";
    return ENOSPC;
  }
  std::set<std::uint64_t> page_set;
  for (std::uint64_t p : pages) {
    if (p % norman::regmap::kPageBytes != 0 || !page_grantable(p / norman::regmap::kPageBytes)) {
      why =
          "page " + std::to_string(p) + " is not a connection or notification-queue doorbell page";
      return EINVAL;
    }
    page_set.insert(p / norman::regmap::kPageBytes);
  }
  // The client gets this very file: sealed at its final size (and against
  // further seals), or a client's ftruncate would make every access of nsim
  // to the channel a SIGBUS. What a client can still do (write, punch holes,
  // map it again) only changes the ring's content, which poll() validates.
  UniqueFd fd(::memfd_create("nsim-mmio-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    int err = errno;
    why = "memfd_create failed";
    return err;
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(proto::kChannelShmBytes)) != 0) {
    int err = errno;
    why = "ftruncate of the channel memfd failed";
    return err;
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int err = errno;
    why = "sealing the channel memfd failed";
    return err;
  }
  void* p =
      ::mmap(nullptr, proto::kChannelShmBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) {
    int err = errno;
    why = "mmap of the channel memfd failed";
    return err;
  }
  auto* shm = new (p) proto::MmioChannelShm{};
  std::uint32_t id = next_id_++;
  shm->magic = proto::kChannelMagic;
  shm->version = proto::kProtoVersion;
  shm->kind = static_cast<std::uint16_t>(kind);
  shm->entries = proto::kChannelEntries;
  shm->channel_id = id;
  std::atomic_thread_fence(std::memory_order_release);
  UniqueFd client_fd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  if (!client_fd) {
    int err = errno;
    ::munmap(p, proto::kChannelShmBytes);
    why = "dup of the channel fd failed";
    return err;
  }
  channels_.emplace(id, Channel{id, kind, std::move(fd), shm, std::move(page_set)});
  out.id = id;
  out.fd = std::move(client_fd);
  return 0;
}

int MmioHub::grant(std::uint32_t id, std::span<const std::uint64_t> pages, std::string& why) {
  auto it = channels_.find(id);
  if (it == channels_.end()) {
    why = "no such channel";
    return ENOENT;
  }
  if (it->second.kind != proto::ChannelKind::kApp) {
    why = "pages are granted to app channels only";
    return EINVAL;
  }
  for (std::uint64_t p : pages) {
    if (p % norman::regmap::kPageBytes != 0 || !page_grantable(p / norman::regmap::kPageBytes)) {
      why =
          "page " + std::to_string(p) + " is not a connection or notification-queue doorbell page";
      return EINVAL;
    }
  }
  for (std::uint64_t p : pages) {
    it->second.pages.insert(p / norman::regmap::kPageBytes);
  }
  return 0;
}

int MmioHub::revoke(std::uint32_t id, std::span<const std::uint64_t> pages, std::string& why) {
  auto it = channels_.find(id);
  if (it == channels_.end()) {
    why = "no such channel";
    return ENOENT;
  }
  for (std::uint64_t p : pages) {
    it->second.pages.erase(p / norman::regmap::kPageBytes);
  }
  // Requests already queued for the core were checked when they were pulled;
  // a revoke takes effect for everything pulled after it.
  return 0;
}

int MmioHub::close(std::uint32_t id) {
  auto it = channels_.find(id);
  if (it == channels_.end()) {
    return ENOENT;
  }
  close_channel(it);
  return 0;
}

void MmioHub::close_channel(std::map<std::uint32_t, Channel>::iterator it) {
  it->second.shm->closed.store(1, std::memory_order_release);
  ::munmap(it->second.shm, proto::kChannelShmBytes);
  std::uint32_t id = it->first;
  channels_.erase(it);
  // Queued requests of the channel are dropped; outstanding reads are still
  // matched with their responses, which are then discarded.
  std::erase_if(queue_, [id](const CsrRequest& r) { return r.channel == id; });
}

bool MmioHub::allowed(const Channel& c, std::uint64_t addr) const {
  if (addr % 8 != 0 || (csr_addr_bits_ < 64 && (addr >> csr_addr_bits_) != 0)) {
    return false;
  }
  if (c.kind == proto::ChannelKind::kPrivileged) {
    return true;
  }
  return c.pages.count(addr / norman::regmap::kPageBytes) != 0;
}

void MmioHub::respond(Channel& c, std::uint32_t seq, std::uint64_t data, proto::MmioStatus st) {
  proto::MmioChannelShm* s = c.shm;
  std::uint64_t head = s->rsp_head.load(std::memory_order_relaxed);
  std::uint64_t tail = s->rsp_tail.load(std::memory_order_acquire);
  if (head - tail >= proto::kChannelEntries) {
    // The client does not consume responses (it only issues blocking reads,
    // so this means a broken client): drop the answer.
    ++stats_.unexpected_responses;
    return;
  }
  proto::MmioRsp& r = s->rsp[head % proto::kChannelEntries];
  r.data = data;
  r.status = static_cast<std::uint32_t>(st);
  r.seq = seq;
  s->rsp_head.store(head + 1, std::memory_order_release);
}

bool MmioHub::poll(std::uint64_t now) {
  (void)now;
  if (channels_.empty()) {
    return false;
  }
  bool any = false;
  // Round-robin: start at the first channel with id >= rr_next_.
  auto start = channels_.lower_bound(rr_next_);
  if (start == channels_.end()) {
    start = channels_.begin();
  }
  auto it = start;
  std::size_t visited = 0;
  std::size_t n = channels_.size();
  while (visited < n && queue_.size() < kQueueMax) {
    Channel& c = it->second;
    auto next = std::next(it);
    if (next == channels_.end()) {
      next = channels_.begin();
    }
    proto::MmioChannelShm* s = c.shm;
    std::uint64_t tail = s->req_tail.load(std::memory_order_relaxed);
    std::uint64_t head = s->req_head.load(std::memory_order_acquire);
    if (head - tail > proto::kChannelEntries) {
      ++stats_.corrupt_channels;
      close_channel(it);
      it = next;
      ++visited;
      if (channels_.empty()) {
        break;
      }
      continue;
    }
    std::size_t pulled = 0;
    while (tail != head && pulled < kPullPerChannel && queue_.size() < kQueueMax) {
      proto::MmioReq req = s->req[tail % proto::kChannelEntries];  // copy once, then validate
      ++tail;
      ++pulled;
      bool write = (req.flags & proto::kMmioWrite) != 0;
      if (!allowed(c, req.addr)) {
        if (write) {
          ++stats_.refused_writes;
          s->refused_writes.fetch_add(1, std::memory_order_relaxed);
        } else {
          ++stats_.refused_reads;
          s->refused_reads.fetch_add(1, std::memory_order_relaxed);
          respond(c, req.seq, kAllOnes, proto::MmioStatus::kRefused);
        }
        continue;
      }
      queue_.push_back(
          CsrRequest{static_cast<std::uint32_t>(req.addr), req.data, write, c.id, req.seq});
    }
    if (pulled > 0) {
      s->req_tail.store(tail, std::memory_order_release);
      any = true;
    }
    rr_next_ = next->first;
    it = next;
    ++visited;
  }
  return any;
}

bool MmioHub::can_issue_front() const {
  if (queue_.front().write) {
    return true;
  }
  if (outstanding_.size() < kOutstandingMax) {
    return true;
  }
  return outstanding_.front().timed_out;  // csr_accepted() forgets it to make room
}

void MmioHub::csr_accepted(std::uint64_t now) {
  CsrRequest r = queue_.front();
  queue_.pop_front();
  if (r.write) {
    ++stats_.writes;
    return;
  }
  ++stats_.reads;
  if (outstanding_.size() >= kOutstandingMax && outstanding_.front().timed_out) {
    outstanding_.pop_front();
    ++stats_.lost_responses;
  }
  outstanding_.push_back(Outstanding{r.channel, r.seq, now, false});
  ++outstanding_active_;
}

void MmioHub::csr_response(std::uint64_t data) {
  if (outstanding_.empty()) {
    ++stats_.unexpected_responses;
    return;
  }
  Outstanding o = outstanding_.front();
  outstanding_.pop_front();
  if (o.timed_out) {
    ++stats_.late_responses;
    return;
  }
  --outstanding_active_;
  auto it = channels_.find(o.channel);
  if (it != channels_.end()) {
    respond(it->second, o.seq, data, proto::MmioStatus::kOk);
  }
}

void MmioHub::tick(std::uint64_t now) {
  for (Outstanding& o : outstanding_) {
    if (o.timed_out) {
      continue;
    }
    if (now - o.issued < timeout_) {
      break;  // in order: later ones were issued later
    }
    o.timed_out = true;
    --outstanding_active_;
    ++stats_.timeouts;
    auto it = channels_.find(o.channel);
    if (it != channels_.end()) {
      respond(it->second, o.seq, kAllOnes, proto::MmioStatus::kTimeout);
    }
  }
}

void MmioHub::core_reset() {
  for (Outstanding& o : outstanding_) {
    if (o.timed_out) {
      continue;
    }
    ++stats_.timeouts;
    auto it = channels_.find(o.channel);
    if (it != channels_.end()) {
      respond(it->second, o.seq, kAllOnes, proto::MmioStatus::kTimeout);
    }
  }
  outstanding_.clear();
  outstanding_active_ = 0;
}

}  // namespace norman::nsim

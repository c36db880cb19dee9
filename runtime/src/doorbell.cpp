#include "norman/doorbell.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>

#include "nsim_client.hpp"
#include "nsim_proto.hpp"

namespace norman {

namespace proto = nsim::proto;

NsimMmioDoorbell::NsimMmioDoorbell(int channel_fd)
    : channel_(std::make_unique<nsim::MmioChannel>(nsim::MmioChannel::attach(channel_fd))) {
  // attach() validated magic, version and size and claimed the channel.
  void* p =
      ::mmap(nullptr, proto::kChannelShmBytes, PROT_READ | PROT_WRITE, MAP_SHARED, channel_fd, 0);
  if (p == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "nsim doorbell channel: mmap");
  shm_ = p;
  tail_seen_ = static_cast<proto::MmioChannelShm*>(p)->req_tail.load(std::memory_order_acquire);
}

NsimMmioDoorbell::~NsimMmioDoorbell() {
  if (shm_ != nullptr) ::munmap(shm_, proto::kChannelShmBytes);
}

void NsimMmioDoorbell::write64(std::uint64_t addr, std::uint64_t value) {
  std::lock_guard lock(lock_);
  auto* s = static_cast<proto::MmioChannelShm*>(shm_);
  const std::uint64_t head = s->req_head.load(std::memory_order_relaxed);
  if (head - tail_seen_ >= proto::kChannelEntries) {
    tail_seen_ = s->req_tail.load(std::memory_order_acquire);
    if (head - tail_seen_ >= proto::kChannelEntries) {
      channel_->write64(addr, value);  // waits for room (or throws ETIMEDOUT / EPIPE)
      return;
    }
  }
  s->req[head % proto::kChannelEntries] = proto::MmioReq{addr, value, proto::kMmioWrite, 0};
  s->req_head.store(head + 1, std::memory_order_release);
}

}  // namespace norman

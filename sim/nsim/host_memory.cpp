#include "host_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "nsim_proto.hpp"

namespace norman::nsim {

HostMemory::~HostMemory() {
  for (auto& [iova, r] : regions_) {
    ::munmap(r.host, r.size);
  }
}

int HostMemory::map(int fd, std::uint64_t iova, std::uint64_t size, std::uint64_t offset, std::string& why) {
  constexpr std::uint64_t kPage = proto::kIovaPageBytes;
  if (size == 0 || iova % kPage != 0 || size % kPage != 0 || offset % kPage != 0) {
    why = "iova, size and offset must be non-zero multiples of 4096";
    return EINVAL;
  }
  if (iova + size < iova) {
    why = "iova range wraps around";
    return EINVAL;
  }
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    why = "the region fd must be a memfd (F_GET_SEALS failed)";
    return EBADF;
  }
  if ((seals & F_SEAL_SHRINK) == 0) {
    why = "the region memfd must be sealed with F_SEAL_SHRINK";
    return EPERM;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = "fstat of the region fd failed";
    return errno;
  }
  if (static_cast<std::uint64_t>(st.st_size) < offset + size) {
    why = "the region fd is smaller than offset + size";
    return EINVAL;
  }
  // Overlap check: the region before and the one at/after iova.
  auto next = regions_.lower_bound(iova);
  if (next != regions_.end() && next->second.iova < iova + size) {
    why = "the iova range overlaps an existing mapping";
    return EEXIST;
  }
  if (next != regions_.begin()) {
    auto prev = std::prev(next);
    if (prev->second.iova + prev->second.size > iova) {
      why = "the iova range overlaps an existing mapping";
      return EEXIST;
    }
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    int err = errno;
    why = std::string("mmap failed: ") + std::strerror(err);
    return err;
  }
  regions_.emplace(iova, Region{iova, size, static_cast<std::uint8_t*>(p)});
  last_ = nullptr;
  return 0;
}

int HostMemory::unmap(std::uint64_t iova) {
  auto it = regions_.find(iova);
  if (it == regions_.end()) {
    return ENOENT;
  }
  ::munmap(it->second.host, it->second.size);
  regions_.erase(it);
  last_ = nullptr;
  return 0;
}

const HostMemory::Region* HostMemory::find(std::uint64_t iova) const {
  if (last_ != nullptr && iova - last_->iova < last_->size) {
    return last_;
  }
  auto it = regions_.upper_bound(iova);
  if (it == regions_.begin()) {
    return nullptr;
  }
  --it;
  if (iova - it->second.iova >= it->second.size) {
    return nullptr;
  }
  last_ = &it->second;
  return last_;
}

bool HostMemory::covered(std::uint64_t iova, std::size_t len) const {
  if (iova + len < iova) {
    return false;
  }
  std::uint64_t a = iova;
  std::uint64_t end = iova + len;
  while (a < end) {
    const Region* r = find(a);
    if (r == nullptr) {
      return false;
    }
    a = r->iova + r->size;  // adjacent regions may continue the range
  }
  return true;
}

std::uint8_t* HostMemory::translate(std::uint64_t iova, std::size_t len) const {
  const Region* r = find(iova);
  if (r == nullptr || len > r->size - (iova - r->iova)) {
    return nullptr;
  }
  return r->host + (iova - r->iova);
}

bool HostMemory::dma_write(std::uint64_t iova, const std::uint8_t* src, std::size_t len) {
  if (len == 0) {
    return true;
  }
  if (!covered(iova, len)) {
    ++faults_;
    return false;
  }
  // Everything but the final (up to) 4 bytes, in address order.
  std::size_t body = len > 4 ? len - 4 : 0;
  std::size_t done = 0;
  while (done < body) {
    const Region* r = find(iova + done);
    std::size_t room = static_cast<std::size_t>(r->size - (iova + done - r->iova));
    std::size_t n = room < body - done ? room : body - done;
    std::memcpy(r->host + (iova + done - r->iova), src + done, n);
    done += n;
  }
  std::uint64_t tail = iova + body;
  std::size_t tail_len = len - body;
  std::uint8_t* dst = translate(tail, tail_len);
  if (tail_len == 4 && dst != nullptr && reinterpret_cast<std::uintptr_t>(dst) % 4 == 0) {
    std::uint32_t v;
    std::memcpy(&v, src + body, 4);
    std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(dst)).store(v, std::memory_order_release);
    return true;
  }
  std::atomic_thread_fence(std::memory_order_release);
  for (std::size_t i = 0; i < tail_len; ++i) {
    *translate(tail + i, 1) = src[body + i];
  }
  return true;
}

bool HostMemory::dma_read(std::uint64_t iova, std::uint8_t* dst, std::size_t len) {
  if (len == 0) {
    return true;
  }
  if (!covered(iova, len)) {
    ++faults_;
    std::memset(dst, 0xff, len);
    return false;
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  std::size_t done = 0;
  while (done < len) {
    const Region* r = find(iova + done);
    std::size_t room = static_cast<std::size_t>(r->size - (iova + done - r->iova));
    std::size_t n = room < len - done ? room : len - done;
    std::memcpy(dst + done, r->host + (iova + done - r->iova), n);
    done += n;
  }
  return true;
}

}  // namespace norman::nsim

#include "nsim_backend.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>

namespace norman::device {

namespace {
// IOVAs handed out: [4 GiB, 4 GiB + 256 GiB). Zero is never a valid IOVA,
// so a connection left with base 0 cannot alias real memory.
constexpr std::uint64_t kIovaBase = 1ULL << 32;
constexpr std::uint64_t kIovaSpan = 256ULL << 30;
}  // namespace

NsimDevice::NsimDevice(const std::string& socket_path)
    : socket_path_(socket_path),
      client_(nsim::NsimClient::connect(socket_path)),
      io_(client_.mmio()),
      nic_(io_) {
  nic_.check_identity();
  free_iova_.emplace(kIovaBase, kIovaSpan);
}

NsimDevice::~NsimDevice() = default;

std::string NsimDevice::describe() const {
  const auto& h = client_.hello();
  return "nsim at " + socket_path_ + " (" + std::to_string(h.num_ports) + " ports, " +
         std::to_string(h.clock_hz / 1000000) + " MHz core clock)";
}

unsigned NsimDevice::num_ports() const { return client_.hello().num_ports; }

std::uint64_t NsimDevice::alloc_iova(std::uint64_t bytes) {
  for (auto it = free_iova_.begin(); it != free_iova_.end(); ++it) {
    if (it->second < bytes) continue;
    const std::uint64_t start = it->first;
    const std::uint64_t rest = it->second - bytes;
    free_iova_.erase(it);
    if (rest != 0) free_iova_.emplace(start + bytes, rest);
    return start;
  }
  throw std::system_error(ENOMEM, std::generic_category(), "nsim device: IOVA space exhausted");
}

void NsimDevice::free_iova(std::uint64_t iova, std::uint64_t bytes) {
  auto [it, inserted] = free_iova_.emplace(iova, bytes);
  if (!inserted) return;
  // Merge with the following and the preceding free range.
  auto next = std::next(it);
  if (next != free_iova_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_iova_.erase(next);
  }
  if (it != free_iova_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_iova_.erase(it);
    }
  }
}

DmaBuffer NsimDevice::alloc_dma(std::size_t bytes, const std::string& name) {
  if (bytes == 0 || bytes % nsim::proto::kIovaPageBytes != 0) {
    throw std::system_error(EINVAL, std::generic_category(), "nsim device: DMA size must be a multiple of 4096");
  }
  auto region = nsim::DmaRegion::create(bytes, name);
  DmaBuffer buf;
  buf.fd.reset(::dup(region.fd()));
  if (!buf.fd) throw std::system_error(errno, std::generic_category(), "nsim device: dup");
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, buf.fd.get(), 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "nsim device: mmap");
  buf.data = static_cast<std::uint8_t*>(p);
  buf.size = bytes;
  buf.iova = alloc_iova(bytes);
  try {
    client_.map_dma(buf.fd.get(), buf.iova, bytes, 0);
  } catch (...) {
    free_iova(buf.iova, bytes);
    ::munmap(p, bytes);
    throw;
  }
  dma_bytes_ += bytes;
  return buf;
}

void NsimDevice::free_dma(DmaBuffer& buf) {
  if (buf.size == 0) return;
  try {
    client_.unmap_dma(buf.iova);
  } catch (const std::system_error&) {
    // nsim gone or region already unmapped: nothing left to release there.
  }
  free_iova(buf.iova, buf.size);
  dma_bytes_ -= buf.size;
  ::munmap(buf.data, buf.size);
  buf.fd.reset();
  buf.data = nullptr;
  buf.size = 0;
  buf.iova = 0;
}

DoorbellGrant NsimDevice::open_doorbells() {
  auto ch = client_.open_app_channel({});
  return {ch.id, std::move(ch.fd)};
}

void NsimDevice::grant_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) {
  client_.grant_pages(id, pages);
}

void NsimDevice::revoke_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) {
  client_.revoke_pages(id, pages);
}

void NsimDevice::close_doorbells(std::uint32_t id) { client_.close_channel(id); }

void NsimDevice::bind_irq(std::uint32_t vector, int eventfd) { client_.set_irq(vector, eventfd); }

void NsimDevice::unbind_irq(std::uint32_t vector) { client_.clear_irq(vector); }

}  // namespace norman::device

// Host memory as the device sees it: an IOMMU-like table of regions, each a
// memfd registered at an IO virtual address (IOVA). Every DMA address is
// translated here; an access that is not entirely inside mapped regions is
// refused and counted as an IOMMU fault, never performed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "unique_fd.hpp"

namespace norman::nsim {

class HostMemory {
 public:
  HostMemory() = default;
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  ~HostMemory();

  // Maps [offset, offset + size) of `fd` at `iova`. The fd must be a memfd
  // sealed against shrinking (so the owner cannot make nsim fault with
  // SIGBUS later), large enough, and iova/size/offset page-aligned. Returns 0
  // or a positive errno; `why` receives a message on failure.
  int map(int fd, std::uint64_t iova, std::uint64_t size, std::uint64_t offset, std::string& why);
  // Unmaps the region mapped at exactly `iova`. Returns 0 or ENOENT.
  int unmap(std::uint64_t iova);

  // DMA write: the bytes of [iova, iova + len) from `src`, applied in address
  // order with a release fence before the final 4 bytes (so a consumer that
  // acquire-loads a trailer at the end sees everything before it). Returns
  // false (and counts a fault) if any byte is unmapped; nothing is written then.
  bool dma_write(std::uint64_t iova, const std::uint8_t* src, std::size_t len);
  // DMA read into dst. On a fault dst is filled with 0xff and false returned.
  bool dma_read(std::uint64_t iova, std::uint8_t* dst, std::size_t len);

  // Host pointer of [iova, iova + len) if it lies inside one region, else nullptr
  // (no fault is counted: for tests and diagnostics).
  [[nodiscard]] std::uint8_t* translate(std::uint64_t iova, std::size_t len) const;

  [[nodiscard]] std::uint64_t faults() const { return faults_; }
  [[nodiscard]] std::size_t num_regions() const { return regions_.size(); }

 private:
  struct Region {
    std::uint64_t iova;
    std::uint64_t size;
    std::uint8_t* host;
  };
  // The region containing iova, or nullptr.
  const Region* find(std::uint64_t iova) const;
  bool covered(std::uint64_t iova, std::size_t len) const;

  std::map<std::uint64_t, Region> regions_;  // by iova
  mutable const Region* last_ = nullptr;     // lookup cache
  std::uint64_t faults_ = 0;
};

}  // namespace norman::nsim

// The I/O virtual addresses normand hands out for DMA: a window of the
// IOMMU's address space split into allocated ranges and free ranges (first
// fit, neighbours merged on free). Every range is page-aligned; a range is
// freed by its start, once (a second free or a free of an address that was
// never allocated is refused, so a bug cannot hand one IOVA to two buffers).
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace norman::device {

class IovaAllocator {
 public:
  // [base, base + size): both multiples of page (a power of two); base > 0,
  // so that an IOVA of zero (an unconfigured ring) never aliases a buffer.
  // Throws std::invalid_argument otherwise.
  IovaAllocator(std::uint64_t base, std::uint64_t size, std::uint64_t page = 4096);

  // `bytes` (a non-zero multiple of the page) at an address aligned to
  // `align` (a power of two; below a page means a page). Throws
  // std::system_error: EINVAL for a bad size or alignment, ENOMEM when no
  // free range fits.
  std::uint64_t alloc(std::uint64_t bytes, std::uint64_t align = 0);
  // Takes exactly [iova, iova + bytes) (e.g. a window the platform
  // reserves). EINVAL: misaligned or outside the window; EEXIST: overlaps
  // an allocated range.
  void reserve(std::uint64_t iova, std::uint64_t bytes);
  // Returns the range allocated (or reserved) at `iova`. EINVAL if no
  // range starts there.
  void free(std::uint64_t iova);

  // Reserves every part of the window outside `valid` (start, length
  // pairs, in any order, possibly overlapping): the IOMMU's usable
  // apertures (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE), which exclude e.g.
  // the MSI doorbell window. Call before the first alloc.
  void restrict_to(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& valid);

  // Length of the allocated range at `iova`, 0 if none starts there.
  [[nodiscard]] std::uint64_t size_at(std::uint64_t iova) const;
  [[nodiscard]] std::uint64_t allocated_bytes() const { return allocated_bytes_; }
  [[nodiscard]] std::uint64_t free_bytes() const { return size_ - allocated_bytes_; }
  [[nodiscard]] std::size_t free_ranges() const { return free_.size(); }

 private:
  // Removes [start, start + len) from the free range `it`, which holds it.
  void carve(std::map<std::uint64_t, std::uint64_t>::iterator it, std::uint64_t start,
             std::uint64_t len);

  std::uint64_t base_, size_, page_;
  std::map<std::uint64_t, std::uint64_t> free_;  // start -> length
  std::map<std::uint64_t, std::uint64_t> used_;  // start -> length
  std::uint64_t allocated_bytes_ = 0;
};

}  // namespace norman::device

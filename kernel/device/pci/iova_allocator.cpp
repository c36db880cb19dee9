#include "iova_allocator.hpp"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

namespace norman::device {

namespace {

bool pow2(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "IOVA allocator: " + what);
}

std::string hex(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 15]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

}  // namespace

IovaAllocator::IovaAllocator(std::uint64_t base, std::uint64_t size, std::uint64_t page)
    : base_(base), size_(size), page_(page) {
  if (!pow2(page) || base == 0 || size == 0 || base % page != 0 || size % page != 0 ||
      base + size < base) {
    throw std::invalid_argument("IOVA allocator: window " + hex(base) + "+" + hex(size) +
                                " is empty, at zero, wraps, or is not aligned to the page " +
                                hex(page));
  }
  free_.emplace(base, size);
}

void IovaAllocator::carve(std::map<std::uint64_t, std::uint64_t>::iterator it, std::uint64_t start,
                          std::uint64_t len) {
  const std::uint64_t fstart = it->first;
  const std::uint64_t fend = it->first + it->second;
  free_.erase(it);
  if (start > fstart) free_.emplace(fstart, start - fstart);
  if (start + len < fend) free_.emplace(start + len, fend - start - len);
  used_.emplace(start, len);
  allocated_bytes_ += len;
}

std::uint64_t IovaAllocator::alloc(std::uint64_t bytes, std::uint64_t align) {
  if (bytes == 0 || bytes % page_ != 0) {
    fail(EINVAL, "size " + hex(bytes) + " is not a non-zero multiple of the page " + hex(page_));
  }
  if (align < page_) align = page_;
  if (!pow2(align)) fail(EINVAL, "alignment " + hex(align) + " is not a power of two");
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const std::uint64_t start = (it->first + align - 1) & ~(align - 1);
    if (start < it->first) continue;  // rounding wrapped
    const std::uint64_t end = it->first + it->second;
    if (start >= end || end - start < bytes) continue;
    carve(it, start, bytes);
    return start;
  }
  fail(ENOMEM, "no free range of " + hex(bytes) + " bytes aligned to " + hex(align) + " (" +
                   hex(free_bytes()) + " bytes free in " + std::to_string(free_.size()) +
                   " ranges)");
}

void IovaAllocator::reserve(std::uint64_t iova, std::uint64_t bytes) {
  if (bytes == 0 || iova % page_ != 0 || bytes % page_ != 0 || iova < base_ ||
      iova + bytes < iova || iova + bytes > base_ + size_) {
    fail(EINVAL, "range " + hex(iova) + "+" + hex(bytes) + " is misaligned or outside the window " +
                     hex(base_) + "+" + hex(size_));
  }
  // The free range that would hold it starts at or before iova.
  auto it = free_.upper_bound(iova);
  if (it != free_.begin()) {
    --it;
    if (iova + bytes <= it->first + it->second) {
      carve(it, iova, bytes);
      return;
    }
  }
  fail(EEXIST, "range " + hex(iova) + "+" + hex(bytes) + " overlaps an allocated range");
}

void IovaAllocator::free(std::uint64_t iova) {
  auto u = used_.find(iova);
  if (u == used_.end()) fail(EINVAL, "no allocated range starts at " + hex(iova));
  const std::uint64_t len = u->second;
  used_.erase(u);
  allocated_bytes_ -= len;
  auto it = free_.emplace(iova, len).first;
  // Merge with the following and the preceding free range.
  auto next = std::next(it);
  if (next != free_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_.erase(next);
  }
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_.erase(it);
    }
  }
}

void IovaAllocator::restrict_to(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& valid) {
  // Usable bytes of the window, page-aligned inwards, as a sorted set.
  std::map<std::uint64_t, std::uint64_t> ok;  // start -> end
  const std::uint64_t wend = base_ + size_;
  for (const auto& [start, len] : valid) {
    const std::uint64_t end = start + len < start ? ~std::uint64_t{0} : start + len;
    std::uint64_t s = std::max(start, base_);
    std::uint64_t e = std::min(end, wend);
    s = (s + page_ - 1) & ~(page_ - 1);
    e &= ~(page_ - 1);
    if (s < e) {
      auto [it, inserted] = ok.emplace(s, e);
      if (!inserted) it->second = std::max(it->second, e);
    }
  }
  // Reserve the gaps between them.
  std::uint64_t cursor = base_;
  for (const auto& [s, e] : ok) {
    if (s > cursor) reserve(cursor, s - cursor);
    cursor = std::max(cursor, e);
  }
  if (cursor < wend) reserve(cursor, wend - cursor);
}

std::uint64_t IovaAllocator::size_at(std::uint64_t iova) const {
  auto u = used_.find(iova);
  return u == used_.end() ? 0 : u->second;
}

}  // namespace norman::device

// The IOVA allocator of the PCIe backend: alignment, exhaustion, free and
// reuse, and the refusals that keep one IOVA from ever backing two buffers.
#include "iova_allocator.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace norman::device {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kBase = 1ULL << 32;

int errno_of(auto&& fn) {
  try {
    fn();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

TEST(IovaAllocator, RefusesABadWindow) {
  EXPECT_THROW(IovaAllocator(0, 16 * kPage), std::invalid_argument);  // zero is never an IOVA
  EXPECT_THROW(IovaAllocator(kBase + 1, 16 * kPage), std::invalid_argument);
  EXPECT_THROW(IovaAllocator(kBase, 16 * kPage + 1), std::invalid_argument);
  EXPECT_THROW(IovaAllocator(kBase, 0), std::invalid_argument);
  EXPECT_THROW(IovaAllocator(~std::uint64_t{0} - kPage + 1, 2 * kPage), std::invalid_argument);
  EXPECT_THROW(IovaAllocator(kBase, 16 * kPage, 3000), std::invalid_argument);
}

TEST(IovaAllocator, FirstFitFromTheBaseWithoutOverlap) {
  IovaAllocator a(kBase, 64 * kPage);
  const auto x = a.alloc(kPage);
  const auto y = a.alloc(4 * kPage);
  const auto z = a.alloc(2 * kPage);
  EXPECT_EQ(x, kBase);
  EXPECT_EQ(y, kBase + kPage);
  EXPECT_EQ(z, kBase + 5 * kPage);
  EXPECT_EQ(a.allocated_bytes(), 7 * kPage);
  EXPECT_EQ(a.free_bytes(), 57 * kPage);
  EXPECT_EQ(a.size_at(y), 4 * kPage);
}

TEST(IovaAllocator, RefusesSizesThatAreNotWholePages) {
  IovaAllocator a(kBase, 64 * kPage);
  EXPECT_EQ(errno_of([&] { a.alloc(0); }), EINVAL);
  EXPECT_EQ(errno_of([&] { a.alloc(100); }), EINVAL);
  EXPECT_EQ(errno_of([&] { a.alloc(kPage + 8); }), EINVAL);
  EXPECT_EQ(errno_of([&] { a.alloc(kPage, 3 * kPage); }), EINVAL);  // not a power of two
  EXPECT_EQ(a.allocated_bytes(), 0U);
}

TEST(IovaAllocator, HonoursAlignmentAndKeepsThePadding) {
  IovaAllocator a(kBase, 1024 * kPage);
  a.alloc(kPage);
  const auto big = a.alloc(16 * kPage, 64 * kPage);
  EXPECT_EQ(big % (64 * kPage), 0U);
  EXPECT_EQ(big, kBase + 64 * kPage);
  // The gap left by the alignment is still usable.
  EXPECT_EQ(a.alloc(kPage), kBase + kPage);
  // Alignment below a page means a page.
  EXPECT_EQ(a.alloc(kPage, 8) % kPage, 0U);
}

TEST(IovaAllocator, ExhaustionIsENOMEMAndLosesNothing) {
  IovaAllocator a(kBase, 8 * kPage);
  EXPECT_EQ(a.alloc(8 * kPage), kBase);
  EXPECT_EQ(errno_of([&] { a.alloc(kPage); }), ENOMEM);
  a.free(kBase);
  EXPECT_EQ(a.free_bytes(), 8 * kPage);
  // Fragmented: 4 free pages, but no 2 contiguous ones.
  std::vector<std::uint64_t> v;
  for (int i = 0; i < 8; ++i) v.push_back(a.alloc(kPage));
  for (int i = 0; i < 8; i += 2) a.free(v[static_cast<std::size_t>(i)]);
  EXPECT_EQ(a.free_bytes(), 4 * kPage);
  EXPECT_EQ(errno_of([&] { a.alloc(2 * kPage); }), ENOMEM);
  // Alignment that cannot be met inside the window.
  IovaAllocator b(kBase + kPage, 8 * kPage);
  EXPECT_EQ(errno_of([&] { b.alloc(kPage, 1ULL << 40); }), ENOMEM);
}

TEST(IovaAllocator, FreeMergesNeighboursForReuse) {
  IovaAllocator a(kBase, 16 * kPage);
  const auto x = a.alloc(4 * kPage);
  const auto y = a.alloc(4 * kPage);
  const auto z = a.alloc(4 * kPage);
  a.free(x);
  a.free(z);
  a.free(y);  // merges with both sides
  EXPECT_EQ(a.free_ranges(), 1U);
  EXPECT_EQ(a.alloc(16 * kPage), kBase);
}

TEST(IovaAllocator, ReusesAFreedRangeFirst) {
  IovaAllocator a(kBase, 16 * kPage);
  const auto x = a.alloc(2 * kPage);
  a.alloc(2 * kPage);
  a.free(x);
  EXPECT_EQ(a.alloc(2 * kPage), x);
}

TEST(IovaAllocator, RefusesDoubleFreeAndFreeOfUnallocated) {
  IovaAllocator a(kBase, 16 * kPage);
  const auto x = a.alloc(2 * kPage);
  EXPECT_EQ(errno_of([&] { a.free(x + kPage); }), EINVAL);  // inside, not the start
  EXPECT_EQ(errno_of([&] { a.free(kBase + 8 * kPage); }), EINVAL);
  a.free(x);
  EXPECT_EQ(errno_of([&] { a.free(x); }), EINVAL);
  EXPECT_EQ(a.free_bytes(), 16 * kPage);
  // A double free did not create a second copy of the range.
  const auto p = a.alloc(16 * kPage);
  EXPECT_EQ(p, kBase);
  EXPECT_EQ(errno_of([&] { a.alloc(kPage); }), ENOMEM);
}

TEST(IovaAllocator, ReserveRefusesOverlapAndOutside) {
  IovaAllocator a(kBase, 16 * kPage);
  const auto x = a.alloc(4 * kPage);  // [0, 4)
  EXPECT_EQ(errno_of([&] { a.reserve(x, kPage); }), EEXIST);
  EXPECT_EQ(errno_of([&] { a.reserve(x + 3 * kPage, 2 * kPage); }), EEXIST);  // straddles
  EXPECT_EQ(errno_of([&] { a.reserve(kBase - kPage, 2 * kPage); }), EINVAL);  // below
  EXPECT_EQ(errno_of([&] { a.reserve(kBase + 15 * kPage, 2 * kPage); }), EINVAL);
  EXPECT_EQ(errno_of([&] { a.reserve(kBase + 4 * kPage + 1, kPage); }), EINVAL);
  a.reserve(kBase + 8 * kPage, 2 * kPage);
  EXPECT_EQ(errno_of([&] { a.reserve(kBase + 9 * kPage, kPage); }), EEXIST);
  // Allocation goes around the reservation.
  EXPECT_EQ(a.alloc(4 * kPage), kBase + 4 * kPage);
  EXPECT_EQ(a.alloc(4 * kPage), kBase + 10 * kPage);
  a.free(kBase + 8 * kPage);
  EXPECT_EQ(a.alloc(2 * kPage), kBase + 8 * kPage);
}

TEST(IovaAllocator, NoTwoLiveRangesOverlapUnderChurn) {
  IovaAllocator a(kBase, 256 * kPage);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> live;
  unsigned seed = 12345;
  for (int step = 0; step < 4000; ++step) {
    seed = seed * 1103515245 + 12345;
    if (!live.empty() && (seed >> 16) % 3 == 0) {
      const std::size_t i = (seed >> 8) % live.size();
      a.free(live[i].first);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    const std::uint64_t len = ((seed >> 20) % 8 + 1) * kPage;
    const std::uint64_t align = kPage << ((seed >> 4) % 4);
    try {
      const auto at = a.alloc(len, align);
      EXPECT_EQ(at % align, 0U);
      for (const auto& [s, l] : live) ASSERT_TRUE(at + len <= s || s + l <= at);
      live.emplace_back(at, len);
    } catch (const std::system_error& e) {
      ASSERT_EQ(e.code().value(), ENOMEM);
    }
  }
  std::uint64_t sum = 0;
  for (const auto& [s, l] : live) sum += l;
  EXPECT_EQ(a.allocated_bytes(), sum);
}

TEST(IovaAllocator, RestrictToTheIommuApertures) {
  IovaAllocator a(kBase, 64 * kPage);
  // Usable: below the window up to 2 pages in, then 8..16 (unaligned ends
  // rounded inwards), then everything from 32 up.
  a.restrict_to({{0, kBase + 2 * kPage},
                 {kBase + 8 * kPage - 100, 8 * kPage + 200},
                 {kBase + 32 * kPage, ~std::uint64_t{0} - kBase - 32 * kPage}});
  EXPECT_EQ(a.free_bytes(), (2 + 8 + 32) * kPage);
  EXPECT_EQ(a.alloc(2 * kPage), kBase);
  EXPECT_EQ(a.alloc(4 * kPage), kBase + 8 * kPage);
  EXPECT_EQ(a.alloc(16 * kPage), kBase + 32 * kPage);
  // Nothing usable at all.
  IovaAllocator b(kBase, 4 * kPage);
  b.restrict_to({{0, 0}});
  EXPECT_EQ(errno_of([&] { b.alloc(kPage); }), ENOMEM);
}

}  // namespace
}  // namespace norman::device

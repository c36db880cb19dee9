// IOMMU-like host memory: translation, refusal and fault counting.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host_memory.hpp"
#include "nsim_client.hpp"

namespace norman::nsim {
namespace {

TEST(HostMemory, TranslatesMappedRegionsSharedWithTheOwner) {
  DmaRegion r = DmaRegion::create(8192);
  HostMemory mem;
  std::string why;
  ASSERT_EQ(mem.map(r.fd(), 0x40000, 8192, 0, why), 0) << why;
  std::uint8_t data[16];
  for (int i = 0; i < 16; ++i) {
    data[i] = static_cast<std::uint8_t>(i * 3);
  }
  ASSERT_TRUE(mem.dma_write(0x40000 + 100, data, 16));
  EXPECT_EQ(std::memcmp(r.data() + 100, data, 16), 0) << "the owner sees the device's write";
  r.data()[5000] = 0x77;
  std::uint8_t back = 0;
  ASSERT_TRUE(mem.dma_read(0x40000 + 5000, &back, 1));
  EXPECT_EQ(back, 0x77);
  EXPECT_EQ(mem.translate(0x40000 + 8191, 1), mem.translate(0x40000, 1) + 8191);
  EXPECT_EQ(mem.translate(0x40000 + 8191, 2), nullptr);
  EXPECT_EQ(mem.faults(), 0U);
}

TEST(HostMemory, UnmappedAccessIsRefusedAndCounted) {
  DmaRegion r = DmaRegion::create(4096);
  HostMemory mem;
  std::string why;
  ASSERT_EQ(mem.map(r.fd(), 0x10000, 4096, 0, why), 0) << why;
  std::uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_FALSE(mem.dma_write(0x0, buf, 8));
  EXPECT_FALSE(mem.dma_write(0x10000 + 4092, buf, 8));  // runs off the end
  EXPECT_EQ(r.data()[4092], 0) << "nothing of a refused write is applied";
  EXPECT_FALSE(mem.dma_read(0x20000, buf, 8));
  for (std::uint8_t b : buf) {
    EXPECT_EQ(b, 0xff);
  }
  EXPECT_EQ(mem.faults(), 3U);
  ASSERT_EQ(mem.unmap(0x10000), 0);
  EXPECT_FALSE(mem.dma_write(0x10000, buf, 8));
  EXPECT_EQ(mem.faults(), 4U);
  EXPECT_EQ(mem.unmap(0x10000), ENOENT);
}

TEST(HostMemory, AdjacentRegionsFormOneRange) {
  DmaRegion a = DmaRegion::create(4096);
  DmaRegion b = DmaRegion::create(4096);
  HostMemory mem;
  std::string why;
  ASSERT_EQ(mem.map(a.fd(), 0x100000, 4096, 0, why), 0) << why;
  ASSERT_EQ(mem.map(b.fd(), 0x101000, 4096, 0, why), 0) << why;
  std::uint8_t buf[32];
  std::memset(buf, 0xC3, sizeof(buf));
  ASSERT_TRUE(mem.dma_write(0x100000 + 4096 - 16, buf, 32));
  EXPECT_EQ(a.data()[4095], 0xC3);
  EXPECT_EQ(b.data()[15], 0xC3);
  EXPECT_EQ(b.data()[16], 0);
}

TEST(HostMemory, RejectsBadMappings) {
  DmaRegion r = DmaRegion::create(8192);
  HostMemory mem;
  std::string why;
  EXPECT_EQ(mem.map(r.fd(), 0x1001, 4096, 0, why), EINVAL);
  EXPECT_EQ(mem.map(r.fd(), 0x1000, 100, 0, why), EINVAL);
  EXPECT_EQ(mem.map(r.fd(), 0x1000, 16384, 0, why), EINVAL) << "larger than the memfd";
  ASSERT_EQ(mem.map(r.fd(), 0x4000, 8192, 0, why), 0) << why;
  EXPECT_EQ(mem.map(r.fd(), 0x5000, 4096, 0, why), EEXIST);
  EXPECT_EQ(mem.map(r.fd(), 0x3000, 8192, 0, why), EEXIST);
  EXPECT_EQ(mem.num_regions(), 1U);

  // A memfd its owner could shrink (SIGBUS in nsim) is refused.
  int fd = ::memfd_create("unsealed", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 4096), 0);
  EXPECT_EQ(mem.map(fd, 0x100000, 4096, 0, why), EPERM);
  EXPECT_NE(why.find("F_SEAL_SHRINK"), std::string::npos) << why;
  ::close(fd);
  // Not a memfd at all.
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  EXPECT_NE(mem.map(pipefd[0], 0x100000, 4096, 0, why), 0);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
}

}  // namespace
}  // namespace norman::nsim

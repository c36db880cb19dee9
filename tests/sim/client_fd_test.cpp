// What a client can do to the descriptors nsim hands it must never hurt
// nsim: the doorbell channel memfd is sealed at its size (no SIGBUS from a
// truncate), its content is validated, and an interrupt eventfd whose
// counter a client filled and whose O_NONBLOCK it cleared never blocks nsim.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "irq_table.hpp"
#include "mmio_hub.hpp"
#include "norman/regmap.hpp"

namespace norman::nsim {
namespace {

using norman::regmap::kConnDbBase;
using norman::regmap::kPageBytes;

TEST(ClientFd, DoorbellChannelIsSealedAtItsSize) {
  MmioHub hub;
  MmioHub::Opened o;
  std::string why;
  const std::uint64_t page = kConnDbBase + 3 * kPageBytes;
  ASSERT_EQ(hub.open(proto::ChannelKind::kApp, std::span(&page, 1), o, why), 0) << why;
  const int fd = o.fd.get();
  const int seals = ::fcntl(fd, F_GET_SEALS);
  ASSERT_GE(seals, 0) << "the channel is not a sealable memfd";
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_NE(::ftruncate(fd, 0), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::ftruncate(fd, static_cast<off_t>(proto::kChannelShmBytes) * 2), 0);
  EXPECT_NE(::fallocate(fd, 0, 0, static_cast<off_t>(proto::kChannelShmBytes) * 2), 0);
  // No seal can be added (F_SEAL_SEAL): no write seal on nsim's ring.
  EXPECT_NE(::fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);

  // Garbage indices, then holes punched through all of it: nsim polls on,
  // closes a channel whose ring is broken, and serves the rest.
  std::vector<std::uint8_t> junk(proto::kChannelShmBytes, 0xA5);
  ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
  hub.poll(1);  // junk everywhere, but head == tail: an empty ring of junk
  void* m = ::mmap(nullptr, proto::kChannelShmBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(m, MAP_FAILED);
  auto* shm = static_cast<proto::MmioChannelShm*>(m);
  shm->req_head.store(shm->req_tail.load() + 3 * proto::kChannelEntries);  // a head out of reach
  hub.poll(2);
  EXPECT_EQ(hub.stats().corrupt_channels, 1U);
  ASSERT_EQ(hub.open(proto::ChannelKind::kApp, std::span(&page, 1), o, why), 0) << why;
  ASSERT_EQ(::fallocate(o.fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                        static_cast<off_t>(proto::kChannelShmBytes)),
            0);
  hub.poll(3);  // zeros everywhere: an empty ring
  EXPECT_EQ(hub.num_channels(), 1U);
  ::munmap(m, proto::kChannelShmBytes);
}

TEST(ClientFd, FullBlockingEventfdNeverBlocksAnInterrupt) {
  IrqTable irqs;
  // As normand makes it; the client holds the same open file.
  UniqueFd efd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  ASSERT_TRUE(efd);
  UniqueFd client(::fcntl(efd.get(), F_DUPFD_CLOEXEC, 0));
  irqs.set(7, std::move(efd));
  // Full: the next write of 1 would wait for a reader.
  const std::uint64_t max = 0xfffffffffffffffeULL;
  ASSERT_EQ(::write(client.get(), &max, sizeof max), 8);
  ASSERT_EQ(::fcntl(client.get(), F_SETFL, 0), 0);  // O_NONBLOCK off, for every holder
  const auto t0 = std::chrono::steady_clock::now();
  irqs.fire(7);
  irqs.fire(7);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(500));
  EXPECT_EQ(irqs.tampered(), 1U);
  EXPECT_EQ(irqs.saturated(), 2U);
  // The client reads it empty: interrupts are delivered again.
  std::uint64_t v = 0;
  ASSERT_EQ(::read(client.get(), &v, sizeof v), 8);
  irqs.fire(7);
  EXPECT_EQ(irqs.delivered(), 1U);
}

TEST(ClientFd, ClearingNonBlockInALoopCannotHoldAnInterrupt) {
  // The client clears O_NONBLOCK again and again, hoping to hit the moment
  // between nsim's fcntl and its write: a write that blocks is cut short by
  // the timer and the vector unbound. Either way fire() returns quickly.
  IrqTable irqs;
  UniqueFd efd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  ASSERT_TRUE(efd);
  UniqueFd client(::fcntl(efd.get(), F_DUPFD_CLOEXEC, 0));
  irqs.set(3, std::move(efd));
  const std::uint64_t max = 0xfffffffffffffffeULL;
  ASSERT_EQ(::write(client.get(), &max, sizeof max), 8);
  std::atomic<bool> stop{false};
  std::thread attacker([&] {
    while (!stop) (void)::fcntl(client.get(), F_SETFL, 0);
  });
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) irqs.fire(3);
  const auto took = std::chrono::steady_clock::now() - t0;
  stop = true;
  attacker.join();
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_LE(irqs.blocked(), 1U);
  EXPECT_EQ(irqs.delivered(), 0U);
}

}  // namespace
}  // namespace norman::nsim

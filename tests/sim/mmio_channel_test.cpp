// MMIO channels: a fake core behind MmioHub on a thread, the host library's
// MmioChannel in the test thread, talking through the shared memory.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "mmio_hub.hpp"
#include "nsim_client.hpp"
#include "norman/regmap.hpp"

namespace norman::nsim {
namespace {

using norman::regmap::kConnDbBase;
using norman::regmap::kPageBytes;

// Serves the hub like nsim's main loop does, with a register file as the core.
class FakeCore {
 public:
  explicit FakeCore(MmioHub& hub, bool answer = true) : hub_(hub), answer_(answer) {
    thread_ = std::thread([this] { run(); });
  }
  ~FakeCore() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
  }
  // Runs f with the hub while the thread is paused (hub is single-threaded).
  template <typename F>
  auto with_hub(F f) {
    std::lock_guard lock(mu_);
    return f(hub_);
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> writes() {
    std::lock_guard lock(mu_);
    return writes_;
  }

 private:
  void run() {
    while (!stop_) {
      std::lock_guard lock(mu_);
      ++cycle_;
      hub_.poll(cycle_);
      while (hub_.csr_pending()) {
        CsrRequest r = hub_.csr_front();
        hub_.csr_accepted(cycle_);
        if (r.write) {
          writes_.emplace_back(r.addr, r.data);
        } else if (answer_) {
          hub_.csr_response(r.addr == norman::regmap::kRegIdMagic ? norman::regmap::kMagic : r.addr * 2);
        }
      }
      cycle_ += 1000;
      hub_.tick(cycle_);
    }
  }

  MmioHub& hub_;
  bool answer_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::uint64_t cycle_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> writes_;
  std::thread thread_;
};

MmioHub::Opened open_channel(MmioHub& hub, proto::ChannelKind kind, std::vector<std::uint64_t> pages = {}) {
  MmioHub::Opened o;
  std::string why;
  int err = hub.open(kind, pages, o, why);
  EXPECT_EQ(err, 0) << why;
  return o;
}

TEST(MmioChannel, PrivilegedReadsAreAnsweredAndWritesReachTheCore) {
  MmioHub hub;
  MmioHub::Opened o = open_channel(hub, proto::ChannelKind::kPrivileged);
  FakeCore core(hub);
  MmioChannel ch = MmioChannel::attach(o.fd.get());
  EXPECT_EQ(ch.kind(), proto::ChannelKind::kPrivileged);
  EXPECT_EQ(ch.read64(norman::regmap::kRegIdMagic), norman::regmap::kMagic);
  EXPECT_EQ(ch.last_status(), proto::MmioStatus::kOk);
  ch.write64(norman::regmap::kRegCtrlScratch, 0x1234);
  for (int i = 0; i < 1000; ++i) {  // more than a ring's worth: the client waits for room
    ch.write64(0x40 + 8 * static_cast<std::uint64_t>(i % 16), static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(ch.read64(0x100), 0x200U);  // reads are ordered after the writes
  auto w = core.writes();
  ASSERT_EQ(w.size(), 1001U);
  EXPECT_EQ(w[0], (std::pair<std::uint64_t, std::uint64_t>{norman::regmap::kRegCtrlScratch, 0x1234}));
  EXPECT_EQ(w[1000].second, 999U);
  core.stop();
  EXPECT_EQ(hub.stats().writes, 1001U);
  EXPECT_EQ(hub.stats().reads, 2U);
  EXPECT_EQ(hub.stats().refused_writes, 0U);
}

TEST(MmioChannel, AppChannelWriteOutsideGrantedPagesIsRefusedAndCounted) {
  MmioHub hub;
  std::uint64_t mine = kConnDbBase + 5 * kPageBytes;
  std::uint64_t other = kConnDbBase + 6 * kPageBytes;
  MmioHub::Opened o = open_channel(hub, proto::ChannelKind::kApp, {mine});
  FakeCore core(hub);
  MmioChannel ch = MmioChannel::attach(o.fd.get());
  EXPECT_EQ(ch.kind(), proto::ChannelKind::kApp);
  ch.write64(mine + norman::regmap::kDbConnRxCons, 7);
  ch.write64(other + norman::regmap::kDbConnRxCons, 8);           // another app's doorbell
  ch.write64(norman::regmap::kRegCtrlEnable, 0);                  // privileged register
  EXPECT_EQ(ch.read64(norman::regmap::kRegIdMagic), ~0ULL);       // refused read: all ones
  EXPECT_EQ(ch.last_status(), proto::MmioStatus::kRefused);
  EXPECT_EQ(ch.read64(mine + 8), (mine + 8) * 2);                 // granted read reaches the core
  auto w = core.writes();
  ASSERT_EQ(w.size(), 1U) << "refused writes must never reach the core";
  EXPECT_EQ(w[0].first, mine);
  EXPECT_EQ(w[0].second, 7U);
  EXPECT_EQ(ch.refused_writes(), 2U);
  EXPECT_EQ(ch.refused_reads(), 1U);
  core.with_hub([](MmioHub& h) {
    EXPECT_EQ(h.stats().refused_writes, 2U);
    EXPECT_EQ(h.stats().refused_reads, 1U);
  });
}

TEST(MmioChannel, GrantAndRevokeTakeEffect) {
  MmioHub hub;
  std::uint64_t nq = norman::regmap::kNqDbBase + 3 * kPageBytes;
  MmioHub::Opened o = open_channel(hub, proto::ChannelKind::kApp);
  FakeCore core(hub);
  MmioChannel ch = MmioChannel::attach(o.fd.get());
  ch.write64(nq, 1);
  (void)ch.read64(nq);  // a read is a barrier: everything before it was pulled
  EXPECT_EQ(ch.refused_writes(), 1U);
  std::string why;
  std::vector<std::uint64_t> pages{nq};
  EXPECT_EQ(core.with_hub([&](MmioHub& h) { return h.grant(o.id, pages, why); }), 0) << why;
  ch.write64(nq, 2);
  EXPECT_EQ(ch.read64(nq), nq * 2);
  EXPECT_EQ(core.with_hub([&](MmioHub& h) { return h.revoke(o.id, pages, why); }), 0) << why;
  ch.write64(nq, 3);
  (void)ch.read64(nq);
  EXPECT_EQ(ch.refused_writes(), 2U);
  auto w = core.writes();
  ASSERT_EQ(w.size(), 1U);
  EXPECT_EQ(w[0].second, 2U);
}

TEST(MmioChannel, OnlyDoorbellPagesCanBeGranted) {
  MmioHub hub;
  MmioHub::Opened o;
  std::string why;
  std::vector<std::uint64_t> csr_page{0};
  EXPECT_EQ(hub.open(proto::ChannelKind::kApp, csr_page, o, why), EINVAL);
  std::vector<std::uint64_t> unaligned{kConnDbBase + 8};
  EXPECT_EQ(hub.open(proto::ChannelKind::kApp, unaligned, o, why), EINVAL);
  std::vector<std::uint64_t> past_end{norman::regmap::kNqDbBase + norman::regmap::kNumNqs * kPageBytes};
  EXPECT_EQ(hub.open(proto::ChannelKind::kApp, past_end, o, why), EINVAL);
  std::vector<std::uint64_t> below{kConnDbBase - kPageBytes};
  EXPECT_EQ(hub.open(proto::ChannelKind::kApp, below, o, why), EINVAL);
  EXPECT_EQ(hub.num_channels(), 0U);
}

TEST(MmioChannel, UnansweredReadTimesOutWithAllOnes) {
  MmioHub hub(32, 5000);
  MmioHub::Opened o = open_channel(hub, proto::ChannelKind::kPrivileged);
  FakeCore core(hub, /*answer=*/false);
  MmioChannel ch = MmioChannel::attach(o.fd.get());
  EXPECT_EQ(ch.read64(norman::regmap::kRegIdMagic), ~0ULL);
  EXPECT_EQ(ch.last_status(), proto::MmioStatus::kTimeout);
  core.with_hub([](MmioHub& h) { EXPECT_EQ(h.stats().timeouts, 1U); });
}

TEST(MmioChannel, AttachOnceAndClosedChannelsFail) {
  MmioHub hub;
  MmioHub::Opened o = open_channel(hub, proto::ChannelKind::kPrivileged);
  MmioChannel ch = MmioChannel::attach(o.fd.get());
  try {
    (void)MmioChannel::attach(o.fd.get());
    FAIL() << "a second attach must fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBUSY);
  }
  ASSERT_EQ(hub.close(o.id), 0);
  EXPECT_TRUE(ch.closed());
  try {
    (void)ch.read64(0);
    FAIL() << "a read on a closed channel must fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPIPE);
    EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
  }
}

TEST(MmioChannel, CorruptRingClosesOnlyThatChannel) {
  MmioHub hub;
  MmioHub::Opened bad = open_channel(hub, proto::ChannelKind::kPrivileged);
  MmioHub::Opened good = open_channel(hub, proto::ChannelKind::kPrivileged);
  MmioChannel b = MmioChannel::attach(bad.fd.get());
  // Scribble on the shared ring like a buggy or hostile client could.
  void* p = ::mmap(nullptr, proto::kChannelShmBytes, PROT_READ | PROT_WRITE, MAP_SHARED, bad.fd.get(), 0);
  ASSERT_NE(p, MAP_FAILED);
  static_cast<proto::MmioChannelShm*>(p)->req_head.store(1U << 30);
  ::munmap(p, proto::kChannelShmBytes);
  FakeCore core(hub);
  MmioChannel g = MmioChannel::attach(good.fd.get());
  EXPECT_EQ(g.read64(0x100), 0x200U);
  EXPECT_TRUE(b.closed());
  core.with_hub([](MmioHub& h) {
    EXPECT_EQ(h.stats().corrupt_channels, 1U);
    EXPECT_EQ(h.num_channels(), 1U);
  });
}

}  // namespace
}  // namespace norman::nsim

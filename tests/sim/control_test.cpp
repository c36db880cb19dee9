// Control protocol round trips: NsimClient <-> ControlServer + NsimService,
// with a fake core answering CSR reads, all in one process over a real
// UNIX socket in a temp directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "control_server.hpp"
#include "nsim_client.hpp"
#include "norman/regmap.hpp"
#include "service.hpp"
#include "wire.hpp"

namespace norman::nsim {
namespace {

using norman::regmap::kConnDbBase;
using norman::regmap::kPageBytes;

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nsim-ctl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sub/nsim.sock";  // the server creates the directory
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  void start(std::uint64_t magic = norman::regmap::kMagic) {
    magic_ = magic;
    service_ = std::make_unique<NsimService>(NsimService::Info{2, 250000000}, mem_, hub_, irqs_,
                                             [](proto::StatsRsp& s) { s.num_ports = 2; },
                                             [this] { return cycle_.load(); });
    server_ = std::make_unique<ControlServer>(path_, *service_);
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
    server_.reset();
  }
  void run() {
    while (!stop_ && !service_->shutdown_requested()) {
      std::lock_guard lock(mu_);
      server_->poll(100);
      std::uint64_t c = ++cycle_;
      hub_.poll(c);
      while (hub_.csr_pending()) {
        CsrRequest r = hub_.csr_front();
        hub_.csr_accepted(c);
        if (!r.write) {
          std::uint64_t v = r.addr == norman::regmap::kRegIdMagic     ? magic_
                            : r.addr == norman::regmap::kRegIdBuildId ? norman::regmap::kBuildId
                                                                      : 0;
          hub_.csr_response(v);
        } else {
          ++core_writes_;
        }
      }
      std::uint32_t v = fire_.exchange(0);
      if (v != 0) {
        irqs_.fire(v);
      }
    }
  }

  std::string dir_, path_;
  HostMemory mem_;
  MmioHub hub_;
  IrqTable irqs_;
  std::unique_ptr<NsimService> service_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> cycle_{0};
  std::atomic<std::uint32_t> fire_{0};
  std::atomic<std::uint64_t> core_writes_{0};
  std::uint64_t magic_ = 0;
};

TEST_F(ControlTest, SocketIsRootOnly) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST_F(ControlTest, HelloAndIdentityCheck) {
  start();
  NsimClient c = NsimClient::connect(path_);
  EXPECT_EQ(c.hello().proto_version, proto::kProtoVersion);
  EXPECT_EQ(c.hello().num_ports, 2U);
  EXPECT_EQ(c.hello().build_id, norman::regmap::kBuildId);
  EXPECT_EQ(c.mmio().read64(norman::regmap::kRegIdBuildId), norman::regmap::kBuildId);
}

TEST_F(ControlTest, WrongMagicIsRefusedWithAClearError) {
  start(0x12345678);
  try {
    (void)NsimClient::connect(path_);
    FAIL() << "connect must refuse a core with the wrong MAGIC";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("MAGIC"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0x12345678"), std::string::npos) << e.what();
  }
}

TEST_F(ControlTest, NoServerGivesAClearError) {
  try {
    (void)NsimClient::connect(dir_ + "/nobody.sock");
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("is nsim running"), std::string::npos) << e.what();
  }
}

TEST_F(ControlTest, SecondServerOnTheSameSocketIsRefused) {
  start();
  HostMemory mem;
  MmioHub hub;
  IrqTable irqs;
  NsimService svc({}, mem, hub, irqs, {}, {});
  try {
    ControlServer second(path_, svc);
    FAIL() << "a second server must not steal a live socket";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
  }
  NsimClient c = NsimClient::connect(path_);  // the first still works
  EXPECT_EQ(c.hello().num_ports, 2U);
}

TEST_F(ControlTest, MapAndUnmapDma) {
  start();
  NsimClient c = NsimClient::connect(path_);
  {
    DmaRegion r = c.alloc_dma(16384, 0x200000);
    EXPECT_EQ(r.iova(), 0x200000U);
    {
      std::lock_guard lock(mu_);
      EXPECT_EQ(mem_.num_regions(), 1U);
      std::uint8_t v = 0x42;
      ASSERT_TRUE(mem_.dma_write(0x200000 + 12345, &v, 1));
    }
    EXPECT_EQ(r.data()[12345], 0x42) << "device writes land in the caller's mapping";
    DmaRegion other = DmaRegion::create(4096);
    try {
      c.map_dma(other.fd(), 0x201000, 4096);
      FAIL() << "overlapping map must be refused";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EEXIST);
      EXPECT_NE(std::string(e.what()).find("overlaps"), std::string::npos) << e.what();
    }
    c.map_dma(other.fd(), 0x300000, 4096);  // a region registered for someone else
    c.unmap_dma(0x300000);
  }
  // The region unregistered itself when destroyed.
  std::lock_guard lock(mu_);
  EXPECT_EQ(mem_.num_regions(), 0U);
}

TEST_F(ControlTest, UnmapUnknownAndBadFdAreRefused) {
  start();
  NsimClient c = NsimClient::connect(path_);
  try {
    c.unmap_dma(0x999000);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
  }
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  EXPECT_THROW(c.map_dma(p[0], 0x1000, 4096), std::system_error);
  ::close(p[0]);
  ::close(p[1]);
}

TEST_F(ControlTest, IrqDeliveredToRegisteredEventfd) {
  start();
  NsimClient c = NsimClient::connect(path_);
  UniqueFd ev = make_eventfd();
  c.set_irq(5, ev.get());
  fire_ = 5;
  pollfd p{ev.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the eventfd was not signalled";
  std::uint64_t n = 0;
  ASSERT_EQ(::read(ev.get(), &n, sizeof(n)), static_cast<ssize_t>(sizeof(n)));
  EXPECT_EQ(n, 1U);
  c.clear_irq(5);
  fire_ = 5;
  while (fire_.load() != 0) {
    std::this_thread::yield();
  }
  proto::StatsRsp s = c.stats();
  EXPECT_EQ(s.irqs, 1U);
  EXPECT_EQ(s.irqs_unregistered, 1U);
}

TEST_F(ControlTest, AppChannelHandedToAnotherOwner) {
  start();
  NsimClient c = NsimClient::connect(path_);
  std::uint64_t mine = kConnDbBase + 9 * kPageBytes;
  std::uint64_t mine_list[] = {mine};
  AppChannel app = c.open_app_channel(mine_list);
  // Hand the fd over a socket as the control plane would to an application.
  int sp[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  int fd = app.fd.get();
  wire::send_message(sp[0], wire::make_header(proto::MsgType::kHello, 0, 0), {}, std::span<const int>(&fd, 1));
  app.fd.reset();
  wire::Message got;
  ASSERT_TRUE(wire::recv_message(sp[1], got, 1000));
  ASSERT_EQ(got.fds.size(), 1U);
  ::close(sp[0]);
  ::close(sp[1]);
  MmioChannel ch = MmioChannel::attach(got.fds[0].get());
  EXPECT_EQ(ch.id(), app.id);
  ch.write64(mine, 1);
  ch.write64(mine + kPageBytes, 2);  // not granted
  ch.write64(0x108, 3);              // privileged register
  (void)ch.read64(mine);
  EXPECT_EQ(ch.refused_writes(), 2U);
  EXPECT_EQ(core_writes_.load(), 1U);
  proto::StatsRsp s = c.stats();
  EXPECT_EQ(s.mmio_refused, 2U);
  EXPECT_EQ(s.mmio_channels, 2U);  // the client's privileged one and the app's

  std::uint64_t next_list[] = {mine + kPageBytes};
  c.grant_pages(app.id, next_list);
  ch.write64(mine + kPageBytes, 4);
  (void)ch.read64(mine);
  EXPECT_EQ(core_writes_.load(), 2U);
  std::uint64_t csr_list[] = {0};
  EXPECT_THROW(c.grant_pages(app.id, csr_list), std::system_error);
  c.close_channel(app.id);
  EXPECT_TRUE(ch.closed());
  EXPECT_THROW(ch.write64(mine, 5), std::system_error);
}

TEST_F(ControlTest, GarbageOnTheSocketDropsOnlyThatClient) {
  start();
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path_.c_str(), path_.size() + 1);
  ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const char junk[64] = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::write(s, junk, sizeof(junk)), static_cast<ssize_t>(sizeof(junk)));
  char buf[512];
  ssize_t n;
  do {
    n = ::read(s, buf, sizeof(buf));
  } while (n > 0);
  // EOF, or a reset because nsim closed with our junk unread.
  EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << "nsim closes a client that does not speak the protocol";
  ::close(s);
  NsimClient c = NsimClient::connect(path_);
  EXPECT_EQ(c.stats().num_ports, 2U);
}

// A control plane that dies without cleaning up (SIGKILLed normand) leaves
// nothing behind: its DMA mappings, channels (privileged and app) and
// interrupt vectors go with its connection, a successor maps the same IOVA
// again, and the device is told to reset once no driver is left.
TEST_F(ControlTest, EverythingAConnectionCreatedDiesWithIt) {
  std::atomic<int> resets{0};
  start();
  {
    std::lock_guard lock(mu_);
    service_->on_driver_gone([&] { ++resets; });
  }
  NsimClient c = NsimClient::connect(path_);
  EXPECT_EQ(c.stats().mmio_channels, 1U);
  constexpr std::uint64_t kIova = 1ULL << 32;
  auto child_run = [&]() -> int {
    pid_t pid = ::fork();
    if (pid == 0) {
      try {
        ConnectOptions o;
        o.check_identity = false;
        NsimClient child = NsimClient::connect(path_, o);
        DmaRegion r = DmaRegion::create(4096, "dies");
        child.map_dma(r.fd(), kIova, 4096, 0);
        std::uint64_t p[] = {kConnDbBase};
        AppChannel app = child.open_app_channel(p);
        (void)app.fd.release();
        UniqueFd efd = make_eventfd();
        child.set_irq(7, efd.get());
        ::_exit(child.stats().mmio_channels == 3 ? 0 : 1);
      } catch (...) {
        ::_exit(2);
      }
    }
    int st = 0;
    if (pid < 0 || ::waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
  };
  // The first dies with a mapping at kIova; the second maps it again (the
  // "MAP_DMA: the iova range overlaps an existing mapping" of a restarted
  // normand).
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(child_run(), 0) << "round " << round;
    for (int i = 0; i < 1000 && c.stats().mmio_channels != 1; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(c.stats().mmio_channels, 1U);
    std::lock_guard lock(mu_);
    EXPECT_EQ(mem_.num_regions(), 0U);
    EXPECT_EQ(irqs_.size(), 0U);
  }
  // c still holds a privileged channel: the device was not reset under it.
  EXPECT_EQ(resets.load(), 0);
}

TEST_F(ControlTest, TheDeviceResetsWhenItsLastDriverIsGone) {
  std::atomic<int> resets{0};
  start();
  {
    std::lock_guard lock(mu_);
    service_->on_driver_gone([&] { ++resets; });
  }
  {
    NsimClient a = NsimClient::connect(path_);
    {
      NsimClient b = NsimClient::connect(path_);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(resets.load(), 0) << "reset while a driver was still attached";
  }
  for (int i = 0; i < 1000 && resets.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(resets.load(), 1);
}

// A response whose fd this process cannot receive (RLIMIT_NOFILE reached:
// MSG_CTRUNC) is a clear EMFILE, the connection stays in step for the next
// requests, and the channel nsim opened for it is closed again.
TEST_F(ControlTest, ResponseFdLostAtEmfileKeepsTheConnectionInStep) {
  start();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = 0;
    try {
      NsimClient c = NsimClient::connect(path_);
      const auto before = c.stats().mmio_channels;
      rlimit rl{64, 64};
      ::setrlimit(RLIMIT_NOFILE, &rl);
      std::vector<int> fill;
      for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fill.push_back(fd);
      try {
        (void)c.open_app_channel({});
        rc = 10;
      } catch (const std::system_error& e) {
        if (e.code().value() != EMFILE) rc = 11;
      }
      for (int fd : fill) ::close(fd);
      if (rc == 0 && c.stats().mmio_channels != before) rc = 12;  // the lost channel was closed
      if (rc == 0) {
        AppChannel ok = c.open_app_channel({});
        if (!ok.fd || c.stats().mmio_channels != before + 1) rc = 13;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      rc = 20;
    }
    ::_exit(rc);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "10: no error, 11: not EMFILE, 12: channel leaked, 13/20: out of step";
}

// A request that timed out gets its answer late: the next request skips it
// (by seq) instead of taking it for its own, and what it created is undone.
TEST_F(ControlTest, LateAnswerOfATimedOutRequestIsSkipped) {
  start();
  ConnectOptions o;
  o.timeout = std::chrono::milliseconds(200);
  NsimClient c = NsimClient::connect(path_, o);
  const auto before = c.stats().mmio_channels;
  {
    std::lock_guard stall(mu_);  // nsim does not serve its socket meanwhile
    try {
      (void)c.open_app_channel({});
      FAIL() << "the request must time out";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ETIMEDOUT) << e.what();
    }
  }
  EXPECT_EQ(c.stats().num_ports, 2U);  // not "response of the wrong type"
  EXPECT_EQ(c.stats().mmio_channels, before);
  AppChannel app = c.open_app_channel({});
  EXPECT_TRUE(app.fd.valid());
}

// A control connection nsim dropped is re-opened by the next request, and
// the same MmioChannel object serves on a new privileged channel.
TEST_F(ControlTest, LostConnectionStaysLostAndSaysSo) {
  start();
  NsimClient c = NsimClient::connect(path_);
  std::string lost;
  int calls = 0;
  c.on_lost([&](const std::string& why) {
    lost = why;
    ++calls;
  });
  stop();  // nsim drops every client connection (and with it their state)
  stop_ = false;
  start();
  // The first request finds the connection gone; no later one re-opens it,
  // since what it set up on the NIC died with it.
  EXPECT_THROW((void)c.stats(), std::system_error);
  try {
    (void)c.stats();
    ADD_FAILURE() << "a lost connection answered";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOTCONN) << e.what();
  }
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(lost.empty());
}

TEST_F(ControlTest, ShutdownStopsTheService) {
  start();
  NsimClient c = NsimClient::connect(path_);
  c.shutdown();
  thread_.join();
  EXPECT_TRUE(service_->shutdown_requested());
}

}  // namespace
}  // namespace norman::nsim

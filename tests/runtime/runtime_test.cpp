// Layer 2: the Runtime's slow path against a fake normand speaking the real
// control protocol: hello, opening and closing, and that every refusal is a
// std::system_error carrying normand's errno unchanged.
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "fixture.hpp"

namespace norman::test {
namespace {

int errno_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

TEST(Runtime, HelloReportsTheNic) {
  Env env;
  EXPECT_EQ(env.rt.nic().ip, Ipv4::from_octets(10, 11, 0, 2));
  EXPECT_EQ(env.rt.nic().mac.to_string(), "02:00:00:00:00:02");
  EXPECT_EQ(env.rt.nic().prefix_len, 24U);
  EXPECT_EQ(env.rt.nic().build_id, regmap::kBuildId);
  EXPECT_EQ(env.rt.doorbell().transport(), "nsim-mmio");
  EXPECT_EQ(env.rt.hello().value("comm", ""), "test");
  EXPECT_TRUE(env.rt.status().contains("connections"));
}

// normand going away (exit, SIGKILL, lost NIC) wakes a receiver blocked in
// recv with ENETDOWN at once, and later calls fail the same way: never a
// silent hang until the timeout. A new Runtime is how to reconnect.
TEST(Runtime, NormandGoingAwayFailsBlockedAndLaterCallsWithEnetdown) {
  testing::SoftNic nic;
  auto normand = std::make_unique<testing::FakeNormand>(nic);
  Runtime rt(Env::options(normand->socket_path(), 0ns));
  auto s = rt.udp_bind(7000, Env::quick());
  std::atomic<int> err{0};
  std::atomic<bool> blocked{false};
  std::thread t([&] {
    std::array<std::uint8_t, 64> buf{};
    blocked = true;
    err = errno_of([&] { (void)s->recv(buf, std::chrono::seconds(10)); });
  });
  while (!blocked) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);  // asleep in ppoll
  const auto t0 = std::chrono::steady_clock::now();
  normand.reset();
  t.join();
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(err.load(), ENETDOWN);
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_EQ(errno_of([&] { (void)rt.status(); }), ENETDOWN);
  EXPECT_EQ(errno_of([&] { rt.check(); }), ENETDOWN);
  std::array<std::uint8_t, 64> buf{};
  EXPECT_EQ(errno_of([&] { (void)s->recv(buf, std::chrono::seconds(10)); }), ENETDOWN);
  s.reset();  // closing a dead session's socket does not throw
}

TEST(Runtime, NormandNotRunning) {
  RuntimeOptions o;
  o.socket_path = "/tmp/norman-no-such-dir/normand.sock";
  try {
    Runtime rt(o);
    FAIL() << "connected to nothing";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("is normand running?"), std::string::npos) << e.what();
  }
}

TEST(Runtime, SocketPathFromEnvironment) {
  ::setenv("NORMAN_SOCKET", "/tmp/x/normand.sock", 1);
  EXPECT_EQ(Runtime::default_socket_path(), "/tmp/x/normand.sock");
  ::unsetenv("NORMAN_SOCKET");
  EXPECT_EQ(Runtime::default_socket_path(), ctl::kDefaultSocketPath);
  testing::SoftNic nic;
  testing::FakeNormand normand(nic);
  ::setenv("NORMAN_SOCKET", normand.socket_path().c_str(), 1);
  Runtime rt;  // from the environment
  ::unsetenv("NORMAN_SOCKET");
  EXPECT_EQ(rt.nic().ip, Ipv4::from_octets(10, 11, 0, 2));
  Runtime rt2 = Runtime::connect(normand.socket_path());
  EXPECT_EQ(rt2.nic().ip, rt.nic().ip);
}

TEST(Runtime, RefusesAnotherNicBuild) {
  testing::SoftNic nic;
  testing::FakeNormandConfig cfg;
  cfg.build_id = 0x1234;
  testing::FakeNormand normand(nic, cfg);
  try {
    Runtime::connect(normand.socket_path());
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPROTO);
    EXPECT_NE(std::string(e.what()).find("build id"), std::string::npos) << e.what();
  }
}

TEST(Runtime, RefusesUnknownDoorbellTransport) {
  testing::SoftNic nic;
  testing::FakeNormandConfig cfg;
  cfg.doorbell = "pcie-bar";
  testing::FakeNormand normand(nic, cfg);
  EXPECT_EQ(errno_of([&] { Runtime::connect(normand.socket_path()); }), EPROTONOSUPPORT);
}

TEST(Runtime, NormandErrorsPassThroughUnchanged) {
  Env env;
  auto a = env.rt.udp_bind(7000, Env::quick());
  EXPECT_EQ(a->local(), (Endpoint{env.rt.nic().ip, 7000}));
  EXPECT_EQ(errno_of([&] { env.rt.udp_bind(7000); }), EADDRINUSE);
  if (::geteuid() != 0) {
    EXPECT_EQ(errno_of([&] { env.rt.udp_bind(80); }), EACCES);
  }
  env.normand.fail_next("udp_open", EMFILE, "too many connections for uid 1000");
  try {
    env.rt.udp_bind(7001);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EMFILE);
    EXPECT_NE(std::string(e.what()).find("too many connections for uid 1000"), std::string::npos)
        << e.what();
  }
  UdpOptions big;
  big.rx_log2 = 20;
  EXPECT_EQ(errno_of([&] { env.rt.udp_bind(7002, big); }), EINVAL);
  env.normand.fail_next("nq_open", ENOSPC, "no free notification queue");
  EXPECT_EQ(errno_of([&] { env.rt.open_notify_queue(); }), ENOSPC);
  // Failed opens leave nothing behind (their private queues are closed too).
  EXPECT_TRUE(
      eventually([&] { return env.normand.open_conns() == 1 && env.normand.open_nqs() == 1; }));
}

TEST(Runtime, ConnectResolvesTheNeighborOrFails) {
  Env env;
  auto s = env.rt.udp_connect(kPeer, Env::quick());
  EXPECT_TRUE(s->connected());
  EXPECT_EQ(*s->remote(), kPeer);
  EXPECT_NE(s->local().port, 0) << "ephemeral port";
  EXPECT_EQ(env.rt.resolve(kPeer.ip), kPeerMac);
  EXPECT_EQ(env.normand.neigh_requests(), 1U) << "cached";
  EXPECT_EQ(errno_of([&] {
              env.rt.udp_connect({Ipv4::from_octets(10, 11, 0, 99), 9});
            }),
            EHOSTUNREACH);
  EXPECT_EQ(errno_of([&] { env.rt.udp_connect({Ipv4{}, 9}); }), EDESTADDRREQ);
  EXPECT_TRUE(eventually([&] { return env.normand.open_conns() == 1; }))
      << "the failed connect was closed";
  env.rt.flush_neighbors();
  EXPECT_EQ(env.rt.resolve(kPeer.ip), kPeerMac);
  EXPECT_EQ(env.normand.neigh_requests(), 3U);
}

TEST(Runtime, ClosingReleasesConnectionAndPrivateQueue) {
  Env env;
  {
    auto a = env.rt.udp_bind(7000, Env::quick());
    auto b = env.rt.udp_connect(kPeer, Env::quick());
    EXPECT_EQ(env.normand.open_conns(), 2U);
    EXPECT_EQ(env.normand.open_nqs(), 2U) << "one private queue per socket";
    EXPECT_NE(&a->notify_queue(), &b->notify_queue());
    b->close();
    EXPECT_EQ(env.normand.open_conns(), 1U);
  }
  EXPECT_TRUE(
      eventually([&] { return env.normand.open_conns() == 0 && env.normand.open_nqs() == 0; }));
}

}  // namespace
}  // namespace norman::test

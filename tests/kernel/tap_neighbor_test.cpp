// TapDevice and NeighborTable against the real kernel: the TAP's settings
// are read back with ip(8), and neighbor resolution runs the kernel's own
// ARP on a TAP whose other end is this test (it can read the ARP requests
// and answer them, or stay silent). Root only; subnets 10.32/10.33.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include "neighbor_table.hpp"
#include "net_test_util.hpp"
#include "tap_device.hpp"

namespace norman::normand {
namespace {

using namespace std::chrono_literals;
using test::sh;
using Frame = std::vector<std::uint8_t>;

// Waits up to `limit` for one frame on a non-blocking TAP fd.
std::optional<Frame> read_frame(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return std::nullopt;
  Frame f(65536);
  const ssize_t n = ::read(fd, f.data(), f.size());
  if (n <= 0) return std::nullopt;
  f.resize(static_cast<std::size_t>(n));
  return f;
}

bool is_arp_request_for(const Frame& f, const Ipv4& target) {
  return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 1 &&
         std::memcmp(&f[38], target.data(), 4) == 0;
}

// Reads frames until an ARP request for `target` (others: IPv6 noise, other
// probes) or the deadline.
std::optional<Frame> wait_arp_request(int fd, const Ipv4& target, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto f = read_frame(fd, 50ms);
    if (f && is_arp_request_for(*f, target)) return f;
  }
  return std::nullopt;
}

TEST(TapDevice, RefusesBadNameBeforeTouchingTheKernel) {
  TapConfig cfg;
  cfg.name = "a-name-far-too-long-for-linux";
  try {
    (void)TapDevice::create(cfg);
    FAIL() << "created a TAP with a 29-character name";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EINVAL);
    EXPECT_NE(std::string(e.what()).find("name"), std::string::npos) << e.what();
  }
}

TEST(TapDevice, CreatesConfiguredInterfaceAndRemovesIt) {
  NORMAN_REQUIRE_ROOT();
  TapConfig cfg;
  cfg.name = "ntest-tap0";
  cfg.mac = {0x02, 0x00, 0x00, 0x32, 0x00, 0x02};
  cfg.ip = {10, 32, 0, 2};
  cfg.prefix_len = 24;
  cfg.mtu = 1400;
  {
    auto tap = TapDevice::create(cfg);
    ASSERT_GE(tap.fd(), 0);
    EXPECT_NE(::fcntl(tap.fd(), F_GETFL) & O_NONBLOCK, 0) << "TAP fd must be non-blocking";
    EXPECT_EQ(tap.ifindex(), static_cast<int>(::if_nametoindex("ntest-tap0")));
    EXPECT_EQ(tap.config().name, "ntest-tap0");

    const auto [rc, out] = sh("ip -j addr show dev ntest-tap0");
    ASSERT_EQ(rc, 0) << out;
    const auto j = nlohmann::json::parse(out).at(0);
    EXPECT_EQ(j.at("address"), "02:00:00:32:00:02");
    EXPECT_EQ(j.at("mtu"), 1400);
    const auto flags = j.at("flags").get<std::vector<std::string>>();
    EXPECT_NE(std::find(flags.begin(), flags.end(), "UP"), flags.end()) << out;
    bool have_addr = false;
    for (const auto& a : j.at("addr_info")) {
      if (a.at("family") == "inet") {
        EXPECT_EQ(a.at("local"), "10.32.0.2");
        EXPECT_EQ(a.at("prefixlen"), 24);
        EXPECT_EQ(a.value("broadcast", ""), "10.32.0.255");  // updated with the mask
        have_addr = true;
      }
    }
    EXPECT_TRUE(have_addr) << out;
    // The /24 route exists and no classful 10.0.0.0/8 one leaked in.
    const auto [rrc, routes] = sh("ip -j route show dev ntest-tap0");
    ASSERT_EQ(rrc, 0) << routes;
    EXPECT_NE(routes.find("\"10.32.0.0/24\""), std::string::npos) << routes;
    EXPECT_EQ(routes.find("10.0.0.0/8"), std::string::npos) << routes;

    // A second device of the same name is refused, and the first survives.
    try {
      (void)TapDevice::create(cfg);
      FAIL() << "created a duplicate TAP";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EEXIST) << e.what();
    }
    EXPECT_EQ(tap.ifindex(), static_cast<int>(::if_nametoindex("ntest-tap0")));
  }
  // Non-persistent: closing the fd removes the interface.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ::if_nametoindex("ntest-tap0") == 0;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "ntest-tap0 still exists after the TapDevice was destroyed";
}

TEST(TapDevice, RefusesNameOfExistingNonTapInterface) {
  NORMAN_REQUIRE_ROOT();
  TapConfig cfg;
  cfg.name = "lo";
  try {
    (void)TapDevice::create(cfg);
    FAIL() << "created a TAP named lo";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EEXIST) << e.what();
  }
}

class NeighborTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NORMAN_REQUIRE_ROOT();
    TapConfig cfg;
    cfg.name = "ntest-tap1";
    cfg.mac = kTapMac;
    cfg.ip = {10, 33, 0, 2};
    tap_.emplace(TapDevice::create(cfg));
    // Less noise on the wire: no IPv6 router solicitations or MLD reports.
    sh("sysctl -qw net.ipv6.conf.ntest-tap1.disable_ipv6=1");
    table_.emplace(io_, tap_->ifindex(), cfg.ip, 24);
  }
  void TearDown() override {
    table_.reset();
    tap_.reset();
  }

  // Runs async_resolve to completion on io_; returns {error, mac, elapsed}.
  std::tuple<std::error_code, Mac, std::chrono::milliseconds> resolve(
      const Ipv4& ip, std::chrono::milliseconds timeout) {
    std::error_code ec = std::make_error_code(std::errc::interrupted);
    Mac mac{};
    int calls = 0;
    const auto t0 = std::chrono::steady_clock::now();
    table_->async_resolve(ip, timeout, [&](std::error_code e, Mac m) {
      ec = e;
      mac = m;
      ++calls;
    });
    io_.restart();
    io_.run();  // returns when the resolve has no more work
    EXPECT_EQ(calls, 1);
    return {ec, mac,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  t0)};
  }

  static constexpr Mac kTapMac{0x02, 0x00, 0x00, 0x33, 0x00, 0x02};
  boost::asio::io_context io_;
  std::optional<TapDevice> tap_;
  std::optional<NeighborTable> table_;
};

TEST_F(NeighborTableTest, LookupFindsUsableEntriesOnly) {
  auto [rc, out] =
      sh("ip neigh replace 10.33.0.7 lladdr 02:aa:bb:cc:dd:ee dev ntest-tap1 nud permanent");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) =
      sh("ip neigh replace 10.33.0.8 lladdr 02:aa:bb:cc:dd:08 dev ntest-tap1 nud stale");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(table_->lookup({10, 33, 0, 7}), (Mac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}));
  EXPECT_EQ(table_->lookup({10, 33, 0, 8}), (Mac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x08}));
  EXPECT_FALSE(table_->lookup({10, 33, 0, 9}).has_value());
  // A FAILED entry (no answer) is not usable.
  std::tie(rc, out) = sh("ip neigh replace 10.33.0.6 dev ntest-tap1 nud failed");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_FALSE(table_->lookup({10, 33, 0, 6}).has_value());
}

TEST_F(NeighborTableTest, AsyncResolveOfKnownEntryIsImmediate) {
  auto [rc, out] =
      sh("ip neigh replace 10.33.0.7 lladdr 02:aa:bb:cc:dd:ee dev ntest-tap1 nud permanent");
  ASSERT_EQ(rc, 0) << out;
  const auto [ec, mac, took] = resolve({10, 33, 0, 7}, 2000ms);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(mac, (Mac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}));
  EXPECT_LT(took, 500ms);
}

TEST_F(NeighborTableTest, AsyncResolveOffSubnetIsNetUnreachable) {
  const auto [ec, mac, took] = resolve({10, 99, 0, 1}, 2000ms);
  EXPECT_EQ(ec, std::make_error_code(std::errc::network_unreachable)) << ec.message();
  EXPECT_LT(took, 500ms);
}

TEST_F(NeighborTableTest, AsyncResolveWithNobodyAnsweringIsHostUnreachable) {
  const auto [ec, mac, took] = resolve({10, 33, 0, 9}, 600ms);
  EXPECT_EQ(ec, std::make_error_code(std::errc::host_unreachable)) << ec.message();
  EXPECT_GE(took, 600ms);
  EXPECT_LT(took, 2000ms);
  // The kernel did ask: its ARP request went into the TAP.
  EXPECT_TRUE(wait_arp_request(tap_->fd(), {10, 33, 0, 9}, 500ms).has_value());
}

TEST_F(NeighborTableTest, SolicitMakesTheKernelSendAnArpRequest) {
  while (read_frame(tap_->fd(), 0ms)) {
  }
  table_->solicit({10, 33, 0, 10});
  const auto f = wait_arp_request(tap_->fd(), {10, 33, 0, 10}, 3000ms);
  ASSERT_TRUE(f.has_value()) << "no ARP request for 10.33.0.10 on the TAP";
  // A plain Ethernet frame (IFF_NO_PI): broadcast, from the TAP's MAC, ARP.
  EXPECT_TRUE(
      std::equal(f->begin(), f->begin() + 6, Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}.begin()));
  EXPECT_TRUE(std::equal(f->begin() + 6, f->begin() + 12, kTapMac.begin()));
  EXPECT_EQ((*f)[12], 0x08);
  EXPECT_EQ((*f)[13], 0x06);
  const Ipv4 sender{(*f)[28], (*f)[29], (*f)[30], (*f)[31]};
  EXPECT_EQ(to_string(sender), "10.33.0.2");
}

TEST_F(NeighborTableTest, AsyncResolveLearnsTheAnswerToTheKernelsArp) {
  const Mac peer{0x02, 0x00, 0x00, 0x33, 0x00, 0x0b};
  const Ipv4 peer_ip{10, 33, 0, 11};
  std::atomic<bool> answered{false};
  // Plays the peer: answers the kernel's ARP request from the TAP's far end.
  std::thread responder([&] {
    const auto req = wait_arp_request(tap_->fd(), peer_ip, 3000ms);
    if (!req) return;
    Frame r(42);
    std::copy(kTapMac.begin(), kTapMac.end(), r.begin());
    std::copy(peer.begin(), peer.end(), r.begin() + 6);
    const std::uint8_t hdr[] = {0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2};
    std::copy(std::begin(hdr), std::end(hdr), r.begin() + 12);
    std::copy(peer.begin(), peer.end(), r.begin() + 22);
    std::copy(peer_ip.begin(), peer_ip.end(), r.begin() + 28);
    std::copy(kTapMac.begin(), kTapMac.end(), r.begin() + 32);
    std::copy(req->begin() + 28, req->begin() + 32, r.begin() + 38);  // the asker's IP
    answered = ::write(tap_->fd(), r.data(), r.size()) == static_cast<ssize_t>(r.size());
  });
  const auto [ec, mac, took] = resolve(peer_ip, 3000ms);
  responder.join();
  ASSERT_TRUE(answered) << "the kernel sent no ARP request to answer";
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(mac, peer);
  EXPECT_LT(took, 3000ms);
  EXPECT_EQ(table_->lookup(peer_ip), peer);
}

}  // namespace
}  // namespace norman::normand

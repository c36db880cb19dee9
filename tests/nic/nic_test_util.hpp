// Shared helpers of the whole-core tests: addresses, frame builders, and a
// fixture that checks, after every test, that the core went idle, that every
// frame and descriptor is accounted for by exactly one fate counter, and
// that the harness saw no interface violation.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "nic_harness.hpp"
#include "pktgen.hpp"

namespace norman::test {

namespace pg = norman::pktgen;

inline const pg::Mac kHostMac = pg::mac("02:00:00:00:00:01");
inline const pg::Mac kPeerMac = pg::mac("02:00:00:00:00:02");
inline const pg::Ipv4Addr kHostIp = pg::ipv4("10.0.0.1");
inline const pg::Ipv4Addr kPeerIp = pg::ipv4("10.0.0.2");

// A UDP frame from a peer to us.
inline Bytes udp_in(std::uint16_t sport, std::uint16_t dport, std::size_t payload, std::uint8_t first = 0,
                    const pg::Ipv4Addr& src = kPeerIp, const pg::Ipv4Addr& dst = kHostIp) {
  return pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(src, dst), pg::Udp(sport, dport),
                      pg::pattern(payload, first));
}

// A UDP frame from us to a peer.
inline Bytes udp_out(std::uint16_t sport, std::uint16_t dport, std::size_t payload, std::uint8_t first = 0,
                     const pg::Ipv4Addr& src = kHostIp) {
  return pg::ip_frame(pg::Eth(kPeerMac, kHostMac), pg::Ipv4(src, kPeerIp), pg::Udp(sport, dport),
                      pg::pattern(payload, first));
}

inline FlowKey udp_key(std::uint16_t local_port, std::uint16_t remote_port, const pg::Ipv4Addr& local = kHostIp,
                       const pg::Ipv4Addr& remote = kPeerIp) {
  FlowKey k;
  k.proto = pg::ipproto::kUdp;
  k.local_ip = ip128(local);
  k.remote_ip = ip128(remote);
  k.local_port = local_port;
  k.remote_port = remote_port;
  return k;
}

// A connection config whose TX check fields match udp_out(src_port, ...).
inline ConnConfig udp_conn(std::uint16_t id, std::uint16_t src_port, std::uint8_t port = 0, std::uint16_t nq = 0) {
  ConnConfig c;
  c.conn_id = id;
  c.nq_id = nq;
  c.port = port;
  c.src_mac = mac48(kHostMac);
  c.proto = pg::ipproto::kUdp;
  c.src_port = src_port;
  c.src_ip = ip128(kHostIp);
  c.pid = 1000u + id;
  c.uid = 42;
  c.gid = 43;
  c.cmd_id = 7;
  c.cgroup = 9;
  return c;
}

inline std::uint64_t cnt(NicHarness& h, rm::Counter c) { return h.counter(c); }

inline std::string join_errors(const std::vector<std::string>& e) {
  std::string s;
  for (const auto& x : e) s += x + "\n";
  return s;
}

class NicTest : public ::testing::Test {
 protected:
  NicTest() : h_(std::make_unique<NicHarness>()) {}
  explicit NicTest(const NicHarness::Options& o) : h_(std::make_unique<NicHarness>(o)) {}

  void TearDown() override {
    EXPECT_TRUE(h().wait_idle()) << "core did not go idle";
    EXPECT_EQ(h().check_balance(), "");
    EXPECT_TRUE(h().errors().empty()) << join_errors(h().errors());
  }

  NicHarness& h() { return *h_; }

  // The fallback connection (conn 0) with its RX ring.
  ConnHandle open_fallback(unsigned rx_log2 = 5) {
    return h().open_conn(udp_conn(static_cast<std::uint16_t>(rm::kFallbackConn), 1), rx_log2);
  }

  std::unique_ptr<NicHarness> h_;
};

}  // namespace norman::test

// A Runtime on a fake normand + software NIC (no root, no nsim).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_normand.hpp"
#include "norman/norman.hpp"
#include "soft_nic.hpp"

namespace norman::test {

using namespace std::chrono_literals;
using testing::Bytes;

inline const MacAddr kPeerMac{{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01}};
inline const Endpoint kPeer{Ipv4::from_octets(10, 11, 0, 1), 5555};

inline Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string text(std::span<const std::uint8_t> s) { return std::string(s.begin(), s.end()); }

struct Env {
  explicit Env(std::chrono::nanoseconds spin = 0ns, testing::FakeNormandConfig cfg = {})
      : normand(nic, std::move(cfg)), rt(options(normand.socket_path(), spin)) {
    normand.add_neighbor(kPeer.ip, kPeerMac);
    // Known before the tests send (sends never wait for ARP: the first
    // datagrams to an unknown address are held, see neighbor_test.cpp).
    rt.resolve(kPeer.ip);
  }
  static RuntimeOptions options(const std::string& path, std::chrono::nanoseconds spin) {
    RuntimeOptions o;
    o.socket_path = path;
    o.spin = spin;
    return o;
  }
  // A socket whose destructor does not wait for TX completions.
  static UdpOptions quick(UdpOptions o = {}) {
    o.linger = 0ms;
    return o;
  }

  testing::SoftNic nic;
  testing::FakeNormand normand;
  Runtime rt;
};

// Polls `cond` until true or 5 s passed.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(200us);
  }
  return true;
}

}  // namespace norman::test

// Linux HTB on a veth, as the oracle the NIC scheduler will be compared with:
// this checks the oracle itself (a backlogged tree's shares are the
// configured ones within the stated tolerance), so a later NIC-versus-Linux
// comparison compares against something known to be right.
//
// Tolerance: 5 % of each class's expected rate over a 2 s window. Linux HTB
// on a software device runs from the host's timers and softirqs, on a shared
// machine; its byte accounting is exact but its timing is not.
#include "linux_htb.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace norman::ntc::testing {
namespace {

constexpr double kTolerance = 0.05;

class LinuxHtb : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, tc)";
    if (sh("command -v tc").first != 0) GTEST_SKIP() << "tc (iproute2) is not installed";
    ns_ = std::make_unique<LinuxHtbNs>();
  }
  std::unique_ptr<LinuxHtbNs> ns_;
};

void expect_rate(const std::map<std::string, std::uint64_t>& bytes, const std::string& id,
                 double expected_bps, double seconds) {
  ASSERT_TRUE(bytes.contains(id)) << id;
  const double got = static_cast<double>(bytes.at(id)) * 8 / seconds;
  EXPECT_NEAR(got, expected_bps, expected_bps * kTolerance) << "class " << id;
}

// Two leaves under a 30 Mbit/s parent, rates 10 and 5 Mbit/s, ceil 30: both
// backlogged, the spare 15 Mbit/s is shared by quantum (equal here), so each
// gets its rate plus half the spare: 17.5 and 12.5 Mbit/s.
TEST_F(LinuxHtb, BorrowingSharesTheSpareByQuantum) {
  ns_->tc("qdisc add dev nic0 root handle 1: htb default 30");
  ns_->tc("class add dev nic0 parent 1: classid 1:1 htb rate 30mbit ceil 30mbit");
  ns_->tc("class add dev nic0 parent 1:1 classid 1:10 htb rate 10mbit ceil 30mbit quantum 1500");
  ns_->tc("class add dev nic0 parent 1:1 classid 1:20 htb rate 5mbit ceil 30mbit quantum 1500");
  ns_->classify(5001, "1:10");
  ns_->classify(5002, "1:20");
  const auto bytes = ns_->offer({5001, 5002}, 1000, std::chrono::milliseconds(2000));
  expect_rate(bytes, "1:10", 17.5e6, 2.0);
  expect_rate(bytes, "1:20", 12.5e6, 2.0);
  expect_rate(bytes, "1:1", 30e6, 2.0);
}

// A ceiling below the parent's spare: the leaf stops at its ceil and the
// other takes the rest. Bursts of 15k: with tc's default of one MTU, Linux's
// ceil-limited class waits for a timer event after every packet and falls
// about 20 % short of its ceil on this machine (measured 3.25 of 4 Mbit/s),
// a timing artifact of software HTB, not the semantics being compared.
TEST_F(LinuxHtb, CeilingStopsBorrowing) {
  ns_->tc("qdisc add dev nic0 root handle 1: htb");
  ns_->tc("class add dev nic0 parent 1: classid 1:1 htb rate 20mbit");
  ns_->tc(
      "class add dev nic0 parent 1:1 classid 1:10 htb rate 2mbit ceil 4mbit burst 15k cburst 15k");
  ns_->tc(
      "class add dev nic0 parent 1:1 classid 1:20 htb rate 2mbit ceil 20mbit burst 15k cburst 15k");
  ns_->classify(5001, "1:10");
  ns_->classify(5002, "1:20");
  const auto bytes = ns_->offer({5001, 5002}, 1000, std::chrono::milliseconds(2000));
  expect_rate(bytes, "1:10", 4e6, 2.0);
  expect_rate(bytes, "1:20", 16e6, 2.0);
}

}  // namespace
}  // namespace norman::ntc::testing

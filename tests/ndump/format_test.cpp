// The formatter on hand-built frames: exact lines for the common cases,
// owner and direction annotations, and no crash or over-read on any
// truncation or malformed header (each cut ends in tcpdump's "[|proto]").
#include "format.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "traffic.hpp"

namespace norman::ndump::test {
namespace {

CaptureRecord record(const Bytes& frame, std::uint32_t caplen = 0) {
  CaptureRecord r;
  r.ts_ns = 1700000000ull * 1'000'000'000u + 123456789u;
  r.orig_len = static_cast<std::uint32_t>(frame.size());
  r.data.assign(frame.begin(), frame.begin() + (caplen ? caplen : frame.size()));
  return r;
}

class Format : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  const Mac a{2, 0, 0, 0, 0, 0xa}, b{2, 0, 0, 0, 0, 0xb};
  const Ip4 ipa{10, 0, 0, 1}, ipb{10, 0, 0, 2};
};

TEST_F(Format, TimestampIsLocalTimeWithMicroseconds) {
  EXPECT_EQ(PacketFormatter::timestamp(1700000000ull * 1'000'000'000u + 123456789u),
            "22:13:20.123456");
}

TEST_F(Format, UdpLine) {
  PacketFormatter f({.numeric = true});
  Bytes frame = ether(b, a, 0x0800, ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40000, 9999, Bytes(10))));
  EXPECT_EQ(f.format(record(frame)),
            "22:13:20.123456 IP 10.0.0.1.40000 > 10.0.0.2.9999: UDP, length 10");
}

TEST_F(Format, OwnerAndDirectionAnnotations) {
  PacketFormatter f({.numeric = true});
  Bytes frame = ether(b, a, 0x0800, ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40000, 6379, Bytes(4))));
  CaptureRecord r = record(frame);
  r.dir = Direction::out;
  r.owner = Owner{1001, 1001, 4242, "redis-server", "/system.slice/redis.service"};
  EXPECT_EQ(f.format(r),
            "22:13:20.123456 Out IP 10.0.0.1.40000 > 10.0.0.2.6379: UDP, length 4 [uid 1001 pid "
            "4242 redis-server cgroup /system.slice/redis.service]");
  r.dir = Direction::in;
  r.owner.reset();
  EXPECT_EQ(f.format(r), "22:13:20.123456  In IP 10.0.0.1.40000 > 10.0.0.2.6379: UDP, length 4");
  PacketFormatter any({.numeric = true, .show_interface = true});
  r.port = 1;
  EXPECT_EQ(any.format(r),
            "22:13:20.123456 nic1  In IP 10.0.0.1.40000 > 10.0.0.2.6379: UDP, length 4");
  // Host-kernel traffic (the fallback path) is named as such: it has no
  // owner in normand's registry.
  r.host_kernel = true;
  EXPECT_EQ(f.format(r),
            "22:13:20.123456  In IP 10.0.0.1.40000 > 10.0.0.2.6379: UDP, length 4 [host kernel]");
}

TEST_F(Format, NamesWithoutNumericAreLookedUpOnceAndReused) {
  PacketFormatter f({});
  const Ip4 lo{127, 0, 0, 1};
  Bytes frame = ether(b, a, 0x0800, ipv4(lo, lo, 17, udp4(lo, lo, 40000, 40001, {})));
  const std::string want = "22:13:20.123456 IP localhost.40000 > localhost.40001: UDP, length 0";
  EXPECT_EQ(f.format(record(frame)), want);
  EXPECT_EQ(f.format(record(frame)), want);  // from the cache
}

TEST_F(Format, TcpRelativeSequenceNumbers) {
  PacketFormatter f({.numeric = true});
  auto seg = [&](bool fwd, std::uint32_t seq, std::uint32_t ack, std::uint8_t fl, std::size_t n) {
    return fwd ? ether(b, a, 0x0800,
                       ipv4(ipa, ipb, 6, tcp4(ipa, ipb, 5000, 80, seq, ack, fl, 100, {}, Bytes(n))))
               : ether(
                     a, b, 0x0800,
                     ipv4(ipb, ipa, 6, tcp4(ipb, ipa, 80, 5000, seq, ack, fl, 100, {}, Bytes(n))));
  };
  EXPECT_EQ(
      f.format(record(seg(true, 100, 0, tcpf::syn, 0))),
      "22:13:20.123456 IP 10.0.0.1.5000 > 10.0.0.2.80: Flags [S], seq 100, win 100, length 0");
  EXPECT_EQ(f.format(record(seg(false, 900, 101, tcpf::syn | tcpf::ack, 0))),
            "22:13:20.123456 IP 10.0.0.2.80 > 10.0.0.1.5000: Flags [S.], seq 900, ack 101, win "
            "100, length 0");
  EXPECT_EQ(f.format(record(seg(true, 101, 901, tcpf::ack, 0))),
            "22:13:20.123456 IP 10.0.0.1.5000 > 10.0.0.2.80: Flags [.], ack 1, win 100, length 0");
}

TEST_F(Format, EveryTruncationOfEveryFrameIsSafe) {
  // Each frame of the differential capture cut at every length, with every
  // flag set: nothing may throw or read past the captured bytes (each cut is
  // its own exact-size buffer, so a build with -fsanitize=address catches an
  // over-read). The text of such cuts is compared with tcpdump's in
  // tcpdump_diff_test.
  for (const FormatOptions opts :
       {FormatOptions{.numeric = true},
        FormatOptions{.numeric = true, .link_header = true, .verbose = 2}}) {
    PacketFormatter f(opts);
    for (const Packet& p : varied_traffic()) {
      for (std::size_t cut = 0; cut <= p.data.size(); ++cut) {
        CaptureRecord r;
        r.orig_len = static_cast<std::uint32_t>(p.data.size());
        r.data.assign(p.data.begin(), p.data.begin() + static_cast<std::ptrdiff_t>(cut));
        std::string line;
        ASSERT_NO_THROW(line = f.format(r)) << "cut " << cut;
        EXPECT_FALSE(line.empty());
      }
    }
  }
}

TEST_F(Format, ShortEthernetHeaderIsMarked) {
  PacketFormatter f({.numeric = true});
  Bytes frame = ether(b, a, 0x0800, ipv4(ipa, ipb, 17, udp4(ipa, ipb, 1, 2, {})));
  EXPECT_EQ(f.format(record(frame, 10)), "22:13:20.123456  [|ether]");
  EXPECT_EQ(f.format(record(frame, 20)), "22:13:20.123456 IP  [|ip]");
}

TEST_F(Format, RandomBytesNeverCrash) {
  std::srand(7);
  PacketFormatter f({.numeric = true, .link_header = true, .verbose = 2});
  for (int i = 0; i < 20000; ++i) {
    Bytes frame(static_cast<std::size_t>(std::rand() % 120));
    for (auto& x : frame) x = static_cast<std::uint8_t>(std::rand());
    // Bias a third of them towards IPv4 with TCP or UDP so the deeper
    // printers see garbage too.
    if (frame.size() > 23 && i % 3 == 0) {
      frame[12] = 0x08, frame[13] = 0x00, frame[14] = 0x45;
      frame[23] = static_cast<std::uint8_t>(i % 2 ? 6 : 17);
    }
    CaptureRecord r;
    r.orig_len =
        static_cast<std::uint32_t>(frame.size() + static_cast<std::size_t>(std::rand() % 3));
    r.data = frame;
    ASSERT_NO_THROW((void)f.format(r));
  }
}

}  // namespace
}  // namespace norman::ndump::test

// The host's half of the capture filter and the option checks that need no
// NIC.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bpf_filter.hpp"
#include "nic_host_filter.hpp"
#include "nic_ring.hpp"
#include "nic_source.hpp"
#include "norman/regmap.hpp"

namespace {

using norman::ndump::CaptureRecord;
using norman::ndump::HostFilter;

// As tcpdump compiles it (ndump's BpfFilter: pcap_compile, optimised, netmask
// unknown); an expression that does not compile fails the test.
std::vector<sock_filter> compile(const char* expr) {
  return norman::ndump::BpfFilter(expr, DLT_EN10MB, 262144).instructions();
}

// Ethernet + IPv4 (IHL words) + UDP to dport, padded to len bytes.
CaptureRecord udp_frame(unsigned ihl, std::uint16_t dport, std::size_t len) {
  CaptureRecord r;
  r.data.assign(len, 0);
  r.data[12] = 0x08;
  r.data[14] = static_cast<std::uint8_t>(0x40 | ihl);
  r.data[23] = 17;
  const std::size_t l4 = 14 + 4 * ihl;
  r.data[l4 + 2] = static_cast<std::uint8_t>(dport >> 8);
  r.data[l4 + 3] = static_cast<std::uint8_t>(dport);
  r.orig_len = static_cast<std::uint32_t>(len);
  return r;
}

TEST(HostFilter, UnsureRecordsGetTheExactProgram) {
  const HostFilter f(compile("udp dst port 53"), 64, false);
  // IPv4 with options: the port is beyond the NIC's window, so the NIC
  // captured both frames as unsure; only the matching one stays.
  auto yes = udp_frame(15, 53, 200);
  auto no = udp_frame(15, 54, 200);
  EXPECT_TRUE(f.admit(yes, true));
  EXPECT_FALSE(f.admit(no, true));
  EXPECT_EQ(f.rejected(), 1u);
  // Cut to the snap length after filtering, original length kept.
  EXPECT_EQ(yes.data.size(), 64u);
  EXPECT_EQ(yes.orig_len, 200u);
}

TEST(HostFilter, NicDecidedRecordsAreTrusted) {
  const HostFilter f(compile("udp dst port 53"), 0, false);
  auto r = udp_frame(5, 54, 100);  // the NIC's verdict is final
  EXPECT_TRUE(f.admit(r, false));
  EXPECT_EQ(r.data.size(), 100u);
  EXPECT_EQ(f.rejected(), 0u);
}

TEST(HostFilter, HostFilteredSessionsFilterEverything) {
  const HostFilter f(compile("udp dst port 53"), 128, true);
  auto yes = udp_frame(5, 53, 300);
  auto no = udp_frame(5, 80, 300);
  EXPECT_TRUE(f.admit(yes, false));
  EXPECT_FALSE(f.admit(no, false));
  EXPECT_EQ(yes.data.size(), 128u);
}

TEST(HostFilter, EmptyProgramKeepsAll) {
  const HostFilter f({}, 0, true);
  auto r = udp_frame(5, 1, 60);
  EXPECT_TRUE(f.admit(r, true));
}

std::string open_error(const norman::ndump::NicCaptureOptions& o) {
  try {
    norman::ndump::open_nic_capture(o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(OpenNicCapture, RefusesBadOptionsWithAMessage) {
  norman::ndump::NicCaptureOptions o;
  o.normand_socket = "/nonexistent/normand.sock";
  o.interface = "eth0";
  EXPECT_NE(open_error(o).find("No such device"), std::string::npos);
  o.interface = "nic0";
  o.capture_in = o.capture_out = false;
  EXPECT_NE(open_error(o).find("no direction"), std::string::npos);
  o.capture_in = true;
  o.program = {{BPF_JMP | BPF_JA, 0, 0, 7}, {BPF_RET | BPF_K, 0, 0, 1}};
  EXPECT_NE(open_error(o).find("invalid BPF program"), std::string::npos);
  o.program = compile("icmp");
  EXPECT_NE(open_error(o).find("cannot reach normand"), std::string::npos);
}

namespace rec = norman::regmap::capture_rec;

// A record as the NIC writes it, in slot `index` of `ring`.
void put(std::vector<std::uint8_t>& ring, unsigned index, std::uint16_t seq, std::uint64_t w0,
         std::uint32_t conn, std::uint64_t cycle, std::uint32_t dropped,
         const std::vector<std::uint8_t>& data) {
  std::uint8_t* slot = ring.data() + std::size_t{index} * rec::kSlotBytes;
  std::copy(data.begin(), data.end(), slot + rec::kHeaderBytes);
  std::uint64_t w[8]{};
  w[0] = w0;
  rec::kConnId.set(w[1], conn);
  rec::kCycle.set(w[2], cycle);
  rec::kDropped.set(w[7], dropped);
  rec::kSeq.set(w[7], seq);
  std::memcpy(slot, w, sizeof w);
}

TEST(NicRing, SlotIsReadyWhenSeqIsConsumerPlusOne) {
  std::vector<std::uint8_t> ring(std::size_t{rec::kSlotBytes} * 4, 0);
  // Nothing written: not ready (SEQ 0 is never consumer + 1).
  EXPECT_FALSE(norman::ndump::slot_ready(norman::ndump::ring_slot(ring.data(), 2, 0), 0));
  std::uint64_t w0 = 0;
  rec::kCaplen.set(w0, 3);
  rec::kOrigLen.set(w0, 60);
  rec::kDir.set(w0, 1);
  rec::kPort.set(w0, 1);
  rec::kVerdict.set(w0, rec::kKindsReject);
  rec::kUnsure.set(w0, 1);
  rec::kOwnerValid.set(w0, 1);
  put(ring, 1, 6, w0, 42, 123456, 7, {0xAA, 0xBB, 0xCC});
  // Consumer 5 lives in slot 5 mod 4 = 1, and wants SEQ 6.
  const std::uint8_t* slot = norman::ndump::ring_slot(ring.data(), 2, 5);
  EXPECT_EQ(slot, ring.data() + rec::kSlotBytes);
  EXPECT_TRUE(norman::ndump::slot_ready(slot, 5));
  EXPECT_FALSE(norman::ndump::slot_ready(slot, 1));  // the previous lap's record
  const auto r = norman::ndump::read_slot(slot);
  EXPECT_EQ(r.rec.data, (std::vector<std::uint8_t>{0xAA, 0xBB, 0xCC}));
  EXPECT_EQ(r.rec.orig_len, 60u);
  EXPECT_EQ(r.rec.dir, norman::ndump::Direction::out);
  EXPECT_EQ(r.rec.port, 1u);
  EXPECT_EQ(r.rec.verdict, norman::ndump::Verdict::reject);
  EXPECT_TRUE(r.unsure);
  EXPECT_TRUE(r.owner_valid);
  EXPECT_EQ(r.conn, 42u);
  EXPECT_EQ(r.cycle, 123456u);
  EXPECT_EQ(r.dropped, 7u);
  // SEQ wraps at 2^16.
  put(ring, 3, 0, w0, 1, 1, 0, {});
  EXPECT_TRUE(norman::ndump::slot_ready(norman::ndump::ring_slot(ring.data(), 2, 0xFFFF), 0xFFFF));
}

TEST(NicRing, CaplenIsClampedToTheSlot) {
  std::vector<std::uint8_t> ring(rec::kSlotBytes, 0);
  std::uint64_t w0 = 0;
  rec::kCaplen.set(w0, 0xFFFF);  // a NIC bug must not make ndump read past the slot
  put(ring, 0, 1, w0, 0, 0, 0, {});
  const auto r = norman::ndump::read_slot(ring.data());
  EXPECT_EQ(r.rec.data.size(), rec::kMaxCaplen);
  EXPECT_EQ(r.rec.dir, norman::ndump::Direction::in);
  EXPECT_EQ(r.rec.verdict, norman::ndump::Verdict::accept);
}

TEST(OpenNicCapture, RequestCarriesTheSessionOptions) {
  norman::ndump::NicCaptureOptions o;
  o.interface = "any";
  o.capture_in = false;
  o.snaplen = 96;
  o.program = compile("icmp");
  o.uid = 1001;
  o.cgroup = "/system.slice";
  const auto req = norman::ndump::cap_open_request(o);
  EXPECT_EQ(req.at("interface"), "any");
  EXPECT_EQ(req.at("in"), false);
  EXPECT_EQ(req.at("out"), true);
  EXPECT_EQ(req.at("snaplen"), 96);
  EXPECT_EQ(req.at("uid"), 1001);
  EXPECT_EQ(req.at("cgroup"), "/system.slice");
  EXPECT_FALSE(req.contains("pid"));
  ASSERT_EQ(req.at("program").size(), o.program.size());
  EXPECT_EQ(req.at("program")[0][0], o.program[0].code);
  EXPECT_EQ(req.at("program")[0][3], o.program[0].k);
}

}  // namespace

// ndump's live source end to end against a scripted normand: the control
// socket speaks the real protocol (auth, cap_open with a ring memfd,
// cap_cons, cap_owner, cap_close) and the test writes records into the ring
// as the NIC does. Checks what needs no overlay: the request, reading
// records in order, the exact filter on UNSURE records, owners (asked once
// per connection, host-kernel traffic named as such), timestamps from
// normand's clock fit, the consumer index going back, and the summary from
// the NIC's counters with the session closed.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "bpf_filter.hpp"
#include "ctl_socket.hpp"
#include "nic_source.hpp"
#include "norman/regmap.hpp"

namespace {

using nlohmann::json;
namespace ctl = norman::ctl;
namespace rec = norman::regmap::capture_rec;

// As tcpdump compiles it (ndump's BpfFilter: pcap_compile, optimised, netmask
// unknown); an expression that does not compile fails the test.
std::vector<sock_filter> compile(const char* expr) {
  return norman::ndump::BpfFilter(expr, DLT_EN10MB, 262144).instructions();
}

// Ethernet + IPv4 + 8 bytes of transport header, protocol `proto`.
std::vector<std::uint8_t> frame(std::uint8_t proto) {
  std::vector<std::uint8_t> f(60, 0);
  f[12] = 0x08;
  f[14] = 0x45;
  f[16] = 0;
  f[17] = 46;
  f[22] = 64;
  f[23] = proto;
  return f;
}

void put(std::uint8_t* ring, unsigned index, std::uint16_t seq, std::uint32_t conn,
         bool owner_valid, bool unsure, std::uint64_t cycle,
         const std::vector<std::uint8_t>& data) {
  std::uint8_t* slot = ring + std::size_t{index} * rec::kSlotBytes;
  std::memcpy(slot + rec::kHeaderBytes, data.data(), data.size());
  std::uint64_t w[8]{};
  rec::kCaplen.set(w[0], data.size());
  rec::kOrigLen.set(w[0], data.size());
  rec::kOwnerValid.set(w[0], owner_valid ? 1 : 0);
  rec::kUnsure.set(w[0], unsure ? 1 : 0);
  rec::kConnId.set(w[1], conn);
  rec::kCycle.set(w[2], cycle);
  rec::kSeq.set(w[7], seq);
  std::memcpy(slot, w, sizeof w);
}

struct Script {
  json open_request;
  std::vector<unsigned> cons;
  unsigned owner_calls = 0;
  bool closed = false;
};

// normand's side of one client, until it hangs up.
void serve(int listener, Script& s) {
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::uint8_t* ring = nullptr;
  for (;;) {
    std::optional<ctl::Message> m;
    try {
      m = ctl::recv_message(fd, 10000);
    } catch (const std::exception&) {
      break;
    }
    if (!m) break;
    const std::string op = m->body.at("op");
    json r = ctl::ok_reply(m->body.at("seq").get<std::uint64_t>());
    const json clock = {{"ref_cycles", 1000},
                        {"ref_ns", std::int64_t{1'700'000'000'000'000'000}},
                        {"ns_per_cycle", 4.0}};
    if (op == "auth") {
      if (m->body.contains("nonce")) {
        r.update({{"pid", 1}, {"uid", 0}, {"gid", 0}, {"caps", json::array()}});
      } else {
        r["nonce"] = "00";
      }
      ctl::send_message(fd, r);
    } else if (op == "cap_open") {
      s.open_request = m->body;
      const int mem = ::memfd_create("ring", MFD_CLOEXEC);
      const std::size_t bytes = std::size_t{rec::kSlotBytes} << 2;
      EXPECT_EQ(::ftruncate(mem, static_cast<off_t>(bytes)), 0);
      ring = static_cast<std::uint8_t*>(
          ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, mem, 0));
      put(ring, 0, 1, 0, false, false, 1250, frame(1));  // ICMP, host kernel
      put(ring, 1, 2, 5, true, false, 1500, frame(17));  // UDP of conn 5
      put(ring, 2, 3, 5, true, true, 1750, frame(6));    // TCP, unsure: the host rejects it
      put(ring, 3, 4, 5, true, false, 2000, frame(17));  // UDP of conn 5 again
      r.update({{"capture_id", 2},
                {"log2", 2},
                {"slot_bytes", rec::kSlotBytes},
                {"header_bytes", rec::kHeaderBytes},
                {"in_subset", true},
                {"clock", clock},
                {"fds", {"ring"}}});
      const int fds[] = {mem};
      ctl::send_message(fd, r, fds);
      ::close(mem);
    } else if (op == "cap_cons") {
      s.cons.push_back(m->body.at("cons").get<unsigned>());
      r["clock"] = clock;
      ctl::send_message(fd, r);
    } else if (op == "cap_owner") {
      ++s.owner_calls;
      r.update({{"conn_id", 5},
                {"uid", 1001},
                {"gid", 1001},
                {"pid", 4242},
                {"comm", "redis-server"},
                {"cgroup", "/system.slice/redis.service"}});
      ctl::send_message(fd, r);
    } else if (op == "cap_close") {
      s.closed = true;
      r.update({{"matched", 10}, {"captured", 4}, {"dropped", 6}});
      ctl::send_message(fd, r);
    } else {
      ctl::send_message(fd, ctl::error_reply(r.at("seq"), EINVAL, "unexpected op " + op));
    }
  }
  if (ring != nullptr) ::munmap(ring, std::size_t{rec::kSlotBytes} << 2);
  ::close(fd);
}

TEST(NicSession, ReadsRecordsOwnersAndTheSummary) {
  char dir[] = "/tmp/ndump-session-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/normand.sock";
  const int listener = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  Script script;
  std::thread server([&] { serve(listener, script); });

  norman::ndump::NicCaptureOptions o;
  o.normand_socket = path;
  o.interface = "any";
  o.capture_out = false;
  o.program = compile("udp or icmp");
  o.uid = 1001;
  {
    auto src = norman::ndump::open_nic_capture(o);
    std::vector<norman::ndump::CaptureRecord> got(3);
    for (auto& r : got) ASSERT_TRUE(src->next(r));
    src->stop();
    norman::ndump::CaptureRecord more;
    EXPECT_FALSE(src->next(more));

    EXPECT_TRUE(got[0].host_kernel);
    EXPECT_FALSE(got[0].owner.has_value());
    EXPECT_EQ(got[0].data[23], 1);
    EXPECT_EQ(got[0].ts_ns, 1'700'000'000'000'001'000u);  // 1.7e18 + 250 cycles x 4 ns
    for (const auto* r : {&got[1], &got[2]}) {
      EXPECT_EQ(r->data[23], 17) << "the unsure TCP record is the host's to reject";
      ASSERT_TRUE(r->owner.has_value());
      EXPECT_EQ(r->owner->uid, 1001u);
      EXPECT_EQ(r->owner->comm, "redis-server");
      EXPECT_EQ(r->conn, 5u);
    }
    EXPECT_EQ(script.owner_calls, 1u) << "owners are cached per connection";
    // The consumer index went back as the records were taken.
    ASSERT_FALSE(script.cons.empty());
    EXPECT_EQ(script.cons.back(), 4u);
    // The NIC's figures, less the unsure record the exact program rejected.
    const auto st = norman::ndump::nic_capture_stats(*src);
    EXPECT_EQ(st.received_by_filter, 9u);
    EXPECT_EQ(st.dropped, 6u);
    EXPECT_TRUE(script.closed);
  }
  server.join();
  const json& req = script.open_request;
  EXPECT_EQ(req.at("interface"), "any");
  EXPECT_EQ(req.at("in"), true);
  EXPECT_EQ(req.at("out"), false);
  EXPECT_EQ(req.at("uid"), 1001);
  EXPECT_EQ(req.at("program").size(), o.program.size());
  ::close(listener);
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace

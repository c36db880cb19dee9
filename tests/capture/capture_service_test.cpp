// normand's capture service without the overlay: a register-level fake of
// the CAPTURE block records what the service writes, so the rules are
// checked on their own (rights, program loading while disabled, session
// and per-user limits, owner bits and sweeps, the read-only ring, release).
#include "bpf_filter.hpp"
#include "capture_service.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "capture_args.hpp"
#include "capture_hw.hpp"
#include "cbpf_nic.hpp"
#include "errors.hpp"
#include "norman/regmap.hpp"

namespace norman::normand {
namespace {

namespace rm = norman::regmap;
using nlohmann::json;

// As tcpdump compiles it (ndump's BpfFilter: pcap_compile, optimised, netmask
// unknown); an expression that does not compile fails the test.
std::vector<sock_filter> compile(const char* expr) {
  return norman::ndump::BpfFilter(expr, DLT_EN10MB, 262144).instructions();
}

struct Write {
  CapReg reg;
  unsigned index;
  std::uint64_t value;
};

class FakeHw : public CaptureHw {
 public:
  std::uint64_t read(CapReg r, unsigned index) override {
    if (r == CapReg::kSessions) return rm::capture_rec::kSessions;
    if (r == CapReg::kStatus) return sweep_busy ? 1 : 0;
    return regs[{r, index}];
  }
  void write(CapReg r, unsigned index, std::uint64_t value) override {
    writes.push_back({r, index, value});
    if (r == CapReg::kOwnerSet && sweep_busy) return;  // refused, as the NIC does
    if (r == CapReg::kOwnerSweep && sweep_busy) return;
    regs[{r, index}] = value;
  }
  capture::ClockSample clock_sample() override {
    cycles += 250'000'000;
    now += 1'000'000'000;
    return {now, cycles, now + 100};
  }
  device::DmaBuffer alloc_ring(std::size_t bytes) override {
    device::DmaBuffer b;
    b.fd.reset(::memfd_create("fake-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    EXPECT_EQ(::ftruncate(b.fd.get(), static_cast<off_t>(bytes)), 0);
    ::fcntl(b.fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    b.data = static_cast<std::uint8_t*>(
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, b.fd.get(), 0));
    b.size = bytes;
    b.iova = next_iova;
    next_iova += bytes;
    ++rings;
    return b;
  }
  void free_ring(device::DmaBuffer& b) override {
    ::munmap(b.data, b.size);
    b = {};
    --rings;
  }
  [[nodiscard]] unsigned num_ports() const override { return 2; }

  std::uint64_t reg(CapReg r, unsigned index) { return regs[{r, index}]; }
  [[nodiscard]] std::vector<Write> of(CapReg r) const {
    std::vector<Write> out;
    for (const auto& w : writes)
      if (w.reg == r) out.push_back(w);
    return out;
  }

  std::map<std::pair<CapReg, unsigned>, std::uint64_t> regs;
  std::vector<Write> writes;
  bool sweep_busy = false;
  int rings = 0;
  std::uint64_t next_iova = 0x100000;
  std::uint64_t cycles = 0;
  std::int64_t now = 1'700'000'000'000'000'000;
};

ProcessInfo user(unsigned uid, bool net_raw = false) {
  ProcessInfo p;
  p.pid = static_cast<pid_t>(1000 + uid);
  p.uid = uid;
  p.gid = uid;
  p.comm = "app" + std::to_string(uid);
  p.cgroup = "/system.slice/app" + std::to_string(uid) + ".service";
  p.initial_userns = true;
  if (net_raw) p.cap_eff = std::uint64_t{1} << kCapNetRaw;
  return p;
}
const ProcessInfo kRoot = [] {
  ProcessInfo p = user(0);
  p.comm = "ndump";
  return p;
}();

struct CaptureServiceTest : ::testing::Test {
  FakeHw hw;
  std::map<std::uint16_t, ProcessInfo> conns;
  CaptureService svc{&hw,
                     [this](const CaptureService::ConnVisitor& fn) {
                       for (const auto& [id, o] : conns) fn(id, o);
                     },
                     [this](std::uint16_t id) -> std::optional<ProcessInfo> {
                       const auto it = conns.find(id);
                       if (it == conns.end()) return std::nullopt;
                       return it->second;
                     }};
  // What the service did at start (disable every session, sweep every
  // bit a previous normand may have left) is not what the tests look at.
  void SetUp() override {
    hw.writes.clear();
    hw.regs.clear();
  }
  CaptureOpenArgs args(const char* expr = "udp") {
    CaptureOpenArgs a;
    a.program = compile(expr);
    return a;
  }
  int err_of(const std::function<void()>& fn, std::string* msg = nullptr) {
    try {
      fn();
    } catch (const CtlError& e) {
      if (msg != nullptr) *msg = e.what();
      return e.err();
    }
    return 0;
  }
};

TEST(CaptureServiceNoOverlay, SaysTheNicHasNoCaptureOverlay) {
  CaptureService svc(nullptr, {}, {});
  std::string msg;
  try {
    CaptureOpenArgs a;
    a.program = compile("icmp");
    svc.open(1, kRoot, a);
    FAIL() << "opened without an overlay";
  } catch (const CtlError& e) {
    EXPECT_EQ(e.err(), EOPNOTSUPP);
    msg = e.what();
  }
  EXPECT_NE(msg.find("no capture overlay"), std::string::npos) << msg;
  // Rights are still checked first: an unprivileged user learns nothing.
  try {
    svc.open(1, user(1000), {});
    FAIL();
  } catch (const CtlError& e) {
    EXPECT_EQ(e.err(), EPERM);
  }
}

TEST_F(CaptureServiceTest, RightsAreRootOrCapNetRaw) {
  std::string msg;
  EXPECT_EQ(err_of([&] { svc.open(1, user(1000), args()); }, &msg), EPERM);
  EXPECT_NE(msg.find("CAP_NET_RAW"), std::string::npos) << msg;
  // CAP_NET_ADMIN is not CAP_NET_RAW.
  ProcessInfo admin = user(1000);
  admin.cap_eff = std::uint64_t{1} << kCapNetAdmin;
  EXPECT_EQ(err_of([&] { svc.open(1, admin, args()); }), EPERM);
  EXPECT_EQ(err_of([&] { svc.owner(user(1000), 5); }), EPERM);
  EXPECT_EQ(err_of([&] { svc.open(1, user(1000, true), args()); }), 0);
  EXPECT_EQ(hw.rings, 1);
}

TEST_F(CaptureServiceTest, ProgramIsLoadedWhileTheSessionIsDisabled) {
  auto a = args("udp port 53");
  a.interface = "nic1";
  a.in = false;
  a.snaplen = 96;
  a.log2 = 4;
  hw.writes.clear();
  const Grant g = svc.open(7, kRoot, a);
  const unsigned s = g.results.at("capture_id");
  ASSERT_LT(s, 4u);
  ASSERT_EQ(g.fds.size(), 1u);
  // First the session is disabled, then its program goes in, word by word.
  ASSERT_GE(hw.writes.size(), 3u);
  EXPECT_EQ(hw.writes[0].reg, CapReg::kCfg);
  EXPECT_EQ(hw.writes[0].value, 0u);
  EXPECT_EQ(hw.writes[1].reg, CapReg::kProgAddr);
  EXPECT_EQ(hw.writes[1].value, s);
  const auto plan = capture::plan_program(a.program);
  const auto insns = hw.of(CapReg::kProgInsn);
  ASSERT_EQ(insns.size(), plan.words.size());
  for (std::size_t i = 0; i < insns.size(); ++i) EXPECT_EQ(insns[i].value, plan.words[i]);
  // Enabled last, with the ring and the options.
  const Write last = hw.writes.back();
  EXPECT_EQ(last.reg, CapReg::kCfg);
  namespace cfg = rm::capture_cfg;
  EXPECT_EQ(cfg::kEnable.get(last.value), 1u);
  EXPECT_EQ(cfg::kLog2.get(last.value), 4u);
  EXPECT_EQ(cfg::kDirMask.get(last.value), 2u);   // out only
  EXPECT_EQ(cfg::kPortMask.get(last.value), 2u);  // nic1
  EXPECT_EQ(cfg::kOwnerReq.get(last.value), 0u);
  EXPECT_EQ(hw.reg(CapReg::kSnap, s), 96u);
  EXPECT_NE(hw.reg(CapReg::kBase, s), 0u);
  EXPECT_EQ(g.results.at("log2"), 4);
  EXPECT_TRUE(g.results.contains("clock"));
}

TEST_F(CaptureServiceTest, BadRequestsTakeNothing) {
  auto a = args();
  a.program = {{BPF_JMP | BPF_JA, 0, 0, 7}, {BPF_RET | BPF_K, 0, 0, 1}};
  EXPECT_EQ(err_of([&] { svc.open(1, kRoot, a); }), EINVAL);
  a = args();
  a.interface = "nic2";  // the fake NIC has two ports
  std::string msg;
  EXPECT_EQ(err_of([&] { svc.open(1, kRoot, a); }, &msg), ENODEV);
  EXPECT_NE(msg.find("No such device"), std::string::npos);
  EXPECT_EQ(svc.active(), 0u);
  EXPECT_EQ(hw.rings, 0);
}

TEST_F(CaptureServiceTest, AllSessionsBusyIsAClearError) {
  for (int i = 0; i < 4; ++i) svc.open(10 + i, kRoot, args());
  std::string msg;
  EXPECT_EQ(err_of([&] { svc.open(99, kRoot, args()); }, &msg), EBUSY);
  EXPECT_NE(msg.find("all 4 capture sessions"), std::string::npos) << msg;
  // One ends (its client went away): the next open gets its slot.
  svc.release(12, "client exited");
  EXPECT_EQ(hw.rings, 3);
  const Grant g = svc.open(99, kRoot, args());
  EXPECT_EQ(g.results.at("capture_id"), 2);
}

TEST_F(CaptureServiceTest, PerUserLimit) {
  const ProcessInfo u = user(1000, true);
  svc.open(1, u, args());
  svc.open(2, u, args());
  std::string msg;
  EXPECT_EQ(err_of([&] { svc.open(3, u, args()); }, &msg), EDQUOT);
  EXPECT_NE(msg.find("per-user limit"), std::string::npos) << msg;
  // Others still get the rest.
  EXPECT_EQ(err_of([&] { svc.open(4, user(1001, true), args()); }), 0);
  EXPECT_EQ(err_of([&] { svc.open(5, kRoot, args()); }), 0);
}

TEST(CaptureServiceQuota, RingMemoryIsChargedAsDmaBytes) {
  FakeHw hw;
  quota::Config qc = quota::Config::defaults();
  qc.per_uid[quota::Resource::kDmaBytes] = 3 << 20;  // one 2 MiB ring, not two
  quota::Ledger ledger(qc);
  CaptureService svc(
      &hw, [](const CaptureService::ConnVisitor&) {}, {}, nullptr, &ledger);
  CaptureOpenArgs a;
  a.program = compile("udp");
  const ProcessInfo u = user(1000, true);
  svc.open(1, u, a);
  EXPECT_EQ(ledger.used_by_uid(1000, quota::Resource::kDmaBytes), 2u << 20);
  try {
    svc.open(2, u, a);
    FAIL() << "a second ring over the quota";
  } catch (const CtlError& e) {
    EXPECT_EQ(e.err(), EDQUOT) << e.what();
  }
  EXPECT_EQ(svc.active(), 1u);
  EXPECT_EQ(hw.rings, 1);
  svc.release(1, "client exited");
  EXPECT_EQ(ledger.used_by_uid(1000, quota::Resource::kDmaBytes), 0u);
}

TEST_F(CaptureServiceTest, IdsAreTheClientsOwn) {
  const unsigned s = svc.open(1, kRoot, args()).results.at("capture_id");
  EXPECT_EQ(err_of([&] { svc.stats(2, s); }), ENOENT);
  EXPECT_EQ(err_of([&] { svc.consume(2, s, 5); }), ENOENT);
  EXPECT_EQ(err_of([&] { svc.close(2, s); }), ENOENT);
  EXPECT_EQ(svc.active(), 1u);
  svc.consume(1, s, 5);
  EXPECT_EQ(hw.reg(CapReg::kCons, s), 5u);
}

TEST_F(CaptureServiceTest, StatisticsCountFromOpen) {
  hw.regs[{CapReg::kMatched, 0}] = 100;
  hw.regs[{CapReg::kCaptured, 0}] = 90;
  hw.regs[{CapReg::kDropped, 0}] = 10;
  const unsigned s = svc.open(1, kRoot, args()).results.at("capture_id");
  ASSERT_EQ(s, 0u);
  hw.regs[{CapReg::kMatched, 0}] = 107;
  hw.regs[{CapReg::kCaptured, 0}] = 95;
  hw.regs[{CapReg::kDropped, 0}] = 12;
  const json st = svc.stats(1, s);
  EXPECT_EQ(st.at("matched"), 7);
  EXPECT_EQ(st.at("captured"), 5);
  EXPECT_EQ(st.at("dropped"), 2);
  const json fin = svc.close(1, s);
  EXPECT_EQ(fin.at("matched"), 7);
  EXPECT_EQ(hw.rings, 0);
  EXPECT_EQ(hw.reg(CapReg::kCfg, 0), 0u);
}

TEST_F(CaptureServiceTest, OwnerFiltersBecomeConnectionBits) {
  conns[5] = user(1000);
  conns[6] = user(1001);
  ProcessInfo other_cgroup = user(1000);
  other_cgroup.cgroup = "/user.slice";
  conns[7] = other_cgroup;
  auto a = args();
  a.owner.uid = 1000;
  a.owner.cgroup = "/system.slice";
  const unsigned s = svc.open(1, kRoot, a).results.at("capture_id");
  auto sets = hw.of(CapReg::kOwnerSet);
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].value, 5u | ((1u << s) << 16));
  EXPECT_EQ(rm::capture_cfg::kOwnerReq.get(hw.reg(CapReg::kCfg, s)), 1u);
  // A connection opened while the capture runs gets its bits too, and one
  // that does not match gets zero (its id may carry an old connection's).
  svc.conn_opened(8, user(1000));
  svc.conn_opened(9, user(1002));
  sets = hw.of(CapReg::kOwnerSet);
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[1].value, 8u | ((1u << s) << 16));
  EXPECT_EQ(sets[2].value, 9u);
  // Closing sweeps the session's bits; the slot is not reused until the
  // sweep is done.
  hw.sweep_busy = true;
  svc.close(1, s);
  EXPECT_EQ(svc.sweeping(), 1u << s);
  EXPECT_TRUE(hw.of(CapReg::kOwnerSweep).empty());
  hw.sweep_busy = false;
  svc.tick();
  const auto sweeps = hw.of(CapReg::kOwnerSweep);
  ASSERT_EQ(sweeps.size(), 1u);
  EXPECT_EQ(sweeps[0].value, 1u << s);
  EXPECT_EQ(svc.sweeping(), 0u);
}

TEST_F(CaptureServiceTest, OwnerWritesWaitForARunningSweep) {
  auto a = args();
  a.owner.comm = "app1000";
  const unsigned s = svc.open(1, kRoot, a).results.at("capture_id");
  hw.sweep_busy = true;  // another session's sweep
  svc.conn_opened(8, user(1000));
  conns[8] = user(1000);
  EXPECT_TRUE((hw.regs.find({CapReg::kOwnerSet, 0}) == hw.regs.end()));
  hw.sweep_busy = false;
  svc.tick();
  EXPECT_EQ(hw.reg(CapReg::kOwnerSet, 0), 8u | ((1u << s) << 16));
}

TEST_F(CaptureServiceTest, OwnerFilterWaitsForASweepWithEagain) {
  auto a = args();
  a.owner.uid = 1000;
  const unsigned s = svc.open(1, kRoot, a).results.at("capture_id");
  hw.sweep_busy = true;
  svc.close(1, s);
  std::string msg;
  EXPECT_EQ(err_of([&] { svc.open(2, kRoot, a); }, &msg), EAGAIN);
  EXPECT_NE(msg.find("try again"), std::string::npos);
  // Without an owner filter no bits are needed: another slot is free.
  EXPECT_EQ(err_of([&] { svc.open(2, kRoot, args()); }), 0);
}

// Every slot's bits being cleared (as right after normand starts, when it
// sweeps all of them): a capture without an owner filter starts at once, one
// with an owner filter is told to retry, none is told the NIC is full.
TEST_F(CaptureServiceTest, SlotsBeingClearedServeCapturesWithoutOwnerFilters) {
  auto a = args();
  a.owner.uid = 1000;
  std::vector<unsigned> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(svc.open(10 + i, kRoot, a).results.at("capture_id"));
  hw.sweep_busy = true;
  for (int i = 0; i < 4; ++i) svc.close(10 + i, ids[static_cast<std::size_t>(i)]);
  std::string msg;
  EXPECT_EQ(err_of([&] { svc.open(20, kRoot, a); }, &msg), EAGAIN);
  EXPECT_NE(msg.find("still clearing"), std::string::npos) << msg;
  EXPECT_EQ(err_of([&] { svc.open(21, kRoot, args()); }), 0);
  EXPECT_EQ(svc.active(), 1u);
}

TEST_F(CaptureServiceTest, TheRingIsReadOnlyAndFixedInSize) {
  Grant g = svc.open(1, kRoot, args());
  const int fd = g.fds.front().second.get();
  EXPECT_EQ(::fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  errno = 0;
  EXPECT_EQ(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
  void* ro = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(ro, MAP_FAILED);
  EXPECT_NE(::mprotect(ro, 4096, PROT_READ | PROT_WRITE), 0);
  ::munmap(ro, 4096);
  char c = 1;
  EXPECT_LT(::pwrite(fd, &c, 1, 0), 0);
  EXPECT_NE(::ftruncate(fd, 1 << 20), 0);
  EXPECT_NE(::ftruncate(fd, 0), 0);
  // Another user holding the descriptor cannot reopen it writable through
  // /proc (a memfd's inode is 0777 unless normand changes it).
  if (::geteuid() != 0) GTEST_SKIP() << "reopening as another user needs root to drop to it";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setresgid(60001, 60001, 60001) != 0 || ::setresuid(60001, 60001, 60001) != 0) _exit(2);
    ::prctl(PR_SET_DUMPABLE, 1);  // /proc/self/fd is ours again
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    const int rw = ::open(self.c_str(), O_RDWR);
    _exit(rw < 0 && errno == EACCES ? 0 : 1);
  }
  int st = 0;
  ::waitpid(child, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
}

TEST_F(CaptureServiceTest, OwnerLookup) {
  conns[5] = user(1000);
  const json o = svc.owner(kRoot, 5);
  EXPECT_EQ(o.at("uid"), 1000);
  EXPECT_EQ(o.at("comm"), "app1000");
  EXPECT_EQ(o.at("cgroup"), "/system.slice/app1000.service");
  const json fb = svc.owner(kRoot, 0);
  EXPECT_EQ(fb.at("fallback"), true);
  EXPECT_NE(fb.at("owner").get<std::string>().find("host kernel"), std::string::npos);
  EXPECT_EQ(err_of([&] { svc.owner(kRoot, 77); }), ENOENT);
}

TEST(CaptureOwnerFilter, CgroupCoversItsSubtree) {
  CaptureOwnerFilter f;
  f.cgroup = "/system.slice";
  ProcessInfo p;
  p.cgroup = "/system.slice/redis.service";
  EXPECT_TRUE(f.matches(p));
  p.cgroup = "/system.slice";
  EXPECT_TRUE(f.matches(p));
  p.cgroup = "/system.slicer";
  EXPECT_FALSE(f.matches(p));
  f.cgroup = "/";
  EXPECT_TRUE(f.matches(p));
}

TEST(CaptureArgs, RefusesWhatItDoesNotKnow) {
  json req = {{"op", "cap_open"}, {"seq", 1}, {"program", json::array({{6, 0, 0, 1}})}};
  EXPECT_NO_THROW(parse_cap_open(req));
  req["promisc"] = true;
  EXPECT_THROW(parse_cap_open(req), CtlError);
  req.erase("promisc");
  req["program"] = json::array({{6, 0, 0, -1}});
  EXPECT_THROW(parse_cap_open(req), CtlError);
  req["program"] = json::array();
  EXPECT_THROW(parse_cap_open(req), CtlError);
  req["program"] = json::array({{6, 0, 0, 1}});
  req["in"] = false;
  req["out"] = false;
  EXPECT_THROW(parse_cap_open(req), CtlError);
  req["out"] = true;
  req["log2"] = 30;
  EXPECT_THROW(parse_cap_open(req), CtlError);
}

// The block chain as a NIC shows it.
class ChainIo : public device::RegisterIo {
 public:
  std::map<std::uint32_t, std::uint64_t> mem;
  std::uint64_t read64(std::uint32_t a) override { return mem.contains(a) ? mem[a] : 0; }
  void write64(std::uint32_t a, std::uint64_t v) override { mem[a] = v; }
};

std::uint64_t header(std::uint64_t type, std::uint32_t next) {
  std::uint64_t h = 0;
  rm::kBlockHeaderType.set(h, type);
  rm::kBlockHeaderVersion.set(h, 1);
  rm::kBlockHeaderNext.set(h, next);
  return h;
}

TEST(FindCaptureBlock, FollowsTheChain) {
  ChainIo io;
  io.mem[0] = header(1, 0x100);
  io.mem[0x100] = header(2, 0x800);
  io.mem[0x800] = header(5, 0);
  io.mem[0x1000] = header(6, 0);  // defined but not chained: not there
  EXPECT_FALSE(find_capture_block(io).has_value());
  io.mem[0x800] = header(5, 0x1000);
  ASSERT_TRUE(find_capture_block(io).has_value());
  EXPECT_EQ(*find_capture_block(io), 0x1000u);
  io.mem[0x800] = header(5, 0x100);  // a loop
  EXPECT_FALSE(find_capture_block(io).has_value());
}

}  // namespace
}  // namespace norman::normand

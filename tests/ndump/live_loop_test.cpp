// The whole capture loop on a scripted live source (the NIC path replaced
// through LivePath): the session options ndump asks for, direction and
// owner on each line, -c, -Q, owner filters, SIGINT/SIGTERM ending the
// capture with tcpdump's summary, pcapng direction flags and owner comments
// from live records, and tcpdump's wording when the capture is refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "capture_loop.hpp"
#include "traffic.hpp"

namespace norman::ndump::test {
namespace {

class ScriptedSource : public RecordSource {
 public:
  ScriptedSource(std::vector<CaptureRecord> recs, int raise_after, int sig)
      : recs_(std::move(recs)), raise_after_(raise_after), sig_(sig) {}
  bool next(CaptureRecord& rec) override {
    if (static_cast<int>(given_) == raise_after_) std::raise(sig_);  // as a user's Ctrl-C
    if (stopped_ || given_ == recs_.size()) return false;
    rec = recs_[given_++];
    return true;
  }
  void stop() noexcept override { stopped_ = true; }
  int linktype() const override { return 1; }
  std::uint32_t snaplen() const override { return 262144; }
  bool stopped() const { return stopped_; }

 private:
  std::vector<CaptureRecord> recs_;
  std::size_t given_ = 0;
  int raise_after_;
  int sig_;
  volatile bool stopped_ = false;
};

// Four UDP records: in/out on nic0 and nic1, two with owners.
std::vector<CaptureRecord> live_records() {
  const Mac a{2, 0, 0, 0, 0, 0xa}, b{2, 0, 0, 0, 0, 0xb};
  const Ip4 ipa{10, 0, 0, 1}, ipb{10, 0, 0, 2};
  std::vector<CaptureRecord> v;
  for (int i = 0; i < 4; ++i) {
    CaptureRecord r;
    r.data =
        ether(b, a, 0x0800,
              ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40000, static_cast<std::uint16_t>(6379 + i), {1})));
    r.orig_len = static_cast<std::uint32_t>(r.data.size());
    r.ts_ns = 1700000000000000000ull + static_cast<std::uint64_t>(i) * 1000;
    r.dir = i % 2 ? Direction::out : Direction::in;
    r.port = static_cast<std::uint8_t>(i / 2);
    if (i < 2) r.owner = Owner{1001, 1001, 4242, "redis-server", "/system.slice/redis.service"};
    v.push_back(r);
  }
  return v;
}

struct LoopRun {
  int status;
  std::string out, err;
  NicCaptureOptions asked;
  bool source_stopped = false;
  bool opened = false;
};

LoopRun run(std::vector<std::string> args, int raise_after = -1, int sig = SIGINT,
            std::string open_error = {}) {
  args.insert(args.begin(), "ndump");
  Options o = parse_args(args);
  LoopRun r{};
  ScriptedSource* src = nullptr;
  LivePath live;
  live.open = [&](const NicCaptureOptions& n) -> std::unique_ptr<RecordSource> {
    r.asked = n;
    r.opened = true;
    if (!open_error.empty()) throw std::runtime_error(open_error);
    auto s = std::make_unique<ScriptedSource>(live_records(), raise_after, sig);
    src = s.get();
    return s;
  };
  live.stats = [&](RecordSource& s) {
    r.source_stopped = static_cast<ScriptedSource&>(s).stopped();
    return CaptureStats{4, 7, 2};
  };
  setenv("TZ", "UTC", 1);
  tzset();
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  r.status = run_capture(o, live);
  std::fflush(stdout);
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGHUP, SIG_DFL);
  return r;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(LiveLoop, SessionOptionsFollowTheCommandLine) {
  LoopRun r = run({"-i", "nic1", "-s", "128", "-Q", "in", "--uid", "1001", "--comm", "redis-server",
                   "--socket", "/tmp/s", "udp", "port", "6379"});
  EXPECT_EQ(r.asked.interface, "nic1");
  EXPECT_EQ(r.asked.snaplen, 128u);
  EXPECT_TRUE(r.asked.capture_in);
  EXPECT_FALSE(r.asked.capture_out);
  EXPECT_EQ(r.asked.uid, 1001u);
  EXPECT_EQ(r.asked.comm, "redis-server");
  EXPECT_FALSE(r.asked.pid);
  EXPECT_EQ(r.asked.normand_socket, "/tmp/s");
  EXPECT_GT(r.asked.program.size(), 4u);            // pcap_compile's program for the expression
  EXPECT_TRUE(run({}).asked.program.size() == 1u);  // "accept all": one ret
}

TEST(LiveLoop, LinesCarryDirectionAndOwnerAndTheSummaryIsTcpdumps) {
  LoopRun r = run({"-n"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "22:13:20.000000  In IP 10.0.0.1.40000 > 10.0.0.2.6379: UDP, length 1 [uid 1001 pid "
            "4242 redis-server cgroup /system.slice/redis.service]\n"
            "22:13:20.000001 Out IP 10.0.0.1.40000 > 10.0.0.2.6380: UDP, length 1 [uid 1001 pid "
            "4242 redis-server cgroup /system.slice/redis.service]\n"
            "22:13:20.000002  In IP 10.0.0.1.40000 > 10.0.0.2.6381: UDP, length 1\n"
            "22:13:20.000003 Out IP 10.0.0.1.40000 > 10.0.0.2.6382: UDP, length 1\n");
  EXPECT_EQ(r.err,
            "ndump: verbose output suppressed, use -v[v]... for full protocol decode\n"
            "listening on nic0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"
            "4 packets captured\n7 packets received by filter\n2 packets dropped by kernel\n");
  EXPECT_TRUE(r.source_stopped);
}

TEST(LiveLoop, LineBufferedOutputIsWholeLines) {
  LoopRun r = run({"-n", "-l", "-c", "2"});
  EXPECT_EQ(lines(r.out), 2u);
  LoopRun u = run({"-n", "-U", "-c", "2", "-w", "/dev/null"});
  EXPECT_EQ(u.status, 0);
}

TEST(LiveLoop, AnyNamesThePort) {
  LoopRun r = run({"-n", "-i", "any", "-c", "3"});
  EXPECT_NE(r.out.find("22:13:20.000002 nic1  In IP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("22:13:20.000000 nic0  In IP"), std::string::npos) << r.out;
}

TEST(LiveLoop, CountDirectionAndOwnerFilters) {
  LoopRun one = run({"-n", "-c", "1"});
  EXPECT_EQ(lines(one.out), 1u);
  EXPECT_NE(one.err.find("1 packet captured\n"), std::string::npos) << one.err;
  LoopRun out_only = run({"-n", "-Q", "out"});
  EXPECT_EQ(out_only.out.find(" In "), std::string::npos);
  EXPECT_EQ(lines(out_only.out), 2u);
  EXPECT_NE(out_only.err.find("2 packets captured\n"), std::string::npos);
  EXPECT_EQ(lines(run({"-n", "--uid", "1001"}).out), 2u);
  EXPECT_EQ(run({"-n", "--uid", "1002"}).out, "");
  EXPECT_EQ(lines(run({"-n", "--cgroup", "/system.slice"}).out), 2u);
  EXPECT_EQ(run({"-n", "--cgroup", "/system.sl"}).out, "");  // whole path components only
  EXPECT_EQ(run({"-n", "--pid", "1"}).out, "");
  EXPECT_EQ(lines(run({"-n", "--pid", "4242", "--comm", "redis-server"}).out), 2u);
}

TEST(LiveLoop, SigintAndSigtermEndTheCaptureWithTheSummary) {
  for (int sig : {SIGINT, SIGTERM}) {
    LoopRun r = run({"-n"}, 2, sig);
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(lines(r.out), 2u);
    EXPECT_NE(
        r.err.find(
            "2 packets captured\n7 packets received by filter\n2 packets dropped by kernel\n"),
        std::string::npos)
        << r.err;
    EXPECT_TRUE(r.source_stopped);
  }
}

TEST(LiveLoop, PcapngFromLiveRecordsCarriesDirectionsOwnersAndPorts) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("ndump_live_" + std::to_string(getpid()) + ".pcapng"))
                         .string();
  LoopRun r = run({"-w", path});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("ndump: listening on nic0", 0), 0u) << r.err;
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  // Two interfaces named nic0 and nic1, two owner comments.
  EXPECT_NE(file.find("nic0"), std::string::npos);
  EXPECT_NE(file.find("nic1"), std::string::npos);
  std::size_t comments = 0;
  for (std::size_t p = 0; (p = file.find("uid 1001 pid 4242 redis-server", p)) != std::string::npos;
       ++p)
    ++comments;
  EXPECT_EQ(comments, 2u);
}

TEST(LiveLoop, RefusedForPrivilegeLikeTcpdump) {
  LoopRun r = run({"-i", "nic0"}, -1, SIGINT, "normand: capture needs root or CAP_NET_RAW");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "ndump: nic0: You don't have permission to perform this capture on that device\n"
            "(normand: capture needs root or CAP_NET_RAW)\n");
  LoopRun other = run({}, -1, SIGINT, "normand is not running (/run/norman/normand.sock)");
  EXPECT_EQ(other.err, "ndump: normand is not running (/run/norman/normand.sock)\n");
}

TEST(LiveLoop, BadExpressionIsRefusedBeforeTheSessionOpens) {
  LoopRun r = run({"tcp", "and"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ndump: can't parse filter expression: syntax error\n");
  EXPECT_FALSE(r.opened) << "the NIC was asked for a session";
}

}  // namespace
}  // namespace norman::ndump::test

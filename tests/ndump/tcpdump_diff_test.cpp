// ndump against the real tcpdump (4.99) on the same files: the text of every
// layer ndump decodes must be byte-for-byte tcpdump's, for many expressions
// and flag sets; -w output must read back in tcpdump as the filtered input;
// bad flags and expressions are refused with tcpdump's exit status.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "names_traffic.hpp"
#include "random_traffic.hpp"
#include "run_command.hpp"
#include "traffic.hpp"

namespace norman::ndump::test {
namespace {

namespace fs = std::filesystem;

class TcpdumpDiff : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/tcpdump", X_OK) != 0) GTEST_SKIP() << "tcpdump is not installed";
    dir_ = fs::temp_directory_path() / ("ndump_diff_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    pcap_ = (dir_ / "varied.pcap").string();
    write_pcap(pcap_, varied_traffic());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  CommandResult ndump(const std::string& args) {
    return run_command(std::string(NDUMP_BINARY) + " " + args, (dir_ / "ndump.err").string());
  }
  CommandResult tcpdump(const std::string& args) {
    return run_command("/usr/bin/tcpdump " + args, (dir_ / "tcpdump.err").string());
  }
  // Both tools on the same arguments: same status, same stdout, same first
  // stderr line (the "reading from file" banner or the error).
  void expect_same(const std::string& args) {
    SCOPED_TRACE(args);
    CommandResult n = ndump(args), t = tcpdump(args);
    EXPECT_EQ(n.status, t.status);
    std::istringstream ns(n.out), ts(t.out);
    std::string nl, tl;
    int line = 0;
    while (true) {
      bool hn = static_cast<bool>(std::getline(ns, nl));
      bool ht = static_cast<bool>(std::getline(ts, tl));
      ++line;
      if (!hn && !ht) break;
      EXPECT_EQ(hn ? nl : "<end>", ht ? tl : "<end>") << "line " << line;
    }
    auto first = [](const std::string& s) { return s.substr(0, s.find('\n')); };
    EXPECT_EQ(first(n.err).substr(first(n.err).find(':') + 1),
              first(t.err).substr(first(t.err).find(':') + 1));
  }

  fs::path dir_;
  std::string pcap_;
};

const std::vector<std::string> expressions = {
    "",
    "tcp",
    "udp",
    "icmp",
    "arp",
    "ip",
    "ip6",
    "not arp",
    "port 9999",
    "host 10.0.0.2",
    "src host 10.0.0.1 and dst port 8081",
    "'tcp[tcpflags] & tcp-syn != 0'",
    "'tcp[tcpflags] & (tcp-rst|tcp-fin) != 0'",
    "'icmp[icmptype] == icmp-unreach'",
    "'ip[6:2] & 0x1fff != 0'",
    "'ip[6:2] & 0x3fff != 0'",
    "vlan",
    "vlan and udp",
    "greater 100",
    "less 64",
    "ether broadcast",
    "ether src 02:00:00:00:00:0a",
    "net 192.168.1.0/24",
    "'udp and not port 9999'",
    "proto 253",
};

TEST_F(TcpdumpDiff, NumericOutputMatchesForManyExpressions) {
  for (const auto& e : expressions) expect_same("-r " + pcap_ + " -n " + e);
}

TEST_F(TcpdumpDiff, LinkHeaderOutputMatches) {
  for (const auto& e : expressions) expect_same("-r " + pcap_ + " -n -e " + e);
}

TEST_F(TcpdumpDiff, VerboseOutputMatches) {
  for (const auto& e : {"", "tcp", "udp", "icmp", "arp"}) {
    expect_same("-r " + pcap_ + " -n -v " + e);
    expect_same("-r " + pcap_ + " -n -e -v " + e);
  }
}

TEST_F(TcpdumpDiff, VeryVerboseOutputMatches) {
  for (const auto& e : {"", "udp"}) expect_same("-r " + pcap_ + " -n -vv " + e);
}

TEST_F(TcpdumpDiff, NamesWithoutNumericMatch) {
  // Loopback addresses (localhost from /etc/hosts) and ports from
  // /etc/services need no DNS; MACs get tcpdump's "(oui ...)" names.
  std::string lo = (dir_ / "lo.pcap").string();
  write_pcap(lo, loopback_traffic());
  for (const auto& flags : {"", "-e", "-v", "-vv", "-e -v"})
    expect_same(std::string(flags) + " -r " + lo);
}

TEST_F(TcpdumpDiff, RandomFramesMatch) {
  // Seeded random headers within the decoded layers: every ICMP type and
  // code, random TCP flags and options (valid, malformed, cut), random IP
  // fields and snap lengths.
  for (unsigned seed : {1u, 2u, 3u}) {
    std::string f = (dir_ / ("random" + std::to_string(seed) + ".pcap")).string();
    write_pcap(f, random_traffic(seed, 1500));
    for (const char* flags : {"-n", "-n -v", "-n -vv", "-n -e"})
      expect_same(std::string(flags) + " -r " + f);
  }
}

TEST_F(TcpdumpDiff, CountStopsAfterN) {
  for (const auto& args : {"-c 1", "-c 5", "-c 3 tcp", "-nc 2 udp", "-c 1000"})
    expect_same(std::string("-n -r ") + pcap_ + " " + args);
}

TEST_F(TcpdumpDiff, ClusteredFlagsAndOptionsAfterTheExpression) {
  expect_same("-nnvc 5 -r " + pcap_);
  expect_same("-nevc 4 -r " + pcap_ + " tcp");
  expect_same("-r " + pcap_ + " tcp -n");
  expect_same("-ner" + pcap_ + " udp");
}

TEST_F(TcpdumpDiff, SnapLengthOnTheFilterIsAccepted) {
  expect_same("-n -s 64 -r " + pcap_ + " tcp");
}

TEST_F(TcpdumpDiff, BadExpressionsAreRefusedLikeTcpdump) {
  for (const auto& e : {"'tcp and'", "'port 99999'", "foo", "'ip[0:3] == 1'", "'host 1.2.3.4.5'"}) {
    SCOPED_TRACE(e);
    CommandResult n = ndump("-n -r " + pcap_ + " " + e), t = tcpdump("-n -r " + pcap_ + " " + e);
    EXPECT_EQ(n.status, 1);
    EXPECT_EQ(n.status, t.status);
    EXPECT_TRUE(n.out.empty());
    // tcpdump prints "tcpdump: <libpcap's message>"; ndump the same message.
    EXPECT_EQ(n.err.substr(n.err.find(": ") + 2), t.err.substr(t.err.find(": ") + 2));
  }
}

TEST_F(TcpdumpDiff, BadFlagsAreRefusedWithTcpdumpsStatus) {
  for (const auto& args :
       {"-k", "-o", "--foo", "-c", "-c x", "-c 0", "-s -1", "-s 300000", "-Q sideways", "-r"}) {
    SCOPED_TRACE(args);
    CommandResult n = ndump(args), t = tcpdump(args);
    EXPECT_EQ(n.status, 1);
    EXPECT_EQ(n.status, t.status);
    std::string first = n.err.substr(0, n.err.find('\n'));
    std::string tfirst = t.err.substr(0, t.err.find('\n'));
    EXPECT_EQ(first.substr(first.find(": ") + 2), tfirst.substr(tfirst.find(": ") + 2));
  }
}

TEST_F(TcpdumpDiff, TcpdumpFlagsNdumpLacksAreRefusedByName) {
  for (const auto& flag : {"-X", "-x", "-A", "-S", "-t", "-p", "-D", "-G", "-z"}) {
    SCOPED_TRACE(flag);
    CommandResult n = ndump(std::string(flag) + " 1 -r " + pcap_);
    EXPECT_EQ(n.status, 1);
    EXPECT_TRUE(n.out.empty());
    EXPECT_EQ(n.err.substr(0, n.err.find('\n')),
              std::string("ndump: invalid option -- '") + (flag + 1) + "'");
  }
}

TEST_F(TcpdumpDiff, SigtermEndsAReadFromAFifoAndFlushesTheOutput) {
  // A FIFO as -r input blocks like a live capture: SIGTERM must end it with
  // status 0 and a complete capture file, not an error.
  std::string fifo = (dir_ / "in.fifo").string(), out = (dir_ / "fifo_out.pcap").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl(NDUMP_BINARY, "ndump", "-r", fifo.c_str(), "-w", out.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  FILE* w = std::fopen(fifo.c_str(), "w");
  ASSERT_NE(w, nullptr);
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
  pcap_dumper_t* d = pcap_dump_fopen(dead, w);
  std::vector<Packet> pkts = varied_traffic();
  for (int i = 0; i < 3; ++i) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(pkts[i].data.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, pkts[i].data.data());
  }
  pcap_dump_flush(d);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(child, SIGTERM);
  int st = 0;
  waitpid(child, &st, 0);
  pcap_dump_close(d);  // closes the FIFO's write end
  pcap_close(dead);
  ASSERT_TRUE(WIFEXITED(st)) << "killed by signal " << WTERMSIG(st);
  EXPECT_EQ(WEXITSTATUS(st), 0);
  CommandResult back = tcpdump("-n -r " + out);
  EXPECT_EQ(back.status, 0);
  EXPECT_EQ(std::count(back.out.begin(), back.out.end(), '\n'), 3);
}

TEST_F(TcpdumpDiff, FileSizeRotationSplitsLikeTcpdump) {
  // 1,300 full-size frames (about 2 MB): -C 1 gives PATH and PATH1, split
  // at the same packet as tcpdump (which keeps root with -Z root).
  std::vector<Packet> big;
  const Ip4 s{10, 0, 0, 1}, d{10, 0, 0, 2};
  for (int i = 0; i < 1300; ++i)
    big.push_back({ether({2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1}, 0x0800,
                         ipv4(s, d, 17, udp4(s, d, 40000, 9999, Bytes(1472)))),
                   0});
  std::string in = (dir_ / "big.pcap").string();
  write_pcap(in, big);
  std::string mine = (dir_ / "mine.pcap").string(), theirs = (dir_ / "theirs.pcap").string();
  ASSERT_EQ(ndump("-r " + in + " -C 1 -w " + mine).status, 0);
  ASSERT_EQ(tcpdump("-Z root -r " + in + " -C 1 -w " + theirs).status, 0);
  for (const std::string suffix : {"", "1"}) {
    CommandResult m = tcpdump("-n -r " + mine + suffix), t = tcpdump("-n -r " + theirs + suffix);
    EXPECT_EQ(m.status, 0);
    EXPECT_GT(m.out.size(), 0u);
    EXPECT_EQ(m.out, t.out);
  }
  EXPECT_FALSE(fs::exists(mine + "2"));
  // pcapng blocks are larger: more files, every packet in one of them, and
  // each file starts with its own section and interface.
  std::string ng = (dir_ / "mine.pcapng").string();
  ASSERT_EQ(ndump("-r " + in + " -C 1 -w " + ng).status, 0);
  std::size_t packets = 0;
  for (const std::string suffix : {"", "1", "2"}) {
    CommandResult m = tcpdump("-n -r " + ng + suffix);
    EXPECT_EQ(m.status, 0) << suffix;
    EXPECT_LE(fs::file_size(ng + suffix), 1000000u + 1600u);
    packets += static_cast<std::size_t>(std::count(m.out.begin(), m.out.end(), '\n'));
  }
  EXPECT_EQ(packets, 1300u);
  EXPECT_EQ(ndump("-C 0 -w x -r " + in).status, 1);
  EXPECT_EQ(ndump("-C 1 -r " + in).status, 1);  // needs -w FILE
}

TEST_F(TcpdumpDiff, MissingFileIsRefused) { expect_same("-n -r " + (dir_ / "nope.pcap").string()); }

TEST_F(TcpdumpDiff, WrittenPcapReadsBackAsTheFilteredInput) {
  for (const auto& e : {"", "tcp", "udp or arp", "vlan", "'ip[6:2] & 0x3fff != 0'"}) {
    SCOPED_TRACE(e);
    std::string out = (dir_ / "out.pcap").string();
    ASSERT_EQ(ndump("-r " + pcap_ + " -w " + out + " " + e).status, 0);
    CommandResult back = tcpdump("-n -r " + out), direct = tcpdump("-n -r " + pcap_ + " " + e);
    EXPECT_EQ(back.status, 0);
    EXPECT_EQ(back.out, direct.out);
    // And the bytes, with -xx.
    EXPECT_EQ(tcpdump("-n -xx -r " + out).out, tcpdump("-n -xx -r " + pcap_ + " " + e).out);
  }
}

TEST_F(TcpdumpDiff, WriteToStdoutPipesIntoTcpdump) {
  for (const std::string fmt : {"", "--pcapng "}) {
    SCOPED_TRACE(fmt);
    CommandResult piped = run_command(std::string(NDUMP_BINARY) + " -r " + pcap_ + " " + fmt +
                                          "-w - tcp 2>/dev/null | /usr/bin/tcpdump -n -r -",
                                      (dir_ / "pipe.err").string());
    EXPECT_EQ(piped.status, 0);
    EXPECT_EQ(piped.out, tcpdump("-n -r " + pcap_ + " tcp").out);
  }
}

TEST_F(TcpdumpDiff, PcapngOutputReadsBackInTcpdump) {
  for (const auto& args : {std::string("--pcapng -w ") + (dir_ / "o.ng").string(),
                           std::string("-w ") + (dir_ / "o.pcapng").string()}) {
    SCOPED_TRACE(args);
    ASSERT_EQ(ndump("-r " + pcap_ + " " + args + " udp").status, 0);
    std::string file = args.substr(args.rfind(' ') + 1);
    CommandResult back = tcpdump("-n -xx -r " + file);
    EXPECT_EQ(back.status, 0);
    EXPECT_EQ(back.out, tcpdump("-n -xx -r " + pcap_ + " udp").out);
  }
}

TEST_F(TcpdumpDiff, ReadsPcapngInput) {
  std::string ng = (dir_ / "in.pcapng").string();
  ASSERT_EQ(ndump("-r " + pcap_ + " -w " + ng).status, 0);
  for (const auto& e : {"", "tcp", "icmp"}) {
    SCOPED_TRACE(e);
    CommandResult n = ndump("-n -r " + ng + " " + e), t = tcpdump("-n -r " + ng + " " + e);
    EXPECT_EQ(n.out, t.out);
  }
}

}  // namespace
}  // namespace norman::ndump::test

// ndump's command line: tcpdump's flags (clustered, after the expression),
// the owner filters, and refusals that name the flag.
#include <gtest/gtest.h>

#include "options.hpp"

namespace norman::ndump {
namespace {

Options parse(std::vector<std::string> a) {
  a.insert(a.begin(), "ndump");
  return parse_args(a);
}

std::string refusal(std::vector<std::string> a) {
  try {
    parse(std::move(a));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(NdumpArgs, Defaults) {
  Options o = parse({});
  EXPECT_EQ(o.interface, "nic0");
  EXPECT_EQ(o.snaplen, 262144u);
  EXPECT_TRUE(o.capture_in && o.capture_out);
  EXPECT_FALSE(o.count);
  EXPECT_TRUE(o.expression.empty());
}

TEST(NdumpArgs, ClusteredShortFlags) {
  Options o = parse({"-nnvc", "5", "-i", "any", "tcp", "port", "80"});
  EXPECT_TRUE(o.numeric);
  EXPECT_EQ(o.verbose, 1);
  EXPECT_EQ(o.count, 5u);
  EXPECT_EQ(o.interface, "any");
  EXPECT_EQ(o.expression, "tcp port 80");
  Options p = parse({"-evvc5", "-s128", "-Qin", "-rfile.pcap"});
  EXPECT_TRUE(p.link_header);
  EXPECT_EQ(p.verbose, 2);
  EXPECT_EQ(p.count, 5u);
  EXPECT_EQ(p.snaplen, 128u);
  EXPECT_TRUE(p.capture_in);
  EXPECT_FALSE(p.capture_out);
  EXPECT_EQ(p.read_file, "file.pcap");
}

TEST(NdumpArgs, OptionsAfterTheExpressionAndDoubleDash) {
  Options o = parse({"udp", "-n", "and", "port", "53"});
  EXPECT_TRUE(o.numeric);
  EXPECT_EQ(o.expression, "udp and port 53");
  Options d = parse({"-n", "--", "not", "arp"});
  EXPECT_EQ(d.expression, "not arp");
}

TEST(NdumpArgs, WriteFormats) {
  EXPECT_FALSE(parse({"-w", "x.pcap"}).pcapng);
  EXPECT_TRUE(parse({"-w", "x.pcapng"}).pcapng);
  EXPECT_TRUE(parse({"--pcapng", "-w", "-"}).pcapng);
  EXPECT_EQ(parse({"-w", "-"}).write_file, "-");
  EXPECT_EQ(parse({"-s", "0"}).snaplen, 262144u);
}

TEST(NdumpArgs, OwnerFilters) {
  Options o = parse({"--uid", "1001", "--pid=4242", "--comm", "redis-server", "--cgroup",
                     "/system.slice/redis.service", "udp"});
  EXPECT_EQ(o.uid, 1001u);
  EXPECT_EQ(o.pid, 4242);
  EXPECT_EQ(o.comm, "redis-server");
  EXPECT_EQ(o.cgroup, "/system.slice/redis.service");
  EXPECT_EQ(o.expression, "udp");
  EXPECT_EQ(parse({"--uid", "root"}).uid, 0u);
}

TEST(NdumpArgs, RefusalsNameTheFlag) {
  EXPECT_EQ(refusal({"-z"}), "invalid option -- 'z'");
  EXPECT_EQ(refusal({"-X"}), "invalid option -- 'X'");
  EXPECT_EQ(refusal({"--foo"}), "unrecognized option '--foo'");
  EXPECT_EQ(refusal({"-c"}), "option requires an argument -- 'c'");
  EXPECT_EQ(refusal({"--uid"}), "option '--uid' requires an argument");
  EXPECT_EQ(refusal({"-c", "x"}), "invalid packet count x");
  EXPECT_EQ(refusal({"-c", "0"}), "invalid packet count 0");
  EXPECT_EQ(refusal({"-s", "-1"}), "invalid snaplen -1 (must be >= 0 and <= 262144)");
  EXPECT_EQ(refusal({"-Q", "up"}), "unknown capture direction `up'");
  EXPECT_EQ(refusal({"--pid", "0"}), "invalid pid 0");
  EXPECT_EQ(refusal({"--uid", "no-such-user-here"}), "invalid user no-such-user-here");
  EXPECT_EQ(refusal({"--comm", "a-name-longer-than-15"}),
            "invalid process name `a-name-longer-than-15' (1 to 15 characters, as /proc/PID/comm)");
  EXPECT_EQ(refusal({"--cgroup", "relative"}),
            "invalid cgroup `relative' (an absolute cgroup v2 path)");
  EXPECT_EQ(UsageError::exit_code, 1);
}

TEST(NdumpArgs, Buffering) {
  Options o = parse({"-lU"});
  EXPECT_TRUE(o.line_buffered);
  EXPECT_TRUE(o.packet_buffered);
  EXPECT_FALSE(parse({}).line_buffered);
}

TEST(NdumpArgs, FileSizeRotation) {
  EXPECT_EQ(parse({"-C", "5", "-w", "f.pcap"}).rotate_bytes, 5000000u);
  EXPECT_EQ(refusal({"-C", "0", "-w", "f"}), "invalid file size 0");
  EXPECT_EQ(refusal({"-C", "1x", "-w", "f"}), "invalid file size 1x");
  EXPECT_EQ(refusal({"-C", "99999999999999", "-w", "f"}), "file size 99999999999999 is too large");
  EXPECT_EQ(refusal({"-C", "1"}), "-C needs -w with a file name");
  EXPECT_EQ(refusal({"-C", "1", "-w", "-"}), "-C needs -w with a file name");
}

TEST(NdumpArgs, ParsesTwiceInOneProcess) {
  EXPECT_EQ(parse({"-c", "3"}).count, 3u);
  EXPECT_EQ(parse({"-c", "4"}).count, 4u);
}

}  // namespace
}  // namespace norman::ndump

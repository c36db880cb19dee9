// The store's guarantees beyond ipset's command line: all-or-nothing
// transactions, the total entry budget, huge ranges refused whole, a
// 1M-entry blocklist restored and matched, and packet membership.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "cli.hpp"
#include "error.hpp"

namespace norman::sets {
namespace {

Outcome cmd(Store& s, const std::string& line, std::string_view input = {}) {
  std::vector<std::string> args;
  std::size_t i = 0;
  while (i < line.size()) {
    const auto j = line.find(' ', i);
    args.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
    i = j == std::string::npos ? line.size() : j + 1;
  }
  return run(s, args, input, "nipset");
}

std::string ip(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

TEST(Store, FailedRestoreChangesNothing) {
  Store s;
  ASSERT_EQ(cmd(s, "create a hash:ip").status, 0);
  ASSERT_EQ(cmd(s, "add a 1.1.1.1").status, 0);
  ASSERT_EQ(cmd(s, "create b hash:ip").status, 0);
  const std::string before = cmd(s, "save").out;
  const Outcome o = cmd(s, "restore",
                        "flush a\nadd a 2.2.2.2\ndestroy b\ncreate c hash:ip\nadd c 10.0.0.1\n"
                        "rename a z\nswap z c\nadd z 10.0.0.1\n");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err,
            "nipset: Error in line 8: Element cannot be added to the set: it's already added\n");
  EXPECT_EQ(cmd(s, "save").out, before);
  EXPECT_EQ(s.entries(), 1u);
}

TEST(Store, RangeAddIsAllOrNothing) {
  Store s;
  cmd(s, "create a hash:ip maxelem 10");
  cmd(s, "add a 10.0.0.5");
  EXPECT_EQ(cmd(s, "add a 10.0.0.0/29").status, 1);  // 10.0.0.5 is there
  EXPECT_EQ(s.find("a")->size(), 1u);
  EXPECT_EQ(cmd(s, "add a 10.0.1.0/28").err, "nipset: Hash is full, cannot add more elements\n");
  EXPECT_EQ(s.find("a")->size(), 1u);
}

TEST(Store, TotalBudgetRefusesWithAClearError) {
  Limits l;
  l.max_entries = 100;
  Store s(l);
  cmd(s, "create a hash:ip");
  cmd(s, "create b hash:ip");
  EXPECT_EQ(cmd(s, "add a 10.0.0.0/26").status, 0);  // 64
  const Outcome o = cmd(s, "add b 10.0.1.0/26");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err,
            "nipset: normand's set memory is full: all sets together hold at most 100 entries\n");
  EXPECT_EQ(s.entries(), 64u);
  EXPECT_EQ(s.find("b")->size(), 0u);
}

TEST(Store, HugeRangeRefusedBeforeAnyWork) {
  Store s;
  cmd(s, "create a hash:ip maxelem 4294967295");
  const auto t0 = std::chrono::steady_clock::now();
  const Outcome o = cmd(s, "add a 1.0.0.0-254.255.255.255");
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.err.find("at most 1048576"), std::string::npos) << o.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(s.entries(), 0u);
}

TEST(Store, MaxSets) {
  Limits l;
  l.max_sets = 2;
  Store s(l);
  cmd(s, "create a hash:ip");
  cmd(s, "create b hash:ip");
  EXPECT_EQ(cmd(s, "create c hash:ip").status, 1);
  cmd(s, "destroy a");
  EXPECT_EQ(cmd(s, "create c hash:ip").status, 0);
  EXPECT_EQ(cmd(s, "list -n").out, "c\nb\n");  // the freed index is reused, as in the kernel
}

TEST(Store, ReferencedSetIsKept) {
  Store s;
  cmd(s, "create a hash:ip");
  s.reference("a", 1);
  EXPECT_EQ(cmd(s, "destroy a").err,
            "nipset: Set cannot be destroyed: it is in use by a kernel component\n");
  EXPECT_EQ(cmd(s, "destroy").status, 1);
  EXPECT_NE(s.find("a"), nullptr);
  s.reference("a", -1);
  EXPECT_EQ(cmd(s, "destroy").status, 0);
}

TEST(Store, NamesThatSaveCannotWriteBackAreRefused) {
  Store s;
  for (const std::string& bad :
       std::vector<std::string>{"a b", "a\nb", "a\tb", "caf\xc3\xa9", std::string("a\0b", 3)}) {
    const Outcome o = run(s, {"create", bad, "hash:ip"}, {}, "nipset");
    EXPECT_EQ(o.status, 1) << bad;
    EXPECT_NE(o.err.find("which save could not write back"), std::string::npos) << o.err;
  }
  cmd(s, "create a hash:ip");
  EXPECT_EQ(run(s, {"rename", "a", "x\ny"}, {}, "nipset").status, 1);
  EXPECT_EQ(cmd(s, "list -n").out, "a\n");
  // Restore splits lines at blanks, so a name there is always one word;
  // a carriage return is not a blank.
  EXPECT_EQ(cmd(s, "restore", "create b\r hash:ip\n").status, 1);
}

TEST(Store, Membership) {
  Store s;
  cmd(s, "create n hash:net");
  cmd(s, "add n 10.0.0.0/8");
  cmd(s, "add n 192.168.1.1");
  cmd(s, "create p hash:ip,port");
  cmd(s, "add p 10.0.0.1,udp:53");
  cmd(s, "create q bitmap:port range 0-1024");
  cmd(s, "add q 22");
  EXPECT_TRUE(s.find("n")->contains_ip(0x0a010203));
  EXPECT_TRUE(s.find("n")->contains_ip(0xc0a80101));
  EXPECT_FALSE(s.find("n")->contains_ip(0xc0a80102));
  EXPECT_TRUE(s.find("p")->contains_ip_port(0x0a000001, 17, 53));
  EXPECT_FALSE(s.find("p")->contains_ip_port(0x0a000001, 6, 53));
  EXPECT_TRUE(s.find("q")->contains_port(22));
  EXPECT_FALSE(s.find("q")->contains_port(23));
}

TEST(Store, MillionEntryBlocklistRestores) {
  Store s;
  std::string input = "create block hash:ip hashsize 1048576 maxelem 1048576\n";
  input.reserve(input.size() + 1'048'576 * 26);
  for (std::uint32_t i = 0; i < 1'048'576; ++i)
    input += "add block " + ip(0x0b000000 + i * 7) + "\n";
  const auto t0 = std::chrono::steady_clock::now();
  const Outcome o = cmd(s, "restore", input);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(s.find("block")->size(), 1'048'576u);
  EXPECT_TRUE(s.find("block")->contains_ip(0x0b000000 + 7 * 1000));
  EXPECT_FALSE(s.find("block")->contains_ip(0x0b000001));
  std::cout << "restore of 1,048,576 entries: " << secs << " s\n";
  // The save reads back as the same restore.
  Store t;
  ASSERT_EQ(cmd(t, "restore", cmd(s, "save").out).status, 0);
  EXPECT_EQ(t.entries(), s.entries());
}

}  // namespace
}  // namespace norman::sets

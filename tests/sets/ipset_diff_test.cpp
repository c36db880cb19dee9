// nipset's command line (norman::sets::run) against the real ipset 7.17:
// the same commands, one after the other, in a network namespace this test
// makes and removes; every command's exit status, stdout and stderr must
// be ipset's. Only what the kernel chooses is masked: initval (random),
// "Size in memory" of hash sets and the order of a hash set's members
// (the kernel's hash order; nipset lists them sorted).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace norman::sets {
namespace {

struct Step {
  Step(const char* c) : cmd(c) {}  // NOLINT: a step is usually just its command
  Step(std::string c, std::string in) : cmd(std::move(c)), input(std::move(in)) {}
  std::string cmd;    // arguments, split at blanks
  std::string input;  // restore's stdin
};

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Sorts the runs of member lines ("Members:" up to a blank line, and
// consecutive "add " lines of a save).
std::string normalise(const std::string& text) {
  std::string t = std::regex_replace(text, std::regex("initval 0x[0-9a-f]{8}"), "initval X");
  t = std::regex_replace(t, std::regex("Size in memory: [0-9]+"), "Size in memory: X");
  std::vector<std::string> lines;
  std::istringstream in(t);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<std::string> out;
  std::vector<std::string> run;
  bool members = false;
  auto flush = [&] {
    std::sort(run.begin(), run.end());
    out.insert(out.end(), run.begin(), run.end());
    run.clear();
  };
  for (const auto& l : lines) {
    if (members && !l.empty() && l.rfind("Name: ", 0) != 0) {
      run.push_back(l);
      continue;
    }
    if (l.rfind("add ", 0) == 0) {
      run.push_back(l);
      continue;
    }
    flush();
    members = l == "Members:";
    out.push_back(l);
  }
  flush();
  std::string r;
  for (const auto& l : out) r += l + "\n";
  if (!t.empty() && t.back() != '\n' && !r.empty()) r.pop_back();
  return r;
}

class IpsetDiff : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    if (std::system("ipset version >/dev/null 2>&1") != 0) return;
    ns_ = "nipset-test-" + std::to_string(::getpid());
    if (std::system(("ip netns add " + ns_ + " 2>/dev/null").c_str()) != 0) {
      ns_.clear();
      return;
    }
    dir_ = "/tmp/" + ns_;
    std::system(("mkdir -p " + dir_).c_str());
  }
  static void TearDownTestSuite() {
    if (ns_.empty()) return;
    std::system(("ip netns del " + ns_).c_str());
    std::system(("rm -rf " + dir_).c_str());
  }
  void SetUp() override {
    if (ns_.empty()) GTEST_SKIP() << "needs root, ipset and ip netns (a namespace of its own)";
    real("destroy");
  }

  Outcome real(const Step& s) {
    std::ofstream(dir_ + "/in") << s.input;
    std::string cmd = "ip netns exec " + ns_ + " ipset";
    for (const auto& w : words(s.cmd)) cmd += " " + quote(w);
    cmd += " <" + dir_ + "/in >" + dir_ + "/out 2>" + dir_ + "/err";
    const int rc = std::system(cmd.c_str());
    Outcome o;
    o.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    o.out = slurp(dir_ + "/out");
    o.err = slurp(dir_ + "/err");
    return o;
  }

  Outcome ours(const Step& s) {
    Outcome o = run(store_, words(s.cmd), s.input, "nipset");
    o.out = std::regex_replace(o.out, std::regex("^nipset v7.17"), "ipset v7.17");
    // nipset's prefix stands where ipset prints its version.
    o.err = std::regex_replace(o.err, std::regex("nipset: "), "ipset v7.17: ");
    o.err = std::regex_replace(o.err, std::regex("`nipset help'"), "`ipset help'");
    return o;
  }

  void same(const std::vector<Step>& steps) {
    for (const auto& s : steps) {
      const Outcome r = real(s);
      const Outcome o = ours(s);
      EXPECT_EQ(o.status, r.status) << "ipset " << s.cmd << "\n"
                                    << s.input << "ipset said: " << r.err;
      EXPECT_EQ(normalise(o.out), normalise(r.out)) << "ipset " << s.cmd << "\n" << s.input;
      EXPECT_EQ(o.err, r.err) << "ipset " << s.cmd << "\n" << s.input;
    }
  }

  Store store_;
  static inline std::string ns_;
  static inline std::string dir_;
};

TEST_F(IpsetDiff, HashIp) {
  same({{"create a hash:ip"},
        {"add a 10.0.0.1"},
        {"add a 10.0.0.1"},
        {"-exist add a 10.0.0.1"},
        {"add a 10.0.1.0/30"},
        {"add a 10.0.2.9-10.0.2.7"},
        {"add a 1.2.3"},
        {"add a 0.0.0.0"},
        {"add a 1.2.3.4/0"},
        {"add a 1.2.3.400"},
        {"add a 1.2.3.4/33"},
        {"add a 10.0.0.9 timeout 5"},
        {"add a 10.0.0.9 10.0.0.10"},
        {"test a 10.0.0.1"},
        {"test a 9.9.9.9"},
        {"-q test a 9.9.9.9"},
        {"test a 10.0.1.0/30"},
        {"del a 10.0.0.1"},
        {"del a 10.0.0.1"},
        {"-! del a 10.0.0.1"},
        {"del a 10.0.1.2"},
        {"list a"},
        {"save a"},
        {"list -t a"},
        {"-o save list a"},
        {"-o plain save a"},
        {"list -n"},
        {"flush a"},
        {"list a"},
        {"destroy a"},
        {"list"}});
}

TEST_F(IpsetDiff, HashNet) {
  same({{"create b hash:net family inet hashsize 2048 maxelem 100"},
        {"add b 10.0.0.0/8"},
        {"add b 10.1.2.3/8"},
        {"add b 192.168.1.1"},
        {"add b 172.16.0.1-172.16.0.6"},
        {"add b 0.0.0.0/0"},
        {"test b 10.5.5.5"},
        {"test b 10.0.0.0/8"},
        {"test b 10.0.0.0/9"},
        {"test b 11.0.0.1"},
        {"del b 10.0.0.5/8"},
        {"test b 10.5.5.5"},
        {"add b 10.2.0.0/16"},
        {"save"},
        {"list"}});
}

TEST_F(IpsetDiff, HashIpPort) {
  same({{"create c hash:ip,port"},
        {"add c 10.0.0.1,tcp:80"},
        {"add c 10.0.0.2,udp:53"},
        {"add c 10.0.0.3,80"},
        {"add c 10.0.0.4,icmp:echo-request"},
        {"add c 10.0.0.5,icmp:3/1"},
        {"add c 10.0.0.6,icmp:3/8"},
        {"add c 10.0.0.7,icmp:8"},
        {"add c 10.0.0.8,sctp:5"},
        {"add c 10.0.0.9,udplite:7"},
        {"add c 10.0.0.10,gre:0"},
        {"add c 10.0.0.11,gre:5"},
        {"add c 10.0.0.12,ssh"},
        {"add c 10.0.0.13,tcp:1-3"},
        {"add c 10.0.0.14-10.0.0.15,udp:9"},
        {"add c 10.0.0.16/31,udp:9"},
        {"add c 10.0.0.18,65536"},
        {"add c 10.0.0.18,tcp:nosuch"},
        {"add c 10.0.0.18,foo:3"},
        {"add c 10.0.0.18"},
        {"add c 10.0.0.18,icmp:1-3"},
        {"add c 10.0.0.19,47:0"},
        {"test c 10.0.0.1,80"},
        {"test c 10.0.0.1,udp:80"},
        {"save c"},
        {"list c"}});
}

TEST_F(IpsetDiff, BitmapPort) {
  same({{"create d bitmap:port"},
        {"create d bitmap:port range 10-5"},
        {"save d"},
        {"destroy d"},
        {"create d bitmap:port range 0-100"},
        {"add d 22"},
        {"add d tcp:5"},
        {"add d ssh"},
        {"add d 3-2"},
        {"add d 200"},
        {"add d 5-200"},
        {"add d 0"},
        {"test d 22"},
        {"test d 23"},
        {"list d"},
        {"save d"},
        {"create e bitmap:port range 1-100000"},
        {"create e bitmap:port range 1-10 hashsize 5"},
        {"create e bitmap:port range 1-10 family inet"}});
}

TEST_F(IpsetDiff, CreateOptionsAndMistakes) {
  same({{"create a hash:ip"},
        {"create a hash:ip"},
        {"-exist create a hash:ip"},
        {"-exist create a hash:net"},
        {"create zz hash:foo"},
        {"create z1 hash:ip hashsize 0"},
        {"create z2 hash:ip hashsize 100"},
        {"create z3 hash:ip hashsize 1500 maxelem 5"},
        {"create z4 hash:ip maxelem 0"},
        {"create z5 hash:ip bucketsize 5"},
        {"create z6 hash:ip bucketsize 30"},
        {"create z7 hash:ip initval 0x12"},
        {"save z7"},
        {"create zz hash:ip maxelem x"},
        {"create zz hash:ip family inet hashsize"},
        {"create zz hash:ip family inet family inet"},
        {"create zz hash:ip bogus 1"},
        {"create"},
        {"create zz"},
        {"create aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa hash:ip"},
        {"save"},
        {"add nope 1.2.3.4"},
        {"add a"},
        {"list nope"},
        {"destroy nope"},
        {"flush nope"},
        {"destroy a b"},
        {"list a b"},
        {"foo"},
        {""},
        {"list -o json"},
        {"version"},
        {"-V"}});
}

TEST_F(IpsetDiff, MaxelemIsEnforced) {
  same({{"create m hash:ip maxelem 2"},
        {"add m 1.1.1.1"},
        {"add m 1.1.1.2"},
        {"add m 1.1.1.3"},
        {"-exist add m 1.1.1.2"},
        {"save m"}});
}

TEST_F(IpsetDiff, RenameSwapDestroy) {
  same({{"create a hash:ip"},
        {"create b hash:ip"},
        {"create d bitmap:port range 1-10"},
        {"add a 1.1.1.1"},
        {"add b 2.2.2.2"},
        {"rename a b"},
        {"rename a e"},
        {"rename nope x"},
        {"list -n"},
        {"swap e b"},
        {"swap e d"},
        {"swap e nope"},
        {"swap nope e"},
        {"save"},
        {"destroy b"},
        {"create f hash:net"},
        {"list -n"},
        {"save"},
        {"destroy"},
        {"list"}});
}

TEST_F(IpsetDiff, Restore) {
  // ipset applies a restore up to the failing line; nipset applies all or
  // nothing (docs/sets.md), so failing restores are compared only for the
  // message and status, then the state is checked on its own.
  same({{"restore", "\n# a comment\ncreate r hash:ip\n  add r 1.1.1.1\nCOMMIT\nadd r 2.2.2.2\n"},
        {"save"},
        {"-exist restore", "create r hash:ip\nadd r 1.1.1.1\nadd r 3.3.3.3\n"},
        {"save"}});
  for (const Step& s : std::vector<Step>{
           {"restore", "create t hash:ip\nadd t 1.1.1.1\nadd t 1.1.1.1\n"},
           // Options on a line do not count in a restore.
           {"restore", "create s hash:net\nadd s 10.0.0.0/8\n-exist add s 10.0.0.0/8\n"},
           {"restore", "create t2 hash:ip\nadd t2 1.2.3.400\n"},
           {"restore", "create t3 hash:ip\nbogus t3\n"},
           {"restore", "create t4 hash:ip\nadd t4\n"},
           {"restore", "add nope 1.1.1.1\n"}}) {
    const Outcome r = real(s);
    const Outcome o = ours(s);
    EXPECT_EQ(o.status, r.status) << s.input;
    EXPECT_EQ(o.err, r.err) << s.input;
  }
  // Nothing of a failed restore stays in nipset's sets.
  const Outcome o = ours("list -n");
  EXPECT_EQ(o.out, "r\n");
}

}  // namespace
}  // namespace norman::sets

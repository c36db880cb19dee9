// KOPI's port partitioning, end to end: "only Bob's postgres may send or
// receive on 5432, only Charlie's mysql on 3306". nfw rules with
// --uid-owner and --cmd-owner are loaded into normand, which compiles them
// into the NIC (nsim); applications on libnorman run as two users; a Linux
// peer in a network namespace talks to them. The wrong owner's datagrams are
// dropped in both directions and counted, per rule (nfw-save -c) and by the
// NIC; the right owner's pass. Needs root (exit 77 otherwise).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ctl_socket.hpp"
#include "syntax.hpp"
#include "system_env.hpp"

namespace norman::system_test {
namespace {

constexpr unsigned kBob = 60001;
constexpr unsigned kCharlie = 60002;

SystemEnv* g_env = nullptr;

class Nfw : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_env = new SystemEnv(SystemConfig{NSIM_BINARY, NORMAND_BINARY, "10.52.0"});
    std::string why;
    if (!g_env->start(why)) start_error_ = why;
  }
  static void TearDownTestSuite() {
    delete g_env;
    g_env = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(start_error_.empty()) << start_error_; }
  static SystemEnv& env() { return *g_env; }

  static std::pair<int, std::string> nfw(const std::string& args) {
    return sh(std::string(NFW_BINARY) + " --socket " + env().normand_socket() + " " + args);
  }
  static filter::Ruleset saved() {
    auto [rc, text] = sh(std::string(NFW_SAVE_BINARY) + " -c --socket " + env().normand_socket());
    EXPECT_EQ(rc, 0) << text;
    filter::Ruleset rs;
    std::uint64_t id = 1;
    nfw::apply_restore(rs, nfw::parse_restore(text), false, true, [&id] { return id++; });
    return rs;
  }
  static std::uint64_t nic_counter(const std::string& name) {
    auto c = ctl::Client::connect(env().normand_socket());
    c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    return c.call(ctl::op::kStatus).body.at("nic_counters").at(name).get<std::uint64_t>();
  }

  // An application (the probe, under `exe`'s name) as `uid` on `port`:
  // sends 5 datagrams to the peer's port 9000 while the peer sends 5 to it;
  // returns the probe's final report.
  static nlohmann::json talk(const std::string& exe, unsigned uid, std::uint16_t port,
                             std::string& peer_got) {
    const std::string sink =
        env().dir() + "/peer-" + std::to_string(port) + "-" + std::to_string(uid);
    Proc listener(sink + ".listener", {"ip", "netns", "exec", env().ns(), "socat", "-u",
                                       "UDP4-RECV:9000", "OPEN:" + sink + ",creat,append"});
    std::this_thread::sleep_for(300ms);
    Proc app(
        env().dir() + "/app-" + std::to_string(port) + "-" + std::to_string(uid),
        SystemEnv::as_user(uid, {exe, "--normand-socket", env().normand_socket(), "talk", "--port",
                                 std::to_string(port), "--to", env().peer_ip() + ":9000", "--sends",
                                 "5", "--seconds", "4"}));
    EXPECT_TRUE(app.wait_output("\"ready\"", 30s)) << app.err();
    for (int i = 0; i < 5; ++i) {
      sh(env().in_peer("sh -c 'echo from-peer-" + std::to_string(i) +
                       " | timeout 5 socat -u - UDP4:" + env().nic_ip() + ":" +
                       std::to_string(port) + "'"));
    }
    EXPECT_EQ(app.wait(30s), 0) << app.err();
    std::this_thread::sleep_for(300ms);
    listener.stop(SIGTERM, 2s);
    peer_got = slurp(sink);
    std::istringstream lines(app.out());
    std::string line, last;
    while (std::getline(lines, line)) {
      if (!line.empty()) last = line;
    }
    return nlohmann::json::parse(last, nullptr, false);
  }

  static inline std::string start_error_;
};

TEST_F(Nfw, OnlyBobsPostgresUses5432AndOnlyCharliesMysqlUses3306) {
  for (const std::string rule : {
           "-A INPUT -p udp --dport 5432 -m owner ! --uid-owner 60001 -j DROP",
           "-A OUTPUT -p udp --sport 5432 -m owner ! --uid-owner 60001 -j DROP",
           "-A INPUT -p udp --dport 3306 -m owner ! --cmd-owner mysqld -j DROP",
           "-A OUTPUT -p udp --sport 3306 -m owner ! --cmd-owner mysqld -j DROP",
       }) {
    auto [rc, out] = nfw(rule);
    ASSERT_EQ(rc, 0) << "nfw " << rule << ": " << out;
  }
  // The same program under the name "mysqld" (its /proc/PID/comm).
  const std::string mysqld = env().dir() + "/mysqld";
  std::filesystem::copy_file(PROBE_BINARY, mysqld,
                             std::filesystem::copy_options::overwrite_existing);
  ::chmod(mysqld.c_str(), 0755);
  const std::uint64_t rx_drops_before = nic_counter("rx_drop_filter");
  const std::uint64_t tx_drops_before = nic_counter("tx_drop_filter");

  std::string peer_got;
  // Charlie on 5432: nothing gets in or out.
  auto r = talk(PROBE_BINARY, kCharlie, 5432, peer_got);
  EXPECT_EQ(r.value("received", -1), 0) << r;
  EXPECT_EQ(r.value("tx_drop_filter", -1), 5) << r;
  EXPECT_EQ(r.value("tx_sent", -1), 0) << r;
  EXPECT_EQ(peer_got.find("hello"), std::string::npos) << peer_got;
  // Bob on 5432: everything passes (his 5 sends and 5 echoes).
  r = talk(PROBE_BINARY, kBob, 5432, peer_got);
  EXPECT_EQ(r.value("received", -1), 5) << r;
  EXPECT_EQ(r.value("tx_sent", -1), 10) << r;
  EXPECT_EQ(r.value("tx_drop_filter", -1), 0) << r;
  EXPECT_NE(peer_got.find("hello 4"), std::string::npos) << peer_got;
  // Charlie's mysqld on 3306 passes; the same program under another name does not.
  r = talk(mysqld, kCharlie, 3306, peer_got);
  EXPECT_EQ(r.value("received", -1), 5) << r;
  EXPECT_EQ(r.value("tx_drop_filter", -1), 0) << r;
  r = talk(PROBE_BINARY, kCharlie, 3306, peer_got);
  EXPECT_EQ(r.value("received", -1), 0) << r;
  EXPECT_EQ(r.value("tx_drop_filter", -1), 5) << r;

  // Per-rule counters from the NIC, as nfw-save -c prints them.
  const auto rs = saved();
  const auto& in = rs.find("INPUT")->rules;
  const auto& out = rs.find("OUTPUT")->rules;
  ASSERT_EQ(in.size(), 2u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(in[0].counters.packets, 5u);
  EXPECT_EQ(out[0].counters.packets, 5u);
  EXPECT_EQ(in[1].counters.packets, 5u);
  EXPECT_EQ(out[1].counters.packets, 5u);
  // The NIC's own drop counters saw the same.
  EXPECT_EQ(nic_counter("rx_drop_filter") - rx_drops_before, 10u);
  EXPECT_EQ(nic_counter("tx_drop_filter") - tx_drops_before, 10u);
  // nfw -L shows them the iptables way.
  auto [rc, listing] = nfw("-L -v -x -n");
  EXPECT_EQ(rc, 0) << listing;
  EXPECT_NE(listing.find("! owner UID match 60001"), std::string::npos) << listing;
}

// REJECT on INPUT: the NIC hands the packet to normand, which answers as
// Linux would: the peer's UDP socket sees "connection refused" (ICMP port
// unreachable) although a bypass application listens on the port, and its
// TCP connect is reset although the host kernel listens on that port.
TEST_F(Nfw, RejectOnInputIsAnsweredLikeLinux) {
  ASSERT_EQ(nfw("-A INPUT -p udp --dport 7777 -j REJECT").first, 0);
  ASSERT_EQ(nfw("-A INPUT -p tcp --dport 7778 -j REJECT --reject-with tcp-reset").first, 0);
  Proc app(env().dir() + "/reject-app",
           SystemEnv::as_user(
               kBob, {PROBE_BINARY, "--normand-socket", env().normand_socket(), "talk", "--port",
                      "7777", "--to", env().peer_ip() + ":9", "--seconds", "6"}));
  ASSERT_TRUE(app.wait_output("\"ready\"", 30s)) << app.err();
  Proc listener(
      env().dir() + "/reject-listener",
      {"socat", "TCP4-LISTEN:7778,bind=" + env().nic_ip() + ",reuseaddr,fork", "EXEC:/bin/cat"});
  std::this_thread::sleep_for(300ms);
  const std::uint64_t rejected_before = nic_counter("rx_filter_rejected");
  const std::string py =
      "import socket,sys\n"
      "u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.settimeout(5); u.connect(('" +
      env().nic_ip() +
      "',7777))\n"
      "r=[]\n"
      "for i in range(3):\n"
      "  u.send(b'x')\n"
      "  try: u.recv(10); r.append('answered')\n"
      "  except ConnectionRefusedError: r.append('refused')\n"
      "  except socket.timeout: r.append('timeout')\n"
      "try: socket.create_connection(('" +
      env().nic_ip() +
      "',7778),timeout=5); r.append('tcp-connected')\n"
      "except ConnectionRefusedError: r.append('tcp-refused')\n"
      "except socket.timeout: r.append('tcp-timeout')\n"
      "print(' '.join(r))\n";
  const std::string script = env().dir() + "/reject.py";
  {
    std::ofstream f(script);
    f << py;
  }
  auto [rc, out] = sh(env().in_peer("python3 " + script));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("refused refused refused tcp-refused"), std::string::npos) << out;
  listener.stop(SIGTERM, 2s);
  EXPECT_EQ(app.wait(30s), 0);
  EXPECT_NE(app.out().find("\"received\":0"), std::string::npos) << app.out();
  EXPECT_GE(nic_counter("rx_filter_rejected") - rejected_before, 4u);
  ASSERT_EQ(nfw("-D INPUT -p udp --dport 7777 -j REJECT").first, 0);
  ASSERT_EQ(nfw("-D INPUT -p tcp --dport 7778 -j REJECT --reject-with tcp-reset").first, 0);
}

// LOG: the NIC writes a record for each LOG verdict into normand's LOG ring;
// normand logs it in the kernel LOG target's words, with the rule's prefix.
TEST_F(Nfw, LogRecordsReachNormandsLog) {
  ASSERT_EQ(nfw("-A INPUT -p udp --dport 7001 -j LOG --log-prefix \"nfw-test: \"").first, 0);
  for (int i = 0; i < 3; ++i) {
    sh(env().in_peer("sh -c 'echo log-me | timeout 5 socat -u - UDP4:" + env().nic_ip() +
                     ":7001'"));
  }
  const std::string want =
      "nfw: nfw-test: IN=nic0 OUT= SRC=" + env().peer_ip() + " DST=" + env().nic_ip();
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = env().normand().err();
    std::size_t n = 0;
    for (auto at = log.find(want); at != std::string::npos; at = log.find(want, at + 1)) ++n;
    if (n >= 3) break;
    std::this_thread::sleep_for(100ms);
  }
  const auto at = log.find(want);
  ASSERT_NE(at, std::string::npos) << log;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(line.find("PROTO=UDP"), std::string::npos) << line;
  EXPECT_NE(line.find("DPT=7001"), std::string::npos) << line;
  EXPECT_NE(line.find("LEN=35"), std::string::npos) << line;  // 20 + 8 + "log-me\n"
  // LOG does not decide: the datagrams went on to the host kernel.
  ASSERT_EQ(nfw("-D INPUT -p udp --dport 7001 -j LOG --log-prefix \"nfw-test: \"").first, 0);
}

TEST_F(Nfw, OnlyRootChangesRulesAndBadInputChangesNothing) {
  auto [rc0, before] = sh(std::string(NFW_SAVE_BINARY) + " --socket " + env().normand_socket());
  ASSERT_EQ(rc0, 0) << before;
  auto [rc1, out1] =
      sh("setpriv --reuid=60001 --regid=60001 --clear-groups -- " + std::string(NFW_BINARY) +
         " --socket " + env().normand_socket() + " -A INPUT -j DROP");
  EXPECT_NE(rc1, 0);
  EXPECT_NE(out1.find("Permission denied"), std::string::npos) << out1;
  // Parsed, but the NIC cannot enforce connection tracking yet: refused by
  // normand's compiler, table unchanged.
  auto [rc2, out2] = nfw("-A INPUT -m state --state NEW -j ACCEPT");
  EXPECT_EQ(rc2, 1);
  EXPECT_NE(out2.find("connection tracking is not on the NIC yet"), std::string::npos) << out2;
  // A restore file with a bad line loads nothing.
  auto [rc3, out3] = sh(
      "printf '*filter\\n-A INPUT -p tcp --dport 22 -j ACCEPT\\n-A INPUT --bogus\\nCOMMIT\\n' | " +
      std::string(NFW_RESTORE_BINARY) + " --socket " + env().normand_socket());
  EXPECT_NE(rc3, 0);
  EXPECT_NE(out3.find("line 3"), std::string::npos) << out3;
  auto [rc4, after] = sh(std::string(NFW_SAVE_BINARY) + " --socket " + env().normand_socket());
  auto strip = [](std::string s) {  // the comment lines carry a timestamp
    std::istringstream in(s);
    std::string line, outp;
    while (std::getline(in, line)) {
      if (line.rfind('#', 0) != 0) outp += line + "\n";
    }
    return outp;
  };
  EXPECT_EQ(strip(after), strip(before));
}

TEST_F(Nfw, EmptyMangledOrCutRestoreLeavesTheTableAlone) {
  // A table with a rule; files with nothing to restore, mangled line endings
  // or cut short must leave it as it is, with iptables-restore's exit status.
  ASSERT_EQ(nfw("-A INPUT -p tcp --dport 4444 -j DROP").first, 0);
  auto save = [] {
    auto [rc, text] = sh(std::string(NFW_SAVE_BINARY) + " --socket " + env().normand_socket());
    EXPECT_EQ(rc, 0) << text;
    std::istringstream in(text);
    std::string line, out;
    while (std::getline(in, line)) {
      if (line.rfind('#', 0) != 0) out += line + "\n";
    }
    return out;
  };
  const std::string before = save();
  ASSERT_NE(before.find("--dport 4444"), std::string::npos) << before;
  const std::string file = env().dir() + "/restore-case";
  const std::vector<std::pair<std::string, int>> cases{
      {"", 0},
      {"# Generated by iptables-save v1.8.9\n# Completed\n", 0},
      {"\n\n\n", 0},
      {"  \n\t\n", 1},
      {"*filter\r:INPUT ACCEPT [0:0]\rCOMMIT\r", 2},
      {"\r\r", 1},
      {"# Generated by iptables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n", 1},
      {"# Generated by iptables-save v1.8.9\n*filt", 2},
      {"*filter\n-A INPUT -m comment --comment caf\xc3 -j ACCEPT\nCOMMIT\n", 2},
  };
  for (const auto& [text, status] : cases) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    for (const char* flags : {"", " --noflush"}) {
      auto [rc, out] = sh(std::string(NFW_RESTORE_BINARY) + flags + " --socket " +
                          env().normand_socket() + " " + file);
      EXPECT_EQ(rc, status) << text << "\n" << out;
      EXPECT_EQ(save(), before) << text;
    }
  }
  // The invalid UTF-8 is named with its line.
  auto [rc, out] =
      sh(std::string(NFW_RESTORE_BINARY) + " --socket " + env().normand_socket() + " " + file);
  EXPECT_NE(out.find("line 2: `caf\\xc3' is not valid UTF-8"), std::string::npos) << out;
  // A comment nfw-save could not write back is refused; what is saved restores.
  auto [rc2, out2] = nfw("-A INPUT -m comment --comment \"$(printf 'a\\nb')\" -j ACCEPT");
  EXPECT_EQ(rc2, 2) << out2;
  EXPECT_NE(out2.find("contains a newline"), std::string::npos) << out2;
  ASSERT_EQ(nfw("-A INPUT -m comment --comment \"$(printf 'tab\\there')\" -j ACCEPT").first, 0);
  auto [rc3, saved] = sh(std::string(NFW_SAVE_BINARY) + " --socket " + env().normand_socket());
  ASSERT_EQ(rc3, 0);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << saved;
  auto [rc4, out4] =
      sh(std::string(NFW_RESTORE_BINARY) + " --socket " + env().normand_socket() + " " + file);
  EXPECT_EQ(rc4, 0) << out4;
  ASSERT_EQ(nfw("-D INPUT -m comment --comment \"$(printf 'tab\\there')\" -j ACCEPT").first, 0);
  ASSERT_EQ(nfw("-D INPUT -p tcp --dport 4444 -j DROP").first, 0);
}

// The command line as iptables': exit statuses (1 failed command, 2 usage,
// 4 no privilege), one tool prefix per message, -V, -4/-6, -w, a lone -j,
// address lists, FORWARD's policy counters, and --test refusing exactly
// what the load refuses (normand compiles both).
TEST_F(Nfw, CommandLineAndExitStatusAsIptables) {
  const std::string sock = " --socket " + env().normand_socket();
  const std::string restore = std::string(NFW_RESTORE_BINARY) + sock;
  const std::string save = std::string(NFW_SAVE_BINARY) + sock;
  auto [rc0, before] = sh(save + " -c");
  ASSERT_EQ(rc0, 0) << before;

  auto [rc1, out1] = nfw("-L NOPE");
  EXPECT_EQ(rc1, 1);
  EXPECT_EQ(out1, "nfw: No chain/target/match by that name.\n");
  EXPECT_EQ(nfw("-S NOPE").first, 1);
  EXPECT_EQ(nfw("-L NOPE || exit 9").first, 9);  // the `-L X || -N X' idiom
  EXPECT_EQ(nfw("-S FORWARD").first, 0);

  auto [rc2, out2] = nfw("-A INPUT -j");
  EXPECT_EQ(rc2, 2);
  EXPECT_NE(out2.find("nfw: option `-j' requires an argument"), std::string::npos) << out2;
  EXPECT_EQ(out2.find("nfw: nfw:"), std::string::npos) << out2;
  // eth7 is the host's: refused by a normand without --host-netfilter
  // (docs/nfw-host.md); nic7 is no port of this NIC: refused by its compiler.
  auto [rc3, out3] = nfw("-A INPUT -i eth7 -j DROP");
  EXPECT_EQ(rc3, 1);
  EXPECT_EQ(out3.find("nfw: nfw:"), std::string::npos) << out3;
  EXPECT_NE(out3.find("--host-netfilter"), std::string::npos) << out3;
  auto [rc4, out4] = nfw("-A INPUT -i nic7 -j DROP");
  EXPECT_EQ(rc4, 1);
  EXPECT_NE(out4.find("unknown interface nic7"), std::string::npos) << out4;

  for (const std::string& tool : {std::string(NFW_BINARY), save, restore}) {
    auto [rc, out] = sh(tool + " -V");
    EXPECT_EQ(rc, 0) << tool;
    EXPECT_NE(out.find(" v"), std::string::npos) << out;
  }
  EXPECT_EQ(nfw("-4 -S INPUT").first, 0);
  EXPECT_EQ(nfw("-6 -S INPUT").first, 2);
  EXPECT_EQ(sh(save + " -6").first, 2);
  EXPECT_EQ(sh(restore + " -6 < /dev/null").first, 2);

  // No privilege is a resource problem (4), for every tool.
  const std::string bob = "setpriv --reuid=60001 --regid=60001 --clear-groups -- ";
  EXPECT_EQ(sh(bob + NFW_BINARY + sock + " -A INPUT -j DROP").first, 4);
  EXPECT_EQ(sh(bob + NFW_BINARY + sock + " -L").first, 4);
  EXPECT_EQ(sh(bob + save).first, 4);
  EXPECT_EQ(sh(bob + restore + " --test < /dev/null").first, 0);  // no table: nothing asked
  EXPECT_EQ(sh("printf '*filter\\nCOMMIT\\n' | " + bob + restore + " --test").first, 4);

  // --test and the load agree: both refuse a NIC-less interface, both take
  // a good file (and --test changes nothing).
  const std::string file = env().dir() + "/cli-case";
  std::ofstream(file, std::ios::trunc)
      << "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [5:600]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -i lo -j ACCEPT\nCOMMIT\n";
  auto [rt, outt] = sh(restore + " --test " + file);
  auto [rl, outl] = sh(restore + " " + file);
  EXPECT_EQ(rt, 1) << outt;
  EXPECT_EQ(rl, rt) << outl;
  EXPECT_EQ(outt, outl);
  EXPECT_EQ(outt.find("nfw-restore: nfw:"), std::string::npos) << outt;
  std::ofstream(file, std::ios::trunc)
      << "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [5:600]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -s 192.0.2.1,192.0.2.2 -p udp --dport 9 -j DROP\nCOMMIT\n";
  auto [rt2, outt2] = sh(restore + " -w 5 --test " + file);
  EXPECT_EQ(rt2, 0) << outt2;
  EXPECT_EQ(sh(save + " -c").second.find("192.0.2.1"), std::string::npos);
  auto [rl2, outl2] = sh(restore + " --wait -c " + file);
  EXPECT_EQ(rl2, 0) << outl2;
  const std::string loaded = sh(save + " -c").second;
  EXPECT_NE(loaded.find(":FORWARD ACCEPT [5:600]\n"), std::string::npos) << loaded;
  EXPECT_NE(loaded.find("-A INPUT -s 192.0.2.1/32 -p udp -m udp --dport 9 -j DROP\n"
                        "[0:0] -A INPUT -s 192.0.2.2/32 -p udp -m udp --dport 9 -j DROP\n"),
            std::string::npos)
      << loaded;
  ASSERT_EQ(nfw("-Z").first, 0);
  EXPECT_NE(sh(save + " -c").second.find(":FORWARD ACCEPT [0:0]\n"), std::string::npos);
  // An address list on the command line: all or nothing.
  EXPECT_EQ(nfw("-D INPUT -s 192.0.2.1,192.0.2.9 -p udp --dport 9 -j DROP").first, 1);
  EXPECT_EQ(nfw("-C INPUT -s 192.0.2.1,192.0.2.2 -p udp --dport 9 -j DROP").first, 0);
  EXPECT_EQ(nfw("-D INPUT -s 192.0.2.1,192.0.2.2 -p udp --dport 9 -j DROP").first, 0);
  EXPECT_EQ(sh(save).second.find("192.0.2."), std::string::npos);

  std::ofstream(file, std::ios::trunc) << before;
  auto [rc9, out9] = sh(restore + " -c " + file);
  EXPECT_EQ(rc9, 0) << out9;
}

}  // namespace
}  // namespace norman::system_test

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::cerr
        << "filter_system_test: skipped: needs root (network namespace, TAP devices, other users)"
        << std::endl;
    return 77;
  }
  for (const char* tool : {"ip", "socat", "setpriv", "python3"}) {
    if (norman::system_test::sh(std::string("command -v ") + tool).first != 0) {
      std::cerr << "filter_system_test: skipped: needs " << tool << std::endl;
      return 77;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

// Item: capabilities by exec race. A process connects to normand and execs
// a binary with file capabilities (here a copy of sleep with
// cap_net_raw+ep) while its parent keeps the socket and asks for a raw
// connection. Capabilities are those of the process that proves, after
// normand read /proc, that it still runs its own code (auth): the parent
// cannot answer for the child, the exec'd binary does not answer, so every
// try is refused. The control: the capability binary itself, connecting on
// its own, does get what its capability allows.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "security_env.hpp"

namespace norman::security_test {
namespace {

constexpr int kTries = 20;

// A copy of `sleep` with CAP_NET_RAW in its file capabilities, where uid
// 60001 may run it; "" if setcap is missing or the filesystem refuses.
std::string cap_binary(std::string& why) {
  const std::string dir = env().dir() + "/capbin";
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0755);
  const std::string bin = dir + "/capsleep";
  auto [rc, out] = system_test::sh("cp /bin/sleep " + bin + " && chmod 0755 " + bin +
                                   " && setcap cap_net_raw+ep " + bin);
  if (rc != 0) {
    why = "setcap cap_net_raw+ep failed (libcap2-bin installed? xattrs?): " + out;
    return "";
  }
  return bin;
}

void send_req(int s, const json& j) { ctl::send_message(s, j); }
json recv_rep(int s) {
  auto m = ctl::recv_message(s, 10000);
  return m ? m->body : json{{"eof", true}};
}

// One try of the attack as uid 60001; returns what the parent saw (raw_ok:
// the attack worked).
json attack_once(const std::string& path, const std::string& bin, bool child_starts_auth) {
  return run_as(kNobody, [&]() -> json {
    // One socket for both (no CLOEXEC: it survives the exec too); the child
    // connects it, so SO_PEERCRED names the child.
    const int s = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
    int ready[2];
    if (s < 0 || ::pipe(ready) != 0) throw std::runtime_error("socket/pipe");
    const pid_t child = ::fork();
    if (child == 0) {
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::_exit(1);
      // The child's best move: start the handshake itself, then exec.
      if (child_starts_auth) send_req(s, {{"op", "auth"}, {"seq", 1}});
      (void)!::write(ready[1], "k", 1);
      ::execl(bin.c_str(), "capsleep", "3", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(ready[1]);
    char k = 0;
    if (::read(ready[0], &k, 1) != 1) throw std::runtime_error("the child did not connect");
    // Until the child runs the capability binary (its exe link is closed
    // to us now, the process is not dumpable; its comm is not).
    const std::string comm = "/proc/" + std::to_string(child) + "/comm";
    bool execd = false;
    for (int i = 0; i < 400 && !execd; ++i) {
      execd = system_test::slurp(comm) == "capsleep\n";
      if (!execd) std::this_thread::sleep_for(5ms);
    }
    if (!execd) throw std::runtime_error("the child did not exec the capability binary");
    json out;
    std::uint64_t seq = 1;
    if (child_starts_auth) {
      out["first"] = recv_rep(s);  // the child's nonce, read by the parent
    } else {
      // Asked now, normand reads a /proc that shows the capability binary.
      send_req(s, {{"op", "auth"}, {"seq", seq}});
      out["first"] = recv_rep(s);
    }
    send_req(s, {{"op", "auth"}, {"seq", ++seq}, {"nonce", out["first"].value("nonce", "")}});
    out["confirm"] = recv_rep(s);
    send_req(s, {{"op", "hello"}, {"seq", ++seq}, {"version", ctl::kProtoVersion}});
    out["hello"] = recv_rep(s);
    send_req(s, {{"op", "nq_open"}, {"seq", ++seq}, {"log2", 6}});
    const json nq = recv_rep(s);
    send_req(s,
             {{"op", "udp_open"}, {"seq", ++seq}, {"nq_id", nq.value("nq_id", 0)}, {"raw", true}});
    const json raw = recv_rep(s);
    out["raw_ok"] = raw.value("ok", false);
    out["raw_errno"] = raw.value("errno", 0);
    ::close(s);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return out;
  });
}

TEST(ExecRace, ParentOfAnExecdCapabilityBinaryGetsNoRawConnection) {
  std::string why;
  const std::string bin = cap_binary(why);
  if (bin.empty()) GTEST_SKIP() << why;
  const std::string path = env().normand_socket();
  for (int i = 0; i < kTries; ++i) {
    const bool child_starts = (i % 3) == 1;
    // The attacker's luck made certain: normand accepts the connection only
    // after the exec (it is stopped meanwhile), so whatever normand reads
    // from /proc, at accept or later, shows the capability binary.
    const bool late_accept = (i % 3) == 2;
    std::thread resume;
    if (late_accept) {
      ASSERT_EQ(::kill(env().normand().pid(), SIGSTOP), 0);
      resume = std::thread([] {
        std::this_thread::sleep_for(500ms);
        ::kill(env().normand().pid(), SIGCONT);
      });
    }
    const json r = attack_once(path, bin, child_starts);
    if (resume.joinable()) resume.join();
    ASSERT_FALSE(r.contains("error")) << r.dump();
    EXPECT_FALSE(r["raw_ok"].get<bool>())
        << "try " << i << ": the attack got a raw connection: " << r.dump();
    EXPECT_EQ(r["raw_errno"], EPERM) << r.dump();
    // The confirmation came from the wrong process: refused.
    EXPECT_FALSE(r["confirm"].value("ok", true)) << r.dump();
    EXPECT_EQ(r["hello"].value("confirmed", true), false) << r.dump();
  }
  expect_daemons_alive("the exec race");
}

TEST(ExecRace, CapabilityHeldAtConnectAndConfirmedCounts) {
  // The control: uid 60001 with CAP_NET_RAW (ambient, through setpriv) in
  // the initial namespace, connecting itself, gets its raw connection; the
  // same without the capability does not.
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const std::string client = self + " --raw-client " + env().normand_socket();
  auto [rc, out] = system_test::sh(
      "setpriv --reuid=60001 --regid=60001 --clear-groups --inh-caps=+net_raw "
      "--ambient-caps=+net_raw -- " +
      client);
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) =
      system_test::sh("setpriv --reuid=60001 --regid=60001 --clear-groups -- " + client);
  EXPECT_EQ(rc, 1) << "without the capability the raw connection must be refused: " << out;
}

// The process run by the control above: 0 = raw connection granted,
// 1 = refused, 2 = something else failed.
int raw_client(const std::string& path) {
  try {
    auto c = ctl::Client::connect(path);
    c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    auto nq = c.call(ctl::op::kNqOpen, {{"log2", 6}});
    c.call(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}, {"raw", true}});
    std::cout << "raw connection granted\n";
    return 0;
  } catch (const std::system_error& e) {
    std::cout << e.what() << "\n";
    return e.code().value() == EPERM ? 1 : 2;
  }
}

}  // namespace
}  // namespace norman::security_test

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--raw-client") {
    return norman::security_test::raw_client(argv[2]);
  }
  return norman::security_test::security_main(argc, argv);
}

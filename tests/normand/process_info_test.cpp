// The process view: parsing /proc files (from a fake proc tree, so every
// shape can be tried without root) and the peer credentials of a real socket.
#include "process_info.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace norman::normand {
namespace {

namespace fs = std::filesystem;

// A scratch directory laid out like /proc/PID/{comm,cgroup,status}.
class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/normand-fakeproc-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  ~FakeProc() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  void write(pid_t pid, const std::string& file, const std::string& text) {
    const fs::path path = fs::path(root_) / std::to_string(pid) / file;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  // PID's ns/user is normand's, the initial user namespace (a hard link to
  // self/ns/user: the same st_dev and st_ino, as namespace links show).
  void initial_userns(pid_t pid) {
    write_at("self/ns/user", "initial");
    const fs::path dir = fs::path(root_) / std::to_string(pid) / "ns";
    fs::create_directories(dir);
    fs::create_hard_link(fs::path(root_) / "self" / "ns" / "user", dir / "user");
  }
  // PID's ns/user is another namespace (another file).
  void other_userns(pid_t pid) {
    write_at("self/ns/user", "initial");
    write(pid, "ns/user", "child");
  }
  void write_at(const std::string& rel, const std::string& text) {
    const fs::path path = fs::path(root_) / rel;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  [[nodiscard]] const std::string& root() const { return root_; }

 private:
  std::string root_;
};

std::string status_text(unsigned uid, const std::string& cap_eff) {
  return "Name:\tpostgres\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t4242\n"
         "Uid:\t" +
         std::to_string(uid) + "\t" + std::to_string(uid) + "\t" + std::to_string(uid) + "\t" +
         std::to_string(uid) + "\nGid:\t100\t100\t100\t100\nCapInh:\t0000000000000000\nCapPrm:\t" +
         cap_eff + "\nCapEff:\t" + cap_eff + "\nCapBnd:\t000001ffffffffff\n";
}

TEST(ProcessInfo, CgroupV2LineWins) {
  EXPECT_EQ(parse_cgroup("12:pids:/v1/path\n0::/user.slice/user-1000.slice/app.scope\n"),
            "/user.slice/user-1000.slice/app.scope");
  EXPECT_EQ(parse_cgroup("0::/\n"), "/");
  EXPECT_EQ(parse_cgroup("0::/system.slice/postgres.service"), "/system.slice/postgres.service");
}

TEST(ProcessInfo, CgroupV1FallsBackToFirstLine) {
  EXPECT_EQ(parse_cgroup("9:name=systemd:/user.slice/a\n8:pids:/b\n"), "/user.slice/a");
  // Garbled lines are skipped, empty text gives nothing.
  EXPECT_EQ(parse_cgroup("garbage\n3:cpu:/c\n"), "/c");
  EXPECT_EQ(parse_cgroup(""), "");
  EXPECT_EQ(parse_cgroup("no colons at all\n"), "");
}

TEST(ProcessInfo, CapEff) {
  EXPECT_EQ(parse_cap_eff(status_text(0, "000001ffffffffff")), 0x1ffffffffffULL);
  EXPECT_EQ(parse_cap_eff(status_text(0, "0000000000000400")), 1ULL << kCapNetBindService);
  EXPECT_EQ(parse_cap_eff("CapEff:\t0000000000002000"), 1ULL << kCapNetRaw);
  EXPECT_FALSE(parse_cap_eff("Name:\tx\n").has_value());
  EXPECT_FALSE(parse_cap_eff("CapEff:\tzz\n").has_value());
  EXPECT_FALSE(parse_cap_eff("CapEff:\t\n").has_value());
  EXPECT_FALSE(parse_cap_eff("CapEff:\t00000000000000000000\n").has_value());  // > 64 bits
  // CapPrm must not be mistaken for CapEff.
  EXPECT_FALSE(parse_cap_eff("CapPrm:\t0000000000000400\n").has_value());
}

TEST(ProcessInfo, StatusEuid) {
  EXPECT_EQ(parse_status_euid("Uid:\t1000\t1001\t1000\t1000\n"), 1001U);
  EXPECT_EQ(parse_status_euid(status_text(0, "0")), 0U);
  EXPECT_FALSE(parse_status_euid("Gid:\t1\t1\t1\t1\n").has_value());
}

TEST(ProcessInfo, CommIsMadePrintable) {
  EXPECT_EQ(parse_comm("postgres\n"), "postgres");
  EXPECT_EQ(parse_comm(std::string("a\x01"
                                   "b\xff\n",
                                   5)),
            "a\\x01b\\xff");
  EXPECT_EQ(parse_comm("back\\slash\n"), "back\\x5cslash");
}

TEST(ProcessInfo, ReadsAFakeProcTree) {
  FakeProc proc;
  proc.write(4242, "comm", "postgres\n");
  proc.write(4242, "cgroup", "0::/system.slice/postgres.service\n");
  proc.write(4242, "status", status_text(1000, "0000000000000400"));
  proc.initial_userns(4242);
  const ProcessInfo p = read_process_info({4242, 1000, 100}, proc.root());
  EXPECT_EQ(p.pid, 4242);
  EXPECT_EQ(p.uid, 1000U);
  EXPECT_EQ(p.gid, 100U);
  EXPECT_EQ(p.comm, "postgres");
  EXPECT_EQ(p.cgroup, "/system.slice/postgres.service");
  EXPECT_TRUE(p.has_cap(kCapNetBindService));
  EXPECT_FALSE(p.has_cap(kCapNetRaw));
  EXPECT_FALSE(p.is_root());
  EXPECT_EQ(p.describe(), "pid 4242 (postgres) uid 1000");
}

TEST(ProcessInfo, CapabilitiesInAnotherUserNamespaceCountForNothing) {
  // unshare -Ur: uid 0 and every capability inside the namespace, which is
  // what /proc/PID/status shows; outside (SO_PEERCRED) it is uid 60001.
  FakeProc proc;
  proc.write(4343, "comm", "bash\n");
  proc.write(4343, "status", status_text(60001, "000001ffffffffff"));
  proc.other_userns(4343);
  const ProcessInfo p = read_process_info({4343, 60001, 60001}, proc.root());
  EXPECT_EQ(p.comm, "bash");
  EXPECT_FALSE(p.initial_userns);
  EXPECT_EQ(p.cap_eff, 0U);
  EXPECT_FALSE(p.has_cap(kCapNetAdmin));
  EXPECT_FALSE(p.is_root());
}

TEST(ProcessInfo, UnknownUserNamespaceCountsForNothing) {
  // No ns/user to compare (or not readable): no capabilities.
  FakeProc proc;
  proc.write(4344, "status", status_text(1000, "0000000000003000"));
  const ProcessInfo p = read_process_info({4344, 1000, 1000}, proc.root());
  EXPECT_EQ(p.cap_eff, 0U);
}

TEST(ProcessInfo, CapNames) {
  EXPECT_EQ(cap_names(0), std::vector<std::string>{});
  EXPECT_EQ(cap_names((1ULL << kCapNetRaw) | (1ULL << kCapNetAdmin) | 1ULL),
            (std::vector<std::string>{"cap_0", "CAP_NET_ADMIN", "CAP_NET_RAW"}));
}

TEST(ProcessInfo, PidReusedByAnotherUserYieldsNothing) {
  // The client (uid 1000) exited and a root process took its pid: none of
  // that process's names or capabilities may be credited to the client.
  FakeProc proc;
  proc.write(77, "comm", "sshd\n");
  proc.write(77, "cgroup", "0::/system.slice/ssh.service\n");
  proc.write(77, "status", status_text(0, "000001ffffffffff"));
  const ProcessInfo p = read_process_info({77, 1000, 1000}, proc.root());
  EXPECT_EQ(p.uid, 1000U);
  EXPECT_EQ(p.comm, "");
  EXPECT_EQ(p.cgroup, "");
  EXPECT_EQ(p.cap_eff, 0U);
}

TEST(ProcessInfo, MissingProcessYieldsNothing) {
  FakeProc proc;
  const ProcessInfo p = read_process_info({999999, 5, 5}, proc.root());
  EXPECT_EQ(p.pid, 999999);
  EXPECT_EQ(p.comm, "");
  EXPECT_EQ(p.cap_eff, 0U);
}

TEST(ProcessInfo, PeerCredentialsOfARealSocket) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  const auto c = peer_credentials(sv[0]);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->pid, ::getpid());
  EXPECT_EQ(c->uid, ::geteuid());
  EXPECT_EQ(c->gid, ::getegid());
  // And the real /proc of this process.
  const ProcessInfo p = read_process_info(*c);
  std::ifstream f("/proc/self/comm");
  std::string comm;
  std::getline(f, comm);
  EXPECT_EQ(p.comm, comm);
  EXPECT_FALSE(p.cgroup.empty());
  EXPECT_TRUE(p.initial_userns);  // this process's namespace is its own
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace norman::normand

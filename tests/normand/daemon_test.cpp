// normand end to end: the real nsim (port 0 a DPDK net_tap whose interface
// lives in a network namespace as the Linux peer 10.41.0.1) and the real
// normand binary (nic0 = "ntst<pid>", 10.41.0.2/24), driven through its
// control socket as applications would. Root only (TAP devices, namespaces,
// dropping to another uid); every wait is bounded and everything created is
// removed even when a check fails.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ctl_socket.hpp"
#include "nic_device.hpp"
#include "norman/regmap.hpp"
#include "normand_proto.hpp"
#include "nsim_client.hpp"
#include "nsim_process.hpp"
#include "process_info.hpp"
#include "run_as.hpp"

namespace norman::normand {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using nsim::UniqueFd;
namespace rm = norman::regmap;

constexpr const char* kNicIp = "10.41.0.2";
constexpr const char* kPeerIp = "10.41.0.1";
constexpr const char* kNicMac = "02:00:00:00:41:02";
constexpr unsigned kNobody = 60001;  // an unprivileged uid/gid for client processes
// Fixed ports below the ephemeral range (32768..), so the kernel never
// hands them out meanwhile.
constexpr std::uint16_t kPortA = 20401;
constexpr std::uint16_t kPortB = 20402;
constexpr std::uint16_t kPortC = 20403;

std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::size_t fd_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

std::string fd_target(int fd) {
  char buf[256] = {};
  const auto n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// errno of binding a kernel UDP socket to ip:port (0: bound, and released).
int kernel_bind_errno(const std::string& ip, std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &sin.sin_addr);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0 ? 0 : errno;
}

struct Reply {
  json body;
  std::vector<UniqueFd> fds;
  [[nodiscard]] bool ok() const { return body.value("ok", false); }
  [[nodiscard]] int err() const { return body.value("errno", 0); }
  [[nodiscard]] std::string text() const { return body.dump(); }
};

// A control-socket client that shows every reply (errors included).
class TestClient {
 public:
  explicit TestClient(const std::string& path) {
    sock_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::system_error(errno, std::generic_category(), "connect " + path);
    }
  }
  Reply call(const std::string& op, json args = json::object(), int timeout_ms = 10000) {
    send(op, std::move(args));
    Reply r = recv(timeout_ms);
    if (r.body.value("seq", std::uint64_t{0}) != seq_) {
      throw std::runtime_error("reply out of order: " + r.text());
    }
    return r;
  }
  void send(const std::string& op, json args = json::object(), std::span<const int> fds = {}) {
    args["op"] = op;
    args["seq"] = ++seq_;
    ctl::send_message(sock_.get(), args, fds);
  }
  void send_raw(const std::string& bytes, std::span<const int> fds = {}) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * 8)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
      msg.msg_control = ctrl;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    if (::sendmsg(sock_.get(), &msg, MSG_NOSIGNAL) < 0) {
      throw std::system_error(errno, std::generic_category(), "sendmsg");
    }
  }
  Reply recv(int timeout_ms = 10000) {
    auto m = ctl::recv_message(sock_.get(), timeout_ms);
    if (!m) throw std::runtime_error("normand closed the connection");
    return Reply{std::move(m->body), std::move(m->fds)};
  }
  Reply hello() { return call("hello", {{"version", ctl::kProtoVersion}}); }
  [[nodiscard]] int fd() const { return sock_.get(); }

 private:
  UniqueFd sock_;
  std::uint64_t seq_ = 0;
};

// A privileged view of the NIC for checks (flow table, nsim stats), through
// the test's own nsim control connection. Used only while normand is idle:
// the NIC's command interface is not shared between two controllers.
class NicProbe {
 public:
  explicit NicProbe(const std::string& nsim_sock)
      : client_(nsim::NsimClient::connect(nsim_sock)), io_(client_.mmio()), nic_(io_) {}
  // The conn id the NIC steers `port` (listening, or from remote) to;
  // -1 for NOT_FOUND.
  int lookup(std::uint16_t port, const char* remote_ip = nullptr, std::uint16_t remote_port = 0) {
    device::FlowKey k;
    k.proto = 17;
    ::inet_pton(AF_INET, kNicIp, k.local_ip.data());
    k.local_port = port;
    if (remote_ip != nullptr) {
      ::inet_pton(AF_INET, remote_ip, k.remote_ip.data());
      k.remote_port = remote_port;
    }
    try {
      return nic_.flow_lookup(k, remote_ip == nullptr);
    } catch (const device::CommandError& e) {
      return e.status() == rm::Status::kNotFound ? -1 : -2;
    }
  }
  nsim::proto::StatsRsp stats() { return client_.stats(); }
  std::uint64_t csr(std::uint32_t addr) { return io_.read64(addr); }
  std::uint64_t counter(rm::Counter c) { return nic_.counter(c); }

 private:
  class Io final : public device::RegisterIo {
   public:
    explicit Io(nsim::MmioChannel& ch) : ch_(ch) {}
    std::uint64_t read64(std::uint32_t a) override { return ch_.read64(a); }
    void write64(std::uint32_t a, std::uint64_t v) override { ch_.write64(a, v); }

   private:
    nsim::MmioChannel& ch_;
  };
  nsim::NsimClient client_;
  Io io_;
  device::NicDevice nic_;
};

// Kills and reaps a forked child on every way out of a test (a failed
// ASSERT must not leave it running, holding ports and our stdout).
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() { kill(); }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

// Runs `fn` in a child process with uid/gid `uid` (all capabilities gone)
// and returns the JSON it produced ({"error": ...} if it threw).
json run_as(unsigned uid, const std::function<json()>& fn) {
  test_util::RunOptions o;
  o.limit = std::chrono::seconds(30);
  return test_util::run_as(uid, fn, o);
}

// nsim + peer namespace + normand, per test.
class NormandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (TAP devices, network namespaces, setuid)";
    if (sh("command -v ip").first != 0) GTEST_SKIP() << "needs iproute2 (ip)";
    const std::string tag = std::to_string(::getpid() % 100000);
    ns_ = "ntst-peer-" + tag;
    peer_if_ = "ntstp" + tag;
    tap_ = "ntst" + tag;
    char tmpl[] = "/tmp/normand-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Clients running as another uid must reach the socket.
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    ::mkdir((dir_ + "/run").c_str(), 0700);
    sock_ = dir_ + "/normand.sock";

    // A leftover of a crashed run would own the address and the ports.
    auto [arc, addrs] = sh("ip -o addr show to " + std::string(kNicIp) + "/32");
    ASSERT_TRUE(addrs.empty()) << kNicIp
                               << " is already configured (a leftover normand or TAP?): " << addrs;
    sh("ip netns del " + ns_);
    auto [rc, out] = sh("ip netns add " + ns_);
    ASSERT_EQ(rc, 0) << out;
    ns_made_ = true;
    nsim_ = std::make_unique<nsim::test_support::Nsim>(
        dir_, std::vector<std::string>{"--port", "net_tap0,iface=" + peer_if_});
    std::string why;
    ASSERT_TRUE(nsim_->wait_ready(why)) << why;
    bool have_if = false;
    for (int i = 0; i < 500 && !have_if; ++i) {
      have_if = sh("ip link show " + peer_if_).first == 0;
      if (!have_if) std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(have_if) << "nsim's net_tap interface did not appear: " << nsim_->stderr_text();
    for (const std::string& c :
         {"ip link set " + peer_if_ + " netns " + ns_,
          in_ns("sysctl -qw net.ipv6.conf." + peer_if_ + ".disable_ipv6=1"),
          in_ns("ip addr add " + std::string(kPeerIp) + "/24 dev " + peer_if_),
          in_ns("ip link set " + peer_if_ + " up"), in_ns("ip link set lo up")}) {
      auto [crc, cout] = sh(c);
      ASSERT_EQ(crc, 0) << c << ": " << cout;
    }
    ASSERT_NO_FATAL_FAILURE(start_normand());
  }

  void TearDown() override {
    if (HasFailure() && !dir_.empty()) {
      std::cerr << "---- normand log ----\n"
                << slurp(dir_ + "/normand.log") << "---------------------\n";
    }
    stop_normand(SIGTERM);
    nsim_.reset();
    if (ns_made_) sh("ip netns del " + ns_);
    if (!dir_.empty()) sh("rm -rf " + dir_);
  }

  std::string in_ns(const std::string& cmd) const { return "ip netns exec " + ns_ + " " + cmd; }

  std::vector<std::string> normand_args(const std::string& tap, const std::string& sock) const {
    return {NORMAND_BINARY,
            "--socket",
            sock,
            "--nsim-socket",
            nsim_->socket(),
            "--tap",
            tap,
            "--address",
            std::string(kNicIp) + "/24",
            "--mac",
            kNicMac,
            "--log-level",
            "debug",
            "--neigh-timeout-ms",
            "2000"};
  }

  // Starts a program with stdout/stderr appended to `log`. It gets SIGTERM
  // if this test process dies, so a crashed test leaves no daemon behind.
  static pid_t spawn(std::vector<std::string> args, const std::string& log) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }

  // Exit status of `pid` within `limit`, or nullopt (still running).
  static std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(10ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
  }

  void start_normand() {
    normand_ = spawn(normand_args(tap_, sock_), dir_ + "/normand.log");
    ASSERT_GT(normand_, 0);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto rc = wait_exit(normand_, 0ms)) {
        normand_ = -1;
        FAIL() << "normand exited (" << *rc << "): " << slurp(dir_ + "/normand.log");
      }
      try {
        TestClient probe(sock_);
        return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "normand did not listen in time: " << slurp(dir_ + "/normand.log");
  }

  // Stops normand; its exit status (-1 if it had to be killed).
  int stop_normand(int sig) {
    if (normand_ <= 0) return -1;
    ::kill(normand_, sig);
    auto rc = wait_exit(normand_, 15s);
    if (!rc) {
      ::kill(normand_, SIGKILL);
      rc = wait_exit(normand_, 5s);
      normand_ = -1;
      return -1;
    }
    normand_ = -1;
    return *rc;
  }

  [[nodiscard]] std::string log() const { return slurp(dir_ + "/normand.log"); }

  // hello, then one NQ: {client, nq_id}.
  std::pair<std::unique_ptr<TestClient>, int> client_with_nq() {
    auto c = std::make_unique<TestClient>(sock_);
    auto h = c->hello();
    EXPECT_TRUE(h.ok()) << h.text();
    auto q = c->call("nq_open", {{"log2", 6}});
    EXPECT_TRUE(q.ok()) << q.text();
    return {std::move(c), q.body.value("nq_id", -1)};
  }

  json status_as_root() {
    TestClient c(sock_);
    EXPECT_TRUE(c.hello().ok());
    auto s = c.call("status");
    EXPECT_TRUE(s.ok()) << s.text();
    return s.body;
  }

  std::string ns_, peer_if_, tap_, dir_, sock_;
  bool ns_made_ = false;
  std::unique_ptr<nsim::test_support::Nsim> nsim_;
  pid_t normand_ = -1;
};

TEST_F(NormandTest, HelloReportsWhoWeAreFromTheKernel) {
  TestClient c(sock_);
  auto r = c.hello();
  ASSERT_TRUE(r.ok()) << r.text();
  json& b = r.body;  // non-const: a missing key reads as null, never UB
  EXPECT_EQ(b["version"], ctl::kProtoVersion);
  EXPECT_EQ(b["pid"], ::getpid());
  EXPECT_EQ(b["uid"], ::geteuid());
  EXPECT_EQ(b["gid"], ::getegid());
  EXPECT_EQ(b["comm"], parse_comm(slurp("/proc/self/comm")));
  EXPECT_EQ(b["cgroup"], parse_cgroup(slurp("/proc/self/cgroup")));
  EXPECT_GE(b["cmd_id"].get<int>(), 1);
  EXPECT_GE(b["cgroup_class"].get<int>(), 1);
  EXPECT_EQ(b["nic"]["ip"], kNicIp);
  EXPECT_EQ(b["nic"]["mac"], kNicMac);
  EXPECT_EQ(b["nic"]["prefix_len"], 24);
  EXPECT_EQ(b["nic"]["port"], 0);
  EXPECT_EQ(b["nic"]["num_ports"], 2);
  EXPECT_EQ(b["nic"]["build_id"].get<std::uint64_t>(), rm::kBuildId);
  EXPECT_EQ(b["doorbell"], "nsim-mmio");
  ASSERT_EQ(b["fds"], json::array({"doorbells"}));
  ASSERT_EQ(r.fds.size(), 1U);
  // The doorbell channel is a real nsim app channel.
  auto ch = nsim::MmioChannel::attach(r.fds[0].get());
  EXPECT_EQ(ch.kind(), nsim::proto::ChannelKind::kApp);

  // Same command, same cgroup: same ids, for a second client too.
  TestClient c2(sock_);
  auto r2 = c2.hello();
  ASSERT_TRUE(r2.ok()) << r2.text();
  EXPECT_EQ(r2.body["cmd_id"], b["cmd_id"]);
  EXPECT_EQ(r2.body["cgroup_class"], b["cgroup_class"]);

  // Once per connection, and only our protocol version.
  EXPECT_EQ(c.hello().err(), EISCONN);
  TestClient c3(sock_);
  auto bad = c3.call("hello", {{"version", 99}});
  EXPECT_EQ(bad.err(), EPROTONOSUPPORT) << bad.text();
  EXPECT_TRUE(c3.hello().ok());
}

TEST_F(NormandTest, EverythingElseNeedsHelloFirst) {
  TestClient c(sock_);
  for (const char* op : {"status", "nq_open", "udp_open", "close", "nq_close", "neigh"}) {
    auto r = c.call(op);
    EXPECT_FALSE(r.ok()) << op;
    EXPECT_EQ(r.err(), EPROTO) << op << ": " << r.text();
  }
  EXPECT_TRUE(c.hello().ok());
  EXPECT_TRUE(c.call("status").ok());
}

TEST_F(NormandTest, UdpOpenGivesRingsDoorbellsAndSteering) {
  auto [c, nq] = client_with_nq();
  ASSERT_GT(nq, 0);
  TestClient& cl = *c;

  // An NQ: its ring (mappable, the advertised size) and an eventfd.
  {
    auto q = cl.call("nq_open", {{"log2", 8}});
    ASSERT_TRUE(q.ok()) << q.text();
    EXPECT_EQ(q.body["fds"], json::array({"ring", "irq"}));
    ASSERT_EQ(q.fds.size(), 2U);
    EXPECT_EQ(q.body["bytes"].get<std::size_t>(), ctl::nq_bytes(8));
    EXPECT_EQ(fd_size(q.fds[0].get()), ctl::nq_bytes(8));
    EXPECT_EQ(q.body["db_page"].get<std::uint64_t>(),
              ctl::nq_db_page(q.body["nq_id"].get<std::uint32_t>()));
    EXPECT_EQ(fd_target(q.fds[1].get()), "anon_inode:[eventfd]");
    void* m =
        ::mmap(nullptr, ctl::nq_bytes(8), PROT_READ | PROT_WRITE, MAP_SHARED, q.fds[0].get(), 0);
    ASSERT_NE(m, MAP_FAILED);
    ::munmap(m, ctl::nq_bytes(8));
  }

  // A listening connection.
  auto u = cl.call("udp_open", {{"nq_id", nq}, {"local_port", kPortA}});
  ASSERT_TRUE(u.ok()) << u.text();
  const int conn = u.body["conn_id"];
  EXPECT_GE(conn, 1);
  EXPECT_EQ(u.body["local_ip"], kNicIp);
  EXPECT_EQ(u.body["local_port"], kPortA);
  EXPECT_EQ(u.body["listen"], true);
  EXPECT_EQ(u.body["mac"], kNicMac);
  EXPECT_EQ(u.body["db_page"].get<std::uint64_t>(),
            ctl::conn_db_page(static_cast<std::uint32_t>(conn)));
  const auto layout = ctl::conn_layout(ctl::kDefaultRxLog2, ctl::kDefaultTxLog2);
  EXPECT_EQ(u.body["layout"]["bytes"].get<std::uint64_t>(), layout.bytes);
  EXPECT_EQ(u.body["layout"]["tx_desc_off"].get<std::uint64_t>(), layout.tx_desc_off);
  EXPECT_EQ(u.body["layout"]["tx_data_off"].get<std::uint64_t>(), layout.tx_data_off);
  ASSERT_EQ(u.body["fds"], json::array({"ring"}));
  ASSERT_EQ(u.fds.size(), 1U);
  EXPECT_EQ(fd_size(u.fds[0].get()), layout.bytes);
  auto* ring = static_cast<std::uint8_t*>(
      ::mmap(nullptr, layout.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, u.fds[0].get(), 0));
  ASSERT_NE(static_cast<void*>(ring), MAP_FAILED);
  EXPECT_EQ(ring[layout.tx_data_off], 0);  // zeroed
  ring[layout.tx_data_off] = 0x5a;         // and ours to write
  ::munmap(ring, layout.bytes);

  // The port is really taken, for kernel sockets too.
  EXPECT_EQ(kernel_bind_errno(kNicIp, kPortA), EADDRINUSE);
  EXPECT_EQ(kernel_bind_errno("0.0.0.0", kPortA), EADDRINUSE);

  // Ephemeral port: chosen by the kernel from its range.
  auto e = cl.call("udp_open", {{"nq_id", nq}});
  ASSERT_TRUE(e.ok()) << e.text();
  unsigned lo = 0, hi = 0;
  std::istringstream(slurp("/proc/sys/net/ipv4/ip_local_port_range")) >> lo >> hi;
  EXPECT_GE(e.body["local_port"].get<unsigned>(), lo);
  EXPECT_LE(e.body["local_port"].get<unsigned>(), hi);

  // A connected one; local_ip 0.0.0.0 means the NIC's address.
  auto k = cl.call("udp_open", {{"nq_id", nq},
                                {"local_ip", "0.0.0.0"},
                                {"local_port", kPortB},
                                {"remote_ip", kPeerIp},
                                {"remote_port", 9999},
                                {"notify_tx", true}});
  ASSERT_TRUE(k.ok()) << k.text();
  EXPECT_EQ(k.body["listen"], false);
  EXPECT_EQ(k.body["local_ip"], kNicIp);
  EXPECT_EQ(k.body["remote_ip"], kPeerIp);
  EXPECT_EQ(k.body["remote_port"], 9999);

  // Addresses other than nic0's: EADDRNOTAVAIL.
  EXPECT_EQ(cl.call("udp_open", {{"nq_id", nq}, {"local_ip", "10.41.0.3"}}).err(), EADDRNOTAVAIL);

  // Status names the owner of each connection.
  json s = status_as_root();
  ASSERT_EQ(s["connections"].size(), 3U) << s.dump();
  for (const auto& cj : s["connections"]) {
    EXPECT_EQ(cj["owner"]["pid"], ::getpid());
    EXPECT_EQ(cj["owner"]["uid"], 0);
  }
  EXPECT_EQ(s["scope"], "all");
  EXPECT_EQ(s["nqs"].size(), 2U);

  // The NIC steers exactly these keys to these connections (normand is
  // idle now: the probe may use the command interface).
  {
    NicProbe nic(nsim_->socket());
    EXPECT_EQ(nic.lookup(kPortA), conn);
    EXPECT_EQ(nic.lookup(kPortB, kPeerIp, 9999), k.body["conn_id"].get<int>());
    EXPECT_EQ(nic.lookup(kPortB), -1) << "a connected socket must not be in the listen table";
  }
}

TEST_F(NormandTest, DoorbellChannelOnlyReachesGrantedPages) {
  TestClient c(sock_);
  auto h = c.hello();
  ASSERT_TRUE(h.ok()) << h.text();
  auto ch = nsim::MmioChannel::attach(h.fds.at(0).get());
  auto q = c.call("nq_open", {{"log2", 6}});
  ASSERT_TRUE(q.ok());
  auto u = c.call("udp_open", {{"nq_id", q.body["nq_id"]}, {"local_port", kPortA}});
  ASSERT_TRUE(u.ok()) << u.text();
  const auto mine = u.body["db_page"].get<std::uint64_t>();
  const auto other = ctl::conn_db_page(u.body["conn_id"].get<std::uint32_t>() + 100);
  // In order: the write to our page, then one to a page nobody granted us.
  ch.write64(mine + rm::kDbConnRxCons, 0);
  ch.write64(other + rm::kDbConnRxCons, 0);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ch.refused_writes() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(ch.refused_writes(), 1U) << "exactly the foreign page must be refused";
  // After close, our old page is revoked too.
  ASSERT_TRUE(c.call("close", {{"conn_id", u.body["conn_id"]}}).ok());
  ch.write64(mine + rm::kDbConnRxCons, 0);
  const auto deadline2 = std::chrono::steady_clock::now() + 5s;
  while (ch.refused_writes() < 2 && std::chrono::steady_clock::now() < deadline2) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(ch.refused_writes(), 2U);
}

TEST_F(NormandTest, PortConflictsAreEaddrinuse) {
  auto [a, nqa] = client_with_nq();
  auto [b, nqb] = client_with_nq();
  auto ua = a->call("udp_open", {{"nq_id", nqa}, {"local_port", kPortA}});
  ASSERT_TRUE(ua.ok()) << ua.text();

  // Another application, listening or connected, on the same port.
  auto r = b->call("udp_open", {{"nq_id", nqb}, {"local_port", kPortA}});
  EXPECT_EQ(r.err(), EADDRINUSE) << r.text();
  EXPECT_NE(
      r.body.value("message", "").find("conn " + std::to_string(ua.body["conn_id"].get<int>())),
      std::string::npos)
      << r.text();
  r = b->call("udp_open",
              {{"nq_id", nqb}, {"local_port", kPortA}, {"remote_ip", kPeerIp}, {"remote_port", 7}});
  EXPECT_EQ(r.err(), EADDRINUSE) << r.text();
  // Even the same application: a second bind is a second bind.
  EXPECT_EQ(a->call("udp_open", {{"nq_id", nqa}, {"local_port", kPortA}}).err(), EADDRINUSE);

  // A kernel application holds a port: bypass is refused too.
  {
    UniqueFd k(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(kPortC);
    ASSERT_EQ(::bind(k.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);  // 0.0.0.0
    r = b->call("udp_open", {{"nq_id", nqb}, {"local_port", kPortC}});
    EXPECT_EQ(r.err(), EADDRINUSE) << r.text();
    EXPECT_NE(r.body.value("message", "").find("host kernel"), std::string::npos) << r.text();
  }
  // Freed ports are free again.
  ASSERT_TRUE(a->call("close", {{"conn_id", ua.body["conn_id"]}}).ok());
  EXPECT_TRUE(b->call("udp_open", {{"nq_id", nqb}, {"local_port", kPortA}}).ok());
  EXPECT_TRUE(b->call("udp_open", {{"nq_id", nqb}, {"local_port", kPortC}}).ok());
}

TEST_F(NormandTest, PrivilegedPortsAndRawFollowLinux) {
  const auto unpriv =
      static_cast<unsigned>(std::stoul(slurp("/proc/sys/net/ipv4/ip_unprivileged_port_start")));
  if (unpriv <= 80)
    GTEST_SKIP() << "net.ipv4.ip_unprivileged_port_start is " << unpriv
                 << ": port 80 is not privileged here";
  // Root's connection first: the unprivileged client must not see it in detail.
  auto [root, rnq] = client_with_nq();
  ASSERT_TRUE(root->call("udp_open", {{"nq_id", rnq}, {"local_port", kPortB}}).ok());

  const std::string path = sock_;
  json child = run_as(kNobody, [&path]() -> json {
    TestClient c(path);
    json out;
    auto h = c.hello();
    out["hello"] = h.body;
    auto q = c.call("nq_open", {{"log2", 6}});
    out["nq"] = q.body;
    const int nq = q.body.value("nq_id", 0);
    out["port80"] = c.call("udp_open", {{"nq_id", nq}, {"local_port", 80}}).body;
    out["raw"] = c.call("udp_open", {{"nq_id", nq}, {"raw", true}}).body;
    out["high"] = c.call("udp_open", {{"nq_id", nq}, {"local_port", kPortA}}).body;
    out["status"] = c.call("status").body;
    return out;
  });
  ASSERT_FALSE(child.contains("error")) << child.dump();
  EXPECT_EQ(child["hello"]["uid"], kNobody);
  EXPECT_EQ(child["hello"]["gid"], kNobody);
  ASSERT_EQ(child["nq"]["ok"], true) << child.dump();
  EXPECT_EQ(child["port80"]["errno"], EACCES) << child["port80"].dump();
  EXPECT_EQ(child["raw"]["errno"], EPERM) << child["raw"].dump();
  EXPECT_EQ(child["high"]["ok"], true) << child["high"].dump();  // the session went on
  json& st = child["status"];
  EXPECT_EQ(st["scope"], "own");
  ASSERT_EQ(st["connections"].size(), 1U) << st.dump();
  EXPECT_EQ(st["connections"][0]["owner"]["uid"], kNobody);
  EXPECT_FALSE(st.contains("owners"));
  // The child has exited: its connection is reclaimed, the port free.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (kernel_bind_errno(kNicIp, kPortA) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(kernel_bind_errno(kNicIp, kPortA), 0);

  // Root may.
  auto p80 = root->call("udp_open", {{"nq_id", rnq}, {"local_port", 80}});
  EXPECT_TRUE(p80.ok()) << p80.text();
  auto raw = root->call("udp_open", {{"nq_id", rnq}, {"raw", true}});
  EXPECT_TRUE(raw.ok()) << raw.text();
  EXPECT_EQ(raw.body["raw"], true);
}

TEST_F(NormandTest, NqCloseWithConnectionsIsEbusy) {
  auto [c, nq] = client_with_nq();
  auto u = c->call("udp_open", {{"nq_id", nq}, {"local_port", kPortA}});
  ASSERT_TRUE(u.ok()) << u.text();
  auto r = c->call("nq_close", {{"nq_id", nq}});
  EXPECT_EQ(r.err(), EBUSY) << r.text();
  ASSERT_TRUE(c->call("close", {{"conn_id", u.body["conn_id"]}}).ok());
  EXPECT_EQ(c->call("close", {{"conn_id", u.body["conn_id"]}}).err(), EBADF);  // already closed
  EXPECT_TRUE(c->call("nq_close", {{"nq_id", nq}}).ok());
  EXPECT_EQ(c->call("nq_close", {{"nq_id", nq}}).err(), EBADF);
  json s = status_as_root();
  EXPECT_EQ(s["totals"]["connections"], 0);
  EXPECT_EQ(s["totals"]["nqs"], 0);
}

TEST_F(NormandTest, OtherClientsIdsAreRefused) {
  auto [a, nqa] = client_with_nq();
  auto [b, nqb] = client_with_nq();
  auto ua = a->call("udp_open", {{"nq_id", nqa}, {"local_port", kPortA}});
  ASSERT_TRUE(ua.ok()) << ua.text();
  const int conn = ua.body["conn_id"];
  EXPECT_EQ(b->call("close", {{"conn_id", conn}}).err(), EBADF);
  EXPECT_EQ(b->call("nq_close", {{"nq_id", nqa}}).err(), EBADF);
  EXPECT_EQ(b->call("udp_open", {{"nq_id", nqa}, {"local_port", kPortB}}).err(), EBADF);
  // The fallback bridge's conn 0 and NQ 0 are nobody's to touch.
  EXPECT_EQ(b->call("close", {{"conn_id", 0}}).err(), EBADF);
  EXPECT_EQ(b->call("nq_close", {{"nq_id", 0}}).err(), EBADF);
  EXPECT_EQ(b->call("udp_open", {{"nq_id", 0}}).err(), EBADF);
  // A's connection is untouched.
  json s = status_as_root();
  ASSERT_EQ(s["connections"].size(), 1U);
  EXPECT_EQ(s["connections"][0]["conn_id"], conn);
  EXPECT_EQ(kernel_bind_errno(kNicIp, kPortA), EADDRINUSE);
  // nqb is B's and still usable.
  EXPECT_TRUE(b->call("udp_open", {{"nq_id", nqb}, {"local_port", kPortB}}).ok());
}

TEST_F(NormandTest, GarbageGetsErrorRepliesAndTheSessionSurvives) {
  TestClient c(sock_);
  ASSERT_TRUE(c.hello().ok());
  auto expect_error = [&](const std::string& what, int err) {
    Reply r = c.recv(5000);
    EXPECT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.err(), err) << what << ": " << r.text();
    EXPECT_TRUE(r.body.contains("message")) << what;
  };
  for (const std::string& g :
       {std::string("garbage"), std::string("[1,2,3]"), std::string("{\"op\":"),
        std::string("null"), std::string("\"a string\""), std::string("{\"op\":\"\xff\xfe\"}"),
        std::string("\0\0\0", 3), std::string(30000, '[') + std::string(30000, ']')}) {
    c.send_raw(g);
    expect_error("datagram " + g.substr(0, 16), EPROTO);
  }
  c.send_raw("");
  expect_error("empty datagram", EPROTO);
  c.send_raw(std::string(ctl::kMaxMessageBytes + 100, ' '));
  expect_error("oversized datagram", EMSGSIZE);
  {
    // More descriptors than any request may carry.
    std::vector<int> fds;
    for (int i = 0; i < 6; ++i) fds.push_back(::eventfd(0, EFD_CLOEXEC));
    c.send_raw(R"({"op":"status","seq":77})", fds);
    expect_error("too many fds", EPROTO);
    for (int fd : fds) ::close(fd);
  }
  struct Case {
    std::string text;
    std::uint64_t seq;
    int err;
  };
  for (const Case& k : std::vector<Case>{
           {R"({"op":"nope","seq":5})", 5, EINVAL},
           {R"({"op":5,"seq":6})", 6, EINVAL},
           {R"({"seq":7})", 7, EINVAL},
           {R"({"op":"status","seq":-1})", 0, EINVAL},
           {R"({"op":"status","seq":"8"})", 0, EINVAL},
           {R"({"op":"udp_open","seq":9,"nq_id":"x"})", 9, EINVAL},
           {R"({"op":"udp_open","seq":10,"nq_id":1,"rx_log2":13})", 10, EINVAL},
           {R"({"op":"udp_open","seq":11,"nq_id":1,"local_port":70000})", 11, EINVAL},
           {R"({"op":"udp_open","seq":12,"nq_id":1,"local_ip":"1.2.3"})", 12, EINVAL},
           {R"({"op":"nq_open","seq":13,"log2":99})", 13, EINVAL},
           {R"({"op":"status","seq":14,"bogus":1})", 14, EINVAL},
           {R"({"op":"close","seq":15,"conn_id":1.5})", 15, EINVAL},
           {R"({"op":"neigh","seq":16,"ip":[]})", 16, EINVAL},
       }) {
    c.send_raw(k.text);
    Reply r = c.recv(5000);
    EXPECT_FALSE(r.ok()) << k.text;
    EXPECT_EQ(r.err(), k.err) << k.text << " -> " << r.text();
    EXPECT_EQ(r.body.value("seq", std::uint64_t{999}), k.seq) << k.text;
  }
  // A descriptor attached to an ordinary request is ignored (and closed).
  {
    const int efd = ::eventfd(0, EFD_CLOEXEC);
    c.send_raw(R"({"op":"status","seq":20})", std::span(&efd, 1));
    Reply r = c.recv(5000);
    EXPECT_TRUE(r.ok()) << r.text();
    ::close(efd);
  }
  // Still the same session, fully working.
  auto q = c.call("nq_open", {{"log2", 6}});
  EXPECT_TRUE(q.ok()) << q.text();
  EXPECT_TRUE(c.call("udp_open", {{"nq_id", q.body["nq_id"]}, {"local_port", kPortA}}).ok());
  EXPECT_EQ(::kill(normand_, 0), 0) << "normand died";
}

TEST_F(NormandTest, SigkilledClientIsReclaimedCompletely) {
  // Baselines, with normand idle: its DMA (the fallback bridge's), and the
  // nsim MMIO channels (normand's, plus our probe's).
  json before = status_as_root();
  ASSERT_EQ(before["totals"]["connections"], 0);
  const auto dma_before = before["dma_bytes"].get<std::uint64_t>();
  auto probe = std::make_unique<NicProbe>(nsim_->socket());
  const auto channels_before = probe->stats().mmio_channels;

  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const std::string path = sock_;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    std::string out = "fail";
    try {
      auto* c = new TestClient(path);  // leaked on purpose: the kill takes it down
      if (c->hello().ok()) {
        auto q = c->call("nq_open", {{"log2", 6}});
        const int nq = q.body.value("nq_id", 0);
        auto a = c->call("udp_open", {{"nq_id", nq}, {"local_port", kPortA}});
        auto b = c->call("udp_open", {{"nq_id", nq}, {"local_port", kPortB}});
        auto k = c->call(
            "udp_open",
            {{"nq_id", nq}, {"local_port", kPortC}, {"remote_ip", kPeerIp}, {"remote_port", 9999}});
        if (q.ok() && a.ok() && b.ok() && k.ok()) out = "ready";
      }
    } catch (...) {
    }
    (void)!::write(p[1], out.data(), out.size());
    for (;;) ::pause();
  }
  ::close(p[1]);
  ChildGuard guard(child);
  char buf[16] = {};
  pollfd pf{p[0], POLLIN, 0};
  ASSERT_EQ(::poll(&pf, 1, 20000), 1) << "the child did not report";
  const auto n = ::read(p[0], buf, sizeof buf - 1);
  ::close(p[0]);
  ASSERT_GT(n, 0);
  ASSERT_STREQ(buf, "ready");

  json during = status_as_root();
  EXPECT_EQ(during["totals"]["connections"], 3);
  EXPECT_EQ(during["totals"]["nqs"], 1);
  EXPECT_GT(during["dma_bytes"].get<std::uint64_t>(), dma_before);
  EXPECT_EQ(kernel_bind_errno(kNicIp, kPortA), EADDRINUSE);

  guard.kill();  // SIGKILL: no chance to say goodbye

  json after;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    after = status_as_root();
    if (after["totals"]["connections"] == 0 && after["totals"]["nqs"] == 0 &&
        after["totals"]["clients"] == 1) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(after["totals"]["connections"], 0) << after.dump();
  EXPECT_EQ(after["totals"]["nqs"], 0) << after.dump();
  EXPECT_EQ(after["totals"]["ports"], 0) << after.dump();
  EXPECT_EQ(after["connections"].size(), 0U);
  EXPECT_EQ(after["nqs"].size(), 0U);
  EXPECT_EQ(after["dma_bytes"].get<std::uint64_t>(), dma_before) << "every DMA byte comes back";

  // The NIC no longer steers any of the three keys, the doorbell channel is
  // gone, and the ports are free for the kernel and for bypass.
  EXPECT_EQ(probe->lookup(kPortA), -1);
  EXPECT_EQ(probe->lookup(kPortB), -1);
  EXPECT_EQ(probe->lookup(kPortC, kPeerIp, 9999), -1);
  EXPECT_EQ(probe->stats().mmio_channels, channels_before);
  probe.reset();
  EXPECT_EQ(kernel_bind_errno(kNicIp, kPortA), 0);
  EXPECT_EQ(kernel_bind_errno(kNicIp, kPortC), 0);
  auto [c, nq] = client_with_nq();
  EXPECT_TRUE(c->call("udp_open", {{"nq_id", nq}, {"local_port", kPortB}}).ok());

  const std::string l = log();
  EXPECT_NE(l.find("reclaimed (client exited)"), std::string::npos) << l;
  EXPECT_NE(l.find("reclaimed 3 connection(s), 1 queue(s)"), std::string::npos) << l;
}

// The NIC port takes nic0's MAC (frames to other MACs are dropped and
// counted) and follows nic0's promiscuous flag, as a NIC driver's would.
TEST_F(NormandTest, NicPortFollowsNic0MacAndPromiscuousMode) {
  NicProbe probe(nsim_->socket());
  const std::uint64_t promisc = std::uint64_t{1} << rm::kPortMacPromiscBit;
  std::uint64_t mac = 0;
  for (const char* p = kNicMac; *p != '\0'; ++p) {
    if (*p != ':')
      mac = (mac << 4) | static_cast<std::uint64_t>(std::stoul(std::string(1, *p), nullptr, 16));
  }
  EXPECT_EQ(probe.csr(rm::kRegCtrlPortMac), mac);
  EXPECT_EQ(probe.csr(rm::kRegCtrlPortBcast), 0x0A2900FFu) << "10.41.0.255";

  // The peer sends to a MAC that is not nic0's: the NIC drops it.
  const auto drops = probe.counter(rm::Counter::kRxDropDstMac);
  ASSERT_EQ(sh(in_ns("ip neigh replace " + std::string(kNicIp) + " lladdr 02:00:00:00:41:99 dev " +
                     peer_if_ + " nud permanent"))
                .first,
            0);
  sh(in_ns("ping -c 2 -i 0.2 -W 1 " + std::string(kNicIp)));
  EXPECT_GE(probe.counter(rm::Counter::kRxDropDstMac), drops + 2);

  auto wait_bit = [&](bool on) {
    for (int i = 0; i < 200; ++i) {
      if (((probe.csr(rm::kRegCtrlPortMac) & promisc) != 0) == on) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  };
  ASSERT_EQ(sh("ip link set " + tap_ + " promisc on").first, 0);
  EXPECT_TRUE(wait_bit(true)) << "promisc on did not reach the NIC";
  const auto drops_on = probe.counter(rm::Counter::kRxDropDstMac);
  sh(in_ns("ping -c 2 -i 0.2 -W 1 " + std::string(kNicIp)));
  EXPECT_EQ(probe.counter(rm::Counter::kRxDropDstMac), drops_on) << "promiscuous: nothing dropped";
  ASSERT_EQ(sh("ip link set " + tap_ + " promisc off").first, 0);
  EXPECT_TRUE(wait_bit(false)) << "promisc off did not reach the NIC";
  EXPECT_EQ(probe.csr(rm::kRegCtrlPortMac) & ~promisc, mac);
  EXPECT_NE(log().find("promiscuous mode on"), std::string::npos) << log();
}

TEST_F(NormandTest, NeighResolvesThroughNic0WithoutBlockingOthers) {
  TestClient a(sock_);
  ASSERT_TRUE(a.hello().ok());
  auto peer_mac = sh(in_ns("cat /sys/class/net/" + peer_if_ + "/address"));
  ASSERT_EQ(peer_mac.first, 0) << peer_mac.second;
  while (!peer_mac.second.empty() && peer_mac.second.back() == '\n') peer_mac.second.pop_back();

  // The peer answers ARP through nsim's port, the NIC's fallback ring and nic0.
  auto r = a.call("neigh", {{"ip", kPeerIp}}, 15000);
  ASSERT_TRUE(r.ok()) << r.text();
  EXPECT_EQ(r.body["ip"], kPeerIp);
  EXPECT_EQ(r.body["mac"], peer_mac.second);

  // Nobody at .99: this session waits (2 s timeout), others do not.
  a.send("neigh", {{"ip", "10.41.0.99"}});
  const auto t0 = std::chrono::steady_clock::now();
  TestClient b(sock_);
  ASSERT_TRUE(b.hello().ok());
  ASSERT_TRUE(b.call("status").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms) << "another client's neigh blocked us";
  Reply late = a.recv(10000);
  EXPECT_EQ(late.err(), EHOSTUNREACH) << late.text();
  // Off the subnet: ENETUNREACH, at once.
  EXPECT_EQ(a.call("neigh", {{"ip", "192.168.77.1"}}).err(), ENETUNREACH);
}

TEST_F(NormandTest, SecondDaemonRefusedAndShutdownCleansUp) {
  // A second normand on the same socket refuses to start and leaves the
  // first alone.
  const pid_t second = spawn(normand_args("ntsx" + std::to_string(::getpid() % 100000), sock_),
                             dir_ + "/second.log");
  ASSERT_GT(second, 0);
  const auto rc = wait_exit(second, 20s);
  if (!rc) {
    ::kill(second, SIGKILL);
    (void)wait_exit(second, 5s);
  }
  ASSERT_TRUE(rc.has_value()) << "the second normand kept running";
  EXPECT_NE(*rc, 0);
  EXPECT_NE(slurp(dir_ + "/second.log").find("already listening"), std::string::npos)
      << slurp(dir_ + "/second.log");

  auto [c, nq] = client_with_nq();
  ASSERT_TRUE(c->call("udp_open", {{"nq_id", nq}, {"local_port", kPortA}}).ok());
  ASSERT_NE(::if_nametoindex(tap_.c_str()), 0U);

  // SIGTERM: clean exit, connections reclaimed, socket and nic0 gone.
  EXPECT_EQ(stop_normand(SIGTERM), 0);
  struct stat st {};
  EXPECT_NE(::lstat(sock_.c_str(), &st), 0) << "socket left behind";
  EXPECT_EQ(::if_nametoindex(tap_.c_str()), 0U) << "TAP left behind";
  EXPECT_EQ(kernel_bind_errno("0.0.0.0", kPortA), 0);
  EXPECT_NE(log().find("reclaimed (normand is shutting down)"), std::string::npos) << log();
  EXPECT_THROW(c->recv(2000), std::exception);  // EOF for the client

  // A stale socket file does not stop the next normand.
  {
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, sock_.c_str(), sock_.size() + 1);
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }  // closed without listening: a stale socket file
  ASSERT_NO_FATAL_FAILURE(start_normand());
  TestClient again(sock_);
  EXPECT_TRUE(again.hello().ok());
}

TEST_F(NormandTest, NsimExitMakesNormandExitPromptly) {
  auto [c, nq] = client_with_nq();
  ASSERT_TRUE(c->call("udp_open", {{"nq_id", nq}, {"local_port", kPortA}}).ok());
  // The NIC dies (a crash: no goodbye). normand cannot serve without it:
  // it must notice at once and exit non-zero (systemd restarts it), not
  // hang on register timeouts.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_NE(nsim_->stop(SIGKILL), -1);
  const auto rc = wait_exit(normand_, 5s);
  ASSERT_TRUE(rc.has_value()) << "normand still running after nsim died: " << log();
  normand_ = -1;
  EXPECT_EQ(*rc, 3) << log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_NE(log().find("the NIC is gone"), std::string::npos) << log();
  struct stat st {};
  EXPECT_NE(::lstat(sock_.c_str(), &st), 0) << "socket left behind";
  EXPECT_EQ(::if_nametoindex(tap_.c_str()), 0U) << "TAP left behind";
  EXPECT_EQ(kernel_bind_errno(kNicIp, kPortA), EADDRNOTAVAIL);  // nic0 and its address are gone
  EXPECT_THROW(c->recv(2000), std::exception);
}

}  // namespace
}  // namespace norman::normand

// Quota attacks against the real nsim + normand: an unprivileged user
// (uid 60001) exhausts each resource it can reach (control connections,
// doorbell channels, notification queues, listening entries, connections,
// DMA memory, normand's descriptors). Each refusal must carry the right
// errno and name the limit, root and other users must keep getting service
// (root's status works even when unprivileged users took every channel they
// may), and once the attacker is killed normand's descriptors, DMA memory,
// nsim's channels and the quota totals must be back at their baseline, with
// the normand <-> nsim command channel still in step.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ctl_socket.hpp"
#include "run_as.hpp"
#include "normand_proto.hpp"
#include "nsim_client.hpp"
#include "system_env.hpp"

namespace norman::security {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using norman::system_test::SystemConfig;
using norman::system_test::SystemEnv;
using nsim::UniqueFd;

constexpr unsigned kNobody = 60001;
constexpr unsigned kOther = 60002;
constexpr unsigned kThird = 60003;

// The limits of the test configuration (docs/limits.md).
constexpr unsigned kSessions = 8;
constexpr unsigned kChannels = 4;
constexpr unsigned kNqs = 3;
constexpr unsigned kListen = 2;
constexpr unsigned kConns = 5;
constexpr unsigned kChannelPool = 12;
constexpr unsigned kChannelReserve = 4;
const std::uint64_t kBigConn = ctl::conn_layout(12, 12).bytes;
const std::uint64_t kDmaLimit = 3 * ctl::nq_bytes(6) + 2 * kBigConn + kBigConn / 2;

// A raw control-socket client (errors are replies, not exceptions).
class Client {
 public:
  explicit Client(const std::string& path) {
    sock_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (::connect(sock_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::system_error(errno, std::generic_category(), "connect");
    }
  }
  // The reply, or {"ok": false, "errno": ...} if normand closed on us.
  json call(const std::string& op, json args = json::object()) {
    args["op"] = op;
    args["seq"] = ++seq_;
    try {
      ctl::send_message(sock_.get(), args);
    } catch (const std::system_error&) {
      // Refused at accept: normand's answer is queued before the EOF.
    }
    auto m = ctl::recv_message(sock_.get(), 10000);
    if (!m) return {{"ok", false}, {"errno", ECONNRESET}, {"message", "closed"}};
    return m->body;
  }
  json hello() { return call("hello", {{"version", ctl::kProtoVersion}}); }

 private:
  UniqueFd sock_;
  std::uint64_t seq_ = 0;
};

int err_of(const json& r) { return r.value("ok", false) ? 0 : r.value("errno", -1); }

// A process of another user that runs `fn`, reports its JSON and then keeps
// everything it opened until it is killed (SIGKILL: no goodbye).
class Attacker : public test_util::ChildAs {
 public:
  Attacker(unsigned uid, const std::function<json()>& fn) : ChildAs(uid, fn, options()) {}

 private:
  static test_util::RunOptions options() {
    test_util::RunOptions o;
    o.limit = std::chrono::seconds(120);
    o.keep = true;
    return o;
  }
};

std::size_t fd_count(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

struct Baseline {
  std::size_t normand_fds = 0;
  std::size_t nsim_fds = 0;
  std::uint64_t dma = 0;
  std::uint64_t channels = 0;
};

class QuotaAttack : public ::testing::Test {
 protected:
  // One system for the suite: starting nsim takes seconds.
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    char tmpl[] = "/tmp/norman-quota-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    conf_dir_ = tmpl;
    const json conf = {{"quota",
                        {{"per_uid",
                          {{"sessions", kSessions},
                           {"channels", kChannels},
                           {"nqs", kNqs},
                           {"listen", kListen},
                           {"connections", kConns},
                           {"dma_bytes", kDmaLimit}}},
                         {"pool", {{"channels", kChannelPool}}},
                         {"root_reserve", {{"channels", kChannelReserve}}}}}};
    std::ofstream(conf_dir_ + "/normand.json") << conf.dump(2);
    SystemConfig cfg;
    cfg.nsim_binary = NSIM_BINARY;
    cfg.normand_binary = NORMAND_BINARY;
    cfg.subnet = "10.44.0";
    cfg.normand_args = {"--config", conf_dir_ + "/normand.json", "--log-level", "debug"};
    env_ = new SystemEnv(cfg);
    if (!env_->start(why_)) {
      delete env_;
      env_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
    if (!conf_dir_.empty()) std::filesystem::remove_all(conf_dir_);
  }
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (TAP devices, network namespaces, other uids)";
    ASSERT_NE(env_, nullptr) << why_;
    ASSERT_TRUE(env_->normand().running()) << env_->normand().err();
  }
  void TearDown() override {
    if (HasFailure() && env_ != nullptr)
      std::cerr << "---- normand ----\n" << env_->normand().err() << "\n";
  }

  static std::string sock() { return env_->normand_socket(); }

  // Root's view: hello + status must always work.
  static json root_status() {
    Client c(sock());
    const json h = c.hello();
    if (!h.value("ok", false)) return h;
    return c.call("status");
  }

  static Baseline baseline() {
    // Sessions of earlier checks end asynchronously: wait until only the
    // status session itself is charged.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      const json s = root_status();
      // Closed connections and queues stay charged until their TX has
      // settled (asynchronously, docs/limits.md).
      const json& t = s["quota"]["total"];
      if (t["sessions"] == 1 && t["channels"] == 1 && t["connections"] == 0 && t["nqs"] == 0) break;
      std::this_thread::sleep_for(20ms);
    }
    Baseline b;
    b.normand_fds = fd_count(env_->normand().pid());
    b.nsim_fds = fd_count(env_->nsim().pid());
    const json s = root_status();
    b.dma = s.value("dma_bytes", std::uint64_t{0});
    b.channels =
        nsim::NsimClient::connect(env_->nsim_socket()).stats().mmio_channels - 1;  // less our own
    return b;
  }

  // Waits until everything is back at `b` (the attacker was killed).
  static void expect_back_to(const Baseline& b) {
    Baseline now;
    json s;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    do {
      now = baseline();
      s = root_status();
      if (now.normand_fds == b.normand_fds && now.dma == b.dma && now.channels == b.channels &&
          now.nsim_fds == b.nsim_fds && s["totals"]["connections"] == 0) {
        break;
      }
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(now.normand_fds, b.normand_fds) << "normand's descriptors (/proc/PID/fd)";
    EXPECT_EQ(now.nsim_fds, b.nsim_fds) << "nsim's descriptors";
    EXPECT_EQ(now.dma, b.dma) << "DMA bytes";
    EXPECT_EQ(now.channels, b.channels) << "nsim MMIO channels";
    EXPECT_EQ(s["totals"]["connections"], 0) << s.dump();
    EXPECT_EQ(s["totals"]["nqs"], 0) << s.dump();
    // Only root's status session is charged now.
    for (const auto& u : s["quota"]["users"]) EXPECT_EQ(u["uid"], 0) << s["quota"].dump();
    // And the command channel to nsim is in step: a new client gets a
    // connection and its NIC state.
    Client c(sock());
    EXPECT_TRUE(c.hello().value("ok", false));
    const json q = c.call("nq_open", {{"log2", 6}});
    ASSERT_TRUE(q.value("ok", false)) << q.dump();
    const json u = c.call("udp_open", {{"nq_id", q["nq_id"]}});
    EXPECT_TRUE(u.value("ok", false)) << u.dump();
    EXPECT_EQ(env_->normand().err().find("wrong type"), std::string::npos);
  }

  static SystemEnv* env_;
  static std::string why_, conf_dir_;
};
SystemEnv* QuotaAttack::env_ = nullptr;
std::string QuotaAttack::why_;
std::string QuotaAttack::conf_dir_;

TEST_F(QuotaAttack, NobodyExhaustsEachResourceAndGetsEdquot) {
  const Baseline b = baseline();
  const std::string path = sock();
  Attacker nobody(kNobody, [&] {
    json r;
    auto& keep = *new std::vector<std::unique_ptr<Client>>;  // held until the kill
    auto& main = *keep.emplace_back(std::make_unique<Client>(path));
    r["hello"] = main.hello();
    // Notification queues.
    std::vector<int> nqs;
    for (unsigned i = 0; i <= kNqs; ++i) {
      const json q = main.call("nq_open", {{"log2", 6}});
      if (!q.value("ok", false)) {
        r["nq"] = q;
        break;
      }
      nqs.push_back(q["nq_id"]);
    }
    r["nqs_opened"] = nqs.size();
    // Listening entries, then connections (connected ones take no listen entry).
    unsigned listening = 0, conns = 0;
    for (unsigned i = 0; i <= kListen; ++i) {
      const json u = main.call("udp_open", {{"nq_id", nqs.at(0)}});
      if (!u.value("ok", false)) {
        r["listen"] = u;
        break;
      }
      ++listening;
      ++conns;
    }
    for (unsigned i = 0; i <= kConns; ++i) {
      const json u =
          main.call("udp_open",
                    {{"nq_id", nqs.at(0)}, {"remote_ip", "10.44.0.1"}, {"remote_port", 7000 + i}});
      if (!u.value("ok", false)) {
        r["conn"] = u;
        break;
      }
      ++conns;
    }
    r["listening"] = listening;
    r["conns"] = conns;
    // Doorbell channels: one per hello.
    unsigned hellos = 1;
    for (unsigned i = 0; i < kChannels; ++i) {
      auto& c = *keep.emplace_back(std::make_unique<Client>(path));
      const json h = c.hello();
      if (!h.value("ok", false)) {
        r["channel"] = h;
        break;
      }
      ++hellos;
    }
    r["hellos"] = hellos;
    // Control connections: accepted and refused at once past the limit.
    for (unsigned i = 0; i < 2 * kSessions; ++i) {
      auto& c = *keep.emplace_back(std::make_unique<Client>(path));
      const json s = c.call("status");
      if (err_of(s) == EDQUOT) {
        r["session"] = s;
        break;
      }
    }
    r["sessions"] = keep.size();
    r["status"] = main.call("status");
    return r;
  });
  const json& r = nobody.report();
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_TRUE(r["hello"].value("ok", false)) << r.dump();
  EXPECT_EQ(r["nqs_opened"], kNqs);
  EXPECT_EQ(err_of(r["nq"]), EDQUOT) << r["nq"].dump();
  EXPECT_NE(r["nq"].value("message", "").find("nqs = 3"), std::string::npos) << r["nq"].dump();
  EXPECT_EQ(r["listening"], kListen);
  EXPECT_EQ(err_of(r["listen"]), EDQUOT) << r["listen"].dump();
  EXPECT_NE(r["listen"].value("message", "").find("listen = 2"), std::string::npos)
      << r["listen"].dump();
  EXPECT_EQ(r["conns"], kConns);
  EXPECT_EQ(err_of(r["conn"]), EDQUOT) << r["conn"].dump();
  EXPECT_NE(r["conn"].value("message", "").find("connections = 5"), std::string::npos)
      << r["conn"].dump();
  EXPECT_EQ(r["hellos"], kChannels);
  EXPECT_EQ(err_of(r["channel"]), EDQUOT) << r["channel"].dump();
  EXPECT_NE(r["channel"].value("message", "").find("channels = 4"), std::string::npos)
      << r["channel"].dump();
  EXPECT_EQ(err_of(r["session"]), EDQUOT) << r.dump();
  EXPECT_NE(r["session"].value("message", "").find("sessions = 8"), std::string::npos)
      << r["session"].dump();
  EXPECT_EQ(r["sessions"], kSessions + 1);  // the last one was refused
  // The attacker sees its own usage and limits.
  const json& q = r["status"]["quota"];
  ASSERT_EQ(q["users"].size(), 1U) << q.dump();
  EXPECT_EQ(q["users"][0]["uid"], kNobody);
  EXPECT_EQ(q["users"][0]["used"]["connections"], kConns);
  EXPECT_EQ(q["users"][0]["limits"]["connections"], kConns);

  // Root and another user still get service.
  const json s = root_status();
  EXPECT_TRUE(s.value("ok", false)) << s.dump();
  Attacker other(kOther, [&] {
    auto& c = *new Client(path);  // held until the kill
    json r2;
    r2["hello"] = c.hello();
    r2["nq"] = c.call("nq_open", {{"log2", 6}});
    r2["udp"] = c.call("udp_open", {{"nq_id", r2["nq"].value("nq_id", 0)}});
    return r2;
  });
  EXPECT_TRUE(other.report()["udp"].value("ok", false)) << other.report().dump();
  other.kill();

  nobody.kill();
  expect_back_to(b);
}

TEST_F(QuotaAttack, DmaMemoryIsChargedToTheClient) {
  const Baseline b = baseline();
  const std::string path = sock();
  Attacker nobody(kNobody, [&] {
    auto& c = *new Client(path);  // held until the kill
    json r;
    r["hello"] = c.hello();
    const json q = c.call("nq_open", {{"log2", 6}});
    unsigned big = 0;
    for (unsigned i = 0; i < 4; ++i) {
      const json u = c.call("udp_open", {{"nq_id", q.value("nq_id", 0)},
                                         {"remote_ip", "10.44.0.1"},
                                         {"remote_port", 7100 + i},
                                         {"rx_log2", 12},
                                         {"tx_log2", 12}});
      if (!u.value("ok", false)) {
        r["refused"] = u;
        break;
      }
      ++big;
    }
    r["big"] = big;
    return r;
  });
  const json& r = nobody.report();
  EXPECT_EQ(r["big"], 2) << r.dump();
  EXPECT_EQ(err_of(r["refused"]), EDQUOT) << r.dump();
  EXPECT_NE(r["refused"].value("message", "").find("dma_bytes"), std::string::npos) << r.dump();
  const json s = root_status();
  EXPECT_GE(s.value("dma_bytes", std::uint64_t{0}), b.dma + 2 * kBigConn);
  nobody.kill();
  expect_back_to(b);
}

TEST_F(QuotaAttack, RootReserveKeepsStatusWorkingWhenChannelsAreGone) {
  const Baseline b = baseline();
  const std::string path = sock();
  // Three users take what the pool gives non-root users (12 less 4 for root).
  auto take_channels = [&] {
    json r = json::array();
    static std::vector<std::unique_ptr<Client>> keep;
    for (unsigned i = 0; i < kChannels; ++i) {
      auto& c = *keep.emplace_back(std::make_unique<Client>(path));
      r.push_back(err_of(c.hello()));
    }
    return r;
  };
  Attacker a(kNobody, take_channels);
  Attacker o(kOther, take_channels);
  Attacker t(kThird, take_channels);
  EXPECT_EQ(a.report(), json({0, 0, 0, 0}));
  EXPECT_EQ(o.report(), json({0, 0, 0, 0}));
  // The third user finds the unreserved part of the pool used up.
  ASSERT_TRUE(t.report().is_array()) << t.report().dump();
  EXPECT_EQ(t.report()[0], ENOSPC) << t.report().dump();
  // Root still gets its channel: normanctl status works.
  const json s = root_status();
  EXPECT_TRUE(s.value("ok", false)) << s.dump();
  std::size_t users = 0;
  for (const auto& u : s["quota"]["users"]) users += u["uid"] != 0 ? 1 : 0;
  EXPECT_GE(users, 2U) << s["quota"].dump();
  EXPECT_EQ(s["quota"]["total"]["channels"], kChannelPool - kChannelReserve + 1)
      << s["quota"].dump();
  // And the administrator's tool shows who holds what.
  const auto [rc, out] =
      norman::system_test::sh(std::string(NORMANCTL_BINARY) + " --socket " + path + " status");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Usage per user"), std::string::npos) << out;
  EXPECT_NE(out.find(std::to_string(kThird)), std::string::npos) << out;
  a.kill();
  o.kill();
  t.kill();
  expect_back_to(b);
}

// Item 4: normand at its descriptor limit. With a small RLIMIT_NOFILE and
// generous per-user quotas, normand's descriptor pool runs out before the
// process does: the attacker gets EMFILE, root keeps working, and after the
// kill every descriptor is back and the nsim command channel is in step.
TEST(FdExhaustion, ClientHittingNormandsFdLimitGetsEmfileAndBreaksNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  char tmpl[] = "/tmp/norman-fds-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const json conf = {{"quota",
                      {{"per_uid",
                        {{"sessions", 10000},
                         {"channels", 10000},
                         {"connections", 10000},
                         {"listen", 10000},
                         {"nqs", 10000},
                         {"dma_bytes", 0}}}}},
                     {"fd_reserve", 200}};
  std::ofstream(dir + "/normand.json") << conf.dump();
  SystemConfig cfg;
  cfg.nsim_binary = NSIM_BINARY;
  cfg.normand_binary = NORMAND_BINARY;
  cfg.subnet = "10.45.0";
  cfg.normand_prefix = {"prlimit", "--nofile=600:600", "--"};
  cfg.normand_args = {"--config", dir + "/normand.json"};
  std::string why;
  {
    SystemEnv env(cfg);
    ASSERT_TRUE(env.start(why)) << why;
    const std::string path = env.normand_socket();
    auto status = [&] {
      Client c(path);
      const json h = c.hello();
      return h.value("ok", false) ? c.call("status") : h;
    };
    const std::size_t fds_before = fd_count(env.normand().pid());
    const std::size_t nsim_fds_before = fd_count(env.nsim().pid());
    Attacker nobody(kNobody, [&] {
      json r;
      auto& keep = *new std::vector<std::unique_ptr<Client>>;  // held until the kill
      auto& c = *keep.emplace_back(std::make_unique<Client>(path));
      r["hello"] = c.hello();
      const json q = c.call("nq_open", {{"log2", 6}});
      unsigned conns = 0;
      json last;
      for (unsigned i = 0; i < 1000; ++i) {
        last = c.call("udp_open", {{"nq_id", q.value("nq_id", 0)},
                                   {"remote_ip", "10.45.0.1"},
                                   {"remote_port", 10000 + i},
                                   {"rx_log2", 3},
                                   {"tx_log2", 3}});
        if (!last.value("ok", false)) break;
        ++conns;
      }
      r["conns"] = conns;
      r["refused"] = last;
      // More control connections: refused with EMFILE too, not left hanging.
      for (unsigned i = 0; i < 400; ++i) {
        auto& s = *keep.emplace_back(std::make_unique<Client>(path));
        last = s.call("status");
        if (!last.value("ok", false) && err_of(last) != EPROTO) break;
      }
      r["session_refused"] = last;
      return r;
    });
    const json& r = nobody.report();
    ASSERT_FALSE(r.contains("error")) << r.dump();
    EXPECT_GT(r["conns"].get<unsigned>(), 50U) << r.dump();
    EXPECT_EQ(err_of(r["refused"]), EMFILE) << r.dump();
    EXPECT_NE(r["refused"].value("message", "").find("file descriptors"), std::string::npos)
        << r.dump();
    EXPECT_EQ(err_of(r["session_refused"]), EMFILE) << r.dump();
    const json s = status();
    EXPECT_TRUE(s.value("ok", false)) << s.dump();
    EXPECT_LT(fd_count(env.normand().pid()), 600U - 64)
        << "normand keeps descriptors for its own work";
    nobody.kill();
    std::size_t fds = 0;
    json after;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    do {
      after = status();
      fds = fd_count(env.normand().pid());
      if (fds == fds_before && after["totals"]["connections"] == 0) break;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(fds, fds_before) << "every descriptor of the attacker's is released";
    EXPECT_EQ(fd_count(env.nsim().pid()), nsim_fds_before) << "and nsim's";
    EXPECT_EQ(after["totals"]["connections"], 0) << after.dump();
    // The command channel is in step: a new client is served.
    Client c(path);
    EXPECT_TRUE(c.hello().value("ok", false));
    const json q = c.call("nq_open", {{"log2", 6}});
    ASSERT_TRUE(q.value("ok", false)) << q.dump();
    EXPECT_TRUE(c.call("udp_open", {{"nq_id", q["nq_id"]}}).value("ok", false));
    const std::string log = env.normand().err();
    EXPECT_EQ(log.find("wrong type"), std::string::npos) << log;
    EXPECT_EQ(log.find("Too many open files"), std::string::npos) << log.substr(0, 4000);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace norman::security

// Each test starts its own nsim + normand (with its own limits).
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

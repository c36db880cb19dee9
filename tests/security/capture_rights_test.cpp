// Item: packet capture (ndump's cap_* ops) is root's or CAP_NET_RAW's, as
// tcpdump is. uid 60001, and uid 60001 as "root" of its own user namespace
// (`unshare -Ur`), are refused with EPERM naming CAP_NET_RAW, for every
// op that reveals traffic or owners. With the NIC's capture overlay: the
// ring descriptor a capture gets cannot be written, mapped writable,
// resized or reopened writable through /proc; a client killed mid-capture
// frees its session for the next one; with every session taken the next
// open is a clear EBUSY, not a wait. Those need the overlay and skip,
// naming why, on a NIC without it.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <thread>

#include "security_env.hpp"

namespace norman::security_test {
namespace {

// pcap_compile("") for DLT_EN10MB: accept everything.
const json kAcceptAll = json::array({json::array({0x06, 0, 0, 262144})});

json open_args() { return {{"program", kAcceptAll}, {"interface", "nic0"}, {"log2", 4}}; }

int errno_of_call(ctl::Client& c, std::string_view op, const json& args,
                  std::string* msg = nullptr) {
  try {
    c.call(op, args);
    return 0;
  } catch (const std::system_error& e) {
    if (msg != nullptr) *msg = e.what();
    return e.code().value();
  }
}

// Whether normand has a capture overlay to give sessions on (as root).
bool overlay_present(std::string& why) {
  auto c = ctl::Client::connect(env().normand_socket());
  const int err = errno_of_call(c, ctl::op::kCapOpen, open_args(), &why);
  return err != EOPNOTSUPP;
}

#define REQUIRE_OVERLAY()                                                                    \
  do {                                                                                       \
    std::string why_;                                                                        \
    if (!overlay_present(why_))                                                              \
      GTEST_SKIP() << "the NIC has no capture overlay (CAPTURE is not in its block chain): " \
                   << why_;                                                                  \
  } while (0)

// Every capture op as the calling user; errno of each.
json try_every_op(const std::string& path) {
  auto c = ctl::Client::connect(path);
  json out;
  std::string msg;
  out["cap_open"] = errno_of_call(c, ctl::op::kCapOpen, open_args(), &msg);
  out["message"] = msg;
  out["cap_owner"] = errno_of_call(c, ctl::op::kCapOwner, {{"conn_id", 0}});
  out["cap_stats"] = errno_of_call(c, ctl::op::kCapStats, {{"capture_id", 0}});
  out["cap_cons"] = errno_of_call(c, ctl::op::kCapCons, {{"capture_id", 0}, {"cons", 1}});
  out["cap_close"] = errno_of_call(c, ctl::op::kCapClose, {{"capture_id", 0}});
  return out;
}

void expect_refused(const json& r) {
  ASSERT_FALSE(r.contains("error")) << r.dump();
  for (const char* op : {"cap_open", "cap_owner", "cap_stats", "cap_cons", "cap_close"})
    EXPECT_EQ(r.value(op, 0), EPERM) << op << ": " << r.dump();
  EXPECT_NE(r.value("message", "").find("CAP_NET_RAW"), std::string::npos) << r.dump();
}

TEST(CaptureRights, UnprivilegedUserIsRefused) {
  const std::string path = env().normand_socket();
  expect_refused(run_as(kNobody, [&path] { return try_every_op(path); }));
  expect_daemons_alive("an unprivileged capture attempt");
}

TEST(CaptureRights, UserNamespaceRootIsRefused) {
  if (system_test::sh("setpriv --reuid=60001 --regid=60001 --clear-groups -- unshare -Ur true")
          .first != 0)
    GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  const std::string path = env().normand_socket();
  RunOptions o;
  o.user_namespace = true;
  const json r = run_as(
      kNobody,
      [&path] {
        json out = try_every_op(path);
        out["uid_inside"] = ::getuid();
        return out;
      },
      o);
  if (r.value("no_userns", false)) GTEST_SKIP() << r.dump();
  EXPECT_EQ(r.value("uid_inside", 99), 0) << r.dump();
  expect_refused(r);
}

TEST(CaptureRights, RingDescriptorIsHarmless) {
  REQUIRE_OVERLAY();
  const std::string path = env().normand_socket();
  // Opened as root in the child, then the child drops to uid 60001 with
  // the descriptor in hand (a capture holder turned hostile).
  static std::optional<ctl::Client> holder;
  static int ring = -1;
  static std::size_t bytes = 0;
  RunOptions o;
  o.before_drop = [&path] {
    holder.emplace(ctl::Client::connect(path));
    auto m = holder->call(ctl::op::kCapOpen, open_args());
    ring = m.fds.front().release();
    bytes = m.body.at("slot_bytes").get<std::size_t>() << m.body.at("log2").get<unsigned>();
  };
  const json r = run_as(
      kNobody,
      [] {
        // Dumpable again, so /proc/self/fd is ours: only the inode's mode
        // stands between us and a writable reopen.
        ::prctl(PR_SET_DUMPABLE, 1);
        json out;
        out["access_mode"] = ::fcntl(ring, F_GETFL) & O_ACCMODE;
        errno = 0;
        void* w = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
        out["mmap_write"] = w == MAP_FAILED ? errno : 0;
        void* rd = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, ring, 0);
        out["mmap_read"] = rd == MAP_FAILED ? errno : 0;
        if (rd != MAP_FAILED) {
          out["mprotect"] = errno_of(::mprotect(rd, bytes, PROT_READ | PROT_WRITE));
          ::munmap(rd, bytes);
        }
        const char c = 1;
        out["write"] = ::pwrite(ring, &c, 1, 0) < 0 ? errno : 0;
        out["grow"] = errno_of(::ftruncate(ring, static_cast<off_t>(bytes * 2)));
        out["shrink"] = errno_of(::ftruncate(ring, 0));
        out["fchmod"] = errno_of(::fchmod(ring, 0666));
        const std::string self = "/proc/self/fd/" + std::to_string(ring);
        const int rw = ::open(self.c_str(), O_RDWR | O_CLOEXEC);
        out["reopen_rw"] = rw < 0 ? errno : 0;
        if (rw >= 0) ::close(rw);
        return out;
      },
      o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["access_mode"], O_RDONLY) << r.dump();
  EXPECT_EQ(r["mmap_write"], EACCES) << r.dump();
  EXPECT_EQ(r["mmap_read"], 0) << "reading the ring is what it is for: " << r.dump();
  EXPECT_NE(r.value("mprotect", 0), 0) << r.dump();
  EXPECT_NE(r["write"], 0) << r.dump();
  EXPECT_NE(r["grow"], 0) << r.dump();
  EXPECT_NE(r["shrink"], 0) << r.dump();
  EXPECT_NE(r["fchmod"], 0) << r.dump();
  EXPECT_EQ(r["reopen_rw"], EACCES) << r.dump();
  expect_daemons_alive("attacks on a capture ring");
}

TEST(CaptureRights, KilledClientFreesItsSessionsAndExhaustionIsAnError) {
  REQUIRE_OVERLAY();
  const std::string path = env().normand_socket();
  // A root client takes every session and is killed while it holds them.
  RunOptions o;
  o.keep = true;
  test_util::ChildAs hog(
      0,
      [&path] {
        static std::optional<ctl::Client> c;
        c.emplace(ctl::Client::connect(path));
        json ids = json::array();
        for (;;) {
          try {
            ids.push_back(c->call(ctl::op::kCapOpen, open_args()).body.at("capture_id"));
          } catch (const std::system_error& e) {
            return json{{"ids", ids}, {"errno", e.code().value()}, {"message", e.what()}};
          }
        }
      },
      o);
  const json r = hog.report();
  ASSERT_TRUE(r.contains("ids")) << r.dump();
  EXPECT_EQ(r["errno"], EBUSY) << r.dump();
  EXPECT_NE(r.value("message", "").find("capture sessions of the NIC are in use"),
            std::string::npos)
      << r.dump();
  // Another client is told at once, not made to wait.
  auto c = ctl::Client::connect(path);
  std::string msg;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(errno_of_call(c, ctl::op::kCapOpen, open_args(), &msg), EBUSY) << msg;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  hog.kill();
  // normand notices the closed control connection and frees them all.
  int err = -1;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (err != 0 && std::chrono::steady_clock::now() < deadline) {
    err = errno_of_call(c, ctl::op::kCapOpen, open_args(), &msg);
    if (err != 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(err, 0) << "after the holder was killed: " << msg;
  expect_daemons_alive("a capture holder killed mid-capture");
}

}  // namespace
}  // namespace norman::security_test

int main(int argc, char** argv) { return norman::security_test::security_main(argc, argv); }

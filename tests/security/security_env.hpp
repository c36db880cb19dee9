// What every attack test shares: the real nsim + normand (SystemEnv, started
// once per test executable), running code as an unprivileged user (uid
// 60001, no groups, no capabilities), optionally inside a fresh user
// namespace where it is "root" (as `unshare -Ur`), and checks that the
// daemons survived. Root only: main() exits 77 (skipped) otherwise.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ctl_socket.hpp"
#include "run_as.hpp"
#include "system_env.hpp"

namespace norman::security_test {

using nlohmann::json;
using namespace std::chrono_literals;
using system_test::SystemEnv;

inline constexpr unsigned kNobody = 60001;

// The daemons every test of one executable attacks.
inline SystemEnv*& env_ptr() {
  static SystemEnv* e = nullptr;
  return e;
}
inline SystemEnv& env() { return *env_ptr(); }

using test_util::RunOptions;
using test_util::run_as;

// errno of a call, or 0.
inline int errno_of(int rc) { return rc == 0 ? 0 : errno; }

// A client of another user still gets service: the NIC and normand answer
// (connect with auth, hello, a queue and a connection, status).
inline json another_client_works() {
  const std::string path = env().normand_socket();
  return run_as(kNobody, [&path]() -> json {
    auto c = ctl::Client::connect(path);
    c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    auto nq = c.call(ctl::op::kNqOpen, {{"log2", 6}});
    auto conn = c.call(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}});
    c.call(ctl::op::kClose, {{"conn_id", conn.body.at("conn_id")}});
    auto st = c.call(ctl::op::kStatus);
    return {{"ok", true}, {"clients", st.body.value("clients", 0)}};
  });
}

// nsim and normand still run, and serve another client.
inline void expect_daemons_alive(const char* after) {
  EXPECT_TRUE(env().nsim().running()) << "nsim died after " << after << ": " << env().nsim().err();
  EXPECT_TRUE(env().normand().running())
      << "normand died after " << after << ": " << env().normand().err();
  const json r = another_client_works();
  EXPECT_TRUE(r.value("ok", false)) << "another client after " << after << ": " << r.dump();
}

// main(): root only; one nsim + normand for the whole executable.
inline int security_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0) {
    std::cout << "SKIP: the attack tests need root (they start nsim and normand and drop to "
                 "uid 60001)\n";
    return 77;
  }
  system_test::SystemConfig cfg;
  cfg.nsim_binary = NSIM_BINARY;
  cfg.normand_binary = NORMAND_BINARY;
  cfg.subnet = "10.43.0";
  auto e = std::make_unique<SystemEnv>(cfg);
  std::string why;
  if (!e->start(why)) {
    std::cerr << "cannot start nsim + normand: " << why << "\n";
    return 1;
  }
  env_ptr() = e.get();
  const int rc = RUN_ALL_TESTS();
  env_ptr() = nullptr;
  return rc;
}

}  // namespace norman::security_test

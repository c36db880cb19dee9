// Item: a user namespace gives no rights. uid 60001 does `unshare -Ur` (uid
// 0 and every capability inside its own namespace) and tries what needs
// root or a capability in the initial user namespace: changing the filter
// table (nfw -I, nfw-restore), binding a port below 1024, opening a raw
// connection. Each is refused (EPERM/EACCES) and the table is unchanged.
#include <gtest/gtest.h>

#include <fstream>

#include "security_env.hpp"

namespace norman::security_test {
namespace {

// A command line as uid 60001 inside a fresh user namespace.
std::string in_userns(const std::string& cmd) {
  return "setpriv --reuid=60001 --regid=60001 --clear-groups -- unshare -Ur " + cmd;
}

std::string rules() {
  auto [rc, out] =
      system_test::sh(std::string(NFW_BINARY) + " --socket " + env().normand_socket() + " -S");
  EXPECT_EQ(rc, 0) << out;
  return out;
}

bool userns_available() { return system_test::sh(in_userns("true")).first == 0; }

TEST(UserNamespace, IsRootInsideButNotForNormand) {
  if (!userns_available()) GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  const std::string path = env().normand_socket();
  RunOptions o;
  o.user_namespace = true;
  const json r = run_as(
      kNobody,
      [&path]() -> json {
        json out;
        out["uid_inside"] = ::getuid();
        auto c = ctl::Client::connect(path);  // with auth: the identity normand took
        out["auth"] = c.confirm_identity();   // a second handshake shows the same
        c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
        auto nq = c.call(ctl::op::kNqOpen, {{"log2", 6}});
        auto try_op = [&](std::string_view op, json args) {
          try {
            c.call(op, std::move(args));
            return 0;
          } catch (const std::system_error& e) {
            return e.code().value();
          }
        };
        out["bind_80"] =
            try_op(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}, {"local_port", 80}});
        out["raw"] = try_op(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}, {"raw", true}});
        out["filter_get"] = try_op(ctl::op::kFilterGet, json::object());
        return out;
      },
      o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["uid_inside"], 0) << "the child is root inside its namespace";
  EXPECT_EQ(r["bind_80"], EACCES) << r.dump();
  EXPECT_EQ(r["raw"], EPERM) << r.dump();
  EXPECT_EQ(r["filter_get"], EPERM) << r.dump();
}

TEST(UserNamespace, AuthReportsNoCapabilities) {
  if (!userns_available()) GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  const std::string path = env().normand_socket();
  RunOptions o;
  o.user_namespace = true;
  const json r = run_as(
      kNobody,
      [&path]() -> json {
        auto c = ctl::Client::connect_unconfirmed(path);
        return c.confirm_identity();
      },
      o);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["uid"], kNobody) << "normand sees the uid of the initial namespace";
  EXPECT_EQ(r["initial_userns"], false) << r.dump();
  EXPECT_TRUE(r["caps"].empty()) << r.dump();
}

TEST(UserNamespace, NfwInsertAndRestoreAreRefused) {
  if (!userns_available()) GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  const std::string before = rules();
  const std::string sock = " --socket " + env().normand_socket();
  auto [rc, out] = system_test::sh(
      in_userns(std::string(NFW_BINARY) + sock + " -I INPUT -p udp --dport 9 -j DROP"));
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("ermission denied"), std::string::npos) << out;
  // An nfw-restore that would flush the table (and open the firewall).
  const std::string file = env().dir() + "/flush.rules";
  std::ofstream(file) << "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n"
                         ":OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  ::chmod(file.c_str(), 0644);
  std::tie(rc, out) =
      system_test::sh(in_userns(std::string(NFW_RESTORE_BINARY) + sock + " " + file));
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("ermission denied"), std::string::npos) << out;
  EXPECT_EQ(rules(), before) << "the table changed";
  expect_daemons_alive("the user namespace attempts");
}

TEST(UserNamespace, RootOfTheInitialNamespaceStillMayChangeTheTable) {
  // The control: the same commands as root work, so the refusals above are
  // about the namespace, not a broken tool.
  const std::string sock = " --socket " + env().normand_socket();
  auto [rc, out] =
      system_test::sh(std::string(NFW_BINARY) + sock + " -I INPUT -p udp --dport 9 -j DROP");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) =
      system_test::sh(std::string(NFW_BINARY) + sock + " -D INPUT -p udp --dport 9 -j DROP");
  EXPECT_EQ(rc, 0) << out;
}

}  // namespace
}  // namespace norman::security_test

int main(int argc, char** argv) { return norman::security_test::security_main(argc, argv); }

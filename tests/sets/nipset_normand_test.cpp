// nipset against the real normand (nsim + normand, as the system tests
// start them): a restore file in ipset's save format loads and saves back
// the same, -file reads and writes on nipset's side, errors and exit
// statuses are ipset's, a failing restore changes nothing, and a client
// without CAP_NET_ADMIN is refused. Root only (skips otherwise).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "system_env.hpp"

namespace {

using norman::system_test::sh;

norman::system_test::SystemEnv* g_env = nullptr;

std::string nipset(const std::string& args) {
  return std::string(NIPSET_BINARY) + " --socket " + g_env->normand_socket() + " " + args;
}

const char* kSave =
    "create blocklist hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval "
    "0x12345678\n"
    "add blocklist 10.0.0.0/8\n"
    "add blocklist 192.0.2.7\n"
    "create web hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval "
    "0x00000001\n"
    "add web 10.1.1.1,tcp:443\n"
    "add web 10.1.1.1,udp:53\n"
    "create ports bitmap:port range 1-1024\n"
    "add ports 22\n"
    "add ports 80\n";

TEST(Nipset, RestoreSavesBackTheSame) {
  ASSERT_EQ(sh(nipset("-! destroy")).first, 0);
  std::ofstream("/tmp/nipset-test.save") << kSave;
  auto [rc, out] = sh(nipset("restore -file /tmp/nipset-test.save"));
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = sh(nipset("save"));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, kSave);
  // -file on save: nipset writes the file.
  std::tie(rc, out) = sh(nipset("save -file /tmp/nipset-test.out"));
  EXPECT_EQ(rc, 0) << out;
  std::ifstream f("/tmp/nipset-test.out");
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), kSave);
  std::tie(rc, out) = sh(nipset("test blocklist 10.2.3.4"));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "Warning: 10.2.3.4 is in set blocklist.\n");
}

TEST(Nipset, ErrorsAreIpsets) {
  auto [rc, out] = sh(nipset("add nope 1.2.3.4"));
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "nipset: The set with the given name does not exist\n");
  std::tie(rc, out) = sh(nipset("bogus"));
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out,
            "nipset: No command specified: unknown argument bogus\nTry `nipset help' for more "
            "information.\n");
  std::tie(rc, out) = sh(nipset("create t hash:ip timeout 5"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("create option `timeout' is not supported"), std::string::npos) << out;
}

TEST(Nipset, FailedRestoreChangesNothing) {
  ASSERT_EQ(sh(nipset("-! destroy")).first, 0);
  std::ofstream("/tmp/nipset-test.save") << kSave;
  ASSERT_EQ(sh(nipset("restore -file /tmp/nipset-test.save")).first, 0);
  const std::string before = sh(nipset("save")).second;
  auto [rc, out] =
      sh("printf 'flush blocklist\\nswap web web\\nadd ports 5000\\n' | " + nipset("restore"));
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "nipset: Error in line 3: Element is out of the range of the set\n");
  EXPECT_EQ(sh(nipset("save")).second, before);
}

TEST(Nipset, UnprivilegedUserIsRefused) {
  auto [rc, out] = sh("setpriv --reuid=60001 --regid=60001 --clear-groups -- " + nipset("list"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("nipset: Kernel error received: Operation not permitted"), std::string::npos) << out;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0) {
    std::cout << "SKIP: starts nsim and normand (root only)\n";
    return 77;
  }
  norman::system_test::SystemConfig cfg;
  cfg.nsim_binary = NSIM_BINARY;
  cfg.normand_binary = NORMAND_BINARY;
  cfg.subnet = "10.44.0";
  auto e = std::make_unique<norman::system_test::SystemEnv>(cfg);
  std::string why;
  if (!e->start(why)) {
    std::cerr << "cannot start nsim + normand: " << why << "\n";
    return 1;
  }
  g_env = e.get();
  const int rc = RUN_ALL_TESTS();
  g_env = nullptr;
  return rc;
}

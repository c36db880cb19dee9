// Item: nipset's sets (the sets op) are the administrator's. uid 60001,
// and uid 60001 as "root" of its own user namespace, can neither read nor
// change them (EPERM, nothing changes); an administrator's request is
// bounded (arguments, -file refused: normand opens no client file; the
// entry budget refuses a flood with a clear error) and normand serves on.
#include <gtest/gtest.h>

#include "security_env.hpp"

namespace norman::security_test {
namespace {

// Runs nipset's arguments in normand as this (root) process.
json sets_call(const std::vector<std::string>& args, const std::string* input = nullptr) {
  auto c = ctl::Client::connect(env().normand_socket());
  ctl::Message m;
  if (input != nullptr) {
    const auto fd = ctl::json_to_memfd(json(*input), "input");
    const int fds[] = {fd.get()};
    m = c.call(ctl::op::kSets, {{"args", args}}, fds, 60000);
  } else {
    m = c.call(ctl::op::kSets, {{"args", args}}, {}, 60000);
  }
  return ctl::json_from_fd(m.fds.at(0).get());
}

json attack(bool userns) {
  const std::string path = env().normand_socket();
  RunOptions o;
  o.user_namespace = userns;
  return run_as(
      kNobody,
      [&path]() -> json {
        auto c = ctl::Client::connect(path);
        auto try_call = [&](const std::vector<std::string>& args, bool with_input) {
          try {
            if (with_input) {
              const auto fd = ctl::json_to_memfd(json("flush\ndestroy\n"), "input");
              const int fds[] = {fd.get()};
              c.call(ctl::op::kSets, {{"args", args}}, fds, 10000);
            } else {
              c.call(ctl::op::kSets, {{"args", args}});
            }
            return 0;
          } catch (const std::system_error& e) {
            return e.code().value();
          }
        };
        json out;
        out["list"] = try_call({"list"}, false);
        out["add"] = try_call({"add", "allow", "10.9.9.9"}, false);
        out["destroy"] = try_call({"destroy"}, false);
        out["restore"] = try_call({"restore"}, true);
        return out;
      },
      o);
}

class SetsRights : public ::testing::Test {
 protected:
  void SetUp() override {
    sets_call({"-!", "destroy"});
    ASSERT_EQ(sets_call({"create", "allow", "hash:ip"})["status"], 0);
    ASSERT_EQ(sets_call({"add", "allow", "10.1.1.1"})["status"], 0);
  }
  static std::string saved() { return sets_call({"save"})["out"].get<std::string>(); }
};

TEST_F(SetsRights, UnprivilegedUserIsRefused) {
  const std::string before = saved();
  const json r = attack(false);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  for (const char* k : {"list", "add", "destroy", "restore"}) EXPECT_EQ(r[k], EPERM) << k;
  EXPECT_EQ(saved(), before);
  expect_daemons_alive("unprivileged sets requests");
}

TEST_F(SetsRights, UserNamespaceRootIsRefused) {
  if (system_test::sh("setpriv --reuid=60001 --regid=60001 --clear-groups -- unshare -Ur true")
          .first != 0) {
    GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  }
  const std::string before = saved();
  const json r = attack(true);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  for (const char* k : {"list", "add", "destroy", "restore"}) EXPECT_EQ(r[k], EPERM) << k;
  EXPECT_EQ(saved(), before);
}

TEST_F(SetsRights, RequestsAreBounded) {
  auto c = ctl::Client::connect(env().normand_socket());
  auto err = [&](const json& args) {
    try {
      c.call(ctl::op::kSets, args);
      return 0;
    } catch (const std::system_error& e) {
      return e.code().value();
    }
  };
  EXPECT_EQ(err({{"args", std::vector<std::string>(100, "-q")}}), EINVAL);
  EXPECT_EQ(err({{"args", {"add", "allow", std::string(5000, '1')}}}), EINVAL);
  // normand opens no file a client names (it would with root's rights).
  EXPECT_EQ(err({{"args", {"save", "-file", "/etc/shadow"}}}), EINVAL);
  EXPECT_EQ(err({{"args", {"restore", "-f", "/etc/shadow"}}}), EINVAL);
  EXPECT_EQ(err({{"args", "list"}}), EINVAL);
  EXPECT_EQ(err(json::object()), EINVAL);
  expect_daemons_alive("malformed sets requests");
}

TEST_F(SetsRights, EntryBudgetRefusesAFlood) {
  // 2M entries in all: 1M + 512K fit, another 1M (the most one element
  // may stand for) does not and is refused whole, with the reason.
  ASSERT_EQ(sets_call({"create", "f1", "hash:ip", "maxelem", "4000000"})["status"], 0);
  ASSERT_EQ(sets_call({"create", "f2", "hash:ip", "maxelem", "4000000"})["status"], 0);
  ASSERT_EQ(sets_call({"add", "f1", "20.0.0.0/12"})["status"], 0);
  ASSERT_EQ(sets_call({"add", "f2", "30.0.0.0/13"})["status"], 0);
  ASSERT_EQ(sets_call({"create", "f3", "hash:ip", "maxelem", "4000000"})["status"], 0);
  const json r = sets_call({"add", "f3", "40.0.0.0/12"});
  EXPECT_EQ(r["status"], 1);
  EXPECT_NE(r["err"].get<std::string>().find("set memory is full"), std::string::npos) << r.dump();
  EXPECT_NE(sets_call({"list", "-t", "f3"})["out"].get<std::string>().find("entries: 0\n"),
            std::string::npos);
  EXPECT_EQ(sets_call({"destroy"})["status"], 0);
  expect_daemons_alive("a flood of set entries");
}

}  // namespace
}  // namespace norman::security_test

int main(int argc, char** argv) { return norman::security_test::security_main(argc, argv); }

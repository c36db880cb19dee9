// The policy normand persists and the administrator's rules file it loads
// at start: a round trip keeps the table, and anything unusable (torn or
// foreign JSON, an empty or truncated rules file) is an error naming the
// file, never an empty (open) policy.
#include "policy_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace norman::normand {
namespace {

namespace fs = std::filesystem;

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/norman-policy-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }
  // The message of what `fn` throws ("" if nothing).
  template <typename F>
  static std::string error_of(F fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

const char* const kRules =
    "*filter\n"
    ":INPUT DROP [0:0]\n"
    ":FORWARD ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -p udp --dport 7000 -j ACCEPT\n"
    "COMMIT\n";

TEST_F(PolicyStoreTest, NothingStoredIsNoPolicy) {
  PolicyStore s(dir_ / "state");
  EXPECT_FALSE(s.load_filter().has_value());
}

TEST_F(PolicyStoreTest, SavedTableComesBackAndTheDirectoryIsPrivate) {
  write(dir_ / "rules.v4", kRules);
  const filter::Ruleset rules = load_rules_file(dir_ / "rules.v4");
  PolicyStore s(dir_ / "state");
  s.save_filter(rules);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);
  EXPECT_FALSE(fs::exists(s.file().string() + ".tmp"));
  const auto back = s.load_filter();
  ASSERT_TRUE(back.has_value());
  ASSERT_NE(back->find("INPUT"), nullptr);
  EXPECT_EQ(back->find("INPUT")->policy, filter::Policy::kDrop);
  ASSERT_EQ(back->find("INPUT")->rules.size(), 1U);
  EXPECT_TRUE(back->find("INPUT")->rules[0].same_spec(rules.find("INPUT")->rules[0]));
}

TEST_F(PolicyStoreTest, UnusableStateIsAnErrorNamingTheFile) {
  PolicyStore s(dir_);
  for (const std::string& text :
       {std::string(""), std::string("{\"format\": \"norman-policy\", \"vers"), std::string("[]"),
        std::string("{\"format\": \"other\", \"version\": 1, \"filter\": {}}"),
        std::string("{\"format\": \"norman-policy\", \"version\": 2, \"filter\": {}}"),
        std::string("{\"format\": \"norman-policy\", \"version\": 1}"),
        std::string("{\"format\": \"norman-policy\", \"version\": 1, \"filter\": 42}")}) {
    write(s.file(), text);
    const std::string err = error_of([&] { (void)s.load_filter(); });
    EXPECT_NE(err.find(s.file().string()), std::string::npos) << "for: " << text << ": " << err;
  }
}

TEST_F(PolicyStoreTest, EmptyTruncatedOrBadRulesFilesAreRefused) {
  const std::string full = kRules;
  for (const std::string& text :
       {std::string(""), std::string("# nothing but a comment\n\n"), std::string("\r\r"),
        full.substr(0, full.find("COMMIT")), full.substr(0, 12),
        std::string("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT --bogus\nCOMMIT\n")}) {
    write(dir_ / "rules.v4", text);
    const std::string err = error_of([&] { (void)load_rules_file(dir_ / "rules.v4"); });
    EXPECT_FALSE(err.empty()) << "accepted: " << text;
    EXPECT_NE(err.find("rules.v4"), std::string::npos) << err;
  }
  EXPECT_NE(error_of([&] { (void)load_rules_file(dir_ / "missing.v4"); }), "");
}

TEST_F(PolicyStoreTest, FilesOthersCanWriteAreNotTrusted) {
  write(dir_ / "rules.v4", kRules);
  ASSERT_EQ(::chmod((dir_ / "rules.v4").c_str(), 0666), 0);
  EXPECT_NE(error_of([&] { (void)load_rules_file(dir_ / "rules.v4"); }).find("not trusted"),
            std::string::npos);
  ASSERT_EQ(::chmod((dir_ / "rules.v4").c_str(), 0644), 0);
  const filter::Ruleset rules = load_rules_file(dir_ / "rules.v4");
  PolicyStore s(dir_ / "state");
  s.save_filter(rules);
  ASSERT_EQ(::chmod(s.file().c_str(), 0622), 0);
  EXPECT_NE(error_of([&] { (void)s.load_filter(); }).find("not trusted"), std::string::npos);
  ASSERT_EQ(::chmod(s.file().c_str(), 0600), 0);
  ASSERT_EQ(::chmod((dir_ / "state").c_str(), 0777), 0);
  EXPECT_NE(error_of([&] { (void)s.load_filter(); }).find("not trusted"), std::string::npos);
  EXPECT_NE(error_of([&] { s.save_filter(rules); }).find("not trusted"), std::string::npos);
}

}  // namespace
}  // namespace norman::normand

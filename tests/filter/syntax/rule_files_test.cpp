// Rule files shaped like those administrators keep (tests/filter/rule_files:
// desktop default, web server, container host, VPN gateway, fail2ban with
// and without ipset, a router with nat/mangle/raw). For each: whether
// nfw-restore loads it whole today (parsed, applied, and its NIC part
// compiled for the NIC, which is what the load and --test both do; the
// host part is judged by the real iptables-restore, below), or the exact
// refusal; and, for those that load, that nfw-save prints what
// iptables-save prints after iptables-restore of the same file in a
// private network namespace (needs root; that part skips itself otherwise).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "command.hpp"
#include "compiler.hpp"
#include "host_split.hpp"
#include "test_util.hpp"

namespace norman::nfw::test {
namespace {

class NoOwners : public filter::OwnerIds {
 public:
  std::uint16_t cmd_id(std::string_view) override { return 1; }
  std::vector<std::uint16_t> cgroups_under(std::string_view) override { return {}; }
};

std::string read(const std::string& name) {
  std::ifstream in(std::string(NFW_RULE_FILES) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "" when the file loads whole; otherwise the message nfw-restore prints.
std::string load_outcome(const std::string& text, filter::Ruleset* out = nullptr) {
  filter::Ruleset rs;
  Ids ids;
  try {
    apply_restore(rs, parse_restore(text), false, true, ids.fn());
    NoOwners owners;
    (void)filter::compile(filter::nic_view(rs), owners, filter::CompileOptions{});
  } catch (const std::exception& e) {
    return e.what();
  }
  if (out != nullptr) *out = rs;
  return "";
}

struct Expect {
  const char* file;
  const char* refusal;  // "" when it loads whole
};

// What stops each file today: sets (not parsed yet) and connection
// tracking (parsed, but refused by the compiler until the NIC tracks).
// What belongs to the host rather than the NIC (other tables, FORWARD,
// interfaces that are not NIC ports) loads (docs/nfw-host.md).
constexpr std::array<Expect, 8> kFiles{{
    {"web_server.v4", ""},
    {"fail2ban.v4", ""},
    {"loopback_only.v4", ""},
    {"router_host.v4", ""},
    {"desktop.v4",
     "nfw: connection tracking is not on the NIC yet (-m state, -m conntrack) (chain INPUT, rule 1)"},
    {"container_host.v4", ""},
    {"vpn_gateway.v4", ""},
    {"fail2ban_ipset.v4",
     "nfw-restore: line 6: match `set' is not yet supported (supported: tcp, udp, icmp, "
     "multiport, owner, cgroup, comment, state, conntrack, limit, hashlimit)"},
}};

// Every file in the folder is in the list above (a new file must say what
// stops it).
TEST(RuleFiles, EveryFileIsListed) {
  const Output ls = shell(std::string("ls ") + NFW_RULE_FILES);
  std::size_t n = 0;
  std::istringstream names(ls.text);
  for (std::string name; std::getline(names, name);) {
    if (!name.ends_with(".v4")) continue;
    ++n;
    EXPECT_TRUE(std::any_of(kFiles.begin(), kFiles.end(),
                            [&](const Expect& e) { return name == e.file; }))
        << name;
  }
  EXPECT_EQ(n, kFiles.size());
}

TEST(RuleFiles, EachLoadsWholeOrIsRefusedByName) {
  for (const auto& f : kFiles) {
    const std::string text = read(f.file);
    ASSERT_FALSE(text.empty()) << f.file;
    EXPECT_EQ(load_outcome(text), f.refusal) << f.file;
  }
}

TEST(RuleFiles, ThoseThatLoadSaveAsIptablesSaves) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace and iptables)";
  if (shell("command -v iptables-restore && command -v iptables-save && command -v ip").status !=
      0) {
    GTEST_SKIP() << "iptables or ip is not installed";
  }
  const std::string ns = "nfwfiles-" + std::to_string(getpid());
  for (const auto& f : kFiles) {
    if (*f.refusal != '\0') continue;
    // A namespace per file: iptables-restore leaves the tables a file does
    // not name as they were, so a previous file's *mangle would show.
    ASSERT_EQ(shell("ip netns add " + ns + " 2>&1").status, 0);
    filter::Ruleset ours;
    ASSERT_EQ(load_outcome(read(f.file), &ours), "") << f.file;
    const std::string path = std::string(NFW_RULE_FILES) + "/" + f.file;
    const Output load = shell("ip netns exec " + ns + " iptables-restore -c < " + path + " 2>&1");
    EXPECT_EQ(load.status, 0) << f.file << ": " << load.text;
    for (bool counters : {false, true}) {
      const Output theirs =
          shell("ip netns exec " + ns + (counters ? " iptables-save -c" : " iptables-save"));
      EXPECT_EQ(without_comments(format_save(ours, counters)), without_comments(theirs.text))
          << f.file;
    }
    shell("ip netns del " + ns);
  }
}

}  // namespace
}  // namespace norman::nfw::test

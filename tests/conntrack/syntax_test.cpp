// -m state and -m conntrack in nfw: parsed, saved and listed as iptables
// does (checked against the real iptables-save when root), carried in the
// rule JSON, judged by the reference evaluator, and refused by the compiler
// (both the one nfw-restore --test asks for and the incremental one a load
// uses) since the NIC cannot enforce them yet.
#include "syntax.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "compiler.hpp"
#include "evaluate.hpp"
#include "incremental_compiler.hpp"

namespace norman::nfw {
namespace {

// Every option with and without '!', written as iptables-save prints it.
const std::vector<std::string> kSaved = {
    "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT",
    "-A INPUT -m state ! --state INVALID,NEW,UNTRACKED",
    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A INPUT -m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT",
    "-A INPUT -m conntrack ! --ctstate INVALID -j ACCEPT",
    "-A INPUT -m conntrack --ctproto 6 --ctorigsrc 10.0.0.0/8 --ctorigdst 1.2.3.4 "
    "--ctorigsrcport 1000 --ctorigdstport 22:25 --ctdir REPLY",
    "-A INPUT -m conntrack ! --ctproto 17 ! --ctorigsrc 10.1.2.3/16 ! --ctorigdst 1.2.3.4 "
    "! --ctorigsrcport 1000 ! --ctorigdstport 22 --ctdir ORIGINAL",
    "-A INPUT -m conntrack --ctstatus EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED",
    "-A INPUT -m conntrack ! --ctstatus NONE",
    "-A INPUT -m conntrack --ctstate NEW --ctproto 1 --ctorigsrc 1.1.1.1 --ctstatus ASSURED "
    "--ctdir ORIGINAL",
    "-A INPUT -m conntrack --ctstate NEW --ctorigdstport 22 --ctstatus ASSURED",
    "-A INPUT -m conntrack --ctorigsrc 10.1.2.3 --ctorigdst 0.0.0.0/0",
    "-A INPUT -m conntrack --ctorigsrcport 1000:999",
    "-A INPUT -p tcp -m tcp --dport 22 -m state --state NEW -m conntrack --ctstate NEW -j ACCEPT",
};

// What iptables-save prints for rules written otherwise.
const std::vector<std::pair<std::string, std::string>> kNormalized = {
    {"-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT",
     "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT"},
    {"-A INPUT -m conntrack --ctstatus ASSURED --ctorigdstport 22 --ctstate new",
     "-A INPUT -m conntrack --ctstate NEW --ctorigdstport 22 --ctstatus ASSURED"},
    {"-A INPUT -m conntrack --ctproto all", "-A INPUT -m conntrack --ctproto 0"},
    {"-A INPUT -m conntrack --ctproto udp --ctorigsrc 10.1.2.3/255.255.0.0",
     "-A INPUT -m conntrack --ctproto 17 --ctorigsrc 10.1.2.3/16"},
    {"-A INPUT -m conntrack --ctorigsrcport 7:7", "-A INPUT -m conntrack --ctorigsrcport 7"},
    {"-A INPUT -m conntrack --ctstate NEW,NEW", "-A INPUT -m conntrack --ctstate NEW"},
    {"-A INPUT -m conntrack --ctdir original", "-A INPUT -m conntrack --ctdir ORIGINAL"},
};

std::string save_of(const std::string& rules_text) {
  const std::string file =
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
      ":OUTPUT ACCEPT [0:0]\n" +
      rules_text + "COMMIT\n";
  Ruleset rs;
  std::uint64_t id = 0;
  apply_restore(rs, parse_restore(file), false, false, [&] { return ++id; });
  return format_save(rs, false);
}

std::vector<std::string> rule_lines(const std::string& save) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < save.size()) {
    const auto nl = save.find('\n', start);
    const std::string line = save.substr(start, nl - start);
    if (line.rfind("-A ", 0) == 0) out.push_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string error_of(const std::string& line) {
  try {
    (void)parse_command(split_line(line));
  } catch (const SyntaxError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ConntrackSyntax, SavedAsIptablesSavePrints) {
  std::string text;
  for (const auto& l : kSaved) text += l + "\n";
  EXPECT_EQ(rule_lines(save_of(text)), kSaved);
  for (const auto& [in, out] : kNormalized) {
    EXPECT_EQ(rule_lines(save_of(in + "\n")), std::vector<std::string>{out}) << in;
  }
}

TEST(ConntrackSyntax, RefusedAsIptablesRefuses) {
  EXPECT_NE(error_of("-A INPUT -m conntrack ! --ctdir REPLY").find("cannot be inverted"),
            std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m conntrack").find("At least one option"), std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m conntrack --ctstate \"\"").find("Bad ctstate"),
            std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m conntrack --ctstate NEW,").find("Bad ctstate"),
            std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m state --state SNAT").find("Bad state"), std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m conntrack --ctstate NEW --ctstate NEW").find("only be used once"),
            std::string::npos);
  EXPECT_NE(error_of("-A INPUT --ctstate NEW").find("-m conntrack"), std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m state").find("--state"), std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m conntrack --ctorigsrc 10.0.0.300").find("bad address"),
            std::string::npos);
  EXPECT_NE(error_of("-A INPUT -m conntrack --ctorigdstport 70000").find("bad port"),
            std::string::npos);
}

TEST(ConntrackSyntax, ListedAsIptablesLists) {
  Ruleset rs;
  std::uint64_t id = 0;
  const std::string file =
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
      "-A INPUT -m conntrack ! --ctproto 6 ! --ctorigsrc 10.1.2.3/16 --ctorigdst 1.2.3.4 "
      "! --ctorigsrcport 1000 --ctorigdstport 22:25 --ctdir REPLY\n"
      "-A INPUT -m conntrack ! --ctstate NEW --ctstatus SEEN_REPLY,ASSURED --ctdir ORIGINAL\n"
      "COMMIT\n";
  apply_restore(rs, parse_restore(file), false, false, [&] { return ++id; });
  const std::string list = format_list(rs, parse_command(split_line("-L INPUT -n")));
  EXPECT_NE(list.find("0.0.0.0/0            state RELATED,ESTABLISHED\n"), std::string::npos)
      << list;
  EXPECT_NE(list.find("0.0.0.0/0            ! ctproto 6 ! ctorigsrc 10.1.2.3/16 ctorigdst "
                      "1.2.3.4 ! ctorigsrcport 1000 ctorigdstport 22:25 ctdir REPLY\n"),
            std::string::npos)
      << list;
  EXPECT_NE(list.find("! ctstate NEW ctstatus SEEN_REPLY,ASSURED ctdir ORIGINAL\n"),
            std::string::npos)
      << list;
}

TEST(ConntrackSyntax, JsonRoundTrip) {
  std::string text;
  for (const auto& l : kSaved) text += l + "\n";
  Ruleset rs;
  std::uint64_t id = 0;
  apply_restore(rs, parse_restore("*filter\n" + text + "COMMIT\n"), false, false,
                [&] { return ++id; });
  const nlohmann::json j = rs;
  const Ruleset back = j.get<Ruleset>();
  EXPECT_EQ(format_save(back, false), format_save(rs, false));
  nlohmann::json broken = j;
  broken["chains"][0]["rules"][0].erase("state");
  EXPECT_THROW((void)broken.get<Ruleset>(), std::invalid_argument);
  broken = j;
  broken["chains"][0]["rules"][2]["conntrack"]["state"]["mask"] = 0;
  EXPECT_THROW((void)broken.get<Ruleset>(), std::invalid_argument);
}

class NoIds : public filter::OwnerIds {
 public:
  std::uint16_t cmd_id(std::string_view) override { return 1; }
  std::vector<std::uint16_t> cgroups_under(std::string_view) override { return {}; }
};

TEST(ConntrackSyntax, CompilersRefuseConnectionTrackingAlike) {
  Ruleset rs;
  std::uint64_t id = 0;
  apply_restore(rs,
                parse_restore("*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\n"
                              "-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n"),
                false, false, [&] { return ++id; });
  NoIds ids;
  std::string full;
  std::string incremental;
  try {
    (void)filter::compile(rs, ids);
  } catch (const filter::CompileError& e) {
    full = e.what();
  }
  try {
    filter::IncrementalCompiler c;
    (void)c.compile(rs, ids);
  } catch (const filter::CompileError& e) {
    incremental = e.what();
  }
  EXPECT_NE(full.find("connection tracking is not on the NIC yet"), std::string::npos) << full;
  EXPECT_EQ(full, incremental);
}

TEST(ConntrackSyntax, EvaluatorReadsTheConntrackView) {
  Ruleset rs;
  std::uint64_t id = 0;
  apply_restore(rs,
                parse_restore("*filter\n:INPUT DROP [0:0]\n"
                              "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
                              "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
                              "-A INPUT -m state --state NEW -m conntrack --ctproto tcp "
                              "--ctorigdstport 22 -j ACCEPT\nCOMMIT\n"),
                false, false, [&] { return ++id; });
  NoIds ids;
  filter::Key k{};
  filter::CtView v;
  v.tracked = true;
  v.state = filter::ctstate::kNew;
  v.proto = 6;
  v.orig_dport = 22;
  EXPECT_EQ(filter::evaluate(rs, k, ids, &v).action, filter::rf::Action::kAccept);
  v.orig_dport = 23;
  EXPECT_EQ(filter::evaluate(rs, k, ids, &v).action, filter::rf::Action::kDrop);
  v.state = filter::ctstate::kRelated;
  EXPECT_EQ(filter::evaluate(rs, k, ids, &v).path.size(), 1u);
  filter::CtView invalid;  // no entry: only state tests can match
  const auto verdict = filter::evaluate(rs, k, ids, &invalid);
  EXPECT_EQ(verdict.action, filter::rf::Action::kDrop);
  EXPECT_EQ(verdict.path.size(), 1u);
  EXPECT_EQ(verdict.path[0].rule_id, 2u);
  // Without a view (the NIC today) none of these rules matches.
  EXPECT_EQ(filter::evaluate(rs, k, ids).path.size(), 1u);
}

// The real iptables as the oracle: the same rules restored into a private
// network namespace and saved back.
TEST(ConntrackSyntax, IptablesSavesTheSameLines) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace for iptables)";
  const std::string ns = "nfwct" + std::to_string(getpid());
  if (std::system(("ip netns add " + ns + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "cannot create a network namespace";
  std::string rules;
  for (const auto& l : kSaved) rules += l + "\n";
  for (const auto& p : kNormalized) rules += p.first + "\n";
  const std::string text = "*filter\n" + rules + "COMMIT\n";
  const std::string path = "/tmp/" + ns + ".rules";
  std::ofstream(path) << text;
  std::string saved;
  const int rc = std::system(("ip netns exec " + ns + " iptables-restore < " + path).c_str());
  if (FILE* p = popen(("ip netns exec " + ns + " iptables-save").c_str(), "r")) {
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) saved.append(buf.data(), n);
    pclose(p);
  }
  (void)std::system(("ip netns del " + ns).c_str());
  std::remove(path.c_str());
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(rule_lines(saved), rule_lines(save_of(rules)));
}

}  // namespace
}  // namespace norman::nfw

// normand refuses -m limit and -m hashlimit until the NIC enforces them:
// nfw commands, restores and nfw-restore --test (check()) alike, with the
// rule named, and the table on the NIC unchanged.
#include <gtest/gtest.h>

#include "filter_model_hw.hpp"
#include "filter_service.hpp"
#include "syntax.hpp"

namespace norman::normand {
namespace {

filter::Command cmd(const std::string& line) { return nfw::parse_command(nfw::split_line(line)); }

TEST(FilterServiceLimit, RefusedByCommandRestoreAndTestAlike) {
  ModelHw hw{4096};
  OwnerRegistry owners;
  FilterService svc{hw, owners, 2};
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 53 -j ACCEPT")));
  const filter::Ruleset before = svc.snapshot();
  for (const char* m :
       {"-m limit --limit 3/sec", "-m hashlimit --hashlimit-upto 5/min --hashlimit-name h"}) {
    const std::string rule = std::string("-A INPUT -p tcp ") + m + " -j ACCEPT";
    try {
      (void)svc.command(cmd(rule));
      ADD_FAILURE() << rule << " was accepted";
    } catch (const filter::CompileError& e) {
      EXPECT_NE(std::string(e.what()).find("is not enforced by the NIC yet (chain INPUT, rule 2)"),
                std::string::npos)
          << e.what();
    }
    filter::Ruleset rs = before;
    rs.find("INPUT")->rules.push_back(*cmd(rule).rule);
    rs.find("INPUT")->rules.back().id = 0;
    EXPECT_THROW(svc.check(rs), filter::CompileError) << rule;
    EXPECT_THROW(svc.replace(rs, std::nullopt, false), filter::CompileError) << rule;
    const filter::Ruleset after = svc.snapshot();
    ASSERT_EQ(after.find("INPUT")->rules.size(), 1u);
    EXPECT_TRUE(after.find("INPUT")->rules[0].same_spec(before.find("INPUT")->rules[0]));
  }
}

}  // namespace
}  // namespace norman::normand

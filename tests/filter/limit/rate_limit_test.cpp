// The model's arithmetic against values worked out by hand from
// net/netfilter/xt_limit.c and xt_hashlimit.c, and the reference
// classifier's use of it (match order, hotdrop, the compiler's refusal).
#include "rate_limit.hpp"

#include <gtest/gtest.h>

#include "compiler.hpp"
#include "evaluate.hpp"
#include "test_util.hpp"

namespace norman::filter {
namespace {

TEST(XtLimit, CreditsPerJiffyAndCosts) {
  EXPECT_EQ(xt_limit::credits_per_jiffy(100), 256u);
  EXPECT_EQ(xt_limit::credits_per_jiffy(250), 128u);
  EXPECT_EQ(xt_limit::credits_per_jiffy(300), 128u);
  EXPECT_EQ(xt_limit::credits_per_jiffy(1000), 32u);
  // 3/sec: avg 3333, cost 3333 * 32000 / 10000 = 10665 (rounded down).
  EXPECT_EQ(xt_limit::user2credits(3333, 250), 10665u);
  // Above 0xFFFFFFFF / 32000 the kernel divides first: 1/hour.
  EXPECT_EQ(xt_limit::user2credits(36'000'000, 250), 115'200'000u);
  // 1/hour burst 10000: avg * burst wraps in u32 and so does the product;
  // the kernel accepts it, with a cap of 2666737408 credits.
  const Limit l{36'000'000, 10000};
  EXPECT_FALSE(xt_limit::check(l, 250));
  EXPECT_EQ(LimitBucket(l, 250, 0).cap(), 2'666'737'408u);
  EXPECT_TRUE(xt_limit::check(Limit{864'000'000, 5}, 250));  // 1/day burst 5: ERANGE
  EXPECT_TRUE(xt_limit::check(Limit{2000, 0}, 250));
}

TEST(XtLimit, BucketRefillsPerJiffy) {
  // 5/sec burst 3 at HZ 250: cost 6400 = 50 jiffies of 128 credits.
  LimitBucket b(Limit{2000, 3}, 250, 1000);
  EXPECT_EQ(b.cost(), 6400u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.admit(1000));
  EXPECT_FALSE(b.admit(1000));
  EXPECT_FALSE(b.admit(1049));
  EXPECT_TRUE(b.admit(1050));
  EXPECT_FALSE(b.admit(1050));
  // Long idle: capped at the burst.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.admit(100000));
  EXPECT_FALSE(b.admit(100000));
  // 2^32 / 128 jiffies idle: the u32 credit increase wraps to 0.
  EXPECT_FALSE(b.admit(100000 + (std::uint64_t{1} << 25)));
}

TEST(XtHashlimit, Costs) {
  EXPECT_EQ(xt_hashlimit::credits_per_jiffy(250), std::uint64_t{1} << 39);
  EXPECT_EQ(xt_hashlimit::credits_per_jiffy(1000), std::uint64_t{1} << 37);
  EXPECT_EQ(xt_hashlimit::user2credits(1, 250), 137'438'953u);
  Hashlimit h;
  h.avg = 86'400'000'000;  // 1/day
  h.name = "x";
  h.expire = 1000;
  EXPECT_TRUE(xt_hashlimit::check(h, 250));  // u64 overflow: ERANGE, as Linux
  h.burst = 1;
  EXPECT_FALSE(xt_hashlimit::check(h, 250));
}

TEST(XtHashlimit, BucketsPerModeAndAbove) {
  Hashlimit h;
  h.avg = 100'000;  // 10/sec: 25 jiffies a token (just under)
  h.burst = 2;
  h.mode = Hashlimit::kSrcPort;
  h.expire = 1000;
  h.name = "t";
  HashlimitTable t(h, 250);
  HashlimitPacket a{0x0A000001, 0x0A000002, 17, 1000, 53, true};
  HashlimitPacket b = a;
  b.sport = 1001;
  b.src = 0x0A000009;  // srcip is not in the mode: only the port separates
  using R = HashlimitTable::Result;
  EXPECT_EQ(t.match(a, false, 0), R::kMatch);
  EXPECT_EQ(t.match(a, false, 0), R::kMatch);
  EXPECT_EQ(t.match(a, false, 0), R::kNoMatch);
  EXPECT_EQ(t.match(b, true, 0), R::kNoMatch);  // its own bucket, under the limit
  EXPECT_EQ(t.match(a, false, 24), R::kNoMatch);
  EXPECT_EQ(t.match(a, false, 25), R::kMatch);
  EXPECT_EQ(t.entries(), 2u);
  // Expired entries (1000 ms = 250 jiffies idle) start again full.
  EXPECT_EQ(t.match(a, false, 400), R::kMatch);
  EXPECT_EQ(t.entries(), 1u);
  // Unreadable ports with a port mode: hotdrop.
  a.ports_readable = false;
  EXPECT_EQ(t.match(a, false, 400), R::kHotdrop);
  // A full table drops new flows.
  h.max = 1;
  h.size = 1;
  HashlimitTable small(h, 250);
  EXPECT_EQ(small.match(b, false, 0), R::kMatch);
  EXPECT_EQ(small.match(HashlimitPacket{1, 2, 17, 7, 7, true}, false, 0), R::kHotdrop);
}

TEST(KernelClock, Jiffies) {
  KernelClock c{250, 1'000'000};
  EXPECT_EQ(c.jiffies(1'000'000), 0u);
  EXPECT_EQ(c.jiffies(4'999'999), 0u);
  EXPECT_EQ(c.jiffies(5'000'000), 1u);
  EXPECT_EQ(c.jiffies(1'001'000'000), 250u);
  EXPECT_EQ(c.ms_to_jiffies(1), 1u);
  EXPECT_EQ(c.ms_to_jiffies(1000), 250u);
}

struct NoOwners : OwnerIds {
  std::uint16_t cmd_id(std::string_view) override { return 0; }
  std::vector<std::uint16_t> cgroups_under(std::string_view) override { return {}; }
};

Ruleset rules(const std::string& text) {
  Ruleset rs;
  nfw::test::Ids ids;
  nfw::apply_restore(rs, nfw::parse_restore(text), false, true, ids.fn());
  return rs;
}

Key udp_key(std::uint16_t sport, std::uint16_t dport) {
  Key k;
  k[rf::FieldId::kSrcIp] = 0x0A000001;
  k[rf::FieldId::kDstIp] = 0x0A000002;
  k[rf::FieldId::kProto] = 17;
  k[rf::FieldId::kSport] = sport;
  k[rf::FieldId::kDport] = dport;
  k.flags = flag_bit(rf::Flag::kL4Valid);
  k.frame_bytes = 30;
  return k;
}

TEST(EvaluateLimit, TokenTakenOnlyWhenTheMatchesBeforeItHold) {
  // The first rule's limit comes before --dport: packets to any port take
  // its tokens. The second's comes after: only port 2's packets do.
  Ruleset rs = rules(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A INPUT -p udp -m limit --limit 1/hour --limit-burst 2 -m udp --dport 1 -j DROP\n"
      "-A INPUT -p udp -m udp --dport 2 -m limit --limit 1/hour --limit-burst 2 -j DROP\n"
      "COMMIT\n");
  NoOwners owners;
  LimiterState state(250);
  LimitContext ctx{0, KernelClock{250, 0}, &state};
  // Port 2 twice (takes rule 1's two tokens, rule 2's two), then port 1: no token left.
  for (int i = 0; i < 2; ++i) {
    const Verdict v = evaluate(rs, udp_key(9, 2), owners, &ctx);
    EXPECT_EQ(v.action, rf::Action::kDrop);
    count(rs, v, udp_key(9, 2));
  }
  const Verdict v = evaluate(rs, udp_key(9, 1), owners, &ctx);
  EXPECT_EQ(v.action, rf::Action::kAccept);
  EXPECT_EQ(rs.chains[0].rules[0].counters.packets, 0u);
  EXPECT_EQ(rs.chains[0].rules[1].counters.packets, 2u);
}

TEST(EvaluateLimit, HotdropDropsWithoutCounting) {
  Ruleset rs = rules(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A INPUT -j ACCEPT -m hashlimit --hashlimit-upto 1/sec --hashlimit-name h "
      "--hashlimit-mode srcport\n"
      "COMMIT\n");
  NoOwners owners;
  LimiterState state(250);
  LimitContext ctx{0, KernelClock{250, 0}, &state};
  Key k = udp_key(1, 2);
  k.flags = 0;  // a UDP packet too short for its ports
  const Verdict v = evaluate(rs, k, owners, &ctx);
  EXPECT_EQ(v.action, rf::Action::kDrop);
  EXPECT_TRUE(v.path.empty());
}

TEST(CompileLimit, RefusedUntilTheNicEnforcesIt) {
  for (const char* m : {"-m limit --limit 3/sec",
                        "-m hashlimit --hashlimit-upto 3/sec "
                        "--hashlimit-name a"}) {
    Ruleset rs = rules(std::string("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                                   ":OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp ") +
                       m + " -j ACCEPT\nCOMMIT\n");
    NoOwners owners;
    try {
      (void)compile(rs, owners);
      ADD_FAILURE() << m << " compiled";
    } catch (const CompileError& e) {
      EXPECT_NE(std::string(e.what()).find("is not enforced by the NIC yet (chain INPUT, rule 1)"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace norman::filter

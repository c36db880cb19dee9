// The quota ledger: per-uid and per-cgroup limits, pools with root's
// reserve, all-or-nothing charges released by their owners, the config.
#include "quota.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

#include "errors.hpp"

namespace norman::normand::quota {
namespace {

using R = Resource;
using nlohmann::json;

Config small() {
  Config c;  // everything unlimited, no reserve
  c.root_reserve.v.fill(0);
  c.per_uid[R::kConnections] = 3;
  c.per_uid[R::kDmaBytes] = 1000;
  c.pool[R::kChannels] = 4;
  c.root_reserve[R::kChannels] = 2;
  return c;
}

const Principal kAlice{1000, "/user.slice/a", false};
const Principal kBob{1001, "/user.slice/b", false};
const Principal kRoot{0, "/system.slice", true};

TEST(Quota, PerUidLimitIsEdquotNamingTheLimit) {
  Ledger l(small());
  std::vector<Charge> held;
  for (int i = 0; i < 3; ++i) held.push_back(l.charge(kAlice, {{R::kConnections, 1}}));
  auto [c, no] = l.try_charge(kAlice, {{R::kConnections, 1}});
  ASSERT_TRUE(no);
  EXPECT_EQ(no->err, EDQUOT);
  EXPECT_NE(no->message.find("uid 1000"), std::string::npos) << no->message;
  EXPECT_NE(no->message.find("connections = 3"), std::string::npos) << no->message;
  // Another user and root are not affected.
  EXPECT_NO_THROW(held.push_back(l.charge(kBob, {{R::kConnections, 1}})));
  for (int i = 0; i < 10; ++i)
    EXPECT_NO_THROW(held.push_back(l.charge(kRoot, {{R::kConnections, 1}})));
  EXPECT_EQ(l.used_by_uid(1000, R::kConnections), 3U);
}

TEST(Quota, ChargesAreAllOrNothingAndReleasedOnDestruction) {
  Ledger l(small());
  {
    Charge a = l.charge(kAlice, {{R::kConnections, 1}, {R::kDmaBytes, 600}});
    try {
      (void)l.charge(kAlice, {{R::kConnections, 1}, {R::kDmaBytes, 600}});
      FAIL() << "DMA over the limit must be refused";
    } catch (const CtlError& e) {
      EXPECT_EQ(e.err(), EDQUOT);
      EXPECT_NE(std::string(e.what()).find("dma_bytes = 1000"), std::string::npos) << e.what();
    }
    // Nothing of the refused charge stuck.
    EXPECT_EQ(l.used_by_uid(1000, R::kConnections), 1U);
    EXPECT_EQ(l.total(R::kDmaBytes), 600U);
    Charge moved = std::move(a);
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(l.total(R::kDmaBytes), 600U);
  }
  EXPECT_EQ(l.total(R::kDmaBytes), 0U);
  EXPECT_EQ(l.total(R::kConnections), 0U);
  EXPECT_EQ(l.used_by_uid(1000, R::kConnections), 0U);
}

TEST(Quota, RootReserveIsForRootOnly) {
  Ledger l(small());  // 4 channels, the last 2 for root
  Charge a = l.charge(kAlice, {{R::kChannels, 1}});
  Charge b = l.charge(kBob, {{R::kChannels, 1}});
  auto [c, no] = l.try_charge(kBob, {{R::kChannels, 1}});
  ASSERT_TRUE(no);
  EXPECT_EQ(no->err, ENOSPC);
  EXPECT_NE(no->message.find("reserved for root"), std::string::npos) << no->message;
  Charge r1 = l.charge(kRoot, {{R::kChannels, 1}});
  Charge r2 = l.charge(kRoot, {{R::kChannels, 1}});
  auto [d, full] = l.try_charge(kRoot, {{R::kChannels, 1}});
  ASSERT_TRUE(full);
  EXPECT_EQ(full->err, ENOSPC);
}

TEST(Quota, FdPoolRefusalIsEmfile) {
  Config cfg = small();
  cfg.pool[R::kFds] = 10;
  cfg.root_reserve[R::kFds] = 4;
  Ledger l(cfg);
  Charge a = l.charge(kAlice, {{R::kFds, 6}});
  auto [c, no] = l.try_charge(kBob, {{R::kFds, 1}});
  ASSERT_TRUE(no);
  EXPECT_EQ(no->err, EMFILE);
  EXPECT_NO_THROW((void)l.charge(kRoot, {{R::kFds, 4}}));
}

TEST(Quota, PerCgroupLimitCountsEveryUidInIt) {
  Config cfg = small();
  cfg.per_cgroup[R::kNqs] = 2;
  Ledger l(cfg);
  const Principal a{1000, "/app.slice/x", false};
  const Principal b{1001, "/app.slice/x", false};
  Charge c1 = l.charge(a, {{R::kNqs, 1}});
  Charge c2 = l.charge(b, {{R::kNqs, 1}});
  auto [c, no] = l.try_charge(a, {{R::kNqs, 1}});
  ASSERT_TRUE(no);
  EXPECT_EQ(no->err, EDQUOT);
  EXPECT_NE(no->message.find("cgroup /app.slice/x"), std::string::npos) << no->message;
  EXPECT_NO_THROW((void)l.charge(kAlice, {{R::kNqs, 1}}));  // another cgroup
}

TEST(Quota, ConfigOverridesAndRejectsUnknownKeys) {
  const json j = {{"per_uid", {{"connections", 8}, {"dma_bytes", 0}}},
                  {"uid", {{"1001", {{"connections", 100}}}}},
                  {"pool", {{"channels", 50}}},
                  {"root_reserve", {{"channels", 5}}}};
  const Config c = parse_config(j, Config::defaults());
  EXPECT_EQ(c.per_uid[R::kConnections], 8U);
  EXPECT_EQ(c.per_uid[R::kDmaBytes], kUnlimited);
  EXPECT_EQ(c.per_uid[R::kNqs], Config::defaults().per_uid[R::kNqs]);
  EXPECT_EQ(c.pool[R::kChannels], 50U);
  EXPECT_EQ(c.root_reserve[R::kChannels], 5U);
  Ledger l(c);
  EXPECT_EQ(l.limits_of(1001)[R::kConnections], 100U);
  EXPECT_EQ(l.limits_of(1001)[R::kNqs], c.per_uid[R::kNqs]);
  EXPECT_EQ(l.limits_of(1002)[R::kConnections], 8U);
  EXPECT_THROW(parse_config(json{{"per_uid", {{"sockets", 1}}}}, Config::defaults()),
               std::invalid_argument);
  EXPECT_THROW(parse_config(json{{"limits", json::object()}}, Config::defaults()),
               std::invalid_argument);
  EXPECT_THROW(parse_config(json{{"per_uid", {{"nqs", -1}}}}, Config::defaults()),
               std::invalid_argument);
  EXPECT_THROW(parse_config(json{{"uid", {{"bob", json::object()}}}}, Config::defaults()),
               std::invalid_argument);
}

TEST(Quota, StatusShowsOwnUsageOrEveryonesForRoot) {
  Ledger l(small());
  Charge a = l.charge(kAlice, {{R::kConnections, 2}});
  Charge b = l.charge(kBob, {{R::kConnections, 1}});
  const json mine = l.to_json(kAlice);
  ASSERT_EQ(mine["users"].size(), 1U);
  EXPECT_EQ(mine["users"][0]["uid"], 1000);
  EXPECT_EQ(mine["users"][0]["used"]["connections"], 2);
  EXPECT_EQ(mine["users"][0]["limits"]["connections"], 3);
  EXPECT_TRUE(mine["users"][0]["limits"]["nqs"].is_null());  // unlimited
  EXPECT_FALSE(mine.contains("cgroups"));
  const json all = l.to_json(kRoot);
  EXPECT_EQ(all["users"].size(), 2U);
  EXPECT_EQ(all["total"]["connections"], 3);
  EXPECT_EQ(all["cgroups"].size(), 2U);
}

TEST(Quota, DefaultsAreSane) {
  const Config c = Config::defaults();
  for (auto r : {R::kSessions, R::kChannels, R::kConnections, R::kListen, R::kNqs, R::kDmaBytes}) {
    EXPECT_NE(c.per_uid[r], kUnlimited) << name(r);
  }
  for (auto r : {R::kChannels, R::kConnections, R::kListen, R::kNqs}) {
    EXPECT_LT(c.root_reserve[r], c.pool[r]) << name(r);
    EXPECT_LE(c.per_uid[r], c.pool[r] - c.root_reserve[r]) << name(r);
  }
  EXPECT_LE(c.per_uid[R::kChannels], c.per_uid[R::kSessions]);
}

}  // namespace
}  // namespace norman::normand::quota

#include "owner_registry.hpp"

#include <gtest/gtest.h>

#include "conn_manager.hpp"

namespace norman::normand {
namespace {

TEST(OwnerRegistry, SameNameSameIdFromOne) {
  OwnerRegistry r;
  EXPECT_EQ(r.cmd_id("postgres"), 1);
  EXPECT_EQ(r.cmd_id("mysqld"), 2);
  EXPECT_EQ(r.cmd_id("postgres"), 1);
  EXPECT_EQ(r.cgroup_class("/system.slice/postgres.service"), 1);  // its own id space
  EXPECT_EQ(r.cgroup_class("/user.slice"), 2);
  EXPECT_EQ(r.cgroup_class("/system.slice/postgres.service"), 1);
  EXPECT_EQ(r.commands().find("mysqld"), 2);
  EXPECT_FALSE(r.commands().find("nginx").has_value());
  EXPECT_EQ(r.commands().name(2), "mysqld");
  EXPECT_FALSE(r.commands().name(0).has_value());
  EXPECT_FALSE(r.commands().name(3).has_value());
  const auto j = r.to_json();
  EXPECT_EQ(j["commands"]["postgres"], 1);
  EXPECT_EQ(j["cgroups"]["/user.slice"], 2);
}

TEST(OwnerRegistry, EmptyNameIsUnknown) {
  OwnerRegistry r;
  EXPECT_EQ(r.cmd_id(""), 0);
  EXPECT_EQ(r.commands().size(), 0U);
  EXPECT_EQ(r.cmd_id("x"), 1);
}

TEST(OwnerRegistry, ExhaustedIdsAreUnknownNotReused) {
  NameIds ids;
  for (std::size_t i = 1; i <= NameIds::kMaxIds; ++i) {
    ASSERT_EQ(ids.assign("c" + std::to_string(i)), i);
  }
  EXPECT_EQ(ids.assign("one-too-many"), NameIds::kUnknown);
  EXPECT_EQ(ids.assign("c1"), 1);
  EXPECT_EQ(ids.assign("c65535"), 65535);
}

TEST(IdAllocator, RoundRobinReusesLate) {
  IdAllocator a(1, 4);
  EXPECT_EQ(a.alloc(), 1U);
  EXPECT_EQ(a.alloc(), 2U);
  a.free(1);
  // 1 is free again, but 3 and 4 come first.
  EXPECT_EQ(a.alloc(), 3U);
  EXPECT_EQ(a.alloc(), 4U);
  EXPECT_EQ(a.alloc(), 1U);
  EXPECT_FALSE(a.alloc().has_value());  // 1..4 all used
  EXPECT_EQ(a.in_use(), 4U);
  a.free(3);
  a.free(3);  // double free: ignored
  a.free(0);  // out of range: ignored
  EXPECT_EQ(a.in_use(), 3U);
  EXPECT_EQ(a.alloc(), 3U);
  EXPECT_TRUE(a.used(2));
  EXPECT_FALSE(a.used(0));
}

}  // namespace
}  // namespace norman::normand

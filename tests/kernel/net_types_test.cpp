// Address parsing and formatting: the forms ip(8) prints are accepted and
// round-trip; anything ambiguous or out of range is refused.
#include "net_types.hpp"

#include <gtest/gtest.h>

namespace norman::normand {
namespace {

TEST(NetTypes, MacFormatsLowercaseWithColons) {
  EXPECT_EQ(to_string(Mac{0x02, 0, 0, 0, 0, 0x02}), "02:00:00:00:00:02");
  EXPECT_EQ(to_string(Mac{0xDE, 0xAD, 0xBE, 0xEF, 0x0A, 0xFF}), "de:ad:be:ef:0a:ff");
}

TEST(NetTypes, MacParsesAndRoundTrips) {
  EXPECT_EQ(parse_mac("02:00:00:00:00:02"), (Mac{0x02, 0, 0, 0, 0, 0x02}));
  EXPECT_EQ(parse_mac("DE:ad:Be:eF:0a:FF"), (Mac{0xDE, 0xAD, 0xBE, 0xEF, 0x0A, 0xFF}));
  const Mac m{0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC};
  EXPECT_EQ(parse_mac(to_string(m)), m);
}

TEST(NetTypes, MacRefusesMalformed) {
  for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:02:03", "02-00-00-00-00-02",
                          "2:0:0:0:0:2", "02:00:00:00:00:0g", "02:00:00:00:00:002",
                          " 02:00:00:00:00:02", "02:00:00:00:00:02 ", "02:00:00:00::002"}) {
    EXPECT_FALSE(parse_mac(bad).has_value()) << bad;
  }
}

TEST(NetTypes, Ipv4ParsesAndFormats) {
  EXPECT_EQ(parse_ipv4("10.11.0.2"), (Ipv4{10, 11, 0, 2}));
  EXPECT_EQ(parse_ipv4("0.0.0.0"), (Ipv4{0, 0, 0, 0}));
  EXPECT_EQ(parse_ipv4("255.255.255.255"), (Ipv4{255, 255, 255, 255}));
  EXPECT_EQ(to_string(Ipv4{10, 11, 0, 2}), "10.11.0.2");
  EXPECT_EQ(to_string(Ipv4{255, 0, 100, 9}), "255.0.100.9");
  const Ipv4 a{192, 168, 1, 254};
  EXPECT_EQ(parse_ipv4(to_string(a)), a);
}

TEST(NetTypes, Ipv4RefusesMalformed) {
  for (const char* bad : {"", "10.11.0", "10.11.0.2.3", "10.11.0.256", "10.11..2", ".10.11.0.2",
                          "10.11.0.2.", "10.11.0.-2", "10.11.0.+2", "10.011.0.2", "1000.1.1.1",
                          "10.11.0.2/24", "a.b.c.d", " 10.11.0.2", "10.11.0.2 "}) {
    EXPECT_FALSE(parse_ipv4(bad).has_value()) << bad;
  }
}

TEST(NetTypes, PrefixParses) {
  const auto p = parse_ipv4_prefix("10.11.0.2/24");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->first, (Ipv4{10, 11, 0, 2}));
  EXPECT_EQ(p->second, 24U);
  EXPECT_EQ(parse_ipv4_prefix("0.0.0.0/0")->second, 0U);
  EXPECT_EQ(parse_ipv4_prefix("10.0.0.1/32")->second, 32U);
}

TEST(NetTypes, PrefixRefusesMalformed) {
  for (const char* bad :
       {"10.11.0.2", "10.11.0.2/", "10.11.0.2/33", "10.11.0.2/024", "10.11.0.2/-1", "10.11.0.2/2x",
        "10.11.0/24", "/24", "10.11.0.2/24/1", "10.11.0.2/100"}) {
    EXPECT_FALSE(parse_ipv4_prefix(bad).has_value()) << bad;
  }
}

TEST(NetTypes, SameSubnet) {
  const Ipv4 a{10, 11, 0, 2};
  EXPECT_TRUE(same_subnet(a, Ipv4{10, 11, 0, 200}, 24));
  EXPECT_FALSE(same_subnet(a, Ipv4{10, 11, 1, 2}, 24));
  EXPECT_TRUE(same_subnet(a, Ipv4{10, 11, 1, 2}, 23));  // 10.11.0.0/23 holds 10.11.1.x
  EXPECT_FALSE(same_subnet(a, Ipv4{10, 11, 2, 2}, 23));
  EXPECT_TRUE(same_subnet(a, Ipv4{10, 11, 0, 3}, 31));  // a /31 pairs .2 and .3
  EXPECT_FALSE(same_subnet(a, Ipv4{10, 11, 0, 1}, 31));
  EXPECT_TRUE(same_subnet(a, Ipv4{10, 11, 0, 2}, 32));
  EXPECT_FALSE(same_subnet(a, Ipv4{10, 11, 0, 3}, 32));
  EXPECT_TRUE(same_subnet(a, Ipv4{192, 168, 0, 1}, 0));
  EXPECT_TRUE(same_subnet(a, Ipv4{10, 127, 255, 255}, 9));
  EXPECT_FALSE(same_subnet(a, Ipv4{10, 128, 0, 0}, 9));
}

}  // namespace
}  // namespace norman::normand

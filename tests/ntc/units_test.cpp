// tc's units, with the values iproute2's tc reads and prints for the same text.
#include <gtest/gtest.h>

#include "tc_units.hpp"

namespace norman::ntc {
namespace {

TEST(TcUnits, RatesAreReadAsTcReadsThem) {
  EXPECT_EQ(parse_rate("10gbit"), 1250000000u);
  EXPECT_EQ(parse_rate("10Gbit"), 1250000000u);
  EXPECT_EQ(parse_rate("1.5mbit"), 187500u);
  EXPECT_EQ(parse_rate("12345bit"), 1543u);   // bytes, truncated: tc shows 12344bit
  EXPECT_EQ(parse_rate("8000"), 1000u);       // a bare number is bits per second
  EXPECT_EQ(parse_rate("100kbps"), 100000u);  // kbps is kilobytes
  EXPECT_EQ(parse_rate("1KiBps"), 1024u);
  EXPECT_EQ(parse_rate("1kibit"), 128u);
  EXPECT_EQ(parse_rate("2tbit"), 250000000000u);
  EXPECT_FALSE(parse_rate("1gbitt"));
  EXPECT_FALSE(parse_rate("gbit"));
  EXPECT_FALSE(parse_rate(""));
  EXPECT_FALSE(parse_rate("-1mbit"));
}

TEST(TcUnits, RatesArePrintedAsTcPrintsThem) {
  EXPECT_EQ(format_rate(1250000000u), "10Gbit");
  EXPECT_EQ(format_rate(187500u), "1500Kbit");
  EXPECT_EQ(format_rate(1543u), "12344bit");
  EXPECT_EQ(format_rate(8u), "64bit");
  EXPECT_EQ(format_rate(125000u), "1Mbit");
  // tc truncates while the number still has seven or more digits.
  EXPECT_EQ(format_rate(154320875u), "1234Mbit");
  EXPECT_EQ(format_rate(12500000000000u), "100Tbit");
}

TEST(TcUnits, SizesAreReadAsTcReadsThem) {
  EXPECT_EQ(parse_size("15k"), 15360u);
  EXPECT_EQ(parse_size("15kb"), 15360u);
  EXPECT_EQ(parse_size("1m"), 1048576u);
  EXPECT_EQ(parse_size("1600"), 1600u);
  EXPECT_EQ(parse_size("1600b"), 1600u);
  EXPECT_EQ(parse_size("10kbit"), 1280u);
  EXPECT_EQ(parse_size("1mbit"), 131072u);
  EXPECT_FALSE(parse_size("10q"));
  // tc wraps 3g to 0 bytes; ntc refuses it.
  EXPECT_FALSE(parse_size("5g"));
}

TEST(TcUnits, SizesArePrintedAsTcPrintsThem) {
  EXPECT_EQ(format_size(1599), "1599b");
  EXPECT_EQ(format_size(16384), "16Kb");
  EXPECT_EQ(format_size(1048576), "1Mb");
  EXPECT_EQ(format_size(1000), "1000b");
  EXPECT_EQ(format_size(1030), "1Kb");  // within 16 bytes of a KiB, as tc
  EXPECT_EQ(format_size(1040), "1040b");
  EXPECT_EQ(format_size(102400), "100Kb");
}

TEST(TcUnits, HandlesAreHexadecimal) {
  EXPECT_EQ(parse_handle("1:10"), (Handle{1, 0x10}));
  EXPECT_EQ(parse_handle("1:"), (Handle{1, 0}));
  EXPECT_EQ(parse_handle("ffff:"), (Handle{0xffff, 0}));
  EXPECT_FALSE(parse_handle("1:10000"));
  EXPECT_FALSE(parse_handle("10"));
  EXPECT_FALSE(parse_handle("1:g"));
  EXPECT_EQ(format_handle(Handle{1, 0x10}), "1:10");
  EXPECT_EQ(format_handle(Handle{0xa, 0}), "a:");
}

}  // namespace
}  // namespace norman::ntc

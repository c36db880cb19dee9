// --device: the spec normand takes on its command line.
#include "device_spec.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace norman::device {
namespace {

std::string error_of(const std::string& spec) {
  try {
    parse_device_spec(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceSpec, NsimIsTheDefaultKind) {
  EXPECT_EQ(parse_device_spec("nsim").kind, DeviceSpec::Kind::kNsim);
  EXPECT_EQ(DeviceSpec{}.kind, DeviceSpec::Kind::kNsim);
}

TEST(DeviceSpec, FullPciAddress) {
  const auto d = parse_device_spec("pci:0000:03:00.0");
  ASSERT_EQ(d.kind, DeviceSpec::Kind::kPci);
  EXPECT_EQ(d.pci, (PciAddress{0, 3, 0, 0}));
  EXPECT_EQ(d.pci.str(), "0000:03:00.0");
}

TEST(DeviceSpec, HexDigitsAnyCaseAndPrintedAsSysfsNamesThem) {
  const auto d = parse_device_spec("pci:10DE:Af:1F.7");
  EXPECT_EQ(d.pci, (PciAddress{0x10de, 0xaf, 0x1f, 7}));
  EXPECT_EQ(d.pci.str(), "10de:af:1f.7");
}

TEST(DeviceSpec, DomainDefaultsToZero) {
  EXPECT_EQ(parse_device_spec("pci:03:00.1").pci.str(), "0000:03:00.1");
}

TEST(DeviceSpec, RefusesOutOfRangeFields) {
  EXPECT_NE(error_of("pci:0000:03:20.0").find("device \"20\" is above its maximum 1f"),
            std::string::npos);
  EXPECT_NE(error_of("pci:0000:03:00.8").find("function \"8\" is above its maximum 7"),
            std::string::npos);
  EXPECT_NE(error_of("pci:0000:100:00.0").find("bus must be 1 to 2 hex digits"), std::string::npos);
  EXPECT_NE(error_of("pci:10000:03:00.0").find("domain must be 1 to 4 hex digits"),
            std::string::npos);
}

TEST(DeviceSpec, RefusesMalformedSpecsWithAnExample) {
  for (const char* bad :
       {"", "pci", "pci:", "pci:0000:03:00", "pci:0000:03.0", "pci:0:0:0:0.0", "pci:00:0g.0",
        "pci:00:00.", "pci:00:00.00", "pci:0000:03:00.0 ", "pci:-1:00.0", "nsim:/tmp/x",
        "PCI:0000:03:00.0", "vfio:0000:03:00.0", "0000:03:00.0"}) {
    const std::string e = error_of(bad);
    EXPECT_NE(e, "") << bad;
    EXPECT_NE(e.find("e.g. pci:0000:03:00.0"), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace norman::device

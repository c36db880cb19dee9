// The vfio-pci attach sequence against a fake sysfs and a fake /dev/vfio:
// every way a machine can be unready fails with an error that names the
// device, what is wrong and how to fix it; and against this machine's real
// sysfs and /dev/vfio, an absent device fails the same way.
#include "vfio_attach.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "fake_vfio.hpp"

namespace norman::device {
namespace {

using testing::FakeTree;
using testing::FakeVfio;

constexpr PciAddress kNic{0, 3, 0, 0};
constexpr std::uint64_t kMinBar = 1ULL << 20;

class VfioAttach : public ::testing::Test {
 protected:
  std::string error() {
    try {
      vfio_attach(kNic, kMinBar, tree.paths(), sys);
    } catch (const VfioError& e) {
      return e.what();
    }
    return "(attached)";
  }
  // A machine where everything is right.
  void ready() {
    tree.add_device("0000:03:00.0", "vfio-pci", 7);
    tree.load_vfio();
  }
  FakeTree tree;
  FakeVfio sys;
};

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST_F(VfioAttach, AttachesAReadyDevice) {
  ready();
  const auto a = vfio_attach(kNic, kMinBar, tree.paths(), sys);
  EXPECT_EQ(a.group, 7U);
  EXPECT_TRUE(a.container && a.group_fd && a.device);
  EXPECT_EQ(a.bar0.size, sys.bar0_size);
  EXPECT_EQ(a.msix_vectors, 64U);
}

TEST_F(VfioAttach, NoSuchDevice) {
  tree.load_vfio();
  const auto e = error();
  EXPECT_HAS(e, "PCI device 0000:03:00.0: no such device");
  EXPECT_HAS(e, "lspci -D");
}

TEST_F(VfioAttach, DeviceBoundToNoDriver) {
  tree.add_device("0000:03:00.0", "", 7);
  tree.load_vfio();
  const auto e = error();
  EXPECT_HAS(e, "bound to no driver");
  EXPECT_HAS(e, "echo vfio-pci > /sys/bus/pci/devices/0000:03:00.0/driver_override");
}

TEST_F(VfioAttach, DeviceBoundToAnotherDriver) {
  tree.add_device("0000:03:00.0", "ixgbe", 7);
  tree.load_vfio();
  const auto e = error();
  EXPECT_HAS(e, "bound to ixgbe, not vfio-pci");
  EXPECT_HAS(e, "drivers_probe");
}

TEST_F(VfioAttach, NoIommuGroup) {
  tree.add_device("0000:03:00.0", "vfio-pci", -1);
  tree.load_vfio();
  EXPECT_HAS(error(), "no IOMMU group: the IOMMU is off (boot with intel_iommu=on");
}

TEST_F(VfioAttach, VfioNotLoaded) {
  tree.add_device("0000:03:00.0", "vfio-pci", 7);
  EXPECT_HAS(error(), "/dev/vfio/vfio does not exist: vfio is not loaded (modprobe vfio-pci)");
}

TEST_F(VfioAttach, WrongApiVersion) {
  ready();
  sys.api_version = 99;
  EXPECT_HAS(error(), "speaks VFIO API 99");
}

TEST_F(VfioAttach, NoType1v2) {
  ready();
  sys.type1v2 = false;
  EXPECT_HAS(error(), "no type1v2 IOMMU backend");
}

TEST_F(VfioAttach, GroupNodeMissing) {
  ready();
  std::filesystem::remove(tree.dev_vfio() + "/7");
  EXPECT_HAS(error(), "/dev/vfio/7 does not exist although sysfs puts the device in IOMMU group 7");
}

TEST_F(VfioAttach, GroupInUseByAnotherProcess) {
  ready();
  sys.busy.insert(tree.dev_vfio() + "/7");
  EXPECT_HAS(error(), "IOMMU group 7 is in use by another process (another normand");
}

TEST_F(VfioAttach, GroupNotViableNamesTheOffendingDevice) {
  ready();
  tree.add_device("0000:03:00.1", "ixgbe", 7);
  sys.viable = false;
  const auto e = error();
  EXPECT_HAS(e, "IOMMU group 7 is not viable");
  EXPECT_HAS(e, "0000:03:00.1 (ixgbe)");
  EXPECT_HAS(e, "0000:03:00.0 (vfio-pci)");
}

TEST_F(VfioAttach, WrongGroup) {
  ready();
  sys.device_in_group = "0000:04:00.0";  // the group node hands out another device
  EXPECT_HAS(error(), "IOMMU group 7 would not give out the device");
}

TEST_F(VfioAttach, Bar0TooSmallForTheRegisterMap) {
  ready();
  sys.bar0_size = kMinBar / 2;
  EXPECT_HAS(error(), "BAR 0 has 524288 bytes, the register map needs 1048576");
}

TEST_F(VfioAttach, NoMsix) {
  ready();
  sys.msix = 0;
  EXPECT_HAS(error(), "no MSI-X vectors");
}

// This machine, as it is: no card here, and likely no vfio either. The
// device 0000:ff:1f.7 stands for one that is not there.
TEST(VfioAttachReal, AbsentDeviceOnThisMachine) {
  const PciAddress absent{0, 0xff, 0x1f, 7};
  if (std::filesystem::exists("/sys/bus/pci/devices/" + absent.str())) {
    GTEST_SKIP() << absent.str() << " exists here";
  }
  try {
    vfio_attach(absent, kMinBar);
    FAIL() << "attached to a device that is not there";
  } catch (const VfioError& e) {
    EXPECT_HAS(e.what(), "PCI device 0000:ff:1f.7: no such device");
  }
}

// A device this machine has, not bound to vfio-pci: refused with the fix.
TEST(VfioAttachReal, DeviceNotBoundToVfioOnThisMachine) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/bus/pci/devices", ec)) {
    const fs::path drv = fs::read_symlink(e.path() / "driver", ec);
    if (!ec && drv.filename() == "vfio-pci") continue;
    const std::string bdf = e.path().filename().string();
    PciAddress a;
    try {
      a = parse_device_spec("pci:" + bdf).pci;
    } catch (const std::invalid_argument&) {
      continue;
    }
    try {
      vfio_attach(a, kMinBar);
      FAIL() << "attached to " << bdf << ", which is not bound to vfio-pci";
    } catch (const VfioError& err) {
      EXPECT_HAS(err.what(), "PCI device " + bdf + ": bound to ");
      EXPECT_HAS(err.what(), "vfio-pci");
    }
    return;
  }
  GTEST_SKIP() << "no PCI device here that is not bound to vfio-pci";
}

}  // namespace
}  // namespace norman::device

// Attacks on the PCIe backend's doorbells (docs/pcie.md) by an unprivileged
// client (uid 60001, and root of a fresh user namespace) that holds what
// normand hands out: its doorbell channel fd. The card and kernel are the
// fake ones of tests/device (no card here), the backend and its relay are
// real. The client tries to resize or re-seal the channel memfd (also
// through /proc/self/fd), to write registers and another client's doorbell
// page, misaligned and out-of-range addresses, and to corrupt the ring;
// afterwards the registers and the other client's page are untouched, the
// corrupted channel is closed, the other client's doorbells still flow and
// the device still answers. Root only (to drop to uid 60001): exits 77
// (skipped) otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "fake_vfio.hpp"
#include "nsim_client.hpp"
#include "pci_device.hpp"
#include "run_as.hpp"

namespace norman::device {
namespace {

namespace rm = norman::regmap;
namespace proto = norman::nsim::proto;
using nlohmann::json;
using testing::FakeTree;
using testing::FakeVfio;

constexpr unsigned kNobody = 60001;
constexpr std::uint64_t kMine = rm::kConnDbBase + 5 * rm::kPageBytes;
constexpr std::uint64_t kTheirs = rm::kConnDbBase + 6 * rm::kPageBytes;

// What the hostile client does with its channel fd.
json attack(int fd) {
  json r;
  r["uid"] = ::getuid();
  r["truncate_errno"] = ::ftruncate(fd, 0) == 0 ? 0 : errno;
  r["grow_errno"] = ::ftruncate(fd, 1 << 30) == 0 ? 0 : errno;
  r["unseal_errno"] = ::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 ? 0 : errno;
  // The same memfd opened again by path: the seals are the file's.
  const int again = ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDWR | O_CLOEXEC);
  r["reopen_truncate_errno"] = again < 0 ? -1 : (::ftruncate(again, 0) == 0 ? 0 : errno);
  if (again >= 0) ::close(again);

  auto ch = norman::nsim::MmioChannel::attach(fd);
  ch.set_timeout(std::chrono::milliseconds(5000));
  ch.write64(kMine, 0x600d);                   // allowed
  ch.write64(kTheirs, 0xbad1);                 // another client's page
  ch.write64(rm::kRegCtrlEnable, 0);           // a register
  ch.write64(rm::kRegCmdOp, 0xbad2);           // the command interface
  ch.write64(kMine + 4, 0xbad3);               // misaligned inside the own page
  ch.write64(std::uint64_t{1} << 40, 0xbad4);  // beyond BAR 0
  r["read_register"] = ch.read64(rm::kRegIdMagic) == ~std::uint64_t{0};
  r["read_status"] = static_cast<int>(ch.last_status());
  r["read_mine"] = ch.read64(kMine);
  r["refused_writes"] = ch.refused_writes();

  // Break the ring: a head far beyond what the ring holds.
  auto* shm = static_cast<proto::MmioChannelShm*>(
      ::mmap(nullptr, proto::kChannelShmBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (shm == MAP_FAILED) {
    r["mmap_errno"] = errno;
    return r;
  }
  shm->req_head.store(shm->req_tail.load() + 1000000, std::memory_order_release);
  bool closed = false;
  for (int i = 0; i < 500 && !closed; ++i) {
    closed = shm->closed.load(std::memory_order_acquire) != 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r["closed_after_corruption"] = closed;
  ::munmap(shm, proto::kChannelShmBytes);
  return r;
}

class PcieDoorbellAttack : public ::testing::TestWithParam<bool> {};

TEST_P(PcieDoorbellAttack, ClientCannotReachBeyondItsOwnPage) {
  FakeTree tree;
  tree.add_device("0000:03:00.0", "vfio-pci", 7);
  tree.load_vfio();
  FakeVfio sys;
  PciDevice dev({0, 3, 0, 0}, tree.paths(), sys);
  auto hostile = dev.open_doorbells();
  auto victim = dev.open_doorbells();
  dev.grant_doorbells(hostile.id, std::span<const std::uint64_t>(&kMine, 1));
  dev.grant_doorbells(victim.id, std::span<const std::uint64_t>(&kTheirs, 1));
  dev.nic().io().write64(rm::kRegCtrlEnable, 3);
  const int fd = hostile.fd.get();

  norman::test_util::RunOptions o;
  o.user_namespace = GetParam();
  const json r = norman::test_util::run_as(
      kNobody, [fd] { return attack(fd); }, o);
  if (r.value("no_userns", false)) GTEST_SKIP() << r.dump();
  ASSERT_FALSE(r.contains("error")) << r.dump();
  ASSERT_FALSE(r.contains("timeout")) << r.dump();
  EXPECT_EQ(r["truncate_errno"], EPERM) << r.dump();
  EXPECT_EQ(r["grow_errno"], EPERM) << r.dump();
  EXPECT_EQ(r["unseal_errno"], EPERM) << r.dump();
  EXPECT_EQ(r["reopen_truncate_errno"], EPERM) << r.dump();
  EXPECT_TRUE(r["read_register"].get<bool>()) << r.dump();
  EXPECT_EQ(r["read_status"], static_cast<int>(proto::MmioStatus::kRefused));
  EXPECT_EQ(r["read_mine"], 0x600d);
  EXPECT_EQ(r["refused_writes"], 5);
  EXPECT_TRUE(r["closed_after_corruption"].get<bool>()) << r.dump();

  // Nothing reached the card but the client's own page.
  EXPECT_EQ(sys.bar64(kMine), 0x600dU);
  EXPECT_EQ(sys.bar64(kMine + 8), 0U);
  EXPECT_EQ(sys.bar64(kTheirs), 0U);
  EXPECT_EQ(sys.bar64(rm::kRegCtrlEnable), 3U);
  EXPECT_EQ(sys.bar64(rm::kRegCmdOp), 0U);
  // The other client's doorbells still flow; the device still answers.
  auto ch = norman::nsim::MmioChannel::attach(victim.fd.get());
  ch.write64(kTheirs, 0x7777);
  EXPECT_EQ(ch.read64(kTheirs), 0x7777U);
  EXPECT_EQ(dev.nic().io().read64(rm::kRegIdMagic), rm::kMagic);
}

INSTANTIATE_TEST_SUITE_P(AsUser, PcieDoorbellAttack, ::testing::Values(false, true),
                         [](const auto& i) { return i.param ? "InUserNamespace" : "Uid60001"; });

// The backend opens every VFIO file close-on-exec: nothing normand starts
// inherits the container, group or device.
TEST(PcieFds, VfioFilesAreOpenedCloseOnExec) {
  FakeTree tree;
  tree.add_device("0000:03:00.0", "vfio-pci", 7);
  tree.load_vfio();
  FakeVfio sys;
  PciDevice dev({0, 3, 0, 0}, tree.paths(), sys);
  EXPECT_EQ(sys.opens, 2U);
  EXPECT_EQ(sys.opens_without_cloexec, 0U);
}

}  // namespace
}  // namespace norman::device

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::cerr << "pcie_doorbell: needs root (to drop to uid 60001); skipped\n";
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

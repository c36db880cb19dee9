// The PCIe backend (PciDevice) against a fake kernel and a fake card
// (fake_vfio.hpp): the identity check, the function reset and bus
// mastering, DMA buffers mapped into the IOMMU at allocated IOVAs, MSI-X
// vectors bound to eventfds, and application doorbells relayed to BAR 0
// with the one-page-per-client check. What only a card can show (real
// DMA, real interrupts, timing) is listed in docs/pcie.md.
#include "pci_device.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <sys/eventfd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "fake_vfio.hpp"
#include "nsim_client.hpp"

namespace norman::device {
namespace {

namespace rm = norman::regmap;
using testing::FakeTree;
using testing::FakeVfio;

constexpr PciAddress kNic{0, 3, 0, 0};

class PciDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.add_device("0000:03:00.0", "vfio-pci", 7);
    tree.load_vfio();
  }
  std::unique_ptr<PciDevice> open() { return std::make_unique<PciDevice>(kNic, tree.paths(), sys); }

  // Waits (up to 5 s) for the relay to perform a write.
  bool wait_bar(std::uint64_t off, std::uint64_t want) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      if (sys.bar64(off) == want) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return false;
  }

  FakeTree tree;
  FakeVfio sys;
};

TEST_F(PciDeviceTest, AttachResetsEnablesBusMasteringAndChecksIdentity) {
  auto dev = open();
  EXPECT_EQ(sys.resets, 1U);
  std::uint16_t cmd = 0;
  std::memcpy(&cmd, sys.config.data() + PCI_COMMAND, sizeof cmd);
  EXPECT_EQ(cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER),
            PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  EXPECT_EQ(dev->num_ports(), 2U);
  EXPECT_EQ(dev->doorbell_transport(), "nsim-mmio");
  EXPECT_NE(dev->describe().find("PCIe 0000:03:00.0 through vfio-pci (IOMMU group 7"),
            std::string::npos)
      << dev->describe();
  // Registers go to the BAR.
  dev->nic().io().write64(rm::kRegCtrlScratch, 0xfeedULL);
  EXPECT_EQ(sys.bar64(rm::kRegCtrlScratch), 0xfeedULL);
  EXPECT_EQ(dev->nic().io().read64(rm::kRegIdMagic), rm::kMagic);
  // Outside the BAR, or misaligned: refused, not performed.
  EXPECT_THROW(dev->nic().io().read64(0xfffffff8U), std::out_of_range);
  EXPECT_THROW(dev->nic().io().write64(rm::kRegCtrlScratch + 4, 1), std::out_of_range);
  dev.reset();
  EXPECT_EQ(sys.bar64(rm::kRegCtrlEnable), 0U);  // stopped before the mappings go
  EXPECT_EQ(sys.bar_unmaps, 1U);
}

TEST_F(PciDeviceTest, IdentityMismatchRefusesTheCard) {
  sys.identity_ok = false;
  try {
    open();
    FAIL() << "attached to a card with the wrong MAGIC";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("PCI device 0000:03:00.0: NIC identity mismatch"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sys.bar_unmaps, 1U);
}

TEST_F(PciDeviceTest, DmaBuffersAreSealedMemfdsMappedAtFreshIovas) {
  auto dev = open();
  auto a = dev->alloc_dma(8192, "rx");
  auto b = dev->alloc_dma(4096, "tx");
  ASSERT_EQ(sys.mappings.size(), 2U);
  const auto& ma = sys.mappings.at(a.iova);
  EXPECT_EQ(ma.vaddr, reinterpret_cast<std::uintptr_t>(a.data));
  EXPECT_EQ(ma.size, 8192U);
  EXPECT_GE(a.iova, 1ULL << 32);
  EXPECT_TRUE(b.iova >= a.iova + a.size || b.iova + b.size <= a.iova);
  EXPECT_EQ(dev->dma_bytes(), 12288U);
  // What an application gets: a memfd that cannot shrink under the pins.
  const int seals = ::fcntl(a.fd.get(), F_GET_SEALS);
  ASSERT_GE(seals, 0);
  EXPECT_NE(seals & F_SEAL_SHRINK, 0);
  EXPECT_NE(::fcntl(a.fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(a.data[0], 0U);
  const auto freed = a.iova;
  dev->free_dma(a);
  EXPECT_EQ(sys.mappings.count(freed), 0U);
  EXPECT_EQ(dev->dma_bytes(), 4096U);
  auto c = dev->alloc_dma(8192, "again");
  EXPECT_EQ(c.iova, freed);  // reused once unmapped
  EXPECT_THROW(dev->alloc_dma(100, "odd"), std::system_error);
}

TEST_F(PciDeviceTest, FailedIommuMapLeaksNoIova) {
  auto dev = open();
  sys.map_dma_errno = ENOMEM;
  try {
    dev->alloc_dma(4096, "x");
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOMEM);
    EXPECT_NE(std::string(e.what()).find("VFIO_IOMMU_MAP_DMA"), std::string::npos);
  }
  EXPECT_EQ(dev->dma_bytes(), 0U);
  sys.map_dma_errno = 0;
  EXPECT_EQ(dev->alloc_dma(4096, "x").iova, 1ULL << 32);
}

TEST_F(PciDeviceTest, IovasAvoidWhatTheIommuCannotTranslate) {
  // Usable: up to 4 GiB + 8 KiB, then from 4 GiB + 1 MiB.
  sys.iova_ranges = {{0, (1ULL << 32) + 8192 - 1}, {(1ULL << 32) + (1ULL << 20), (1ULL << 48) - 1}};
  auto dev = open();
  EXPECT_EQ(dev->alloc_dma(8192, "a").iova, 1ULL << 32);
  EXPECT_EQ(dev->alloc_dma(8192, "b").iova, (1ULL << 32) + (1ULL << 20));
}

TEST_F(PciDeviceTest, MsixVectorsSignalEventfds) {
  auto dev = open();
  auto msix = [&] { return sys.irq_sets_of(VFIO_PCI_MSIX_IRQ_INDEX); };
  const norman::nsim::UniqueFd e3(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  const norman::nsim::UniqueFd e5(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  dev->bind_irq(3, e3.get());
  ASSERT_EQ(msix().size(), 1U);
  const auto first = msix();
  // The first binding enables every vector at once (fixed count before
  // Linux 6.5), only vector 3 with an eventfd: the device's own duplicate.
  EXPECT_EQ(first[0].start, 0U);
  EXPECT_EQ(first[0].count, 64U);
  EXPECT_EQ(first[0].flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
  for (std::uint32_t v = 0; v < 64; ++v) {
    if (v == 3) {
      EXPECT_GE(first[0].fds[v], 0);
      EXPECT_NE(first[0].fds[v], e3.get());
    } else {
      EXPECT_EQ(first[0].fds[v], -1);
    }
  }
  dev->bind_irq(5, e5.get());
  ASSERT_EQ(msix().size(), 2U);
  EXPECT_EQ(msix()[1].start, 5U);
  EXPECT_EQ(msix()[1].count, 1U);
  dev->unbind_irq(3);
  ASSERT_EQ(msix().size(), 3U);
  EXPECT_EQ(msix()[2].start, 3U);
  EXPECT_EQ(msix()[2].fds, std::vector<std::int32_t>{-1});
  EXPECT_THROW(dev->bind_irq(64, e3.get()), std::system_error);
  dev.reset();
  // Closing disables MSI-X.
  EXPECT_EQ(msix().back().flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
  EXPECT_EQ(msix().back().count, 0U);
}

TEST_F(PciDeviceTest, LossFdSignalledByTheRequestAndErrorInterrupts) {
  auto dev = open();
  const int fd = dev->loss_fd();
  ASSERT_GE(fd, 0);
  for (const std::uint32_t index : {VFIO_PCI_REQ_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX}) {
    const auto sets = sys.irq_sets_of(index);
    ASSERT_EQ(sets.size(), 1U) << index;
    EXPECT_EQ(sets[0].flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
    EXPECT_EQ(sets[0].fds, std::vector<std::int32_t>{fd});
  }
  // Not readable until the kernel signals it (as the request interrupt does
  // on unbind).
  std::uint64_t v = 0;
  EXPECT_EQ(::read(fd, &v, sizeof v), -1);
  EXPECT_EQ(errno, EAGAIN);
  v = 1;
  ASSERT_EQ(::write(fd, &v, sizeof v), static_cast<ssize_t>(sizeof v));
  EXPECT_EQ(::read(fd, &v, sizeof v), static_cast<ssize_t>(sizeof v));
  dev.reset();
  // Unbound at close, so the kernel's unbind can proceed.
  for (const std::uint32_t index : {VFIO_PCI_REQ_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX}) {
    const auto sets = sys.irq_sets_of(index);
    ASSERT_EQ(sets.size(), 2U);
    EXPECT_EQ(sets[1].flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
  }
}

TEST_F(PciDeviceTest, NoLossInterruptsOfferedIsNoError) {
  sys.loss_irqs = false;
  auto dev = open();
  EXPECT_TRUE(sys.irq_sets_of(VFIO_PCI_REQ_IRQ_INDEX).empty());
  EXPECT_GE(dev->loss_fd(), 0);  // never signalled
}

TEST_F(PciDeviceTest, DoorbellsAreRelayedForGrantedPagesOnly) {
  auto dev = open();
  auto grant = dev->open_doorbells();
  auto other = dev->open_doorbells();
  ASSERT_TRUE(grant.fd);
  // The application's fd: a memfd sealed at its size (not the device fd).
  const int seals = ::fcntl(grant.fd.get(), F_GET_SEALS);
  ASSERT_GE(seals, 0);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);

  const std::uint64_t mine = rm::kConnDbBase + 5 * rm::kPageBytes;
  const std::uint64_t theirs = rm::kConnDbBase + 6 * rm::kPageBytes;
  dev->grant_doorbells(grant.id, std::span<const std::uint64_t>(&mine, 1));
  dev->grant_doorbells(other.id, std::span<const std::uint64_t>(&theirs, 1));
  // Only doorbell pages can be granted, never registers.
  const std::uint64_t regs = 0;
  EXPECT_THROW(dev->grant_doorbells(grant.id, std::span<const std::uint64_t>(&regs, 1)),
               std::system_error);

  auto ch = norman::nsim::MmioChannel::attach(grant.fd.get());
  ch.write64(mine + 8, 0x1111);
  EXPECT_TRUE(wait_bar(mine + 8, 0x1111));
  EXPECT_EQ(ch.read64(mine + 8), 0x1111U);
  // Another client's page and the registers: refused, counted, not done.
  ch.write64(theirs, 0x2222);
  ch.write64(rm::kRegCtrlEnable, 0x3);
  EXPECT_EQ(ch.read64(rm::kRegIdMagic), ~std::uint64_t{0});
  EXPECT_EQ(ch.last_status(), norman::nsim::proto::MmioStatus::kRefused);
  EXPECT_EQ(ch.refused_writes(), 2U);
  EXPECT_EQ(sys.bar64(theirs), 0U);
  EXPECT_NE(sys.bar64(rm::kRegCtrlEnable), 0x3U);
  // Revoked: refused from then on.
  dev->revoke_doorbells(grant.id, std::span<const std::uint64_t>(&mine, 1));
  ch.write64(mine + 8, 0x4444);
  EXPECT_EQ(ch.read64(mine + 8), ~std::uint64_t{0});
  EXPECT_EQ(sys.bar64(mine + 8), 0x1111U);
  dev->close_doorbells(grant.id);
  EXPECT_TRUE(ch.closed());
  dev->close_doorbells(other.id);
}

}  // namespace
}  // namespace norman::device

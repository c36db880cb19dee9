// The nsim backend of the Device interface: the NIC is nsim's Verilator
// model, reached through its control socket.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "device.hpp"
#include "nsim_client.hpp"

namespace norman::device {

class NsimDevice final : public Device {
 public:
  // Connects to nsim, checks the NIC's identity (MAGIC, BUILD_ID).
  explicit NsimDevice(const std::string& socket_path);
  ~NsimDevice() override;

  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::string doorbell_transport() const override { return "nsim-mmio"; }
  [[nodiscard]] unsigned num_ports() const override;
  NicDevice& nic() override { return nic_; }

  DmaBuffer alloc_dma(std::size_t bytes, const std::string& name) override;
  void free_dma(DmaBuffer& buf) override;
  [[nodiscard]] std::uint64_t dma_bytes() const override { return dma_bytes_; }

  DoorbellGrant open_doorbells() override;
  void grant_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) override;
  void revoke_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) override;
  void close_doorbells(std::uint32_t id) override;

  void bind_irq(std::uint32_t vector, int eventfd) override;
  void unbind_irq(std::uint32_t vector) override;

  nsim::NsimClient& client() { return client_; }

 private:
  class MmioIo final : public RegisterIo {
   public:
    explicit MmioIo(nsim::MmioChannel& ch) : ch_(ch) {}
    std::uint64_t read64(std::uint32_t addr) override { return ch_.read64(addr); }
    void write64(std::uint32_t addr, std::uint64_t v) override { ch_.write64(addr, v); }

   private:
    nsim::MmioChannel& ch_;
  };

  std::uint64_t alloc_iova(std::uint64_t bytes);
  void free_iova(std::uint64_t iova, std::uint64_t bytes);

  std::string socket_path_;
  nsim::NsimClient client_;
  MmioIo io_;
  NicDevice nic_;
  std::uint64_t dma_bytes_ = 0;
  // IOVA space: first fit over free ranges (start -> length).
  std::map<std::uint64_t, std::uint64_t> free_iova_;
};

}  // namespace norman::device

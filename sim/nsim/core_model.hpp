// The verilated nic_core (NumPorts = 2) behind a plain C++ interface, so
// nsim, tests and benchmarks share one build of the model and none of them
// includes Verilator headers.
//
// step() runs one clock cycle: drives the inputs with clk low, evaluates,
// samples the outputs (so valid/ready seen by the caller are those of the
// cycle, before the rising edge), then raises clk and evaluates again.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace norman::nsim {

class CoreModel {
 public:
  static constexpr unsigned kNumPorts = 2;
  static constexpr unsigned kBeatBytes = 64;
  using Beat = std::array<std::uint8_t, kBeatBytes>;

  struct In {
    // Ethernet RX, per port.
    std::array<bool, kNumPorts> rx_valid{};
    std::array<const std::uint8_t*, kNumPorts> rx_data{};  // kBeatBytes each (when valid)
    std::array<std::uint64_t, kNumPorts> rx_keep{};
    std::array<bool, kNumPorts> rx_last{};
    std::array<bool, kNumPorts> rx_user{};
    std::array<bool, kNumPorts> tx_ready{};
    // CSR request.
    bool csr_valid = false;
    bool csr_write = false;
    std::uint32_t csr_addr = 0;
    std::uint64_t csr_wdata = 0;
    // DMA.
    bool dma_wr_ready = false;
    bool dma_rd_req_ready = false;
    bool cpl_valid = false;
    const std::uint8_t* cpl_data = nullptr;  // kBeatBytes (when valid)
    std::uint8_t cpl_tag = 0;
    bool cpl_last = false;
    bool irq_ready = true;
  };

  struct Out {
    std::array<bool, kNumPorts> rx_ready{};
    std::array<bool, kNumPorts> tx_valid{};
    std::array<Beat, kNumPorts> tx_data{};  // copied only when valid
    std::array<std::uint64_t, kNumPorts> tx_keep{};
    std::array<bool, kNumPorts> tx_last{};
    bool csr_ready = false;
    bool csr_rsp_valid = false;
    std::uint64_t csr_rsp_data = 0;
    bool dma_wr_valid = false;
    std::uint64_t dma_wr_addr = 0;
    std::uint32_t dma_wr_len = 0;
    Beat dma_wr_data{};  // copied only when valid
    bool dma_wr_last = false;
    bool dma_rd_req_valid = false;
    std::uint64_t dma_rd_req_addr = 0;
    std::uint32_t dma_rd_req_len = 0;
    std::uint8_t dma_rd_req_tag = 0;
    bool cpl_ready = false;
    bool irq_valid = false;
    std::uint32_t irq_vector = 0;
    bool idle = true;
  };

  // trace_path: FST waveform file, empty for none (needs a TRACE build).
  explicit CoreModel(const std::string& trace_path = "");
  ~CoreModel();
  CoreModel(const CoreModel&) = delete;
  CoreModel& operator=(const CoreModel&) = delete;

  // Holds rst_ni low for `cycles` cycles (inputs idle).
  void reset(unsigned cycles = 8);
  void step(const In& in, Out& out);
  [[nodiscard]] std::uint64_t cycles() const { return cycles_; }
  // Flushes and closes the waveform (also done by the destructor).
  void finish();

  static bool trace_supported();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t cycles_ = 0;
};

}  // namespace norman::nsim

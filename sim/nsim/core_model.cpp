#include "core_model.hpp"

#include <cstring>
#include <stdexcept>

// Verilator's headers are not written for our warning set.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "Vnic_core.h"
#include "verilated.h"
#if VM_TRACE_FST
#include "verilated_fst_c.h"
#endif
#pragma GCC diagnostic pop

namespace norman::nsim {

namespace {

constexpr unsigned kWordsPerBeat = CoreModel::kBeatBytes / 4;

// Byte i of a beat is bits [8i+7:8i]: on little-endian hosts the word array
// of a VlWide is the beat's bytes in order.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "nsim assumes a little-endian host");

template <typename Wide>
void put_beat(Wide& w, unsigned port, const std::uint8_t* bytes) {
  std::memcpy(&w[port * kWordsPerBeat], bytes, CoreModel::kBeatBytes);
}
template <typename Wide>
void get_beat(const Wide& w, unsigned port, std::uint8_t* bytes) {
  std::memcpy(bytes, &w[port * kWordsPerBeat], CoreModel::kBeatBytes);
}
template <typename Wide>
void put_keep(Wide& w, unsigned port, std::uint64_t keep) {
  w[port * 2] = static_cast<std::uint32_t>(keep);
  w[port * 2 + 1] = static_cast<std::uint32_t>(keep >> 32);
}
template <typename Wide>
std::uint64_t get_keep(const Wide& w, unsigned port) {
  return static_cast<std::uint64_t>(w[port * 2]) | (static_cast<std::uint64_t>(w[port * 2 + 1]) << 32);
}

}  // namespace

struct CoreModel::Impl {
  VerilatedContext ctx;
  std::unique_ptr<Vnic_core> top;
#if VM_TRACE_FST
  std::unique_ptr<VerilatedFstC> fst;
#endif
  std::uint64_t time = 0;

  void dump() {
#if VM_TRACE_FST
    if (fst) {
      fst->dump(time);
    }
#endif
    time += 2;  // half a 4 ns period, in units of the trace's time scale
  }
};

CoreModel::CoreModel(const std::string& trace_path) : impl_(std::make_unique<Impl>()) {
  if (!trace_path.empty()) {
#if VM_TRACE_FST
    impl_->ctx.traceEverOn(true);
#else
    throw std::runtime_error("nsim: this build of the core model has no trace support (configure with NORMAN_TRACE=ON)");
#endif
  }
  impl_->top = std::make_unique<Vnic_core>(&impl_->ctx, "nic_core");
#if VM_TRACE_FST
  if (!trace_path.empty()) {
    impl_->fst = std::make_unique<VerilatedFstC>();
    impl_->top->trace(impl_->fst.get(), 99);
    impl_->fst->open(trace_path.c_str());
  }
#endif
  Vnic_core& t = *impl_->top;
  t.clk_i = 0;
  t.rst_ni = 0;
  t.eth_rx_tvalid_i = 0;
  t.eth_tx_tready_i = 0;
  t.csr_req_valid_i = 0;
  t.dma_wr_ready_i = 0;
  t.dma_rd_req_ready_i = 0;
  t.dma_rd_cpl_valid_i = 0;
  t.irq_ready_i = 0;
  t.eval();
}

CoreModel::~CoreModel() { finish(); }

void CoreModel::finish() {
  if (!impl_ || !impl_->top) {
    return;
  }
#if VM_TRACE_FST
  if (impl_->fst) {
    impl_->fst->close();
    impl_->fst.reset();
  }
#endif
}

bool CoreModel::trace_supported() {
#if VM_TRACE_FST
  return true;
#else
  return false;
#endif
}

void CoreModel::reset(unsigned cycles) {
  Vnic_core& t = *impl_->top;
  t.rst_ni = 0;
  for (unsigned i = 0; i < cycles; ++i) {
    t.clk_i = 0;
    t.eval();
    impl_->dump();
    t.clk_i = 1;
    t.eval();
    impl_->dump();
  }
  t.clk_i = 0;
  t.rst_ni = 1;
  t.eval();
}

void CoreModel::step(const In& in, Out& out) {
  Vnic_core& t = *impl_->top;
  t.clk_i = 0;
  // Inputs.
  std::uint8_t rx_valid = 0;
  std::uint8_t rx_last = 0;
  std::uint8_t rx_user = 0;
  std::uint8_t tx_ready = 0;
  for (unsigned p = 0; p < kNumPorts; ++p) {
    if (in.rx_valid[p]) {
      rx_valid = static_cast<std::uint8_t>(rx_valid | (1U << p));
      put_beat(t.eth_rx_tdata_i, p, in.rx_data[p]);
      put_keep(t.eth_rx_tkeep_i, p, in.rx_keep[p]);
      rx_last = static_cast<std::uint8_t>(rx_last | (in.rx_last[p] ? 1U << p : 0U));
      rx_user = static_cast<std::uint8_t>(rx_user | (in.rx_user[p] ? 1U << p : 0U));
    }
    tx_ready = static_cast<std::uint8_t>(tx_ready | (in.tx_ready[p] ? 1U << p : 0U));
  }
  t.eth_rx_tvalid_i = rx_valid;
  t.eth_rx_tlast_i = rx_last;
  t.eth_rx_tuser_i = rx_user;
  t.eth_tx_tready_i = tx_ready;
  t.csr_req_valid_i = in.csr_valid;
  t.csr_req_write_i = in.csr_write;
  t.csr_req_addr_i = in.csr_addr;
  t.csr_req_wdata_i = in.csr_wdata;
  t.dma_wr_ready_i = in.dma_wr_ready;
  t.dma_rd_req_ready_i = in.dma_rd_req_ready;
  t.dma_rd_cpl_valid_i = in.cpl_valid;
  if (in.cpl_valid) {
    std::memcpy(&t.dma_rd_cpl_data_i[0], in.cpl_data, kBeatBytes);
    t.dma_rd_cpl_tag_i = in.cpl_tag;
    t.dma_rd_cpl_last_i = in.cpl_last;
  } else {
    t.dma_rd_cpl_last_i = 0;
  }
  t.irq_ready_i = in.irq_ready;
  t.eval();

  // Outputs of this cycle.
  for (unsigned p = 0; p < kNumPorts; ++p) {
    out.rx_ready[p] = ((t.eth_rx_tready_o >> p) & 1U) != 0;
    out.tx_valid[p] = ((t.eth_tx_tvalid_o >> p) & 1U) != 0;
    if (out.tx_valid[p]) {
      get_beat(t.eth_tx_tdata_o, p, out.tx_data[p].data());
      out.tx_keep[p] = get_keep(t.eth_tx_tkeep_o, p);
      out.tx_last[p] = ((t.eth_tx_tlast_o >> p) & 1U) != 0;
    }
  }
  out.csr_ready = t.csr_req_ready_o != 0;
  out.csr_rsp_valid = t.csr_rsp_valid_o != 0;
  out.csr_rsp_data = t.csr_rsp_rdata_o;
  out.dma_wr_valid = t.dma_wr_valid_o != 0;
  if (out.dma_wr_valid) {
    out.dma_wr_addr = t.dma_wr_addr_o;
    out.dma_wr_len = t.dma_wr_len_o;
    std::memcpy(out.dma_wr_data.data(), &t.dma_wr_data_o[0], kBeatBytes);
    out.dma_wr_last = t.dma_wr_last_o != 0;
  }
  out.dma_rd_req_valid = t.dma_rd_req_valid_o != 0;
  if (out.dma_rd_req_valid) {
    out.dma_rd_req_addr = t.dma_rd_req_addr_o;
    out.dma_rd_req_len = t.dma_rd_req_len_o;
    out.dma_rd_req_tag = t.dma_rd_req_tag_o;
  }
  out.cpl_ready = t.dma_rd_cpl_ready_o != 0;
  out.irq_valid = t.irq_valid_o != 0;
  out.irq_vector = t.irq_vector_o;
  out.idle = t.idle_o != 0;
  impl_->dump();

  t.clk_i = 1;
  t.eval();
  impl_->dump();
  ++cycles_;
}

}  // namespace norman::nsim

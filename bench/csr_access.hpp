// Register access for the benchmarks that drive the verilated core directly
// (nic_bench, nic_tx_bench): one CSR request at a time. Each benchmark idles
// the core's other inputs its own way, so it passes its idle step in. Only
// set-up and counter reads go through here, never the measured cycles.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

#include "core_model.hpp"
#include "norman/regmap.hpp"

namespace norman::bench {

class CsrAccess {
 public:
  CsrAccess(nsim::CoreModel::In& in, const nsim::CoreModel::Out& out, std::function<void()> step)
      : in_(in), out_(out), step_(std::move(step)) {}

  void write(std::uint32_t addr, std::uint64_t v) {
    in_.csr_valid = true;
    in_.csr_write = true;
    in_.csr_addr = addr;
    in_.csr_wdata = v;
    step_();
    in_.csr_valid = false;
  }

  std::uint64_t read(std::uint32_t addr) {
    in_.csr_valid = true;
    in_.csr_write = false;
    in_.csr_addr = addr;
    step_();
    in_.csr_valid = false;
    for (int i = 0; i < 16; ++i) {
      if (out_.csr_rsp_valid) return out_.csr_rsp_data;
      step_();
    }
    throw std::runtime_error("CSR read got no response");
  }

  void arg(unsigned i, std::uint64_t v) {
    write(regmap::kRegCmdArg + i * regmap::kRegCmdArgStride, v);
  }

  // Issues OP and waits for the command engine; returns its status. WHAT
  // names the command in the error if the engine stays busy.
  regmap::Status cmd(regmap::Op op, const char* what = nullptr) {
    write(regmap::kRegCmdOp, static_cast<std::uint64_t>(op));
    for (int i = 0; i < 10000; ++i) {
      std::uint64_t st = read(regmap::kRegCmdStatus);
      if ((st & (1ULL << regmap::kCmdStatusBusyBit)) == 0) {
        return static_cast<regmap::Status>(regmap::kCmdStatusCode.get(st));
      }
    }
    throw std::runtime_error(what ? std::string(what) + ": command stuck busy"
                                  : "command stuck busy");
  }

  std::uint64_t counter(regmap::Counter c) {
    return read(regmap::kRegCountersValue +
                static_cast<unsigned>(c) * regmap::kRegCountersValueStride);
  }

 private:
  nsim::CoreModel::In& in_;
  const nsim::CoreModel::Out& out_;
  std::function<void()> step_;
};

}  // namespace norman::bench

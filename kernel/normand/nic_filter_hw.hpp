// FilterHw over the NIC's registers (CMD block FILTER_* commands and the
// FILTER block's counter window).
#pragma once

#include "filter_installer.hpp"
#include "nic_device.hpp"

namespace norman::normand {

class NicFilterHw : public FilterHw {
 public:
  explicit NicFilterHw(device::NicDevice& nic) : nic_(nic) {}
  std::size_t capacity() override { return static_cast<std::size_t>(nic_.filter_capacity()); }
  void write(const std::vector<std::uint64_t>& args) override {
    nic_.filter_write(args.data(), args.size());
  }
  void commit() override { nic_.filter_commit(); }
  void clear_counter(std::uint16_t slot) override { nic_.filter_counter_clear(slot); }
  filter::Counters counter(std::uint16_t slot) override {
    const auto in = nic_.filter_counter(slot, 0);
    const auto out = nic_.filter_counter(slot, 1);
    return {in.packets + out.packets, in.bytes + out.bytes};
  }

 private:
  device::NicDevice& nic_;
};

}  // namespace norman::normand

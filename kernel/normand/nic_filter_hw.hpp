// FilterHw over the NIC's registers (CMD block FILTER_* commands, the
// FILTER block's exact-table window and counter window).
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
  unsigned exact_tables() override {
    // The geometry is the register map's (the hash depends on it); a NIC
    // reporting another one is refused at attach by its BUILD_ID already.
    const std::uint64_t g = nic_.filter_exact_geometry();
    return static_cast<unsigned>(g & 0xFF);
  }
  void exact_mask(unsigned table, const filter::ExactVector& mask) override {
    nic_.filter_exact_data(filter::exact_data_words(mask));
    nic_.filter_exact_mask(table);
  }
  void exact_write(const filter::ExactVector& value, std::uint64_t word) override {
    nic_.filter_exact_data(filter::exact_data_words(value));
    nic_.filter_exact_write(word);
  }
  std::uint64_t exact_refused() override {
    return nic_.counter(regmap::Counter::kFilterExactRefused);
  }
  filter::Counters counter(std::uint16_t slot) override {
    const auto in = nic_.filter_counter(slot, 0);
    const auto out = nic_.filter_counter(slot, 1);
    return {in.packets + out.packets, in.bytes + out.bytes};
  }

 private:
  device::NicDevice& nic_;
};

}  // namespace norman::normand

// Where a class tree lives in the NIC scheduler's memories (hw/rtl/sched):
// one class-state bank per tree depth, a class at depth d taking the next
// free index of bank d; one leaf-table entry per leaf, holding its path (the
// bank index of its ancestor at every depth and its own) so the hardware
// reads a leaf's whole path in one access. The per-sweep token increments
// are computed here, so the RTL and the reference model refill alike.
#pragma once

#include <cstdint>
#include <vector>

#include "htb_model.hpp"

namespace norman::qos {

struct HwClass {
  unsigned model_class = 0;
  unsigned depth = 0, index = 0;  // bank, address in the bank
  std::uint64_t inc = 0, cinc = 0;
  std::uint32_t burst = 0, cburst = 0;
};

struct HwLeaf {
  unsigned model_class = 0;
  unsigned leaf_id = 0;
  unsigned depth = 0;
  std::vector<unsigned> path;  // bank index at depth 0..depth
  unsigned prio = 0;
  std::uint32_t quantum = 0;
};

struct HtbLayout {
  std::vector<HwClass> classes;    // in model order
  std::vector<HwLeaf> leaves;      // in leaf-id order
  std::vector<int> leaf_of_class;  // model class -> leaf id, -1 for inner
};

// Lays out model's tree for banks of bank_size entries and leaf_size leaves
// and sets the model's refill phases to the hardware sweep's (bank index i
// is refilled in cycle 2i + 1 of every period of 2 * bank_size cycles).
// Throws std::invalid_argument when a depth or the leaf table overflows or
// the model's sweep period is not 2 * bank_size.
HtbLayout layout(HtbModel& model, unsigned bank_size, unsigned leaf_size);

}  // namespace norman::qos

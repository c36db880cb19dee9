#include "htb_layout.hpp"

#include <stdexcept>

namespace norman::qos {

HtbLayout layout(HtbModel& model, unsigned bank_size, unsigned leaf_size) {
  if (model.params().sweep_period != 2ULL * bank_size)
    throw std::invalid_argument("the model's sweep period must be twice the bank size");
  HtbLayout out;
  std::vector<unsigned> next(model.params().max_depth, 0);
  out.leaf_of_class.assign(model.size(), -1);
  for (unsigned c = 0; c < model.size(); ++c) {
    const auto& s = model.spec(c);
    HwClass h;
    h.model_class = c;
    h.depth = model.depth(c);
    if (next[h.depth] >= bank_size)
      throw std::invalid_argument("more classes at depth " + std::to_string(h.depth) +
                                  " than the NIC holds");
    h.index = next[h.depth]++;
    h.inc = refill_increment(s.rate, model.params().sweep_period);
    h.cinc = refill_increment(s.ceil, model.params().sweep_period);
    h.burst = s.burst;
    h.cburst = s.cburst;
    model.set_phase(c, 2ULL * h.index + 1);
    out.classes.push_back(h);
  }
  for (unsigned c = 0; c < model.size(); ++c) {
    if (!model.is_leaf(c)) continue;
    if (out.leaves.size() >= leaf_size)
      throw std::invalid_argument("more leaves than the NIC holds");
    HwLeaf l;
    l.model_class = c;
    l.leaf_id = static_cast<unsigned>(out.leaves.size());
    l.depth = model.depth(c);
    for (unsigned x : model.path(c)) l.path.push_back(out.classes[x].index);
    l.prio = model.spec(c).prio;
    l.quantum = model.spec(c).quantum;
    out.leaf_of_class[c] = static_cast<int>(l.leaf_id);
    out.leaves.push_back(l);
  }
  return out;
}

}  // namespace norman::qos

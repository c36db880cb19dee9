#include "sched_driver.hpp"

#include <stdexcept>
#include <string>

#include "norman/regmap.hpp"

namespace norman::qos {

namespace rm = norman::regmap;

namespace {
std::uint64_t class_word(const HwClass& c) {
  std::uint64_t w = 0;
  rm::sched_class::kIndex.set(w, c.index);
  rm::sched_class::kDepth.set(w, c.depth);
  return w;
}
}  // namespace

SchedDriver::SchedDriver(device::RegisterIo& csr) : csr_(csr) {
  if (csr_.read64(rm::kBlkSchedBase) != rm::kBlkSchedHeader)
    throw std::runtime_error("NIC has no TX scheduler (SCHED block header mismatch)");
  const std::uint64_t g = csr_.read64(rm::kRegSchedGeometry);
  geo_.classes = static_cast<unsigned>(rm::sched_geometry::kClasses.get(g));
  geo_.leaves = static_cast<unsigned>(rm::sched_geometry::kLeaves.get(g));
  geo_.depths = static_cast<unsigned>(rm::sched_geometry::kDepths.get(g));
  geo_.frac_bits = static_cast<unsigned>(rm::sched_geometry::kFracBits.get(g));
  if (geo_.frac_bits != kFracBits)
    throw std::runtime_error("NIC scheduler's token format differs from kernel/qos's");
}

HtbParams SchedDriver::params(std::optional<std::uint32_t> default_class) const {
  HtbParams p;
  p.max_depth = geo_.depths;
  p.sweep_period = 2ULL * geo_.classes;
  p.default_class = default_class;
  p.scan_interval = 2;
  p.scan_slots = geo_.leaves;
  return p;
}

void SchedDriver::wait_idle() {
  // A posted operation waits for an even cycle the traffic leaves free; the
  // connection map clears itself once after reset (one entry per cycle).
  for (unsigned i = 0; i < 200000; ++i) {
    const std::uint64_t s = csr_.read64(rm::kRegSchedStatus);
    if (!rm::sched_status::kBusy.get(s) && !rm::sched_status::kMapClearing.get(s)) return;
  }
  throw std::runtime_error("NIC scheduler stays busy");
}

void SchedDriver::write_class(const HwClass& c) {
  csr_.write64(rm::kRegSchedClsInc, c.inc);
  csr_.write64(rm::kRegSchedClsCinc, c.cinc);
  csr_.write64(rm::kRegSchedClsBurst, std::uint64_t{c.burst} | (std::uint64_t{c.cburst} << 32));
  csr_.write64(rm::kRegSchedClsWrite, class_word(c));
}

void SchedDriver::write_leaf(const HwLeaf& l) {
  std::uint64_t cfg = 0;
  rm::sched_leaf::kQuantum.set(cfg, l.quantum);
  rm::sched_leaf::kPrio.set(cfg, l.prio);
  rm::sched_leaf::kDepth.set(cfg, l.depth);
  rm::sched_leaf::kEn.set(cfg, 1);
  std::uint64_t path = 0;
  for (unsigned j = 0; j < l.path.size(); ++j) path |= std::uint64_t{l.path[j]} << (16 * j);
  wait_idle();
  csr_.write64(rm::kRegSchedLeafCfg, cfg);
  csr_.write64(rm::kRegSchedLeafPath, path);
  csr_.write64(rm::kRegSchedLeafWrite, l.leaf_id);
}

void SchedDriver::write_banks(const HtbLayout& lay) {
  for (const auto& c : lay.classes) write_class(c);
  for (const auto& l : lay.leaves) write_leaf(l);
  wait_idle();
}

void SchedDriver::commit() { csr_.write64(rm::kRegSchedCommit, 1); }

HtbLayout SchedDriver::program(HtbModel& model) {
  if (model.params().max_depth != geo_.depths)
    throw std::invalid_argument("the model's depth must be the NIC's (" +
                                std::to_string(geo_.depths) + ")");
  HtbLayout lay = qos::layout(model, geo_.classes, geo_.leaves);
  // Both banks: the shadow, commit, then the new shadow.
  write_banks(lay);
  commit();
  write_banks(lay);
  for (const auto& c : lay.classes) {
    wait_idle();
    csr_.write64(rm::kRegSchedClsInit, class_word(c));
  }
  const auto dl = model.default_leaf();
  csr_.write64(rm::kRegSchedDefaultLeaf, dl ? static_cast<unsigned>(lay.leaf_of_class[*dl]) : 0U);
  wait_idle();
  return lay;
}

void SchedDriver::update(HtbModel& model, const HtbLayout& current) {
  // Same tree shape: recompute the increments from the model's specs.
  HtbLayout fresh = qos::layout(model, geo_.classes, geo_.leaves);
  if (fresh.classes.size() != current.classes.size() ||
      fresh.leaves.size() != current.leaves.size())
    throw std::invalid_argument("update changes the tree's shape; program it instead");
  write_banks(fresh);
  commit();
  write_banks(fresh);
}

void SchedDriver::enable(bool on) { csr_.write64(rm::kRegSchedEnable, on ? 1 : 0); }

void SchedDriver::map(std::uint16_t conn, unsigned leaf) {
  if (leaf >= geo_.leaves) throw std::invalid_argument("leaf id beyond the NIC's leaf table");
  std::uint64_t w = 0;
  rm::sched_map::kConn.set(w, conn);
  rm::sched_map::kLeaf.set(w, leaf);
  rm::sched_map::kEn.set(w, 1);
  wait_idle();
  csr_.write64(rm::kRegSchedMap, w);
}

void SchedDriver::unmap(std::uint16_t conn) {
  std::uint64_t w = 0;
  rm::sched_map::kConn.set(w, conn);
  wait_idle();
  csr_.write64(rm::kRegSchedMap, w);
}

SchedClassStats SchedDriver::stats(const HwClass& cls) {
  wait_idle();
  csr_.write64(rm::kRegSchedStatSel, class_word(cls));
  wait_idle();
  SchedClassStats s;
  s.bytes = csr_.read64(rm::kRegSchedStatBytes);
  s.packets = csr_.read64(rm::kRegSchedStatPkts);
  s.tokens = static_cast<std::int64_t>(csr_.read64(rm::kRegSchedStatTokens));
  s.ctokens = static_cast<std::int64_t>(csr_.read64(rm::kRegSchedStatCtokens));
  return s;
}

std::uint64_t SchedDriver::held() { return csr_.read64(rm::kRegSchedHeld); }
std::uint64_t SchedDriver::grants() { return csr_.read64(rm::kRegSchedGrants); }
std::uint64_t SchedDriver::refused() { return csr_.read64(rm::kRegSchedRefused); }

}  // namespace norman::qos

#include "htb_model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace norman::qos {

std::uint64_t refill_increment(std::uint64_t bytes_per_s, std::uint64_t sweep_period) {
  // rate * period / f * 2^F in long double: 100 Gbit/s over a 32K-cycle
  // sweep is about 2^40 token units, well within its 64-bit mantissa.
  const long double units = static_cast<long double>(bytes_per_s) *
                            static_cast<long double>(sweep_period) / kNicHz *
                            static_cast<long double>(1ULL << kFracBits);
  return static_cast<std::uint64_t>(std::llround(units));
}

namespace {
std::string cls_name(std::uint32_t id) { return "class 1:" + std::to_string(id); }
}  // namespace

HtbModel::HtbModel(std::vector<HtbClassSpec> classes, HtbParams params) : params_(params) {
  if (params_.sweep_period == 0) throw std::invalid_argument("sweep period must not be 0");
  cls_.resize(classes.size());
  for (std::size_t i = 0; i < classes.size(); ++i) {
    const auto& s = classes[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (classes[j].id == s.id) throw std::invalid_argument(cls_name(s.id) + ": class id in use");
    }
    if (s.ceil < s.rate) throw std::invalid_argument(cls_name(s.id) + ": ceil below rate");
    if (s.burst == 0 || s.cburst == 0)
      throw std::invalid_argument(cls_name(s.id) + ": burst and cburst must be nonzero");
    if (s.prio >= kNumPrios) throw std::invalid_argument(cls_name(s.id) + ": prio above 7");
    if (s.quantum == 0) throw std::invalid_argument(cls_name(s.id) + ": quantum must be nonzero");
    cls_[i].spec = s;
  }
  unsigned roots = 0;
  for (auto& c : cls_) {
    if (!c.spec.parent) {
      ++roots;
      continue;
    }
    const auto p = index_of(*c.spec.parent);
    if (!p) throw std::invalid_argument(cls_name(c.spec.id) + ": parent class not found");
    c.parent = *p;
    ++cls_[*p].children;
  }
  if (roots != 1) throw std::invalid_argument("the tree needs exactly one root class");
  ready_.resize(std::size_t{params_.max_depth} * kNumPrios);
  for (unsigned i = 0; i < cls_.size(); ++i) {
    if (cls_[i].children == 0) leaves_.push_back(i);
  }
  if (params_.scan_interval != 0 && params_.scan_slots < leaves_.size())
    throw std::invalid_argument("more leaves than scan slots");
  for (unsigned i = 0; i < cls_.size(); ++i) {
    unsigned d = 0;
    for (auto p = cls_[i].parent; p; p = cls_[*p].parent) {
      if (++d >= params_.max_depth)
        throw std::invalid_argument(cls_name(cls_[i].spec.id) +
                                    ": deeper than the NIC's class levels (or a loop)");
    }
    auto& c = cls_[i];
    c.depth = d;
    c.inc = refill_increment(c.spec.rate, params_.sweep_period);
    c.cinc = refill_increment(c.spec.ceil, params_.sweep_period);
    c.burst_t = static_cast<std::int64_t>(c.spec.burst) << kFracBits;
    c.cburst_t = static_cast<std::int64_t>(c.spec.cburst) << kFracBits;
    // Linux starts a class with full buckets.
    c.tokens = c.burst_t;
    c.ctokens = c.cburst_t;
  }
}

std::optional<unsigned> HtbModel::index_of(std::uint32_t id) const {
  for (unsigned i = 0; i < cls_.size(); ++i) {
    if (cls_[i].spec.id == id) return i;
  }
  return std::nullopt;
}

unsigned HtbModel::level(unsigned c) const {
  return is_leaf(c) ? 0 : params_.max_depth - 1 - cls_[c].depth;
}

std::optional<unsigned> HtbModel::default_leaf() const {
  if (!params_.default_class) return std::nullopt;
  const auto c = index_of(*params_.default_class);
  if (!c || !is_leaf(*c)) return std::nullopt;
  return c;
}

std::vector<unsigned> HtbModel::path(unsigned c) const {
  std::vector<unsigned> p;
  for (std::optional<unsigned> x = c; x; x = cls_[*x].parent) p.push_back(*x);
  std::reverse(p.begin(), p.end());
  return p;
}

void HtbModel::tick(std::uint64_t cycle) {
  const std::uint64_t ph = cycle % params_.sweep_period;
  for (auto& c : cls_) {
    if (c.phase != ph) continue;
    c.tokens = std::min(c.tokens + static_cast<std::int64_t>(c.inc), c.burst_t);
    c.ctokens = std::min(c.ctokens + static_cast<std::int64_t>(c.cinc), c.cburst_t);
  }
  if (params_.scan_interval != 0 && cycle % params_.scan_interval == 0) {
    if (scan_ptr_ < leaves_.size()) enqueue_if_ready(leaves_[scan_ptr_]);
    scan_ptr_ = (scan_ptr_ + 1) % params_.scan_slots;
  }
}

Mode HtbModel::mode(unsigned c) const {
  // htb_class_mode without hysteresis (Linux's default).
  if (cls_[c].ctokens < 0) return Mode::kCantSend;
  if (cls_[c].tokens >= 0) return Mode::kCanSend;
  return Mode::kMayBorrow;
}

std::optional<HtbModel::Eligibility> HtbModel::eligibility(unsigned leaf) const {
  for (std::optional<unsigned> x = leaf; x; x = cls_[*x].parent) {
    switch (mode(*x)) {
      case Mode::kCantSend:
        return std::nullopt;
      case Mode::kCanSend:
        return Eligibility{cls_[*x].depth, level(*x) * kNumPrios + cls_[leaf].spec.prio};
      case Mode::kMayBorrow:
        break;  // ask the parent; the root has none to ask
    }
  }
  return std::nullopt;
}

void HtbModel::enqueue_if_ready(unsigned leaf) {
  auto& c = cls_[leaf];
  if (!c.backlog || c.outstanding || c.queued) return;
  const auto e = eligibility(leaf);
  if (!e) return;
  ready_[e->key].push_back(leaf);
  c.queued = true;
}

void HtbModel::backlog(unsigned leaf) {
  cls_[leaf].backlog = true;
  enqueue_if_ready(leaf);
}

std::optional<Grant> HtbModel::decide() {
  // Leaves whose tokens came back, ideally found at once.
  if (params_.scan_interval == 0) {
    for (unsigned l : leaves_) enqueue_if_ready(l);
  }
  for (unsigned k = 0; k < ready_.size();) {
    if (ready_[k].empty()) {
      ++k;
      continue;
    }
    const unsigned l = ready_[k].front();
    ready_[k].pop_front();
    auto& c = cls_[l];
    c.queued = false;
    const auto e = eligibility(l);
    if (!e) continue;  // blocked: back when its tokens are
    if (e->key != k) {
      ready_[e->key].push_back(l);
      c.queued = true;
      k = std::min(k, e->key);
      continue;
    }
    c.outstanding = true;
    c.grant = Grant{l, e->lender_depth, c.spec.quantum + c.deficit};
    return c.grant;
  }
  return std::nullopt;
}

void HtbModel::done(unsigned leaf, std::uint32_t bytes, std::uint32_t pkts, bool more) {
  auto& l = cls_[leaf];
  if (!l.outstanding) throw std::logic_error("done without a grant");
  const std::int64_t t = static_cast<std::int64_t>(bytes) << kFracBits;
  for (std::optional<unsigned> x = leaf; x; x = cls_[*x].parent) {
    auto& c = cls_[*x];
    // htb_charge_class: rate tokens from the lender up, ceil tokens everywhere.
    if (c.depth <= l.grant.lender_depth) c.tokens -= t;
    c.ctokens -= t;
    c.bytes += bytes;
    c.pkts += pkts;
  }
  l.outstanding = false;
  l.deficit = more && bytes < l.grant.budget ? l.grant.budget - bytes : 0;
  l.backlog = more;
  enqueue_if_ready(leaf);
}

}  // namespace norman::qos

// The flattening is a depth-first walk over continuations. A state is the
// chain call stack (each frame: chain, next rule), the conjunction C of
// constraints the keys still under consideration satisfy, and the counters
// matched so far (the path). At a rule with match m:
//   - terminal: emit C ∧ m, then go on with C;
//   - RETURN, jump, goto, LOG or no target: first walk the rest of the
//     packet's journey (popped, pushed or replaced stack) with C ∧ m, then go
//     on with C at the next rule;
//   - end of a chain pops; an empty stack emits the policy entry for C.
// Every branch ends with a catch-all for its own context (the policy), so
// the keys of C ∧ m are all decided inside their branch before the entries
// of the C branch start: in first-match order, a key only reaches an entry
// of the C branch when it did not match m, which is the chain walk exactly.
#include "compiler.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "chain_graph.hpp"
#include "compiler_conj.hpp"
#include "compiler_limit.hpp"
#include "compiler_walk.hpp"
#include "rule_support.hpp"

namespace norman::filter {

CapacityError::CapacityError(std::size_t needed_entries, std::size_t nic_capacity)
    : CompileError("nfw: the ruleset needs " + std::to_string(needed_entries) +
                   " entries, the NIC has " + std::to_string(nic_capacity) + ": " +
                   std::to_string(needed_entries - nic_capacity) + " too many"),
      needed(needed_entries),
      capacity(nic_capacity) {}

namespace {

using detail::Conj;
using detail::Disj;
using detail::Span32;
using F = rf::FieldId;

constexpr std::uint16_t kTcpFlagShift = static_cast<std::uint16_t>(rf::Flag::kTcpFin);
static_assert(static_cast<unsigned>(rf::Flag::kTcpCwr) == kTcpFlagShift + 7,
              "TCP flag bits are contiguous, in wire order");

Span32 prefix_span(const Prefix& p) {
  if (p.len == 0) return {0, 0xFFFFFFFFu};
  const std::uint32_t host = p.len >= 32 ? 0u : (0xFFFFFFFFu >> p.len);
  return {p.addr & ~host, (p.addr & ~host) | host};
}

Disj in_or_not(F f, std::uint32_t lo, std::uint32_t hi, bool negated) {
  return negated ? detail::field_not_in(f, lo, hi) : detail::field_in(f, lo, hi);
}

Disj set_or_not(F f, std::span<const Span32> spans, bool negated) {
  return negated ? detail::field_not_in_set(f, spans) : detail::field_in_set(f, spans);
}

Disj flag_is(rf::Flag f, bool value) {
  return detail::flags_equal(flag_bit(f), value ? flag_bit(f) : std::uint16_t{0});
}

Disj join(Disj a, const Disj& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class Matcher {
 public:
  Matcher(OwnerIds& ids, const CompileOptions& options) : ids_(ids), options_(options) {}

  std::string nic_list() const {
    std::string s;
    for (unsigned p = 0; p < options_.ports; ++p) s += (p == 0 ? "" : ", ") + detail::nic_name(p);
    return s;
  }

  Disj iface_match(const Iface& f, const Chain& chain, std::size_t i) const {
    const bool wildcard = !f.name.empty() && f.name.back() == '+';
    bool known = false;
    for (unsigned p = 0; p < options_.ports; ++p) {
      known = known || (wildcard ? detail::iface_name_matches(f.name, detail::nic_name(p))
                                 : f.name == detail::nic_name(p));
    }
    if (!known) {
      throw CompileError("nfw: unknown interface " + f.name + ": the NIC's interfaces are " +
                         nic_list() + " " + detail::where(chain, i));
    }
    // Every port number the field can carry, so the entries agree with the
    // chain walk even on ports the options do not list.
    std::vector<Span32> spans;
    for (std::uint32_t p = 0; p <= field_max(static_cast<unsigned>(F::kIface)); ++p) {
      if (detail::iface_name_matches(f.name, detail::nic_name(p))) spans.push_back({p, p});
    }
    return set_or_not(F::kIface, detail::normalize(std::move(spans)), f.negated);
  }

  static Disj multiport_match(const Multiport& mp) {
    std::vector<Span32> spans;
    for (const Range& r : mp.ports) {
      if (r.lo <= r.hi && r.lo <= 0xFFFF) spans.push_back({r.lo, std::min(r.hi, 0xFFFFu)});
    }
    spans = detail::normalize(std::move(spans));
    switch (mp.kind) {
      case Multiport::Kind::kSource:
        return set_or_not(F::kSport, spans, mp.negated);
      case Multiport::Kind::kDestination:
        return set_or_not(F::kDport, spans, mp.negated);
      case Multiport::Kind::kEither:
        if (mp.negated) {
          return detail::intersect(detail::field_not_in_set(F::kSport, spans),
                                   detail::field_not_in_set(F::kDport, spans));
        }
        return join(detail::field_in_set(F::kSport, spans), detail::field_in_set(F::kDport, spans));
    }
    return {};
  }

  static Disj tcp_flags_match(const TcpFlags& t) {
    const auto mask = static_cast<std::uint16_t>(t.mask << kTcpFlagShift);
    const auto comp = static_cast<std::uint16_t>(t.comp << kTcpFlagShift);
    // COMP bits outside MASK: (flags & MASK) == COMP can never hold.
    const bool satisfiable = (t.comp & ~t.mask) == 0;
    if (!t.negated) return satisfiable ? detail::flags_equal(mask, comp) : Disj{};
    if (!satisfiable) return {Conj{}};
    Disj out;
    for (unsigned b = 0; b < 8; ++b) {
      const auto bit = static_cast<std::uint16_t>(1u << (b + kTcpFlagShift));
      if ((mask & bit) != 0)
        out.push_back(detail::flags_equal(bit, static_cast<std::uint16_t>(~comp & bit)).front());
    }
    return out;
  }

  Disj owner_match(const Owner& o) const {
    Disj with = flag_is(rf::Flag::kOwnerValid, true);
    if (o.uid)
      with = detail::intersect(
          with, in_or_not(F::kUid, o.uid->range.lo, o.uid->range.hi, o.uid->negated));
    if (o.gid)
      with = detail::intersect(
          with, in_or_not(F::kGid, o.gid->range.lo, o.gid->range.hi, o.gid->negated));
    if (o.cmd) {
      const std::uint32_t id = ids_.cmd_id(o.cmd->name);
      with = detail::intersect(with, in_or_not(F::kCmdId, id, id, o.cmd->negated));
    }
    // xt_owner without a socket: true exactly when every part is negated.
    const bool all_negated =
        (!o.uid || o.uid->negated) && (!o.gid || o.gid->negated) && (!o.cmd || o.cmd->negated);
    return all_negated ? join(with, flag_is(rf::Flag::kOwnerValid, false)) : with;
  }

  Disj cgroup_match(const Cgroup& c) const {
    std::vector<Span32> spans;
    for (std::uint16_t id : ids_.cgroups_under(c.path)) spans.push_back({id, id});
    spans = detail::normalize(std::move(spans));
    Disj with = detail::intersect(flag_is(rf::Flag::kOwnerValid, true),
                                  set_or_not(F::kCgroup, spans, c.negated));
    // As xt_cgroup: without a socket (owner) the match fails, "!" or not.
    return with;
  }

  Disj match_of(const Chain& chain, std::size_t i) const {
    const Rule& r = chain.rules[i];
    Disj m{Conj{}};
    const auto with = [&m](const Disj& d) { m = detail::intersect(m, d); };
    if (r.src) {
      const Span32 s = prefix_span(r.src->prefix);
      with(in_or_not(F::kSrcIp, s.lo, s.hi, r.src->negated));
    }
    if (r.dst) {
      const Span32 s = prefix_span(r.dst->prefix);
      with(in_or_not(F::kDstIp, s.lo, s.hi, r.dst->negated));
    }
    if (r.proto && r.proto->number != 0)
      with(in_or_not(F::kProto, r.proto->number, r.proto->number, r.proto->negated));
    if (r.fragment) with(flag_is(rf::Flag::kFrag, *r.fragment));
    if (detail::uses_ports(r) || detail::uses_icmp(r)) {
      // Port, flag and type matches see only first fragments with their L4 header.
      with(flag_is(rf::Flag::kL4Valid, true));
      with(flag_is(rf::Flag::kFrag, false));
    }
    if (detail::uses_ports(r)) {
      const auto p = detail::port_proto(r);
      if (!p) {
        throw CompileError(
            "nfw: port matches need -p tcp or -p udp (the NIC reads ports of those only) " +
            detail::where(chain, i));
      }
      with(detail::field_in(F::kProto, *p, *p));
      if (r.sport)
        with(in_or_not(F::kSport, r.sport->range.lo, r.sport->range.hi, r.sport->negated));
      if (r.dport)
        with(in_or_not(F::kDport, r.dport->range.lo, r.dport->range.hi, r.dport->negated));
      if (r.tcp_flags) {
        if (*p != detail::kProtoTcp)
          throw CompileError("nfw: --tcp-flags needs -p tcp " + detail::where(chain, i));
        with(tcp_flags_match(*r.tcp_flags));
      }
      if (r.multiport) with(multiport_match(*r.multiport));
    }
    if (detail::uses_icmp(r)) {
      if (!r.proto || r.proto->negated || r.proto->number != detail::kProtoIcmp) {
        throw CompileError("nfw: -m icmp needs -p icmp " + detail::where(chain, i));
      }
      with(detail::field_in(F::kProto, detail::kProtoIcmp, detail::kProtoIcmp));
      if (r.icmp && r.icmp->type != 255) {
        const std::uint32_t base = std::uint32_t{r.icmp->type} << 8;
        const std::uint32_t lo = base | (r.icmp->code ? *r.icmp->code : 0u);
        const std::uint32_t hi = base | (r.icmp->code ? *r.icmp->code : 0xFFu);
        with(in_or_not(F::kSport, lo, hi, r.icmp->negated));
      } else if (r.icmp && r.icmp->negated) {
        with(Disj{});
      }
    }
    if (r.in) with(iface_match(*r.in, chain, i));
    if (r.out) with(iface_match(*r.out, chain, i));
    if (r.owner) with(owner_match(*r.owner));
    if (r.cgroup) with(cgroup_match(*r.cgroup));
    if (r.state || r.conntrack) {
      throw CompileError(
          "nfw: connection tracking is not on the NIC yet (-m state, -m conntrack) " +
          detail::where(chain, i));
    }
    return m;
  }

 private:
  OwnerIds& ids_;
  const CompileOptions& options_;
};

class Compiler {
 public:
  Compiler(const Ruleset& rules, OwnerIds& ids, const CompileOptions& options)
      : rules_(rules), ids_(ids), options_(options), graph_(detail::build_chain_graph(rules)) {}

  Program run() {
    detail::check_ids(rules_);
    detail::check_directions(rules_, graph_);
    matches_.resize(rules_.chains.size());
    by_pos_.resize(rules_.chains.size());
    for (std::size_t c = 0; c < rules_.chains.size(); ++c) {
      const Chain& chain = rules_.chains[c];
      matches_[c].reserve(chain.rules.size());
      for (std::size_t i = 0; i < chain.rules.size(); ++i) {
        matches_[c].push_back(detail::rule_match(chain, i, ids_, options_));
        matches_[c].back().target = graph_.target[c][i];
      }
      by_pos_[c].reserve(chain.rules.size());
      for (const detail::RuleMatch& m : matches_[c]) by_pos_[c].push_back(&m);
    }
    Program program;
    detail::Walker walker(rules_, by_pos_, graph_.builtin, options_);
    walker.output(program.entries, 0, options_.capacity);
    for (Direction d : {Direction::kInput, Direction::kOutput}) walker.walk_builtin(d);
    if (walker.needed() > options_.capacity)
      throw CapacityError(walker.needed(), options_.capacity);
    return program;
  }

 private:
  const Ruleset& rules_;
  OwnerIds& ids_;
  const CompileOptions& options_;
  detail::ChainGraph graph_;
  std::vector<std::vector<detail::RuleMatch>> matches_;  // [chain][rule]
  std::vector<std::vector<const detail::RuleMatch*>> by_pos_;
};

}  // namespace

namespace detail {

void check_ids(const Ruleset& rules) {
  std::unordered_set<std::uint64_t> seen;
  for (const Chain& chain : rules.chains) {
    for (std::size_t i = 0; i < chain.rules.size(); ++i) {
      const std::uint64_t id = chain.rules[i].id;
      if (id == 0) throw CompileError("nfw: rule has no id " + where(chain, i));
      if (!seen.insert(id).second) {
        throw CompileError("nfw: rule id " + std::to_string(id) + " used twice " + where(chain, i));
      }
    }
  }
}

// iptables refuses -i in OUTPUT and -o in INPUT; a user chain inherits the
// restriction of every built-in chain it can be reached from.
void check_directions(const Ruleset& rules, const ChainGraph& graph) {
  for (std::size_t c = 0; c < rules.chains.size(); ++c) {
    const Chain& chain = rules.chains[c];
    for (std::size_t i = 0; i < chain.rules.size(); ++i) {
      const Rule& r = chain.rules[i];
      if (r.in && graph.reachable[static_cast<unsigned>(Direction::kOutput)][c]) {
        throw CompileError("nfw: Can't use -i with OUTPUT " + where(chain, i) +
                           (chain.builtin() ? "" : ", reached from OUTPUT"));
      }
      if (r.out && graph.reachable[static_cast<unsigned>(Direction::kInput)][c]) {
        throw CompileError("nfw: Can't use -o with INPUT " + where(chain, i) +
                           (chain.builtin() ? "" : ", reached from INPUT"));
      }
    }
  }
}

RuleMatch rule_match(const Chain& chain, std::size_t i, OwnerIds& ids,
                     const CompileOptions& options) {
  refuse_limits(chain, i);
  RuleMatch rm;
  rm.match = Matcher(ids, options).match_of(chain, i);
  if (rm.match.size() == 1) rm.miss = complement(rm.match.front());
  return rm;
}

CompileError count_limit_error(const CompileOptions& options) {
  return CompileError("nfw: the ruleset needs more than " + std::to_string(kCountLimit) +
                      " entries, the NIC has " + std::to_string(options.capacity));
}

bool implies(const Conj& p, const Disj& m) {
  return std::any_of(m.begin(), m.end(), [&](const Conj& d) { return subset(p, d); });
}

bool missed(const RuleMatch& rule, Conj& p, Disj& scratch) {
  if (!rule.miss) return true;
  scratch.clear();
  intersect(p, *rule.miss, scratch);
  if (scratch.empty()) return false;
  if (scratch.size() == 1) p = scratch.front();
  return true;
}

Conj Walker::top(Direction d) { return flag_is(rf::Flag::kDir, d == Direction::kOutput).front(); }

void Walker::walk_builtin(Direction d) {
  dir_ = d;
  track_ = false;
  const auto builtin = static_cast<std::uint32_t>(builtin_[static_cast<unsigned>(d)]);
  const Conj t = top(d);
  walk({Frame{builtin, 0}}, t, t);
}

void Walker::top_rule(Direction d, std::uint32_t i, const Conj& p, TopRule& out) {
  dir_ = d;
  track_ = true;
  policy_used_ = false;
  chains_used_.clear();
  path_.clear();
  logs_ = 0;
  const auto builtin = static_cast<std::uint32_t>(builtin_[static_cast<unsigned>(d)]);
  std::vector<Frame> stack{Frame{builtin, i + 1}};
  Conj c = top(d);
  out.p = p;
  Scratch s;
  const Next next = step(stack, Frame{builtin, i}, c, out.p, s);
  const TargetKind kind = rules_.chains[builtin].rules[i].target.kind;
  out.tail = !s.taken.empty() &&
             (kind == TargetKind::kJump || kind == TargetKind::kLog || kind == TargetKind::kNone);
  out.contexts.clear();
  if (out.tail) out.contexts = s.taken;
  out.final = next != Next::kOn;
  if (next == Next::kInPlace) run(stack, c, out.p);
  path_.clear();
  logs_ = 0;
  out.policy = policy_used_;
  std::sort(chains_used_.begin(), chains_used_.end());
  chains_used_.erase(std::unique(chains_used_.begin(), chains_used_.end()), chains_used_.end());
  out.chains = chains_used_;
  track_ = false;
}

void Walker::top_policy(Direction d) {
  dir_ = d;
  path_.clear();
  logs_ = 0;
  emit_policy(top(d));
}

void Walker::emit(const Conj& c, rf::Action action, rf::RejectWith reject_with) {
  ++needed_;
  if (needed_ > kCountLimit) throw count_limit_error(options_);
  if (needed_ > store_limit_) return;
  CompiledEntry& e = out_->emplace_back();
  e.entry = c;
  e.entry.action = action;
  e.entry.reject_with = reject_with;
  e.entry.log = logs_ > 0;
  e.path = path_;
}

void Walker::emit_policy(const Conj& c) {
  const Chain& chain =
      rules_.chains[static_cast<std::size_t>(builtin_[static_cast<unsigned>(dir_)])];
  if (track_) policy_used_ = true;
  path_.push_back(CounterRef{CounterRef::Kind::kPolicy, 0, dir_});
  emit(c, policy_action(*chain.policy), rf::RejectWith::kIcmpPortUnreachable);
  path_.pop_back();
}

void Walker::walk(std::vector<Frame> stack, Conj c, Conj p) {
  const std::size_t path_mark = path_.size();
  const unsigned log_mark = logs_;
  run(stack, c, p);
  path_.resize(path_mark);
  logs_ = log_mark;
}

// c: the context entries are emitted with. p ⊆ c: what is also known
// about the keys that get here (that they missed earlier rules), used only
// to prune. Emitting c rather than p is exact, since first match already
// took the keys of c outside p, and keeps entries from splitting on the
// complements p carries.
void Walker::run(std::vector<Frame>& stack, Conj& c, Conj& p) {
  Scratch s;
  while (true) {
    if (stack.empty()) {
      emit_policy(c);
      return;
    }
    const Frame f = stack.back();
    if (f.next >= rules_.chains[f.chain].rules.size()) {
      stack.pop_back();
      continue;
    }
    ++stack.back().next;
    if (step(stack, f, c, p, s) == Next::kStop) return;
  }
}

// Rule f.next of chain f.chain (the stack already points past it).
// kInPlace: the walk goes on in the rule's branch (stack, c, p and the path
// now describe it); kStop: no key gets past the rule.
Walker::Next Walker::step(std::vector<Frame>& stack, const Frame& f, Conj& c, Conj& p, Scratch& s) {
  const Rule& r = rules_.chains[f.chain].rules[f.next];
  const RuleMatch& rm = *matches_[f.chain][f.next];
  const Disj& m = rm.match;
  // When p implies m every key here matches the rule: there is no
  // "did not match" branch to walk afterwards.
  const bool implied = implies(p, m);
  s.taken.clear();
  s.taken_p.clear();
  if (std::any_of(m.begin(), m.end(), [&](const Conj& d) { return subset(c, d); })) {
    s.taken.push_back(c);
    s.taken_p.push_back(p);
  } else {
    for (const Conj& d : m) {
      s.tmp.clear();
      intersect(c, d, s.tmp);
      for (const Conj& t : s.tmp) {
        Disj tp;
        intersect(t, p, tp);
        if (tp.empty()) continue;  // no key that gets here is in t
        s.taken.push_back(t);
        s.taken_p.push_back(tp.size() == 1 ? tp.front() : t);
      }
    }
  }
  if (s.taken.empty()) return Next::kOn;

  const CounterRef ref{CounterRef::Kind::kRule, r.id, Direction::kInput};
  const TargetKind kind = r.target.kind;
  if (terminal(kind)) {
    path_.push_back(ref);
    const rf::RejectWith rw = kind == TargetKind::kReject ? reject_code(r.target.reject_with)
                                                          : rf::RejectWith::kIcmpPortUnreachable;
    for (const Conj& t : s.taken) emit(t, terminal_action(kind), rw);
    path_.pop_back();
  } else {
    std::vector<Frame> next = stack;
    const int target = rm.target;
    switch (kind) {
      case TargetKind::kReturn:
        next.pop_back();
        break;
      case TargetKind::kJump:
        next.push_back(Frame{static_cast<std::uint32_t>(target), 0});
        break;
      case TargetKind::kGoto:
        next.back() = Frame{static_cast<std::uint32_t>(target), 0};
        break;
      default:
        break;
    }
    if (track_ && (kind == TargetKind::kJump || kind == TargetKind::kGoto))
      chains_used_.push_back(static_cast<std::uint32_t>(target));
    const bool log = kind == TargetKind::kLog;
    if (implied && s.taken.size() == 1) {
      // The only branch: carry on in it without recursing.
      path_.push_back(ref);
      if (log) ++logs_;
      stack = std::move(next);
      c = s.taken.front();
      p = s.taken_p.front();
      return Next::kInPlace;
    }
    const Disj branches = s.taken;
    const Disj branches_p = s.taken_p;
    for (std::size_t b = 0; b < branches.size(); ++b) {
      path_.push_back(ref);
      if (log) ++logs_;
      walk(next, branches[b], branches_p[b]);
      if (log) --logs_;
      path_.pop_back();
    }
  }
  if (implied) return Next::kStop;
  return missed(rm, p, s.tmp) ? Next::kOn : Next::kStop;
}

}  // namespace detail

Program compile(const Ruleset& rules, OwnerIds& ids, const CompileOptions& options) {
  return Compiler(rules, ids, options).run();
}

void attribute_counters(const Program& program, std::span<const Counters> entry_counts,
                        Ruleset& rules) {
  std::unordered_map<std::uint64_t, Counters*> by_id;
  for (Chain& chain : rules.chains) {
    for (Rule& r : chain.rules) by_id.emplace(r.id, &r.counters);
  }
  std::array<Counters*, 2> policy{};
  for (Direction d : {Direction::kInput, Direction::kOutput}) {
    if (Chain* chain = rules.find(detail::chain_of(d)))
      policy[static_cast<unsigned>(d)] = &chain->policy_counters;
  }
  const std::size_t n = std::min(program.entries.size(), entry_counts.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Counters& add = entry_counts[i];
    if (add.packets == 0 && add.bytes == 0) continue;
    for (const CounterRef& ref : program.entries[i].path) {
      Counters* c = nullptr;
      if (ref.kind == CounterRef::Kind::kPolicy) {
        c = policy[static_cast<unsigned>(ref.chain)];
      } else if (auto it = by_id.find(ref.rule_id); it != by_id.end()) {
        c = it->second;
      }
      if (c != nullptr) {
        c->packets += add.packets;
        c->bytes += add.bytes;
      }
    }
  }
}

}  // namespace norman::filter

#include "filter_service.hpp"

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "evaluate.hpp"
#include "host_split.hpp"

namespace norman::normand {

using filter::CounterRef;
using Assume = filter::IncrementalCompiler::Assume;

std::vector<std::uint16_t> RegistryOwnerIds::cgroups_under(std::string_view path) {
  std::vector<std::uint16_t> ids;
  const auto& names = reg_.cgroups().names();
  std::string prefix(path);
  if (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    const bool below = prefix == "/" || n == prefix ||
                       (n.size() > prefix.size() && n.compare(0, prefix.size(), prefix) == 0 &&
                        n[prefix.size()] == '/');
    if (below) ids.push_back(static_cast<std::uint16_t>(i + 1));
  }
  return ids;
}

namespace {

CounterRef rule_ref(std::uint64_t id) {
  return CounterRef{CounterRef::Kind::kRule, id, filter::Direction::kInput};
}

CounterRef policy_ref(std::string_view chain) { return HostNetfilter::policy_ref(chain); }

std::set<CounterRef> refs_of(const filter::Ruleset& rules) {
  std::set<CounterRef> out;
  for (const auto& c : rules.chains) {
    if (c.builtin()) out.insert(policy_ref(c.name));
    for (const auto& r : c.rules) out.insert(rule_ref(r.id));
  }
  out.insert(policy_ref("FORWARD"));
  for (const auto& r : rules.forward.rules) out.insert(rule_ref(r.id));
  return out;
}

// Every chain of the table, FORWARD included.
template <typename R, typename F>
void each_chain(R& rules, F f) {
  for (auto& c : rules.chains) f(c);
  f(rules.forward);
}

}  // namespace

FilterService::FilterService(FilterHw& hw, OwnerRegistry& owners, unsigned ports)
    : hw_(hw), ids_(owners), installer_(hw) {
  // Range slots plus exact entries: the installer refuses what does not
  // place (masks, full buckets) with the real shortfall.
  options_.capacity = installer_.capacity();
  options_.ports = ports;
  // An empty table compiles to the two policy entries: install them so
  // policy counters count from the start.
  install(rules_, Assume::kNothing);
}

namespace {

// The host tables' counters as the kernel has them, for the chains an edit
// of the filter table leaves as they are (reloading them must not zero them).
void keep_live_counts(std::vector<filter::HostTable>& tables,
                      const std::vector<filter::HostTable>& live) {
  for (auto& t : tables) {
    for (const auto& l : live) {
      if (l.name != t.name) continue;
      for (auto& c : t.chains) {
        const filter::HostChain* lc = l.find(c.name);
        if (lc == nullptr || lc->rules.size() != c.rules.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < c.rules.size(); ++i) same = same && lc->rules[i].spec == c.rules[i].spec;
        if (same) c = *lc;
      }
    }
  }
}

}  // namespace

void FilterService::install(const filter::Ruleset& rules, Assume assume) {
  // One transaction for both sides (docs/nfw-host.md): the host part is
  // checked by the real iptables-restore --test, then the NIC part is
  // installed, then the host part is loaded; if that load still fails, the
  // NIC gets its previous table back. Either refusal changes neither.
  std::string host_text;
  if (host_ != nullptr) {
    filter::Ruleset with_live = rules;
    if (keep_host_table_counts_) keep_live_counts(with_live.host_tables, host_->tables());
    host_text = host_->render(with_live, host_->counts());
    if (host_text != host_->loaded_text()) host_->test(host_text);
  } else if (filter::has_host_only_part(rules)) {
    throw filter::CommandError(
        EOPNOTSUPP,
        "the table has rules for the host's own netfilter (FORWARD, *nat/*mangle/*raw, or an "
        "interface that is not a NIC port), and normand runs without --host-netfilter");
  }
  const filter::Program& p = compiler_.compile(filter::nic_view(rules), ids_, options_, assume);
  last_ = installer_.install(p);
  uses_cgroups_ = compiler_.uses_cgroups();
  if (host_ != nullptr && host_text != host_->loaded_text()) {
    try {
      host_->load(host_text, rules);
    } catch (...) {
      compiler_.reset();
      last_ = installer_.install(
          compiler_.compile(filter::nic_view(installed_), ids_, options_, Assume::kNothing));
      throw;
    }
  }
  installed_ = rules;
}

void FilterService::set_host(HostNetfilter* host) {
  host_ = host;
  if (host_ != nullptr) install(rules_, Assume::kStableIds);
}

std::map<CounterRef, filter::Counters> FilterService::raw_counts(const std::set<CounterRef>& only) {
  auto raw = only.empty() ? installer_.counts() : installer_.counts(only);
  if (host_ != nullptr) {
    for (const auto& [ref, c] : host_->counts()) {
      if (!only.empty() && !only.contains(ref)) continue;
      raw[ref].packets += c.packets;
      raw[ref].bytes += c.bytes;
    }
  }
  return raw;
}

filter::Ruleset FilterService::snapshot() {
  const auto raw = raw_counts();
  auto value = [&](const CounterRef& ref) {
    filter::Counters c;
    if (auto it = raw.find(ref); it != raw.end()) c = it->second;
    if (auto it = offset_.find(ref); it != offset_.end()) {
      c.packets =
          static_cast<std::uint64_t>(static_cast<std::int64_t>(c.packets) + it->second.first);
      c.bytes = static_cast<std::uint64_t>(static_cast<std::int64_t>(c.bytes) + it->second.second);
    }
    return c;
  };
  filter::Ruleset out = rules_;
  each_chain(out, [&](filter::Chain& c) {
    if (c.builtin()) c.policy_counters = value(policy_ref(c.name));
    for (auto& r : c.rules) r.counters = value(rule_ref(r.id));
  });
  // The host's tables as its kernel holds them: canonical text, live counters.
  if (host_ != nullptr && !out.host_tables.empty()) {
    auto live = host_->tables();
    for (auto& t : out.host_tables) {
      for (auto& l : live) {
        if (l.name == t.name) t = l;
      }
    }
  }
  return out;
}

void FilterService::zero(const filter::Command& cmd,
                         const std::map<CounterRef, filter::Counters>& raw) {
  auto reset = [&](const CounterRef& ref) {
    filter::Counters c;
    if (auto it = raw.find(ref); it != raw.end()) c = it->second;
    offset_[ref] = {-static_cast<std::int64_t>(c.packets), -static_cast<std::int64_t>(c.bytes)};
  };
  each_chain(rules_, [&](const filter::Chain& c) {
    if (!cmd.chain.empty() && c.name != cmd.chain) return;
    if (cmd.rulenum) {
      if (*cmd.rulenum == 0 || *cmd.rulenum > c.rules.size()) {
        throw filter::CommandError(ENOENT, "Index of deletion too big");
      }
      reset(rule_ref(c.rules[*cmd.rulenum - 1].id));
      return;
    }
    if (c.builtin()) reset(policy_ref(c.name));
    for (const auto& r : c.rules) reset(rule_ref(r.id));
  });
}

void FilterService::forget_removed(const filter::Ruleset& next) {
  const auto after = refs_of(next);
  std::vector<CounterRef> gone;
  for (const auto& r : refs_of(rules_)) {
    if (!after.contains(r)) gone.push_back(r);
  }
  for (const auto& r : gone) offset_.erase(r);
  installer_.drop_retired(gone);
}

void FilterService::forget(const CounterRef& ref) {
  offset_.erase(ref);
  installer_.drop_retired({ref});
}

bool FilterService::command(const filter::Command& cmd) {
  using Op = filter::Command::Op;
  if (!cmd.chain.empty() && rules_.find(cmd.chain) == nullptr && cmd.op != Op::kNewChain) {
    // apply() words this error; run it on a scratch copy for the message.
    filter::Ruleset scratch = rules_;
    filter::apply(scratch, cmd, [] { return std::uint64_t{0}; });
  }
  if (cmd.op == Op::kList || cmd.op == Op::kListRules || cmd.op == Op::kZero) {
    if (cmd.op == Op::kZero || cmd.zero) zero(cmd, raw_counts());
    return true;
  }
  if (cmd.op == Op::kCheck) {
    // -C only reads the table.
    return filter::apply(rules_, cmd, [] { return std::uint64_t{0}; });
  }
  const bool one_rule = (cmd.op == Op::kAppend || cmd.op == Op::kInsert || cmd.op == Op::kReplace ||
                         cmd.op == Op::kDelete || cmd.op == Op::kPolicy) &&
                        cmd.expanded.empty();
  if (one_rule && rules_.find(cmd.chain) != nullptr) return edit_in_place(cmd);
  filter::Ruleset next = rules_;
  std::uint64_t id = next_id_;
  (void)filter::apply(next, cmd, [&id] { return id++; });
  // Ids are not handed out again even when the NIC refuses the table: the
  // compiler is told that an id it has seen names the rule it saw. Not so
  // after -E, which renames the target of jumps that keep their ids.
  next_id_ = id;
  install(next, cmd.op == Op::kRenameChain ? Assume::kNothing : Assume::kStableIds);
  // Only these ops can remove rules; forget the counters of removed ones.
  if (cmd.op == Op::kDelete || cmd.op == Op::kReplace || cmd.op == Op::kFlush ||
      cmd.op == Op::kDeleteChain) {
    forget_removed(next);
  }
  rules_ = std::move(next);
  changed();
  return true;
}

bool FilterService::edit_in_place(const filter::Command& cmd) {
  using Op = filter::Command::Op;
  filter::Chain& chain = *rules_.find(cmd.chain);
  filter::Command edit = cmd;
  if (edit.op == Op::kDelete && !edit.rulenum && edit.rule) {
    // -D RULESPEC deletes the first rule with that spec: deleting it by
    // number instead tells where to put it back.
    const auto it = std::find_if(chain.rules.begin(), chain.rules.end(),
                                 [&](const filter::Rule& r) { return r.same_spec(*edit.rule); });
    if (it != chain.rules.end()) {
      edit.rulenum = static_cast<std::uint32_t>(it - chain.rules.begin() + 1);
      edit.rule.reset();
    }
  }
  // What puts the table back if the NIC refuses the result.
  const std::size_t size = chain.rules.size();
  const std::optional<filter::Policy> policy = chain.policy;
  std::size_t at = size;
  std::optional<filter::Rule> removed;
  if (edit.op == Op::kInsert && edit.rulenum.value_or(1) >= 1) at = edit.rulenum.value_or(1) - 1;
  if ((edit.op == Op::kReplace || edit.op == Op::kDelete) && edit.rulenum && *edit.rulenum >= 1 &&
      *edit.rulenum <= size) {
    at = *edit.rulenum - 1;
    removed = chain.rules[at];
  }
  std::uint64_t id = next_id_;
  (void)filter::apply(rules_, edit, [&id] { return id++; });  // throws having changed nothing
  // As in command(): a new rule's id is never handed out again.
  next_id_ = id;
  try {
    install(rules_, Assume::kStableIds);
  } catch (...) {
    const auto pos = chain.rules.begin() + static_cast<std::ptrdiff_t>(at);
    switch (edit.op) {
      case Op::kAppend:
      case Op::kInsert:
        chain.rules.erase(pos);
        break;
      case Op::kReplace:
        *pos = std::move(*removed);
        break;
      case Op::kDelete:
        chain.rules.insert(pos, std::move(*removed));
        break;
      default:
        chain.policy = policy;
        break;
    }
    throw;
  }
  if (removed) forget(rule_ref(removed->id));
  changed();
  return true;
}

std::set<std::uint64_t> FilterService::assign_ids(filter::Ruleset& rules) {
  std::set<std::uint64_t> current;
  each_chain(rules_, [&](const filter::Chain& c) {
    for (const auto& r : c.rules) current.insert(r.id);
  });
  std::set<std::uint64_t> taken;
  std::uint64_t id = next_id_;
  each_chain(rules, [&](filter::Chain& c) {
    for (auto& r : c.rules) {
      if (r.id == 0 || !current.contains(r.id) || taken.contains(r.id)) r.id = id++;
      taken.insert(r.id);
    }
  });
  next_id_ = id;
  return current;
}

void FilterService::check(filter::Ruleset rules) {
  for (const char* builtin : {"INPUT", "OUTPUT"}) {
    if (rules.find(builtin) == nullptr || !rules.find(builtin)->builtin()) {
      throw filter::CommandError(EINVAL,
                                 std::string("the table lacks the built-in chain ") + builtin);
    }
  }
  // The ids replace() would give, so that the placement is the one the load
  // would make; the ids handed out here are never used (harmless gaps).
  assign_ids(rules);
  if (host_ != nullptr) {
    host_->test(host_->render(rules, {}));
  } else if (filter::has_host_only_part(rules)) {
    throw filter::CommandError(
        EOPNOTSUPP,
        "the table has rules for the host's own netfilter (FORWARD, *nat/*mangle/*raw, or an "
        "interface that is not a NIC port), and normand runs without --host-netfilter");
  }
  installer_.check(filter::compile(filter::nic_view(rules), ids_, options_));
}

void FilterService::replace(filter::Ruleset rules, std::optional<std::uint64_t> expected_generation,
                            bool with_counters) {
  if (expected_generation && *expected_generation != generation_) {
    throw filter::CommandError(EAGAIN,
                               "the filter table changed while it was being restored; try again");
  }
  for (const char* builtin : {"INPUT", "OUTPUT"}) {
    if (rules.find(builtin) == nullptr || !rules.find(builtin)->builtin()) {
      throw filter::CommandError(EINVAL,
                                 std::string("the table lacks the built-in chain ") + builtin);
    }
  }
  const std::set<std::uint64_t> current = assign_ids(rules);
  // A restore gives the host tables' counters (its own, or zero as
  // iptables-restore without -c); single commands keep the kernel's.
  keep_host_table_counts_ = false;
  try {
    install(rules, Assume::kNothing);
    keep_host_table_counts_ = true;
  } catch (...) {
    keep_host_table_counts_ = true;
    // The refused table may have kept ids of current rules for other
    // rules; the compiler knows them so now, and the next compile (of
    // rules_, ids trusted) would take them for those.
    compiler_.reset();
    throw;
  }
  forget_removed(rules);
  if (with_counters) {
    // Rules new to the table start from zero at the commit: only the
    // policies and kept rules have counts to read back.
    std::set<CounterRef> known;
    each_chain(rules, [&](const filter::Chain& c) {
      if (c.builtin()) known.insert(policy_ref(c.name));
      for (const auto& r : c.rules) {
        if (current.contains(r.id)) known.insert(rule_ref(r.id));
      }
    });
    const auto raw = raw_counts(known);
    auto set = [&](const CounterRef& ref, const filter::Counters& want) {
      filter::Counters have;
      if (auto it = raw.find(ref); it != raw.end()) have = it->second;
      offset_[ref] = {
          static_cast<std::int64_t>(want.packets) - static_cast<std::int64_t>(have.packets),
          static_cast<std::int64_t>(want.bytes) - static_cast<std::int64_t>(have.bytes)};
    };
    each_chain(rules, [&](const filter::Chain& c) {
      if (c.builtin()) set(policy_ref(c.name), c.policy_counters);
      for (const auto& r : c.rules) set(rule_ref(r.id), r.counters);
    });
  }
  rules_ = std::move(rules);
  changed();
}

std::optional<filter::rf::RejectWith> FilterService::reject_with(const filter::Key& key) {
  const auto v = filter::evaluate(rules_, key, ids_);
  if (v.action != filter::rf::Action::kReject) return std::nullopt;
  return v.reject_with;
}

std::vector<std::string> FilterService::log_prefixes(std::uint16_t slot) const {
  std::vector<std::string> out;
  const filter::CompiledEntry* e = installer_.at_slot(slot);
  if (e == nullptr) return out;
  for (const auto& ref : e->path) {
    if (ref.kind != CounterRef::Kind::kRule) continue;
    for (const auto& c : rules_.chains) {
      for (const auto& r : c.rules) {
        if (r.id == ref.rule_id && r.target.kind == filter::TargetKind::kLog)
          out.push_back(r.target.log_prefix);
      }
    }
  }
  return out;
}

void FilterService::owners_changed() {
  // The compiler asks the registry again and recompiles what changed.
  if (uses_cgroups_) install(rules_, Assume::kStableIds);
}

FilterStatus FilterService::status() const {
  return FilterStatus{generation_, installer_.installed(), installer_.installed_exact(),
                      options_.capacity, last_};
}

}  // namespace norman::normand

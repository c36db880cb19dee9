#include "host_split.hpp"

#include <algorithm>
#include <deque>

#include "rule_support.hpp"

namespace norman::filter {

namespace {

bool is_jump(const Rule& r) {
  return r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto;
}

// What one -i/-o allows: packets on the NIC's ports, on the host's other
// interfaces, or both.
RunsOn iface_allows(const std::optional<Iface>& i) {
  if (!i) return RunsOn::kBoth;
  const bool wildcard = !i->name.empty() && i->name.back() == '+';
  if (wildcard) {
    // nic+, n+, +: the NIC's ports and any host interface of that prefix.
    const std::string_view prefix(i->name.data(), i->name.size() - 1);
    const bool nic = std::string_view("nic").starts_with(prefix) ||
                     (prefix.starts_with("nic") && is_nic_name(std::string(prefix) + "0")) ||
                     is_nic_name(prefix);
    if (i->negated) return nic ? RunsOn::kHost : RunsOn::kBoth;
    return nic ? RunsOn::kBoth : RunsOn::kHost;
  }
  const bool nic = is_nic_name(i->name);
  if (i->negated) return RunsOn::kBoth;  // ! -i nic0: other ports too; ! -i lo: all NIC packets
  return nic ? RunsOn::kNic : RunsOn::kHost;
}

RunsOn both(RunsOn a, RunsOn b) {
  return static_cast<RunsOn>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}

}  // namespace

bool is_nic_name(std::string_view name) {
  if (!name.starts_with("nic") || name.size() == 3) return false;
  return std::all_of(name.begin() + 3, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

namespace {

std::set<std::string> reachable(const Ruleset& rules, std::set<std::string> from) {
  std::deque<std::string> todo(from.begin(), from.end());
  while (!todo.empty()) {
    const Chain* c = rules.find(todo.front());
    todo.pop_front();
    if (c == nullptr) continue;
    for (const auto& r : c->rules) {
      if (is_jump(r) && from.insert(r.target.chain).second) todo.push_back(r.target.chain);
    }
  }
  return from;
}

}  // namespace

std::set<std::string> nic_reachable(const Ruleset& rules) {
  // Every chain but those only FORWARD reaches: a user chain no built-in
  // chain reaches yet is the NIC's too (it is being filled, -N then -A).
  const auto nic = reachable(rules, {"INPUT", "OUTPUT"});
  const auto fwd = reachable(rules, {"FORWARD"});
  std::set<std::string> out;
  for (const auto& c : rules.chains) {
    if (nic.contains(c.name) || !fwd.contains(c.name)) out.insert(c.name);
  }
  return out;
}

RunsOn runs_on(const Rule& r, std::string_view chain, bool on_nic) {
  RunsOn w = both(iface_allows(r.in), iface_allows(r.out));
  if (chain == "FORWARD" || !on_nic) w = both(w, RunsOn::kHost);
  // Owners the host kernel cannot match: packets have no socket in INPUT
  // (iptables refuses -m owner there), it has no --cmd-owner, and a cgroup
  // match there would be a second, differently scoped copy.
  const bool host_owner_ok = chain == "OUTPUT" && (!r.owner || !r.owner->cmd) && !r.cgroup;
  if ((r.owner || r.cgroup) && !host_owner_ok) w = both(w, RunsOn::kNic);
  return w;
}

std::string_view runs_on_name(RunsOn w) {
  switch (w) {
    case RunsOn::kNic:
      return "nic";
    case RunsOn::kHost:
      return "host";
    case RunsOn::kBoth:
      return "nic+host";
    case RunsOn::kNowhere:
      break;
  }
  return "none";
}

Ruleset nic_view(const Ruleset& rules) {
  Ruleset out;
  out.chains = rules.chains;
  out.forward = Chain{"FORWARD", Policy::kAccept, {}, {}};
  const auto reach = nic_reachable(rules);
  for (auto& c : out.chains) {
    const bool on_nic = reach.contains(c.name);
    std::erase_if(c.rules, [&](const Rule& r) {
      return (static_cast<unsigned>(runs_on(r, c.name, on_nic)) &
              static_cast<unsigned>(RunsOn::kNic)) == 0;
    });
    for (auto& r : c.rules) {
      // ! -i lo holds for every NIC packet; the compiler knows only nicN.
      for (auto* i : {&r.in, &r.out}) {
        if (*i && (*i)->negated && iface_allows(**i) == RunsOn::kBoth &&
            !((*i)->name.back() == '+') && !is_nic_name((*i)->name)) {
          i->reset();
        } else if (*i && (*i)->negated && (*i)->name.back() == '+' &&
                   iface_allows(**i) == RunsOn::kBoth) {
          i->reset();  // ! -i veth+: no NIC port is a veth
        }
      }
    }
  }
  return out;
}

Ruleset host_view(const Ruleset& rules) {
  Ruleset out = rules;
  const auto reach = nic_reachable(rules);
  auto keep = [&](Chain& c) {
    const bool on_nic = reach.contains(c.name);
    std::erase_if(c.rules, [&](const Rule& r) {
      return (static_cast<unsigned>(runs_on(r, c.name, on_nic)) &
              static_cast<unsigned>(RunsOn::kHost)) == 0;
    });
  };
  for (auto& c : out.chains) keep(c);
  keep(out.forward);
  return out;
}

bool has_host_only_part(const Ruleset& rules) {
  if (!rules.host_tables.empty() || !rules.forward.rules.empty() ||
      rules.forward.policy != Policy::kAccept)
    return true;
  const auto reach = nic_reachable(rules);
  for (const auto& c : rules.chains) {
    for (const auto& r : c.rules) {
      if (runs_on(r, c.name, reach.contains(c.name)) == RunsOn::kHost) return true;
    }
  }
  return false;
}

}  // namespace norman::filter

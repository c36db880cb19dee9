// iptables-save and iptables -S output. The rule line is built in the order
// iptables-nft 1.8.9 prints it (-s -d -i -o -p -f, matches as written, -c,
// target) so that files round-trip byte for byte through both tools.
#include <ctime>

#include "host_syntax.hpp"
#include "syntax_internal.hpp"

namespace norman::nfw {

namespace detail {

namespace {

using filter::Module;
using filter::TargetKind;

std::string bang(bool negated) { return negated ? " !" : ""; }

void save_ports(std::string& out, const char* name, const std::optional<filter::PortMatch>& p) {
  if (!p) return;
  out += bang(p->negated);
  out += std::string(" --") + name + " " + std::to_string(p->range.lo);
  if (p->range.lo != p->range.hi) out += ":" + std::to_string(p->range.hi);
}

void save_owner_ids(std::string& out, const char* option,
                    const std::optional<filter::Owner::Ids>& ids) {
  if (!ids) return;
  out += bang(ids->negated);
  out += std::string(" ") + option + " " + std::to_string(ids->range.lo);
  if (ids->range.lo != ids->range.hi) out += "-" + std::to_string(ids->range.hi);
}

void save_module(std::string& out, const Rule& r, Module m) {
  switch (m) {
    case Module::kTcp:
    case Module::kUdp:
      out += m == Module::kTcp ? " -m tcp" : " -m udp";
      save_ports(out, "sport", r.sport);
      save_ports(out, "dport", r.dport);
      if (m == Module::kTcp && r.tcp_flags) {
        out += bang(r.tcp_flags->negated);
        out += " --tcp-flags " + tcp_flags_string(r.tcp_flags->mask) + " " +
               tcp_flags_string(r.tcp_flags->comp);
      }
      break;
    case Module::kIcmp:
      out += " -m icmp";
      if (r.icmp) {
        out += bang(r.icmp->negated);
        if (r.icmp->type == 0xFF && !r.icmp->code) {
          out += " --icmp-type any";
        } else {
          out += " --icmp-type " + std::to_string(r.icmp->type);
          if (r.icmp->code) out += "/" + std::to_string(*r.icmp->code);
        }
      }
      break;
    case Module::kMultiport:
      out += " -m multiport";
      if (r.multiport) {
        out += bang(r.multiport->negated);
        switch (r.multiport->kind) {
          case filter::Multiport::Kind::kSource:
            out += " --sports ";
            break;
          case filter::Multiport::Kind::kDestination:
            out += " --dports ";
            break;
          case filter::Multiport::Kind::kEither:
            out += " --ports ";
            break;
        }
        bool first = true;
        for (const auto& p : r.multiport->ports) {
          if (!first) out += ",";
          first = false;
          out += std::to_string(p.lo);
          if (p.lo != p.hi) out += ":" + std::to_string(p.hi);
        }
      }
      break;
    case Module::kOwner:
      out += " -m owner";
      if (r.owner) {
        save_owner_ids(out, "--uid-owner", r.owner->uid);
        save_owner_ids(out, "--gid-owner", r.owner->gid);
        if (r.owner->cmd)
          out += bang(r.owner->cmd->negated) + " --cmd-owner" + save_string(r.owner->cmd->name);
      }
      break;
    case Module::kCgroup:
      out += " -m cgroup";
      if (r.cgroup) out += bang(r.cgroup->negated) + " --path" + save_string(r.cgroup->path);
      break;
    case Module::kComment:
      out += " -m comment";
      if (r.comment) out += " --comment" + save_string(*r.comment);
      break;
    case Module::kState:
    case Module::kConntrack:
      out += conntrack_save(r, m);
      break;
    case Module::kLimit:
    case Module::kHashlimit:
      out += save_limit(r, m);
      break;
  }
}

void save_addr(std::string& out, const char* flag, const std::optional<filter::Addr>& a) {
  if (!a) return;
  out += bang(a->negated);
  out += std::string(" ") + flag + " " + addr_string(a->prefix.addr) +
         prefix_suffix(a->prefix.len, false);
}

void save_iface(std::string& out, const char* flag, const std::optional<filter::Iface>& i) {
  if (!i) return;
  out += bang(i->negated);
  out += std::string(" ") + flag + " " + i->name;
}

std::string policy_name(const filter::Chain& c) {
  return c.policy == filter::Policy::kDrop ? "DROP" : "ACCEPT";
}

std::string now_string() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return buf;
}

}  // namespace

std::string rule_spec(const Rule& r, bool counters) {
  std::string out;
  save_addr(out, "-s", r.src);
  save_addr(out, "-d", r.dst);
  save_iface(out, "-i", r.in);
  save_iface(out, "-o", r.out);
  if (r.proto) out += bang(r.proto->negated) + " -p " + proto_display(r.proto->number);
  if (r.fragment) out += std::string(*r.fragment ? "" : " !") + " -f";
  for (Module m : r.modules) save_module(out, r, m);
  if (counters)
    out += " -c " + std::to_string(r.counters.packets) + " " + std::to_string(r.counters.bytes);
  switch (r.target.kind) {
    case TargetKind::kNone:
      break;
    case TargetKind::kAccept:
      out += " -j ACCEPT";
      break;
    case TargetKind::kDrop:
      out += " -j DROP";
      break;
    case TargetKind::kReturn:
      out += " -j RETURN";
      break;
    case TargetKind::kReject:
      out += " -j REJECT --reject-with " + std::string(reject_name(r.target.reject_with));
      break;
    case TargetKind::kLog:
      out += " -j LOG";
      if (!r.target.log_prefix.empty()) out += " --log-prefix" + save_string(r.target.log_prefix);
      if (r.target.log_level != 4) out += " --log-level " + std::to_string(r.target.log_level);
      break;
    case TargetKind::kJump:
      out += " -j " + r.target.chain;
      break;
    case TargetKind::kGoto:
      out += " -g " + r.target.chain;
      break;
  }
  return out;
}

}  // namespace detail

using detail::policy_name;
using detail::rule_spec;

std::string detail_now() { return detail::now_string(); }

std::string format_save(const Ruleset& rules, bool counters) {
  const std::string when = detail::now_string();
  // The host's other tables around *filter, in iptables-save's order.
  std::string out = save_host_tables(rules, counters, when, true);
  out += "# Generated by nfw-save on " + when + "\n*filter\n";
  auto decl = [&](const filter::Chain& c) {
    out += ":" + c.name + " " + (c.builtin() ? policy_name(c) : "-") + " [" +
           std::to_string(c.policy_counters.packets) + ":" +
           std::to_string(c.policy_counters.bytes) + "]\n";
  };
  const filter::Chain* input = rules.find("INPUT");
  const filter::Chain* output = rules.find("OUTPUT");
  if (input) decl(*input);
  decl(rules.forward);
  if (output) decl(*output);
  const auto users = detail::user_chains_sorted(rules);
  for (const auto* c : users) decl(*c);
  auto rules_of = [&](const filter::Chain& c) {
    for (const auto& r : c.rules) {
      if (counters) {
        out += "[" + std::to_string(r.counters.packets) + ":" + std::to_string(r.counters.bytes) +
               "] ";
      }
      out += "-A " + c.name + rule_spec(r, false) + "\n";
    }
  };
  if (input) rules_of(*input);
  rules_of(rules.forward);
  if (output) rules_of(*output);
  for (const auto* c : users) rules_of(*c);
  out += "COMMIT\n# Completed on " + when + "\n";
  out += save_host_tables(rules, counters, when, false);
  return out;
}

std::string format_rules(const Ruleset& rules, const Command& cmd) {
  std::string out;
  auto counters = [&](const filter::Counters& c) {
    return cmd.verbose ? " -c " + std::to_string(c.packets) + " " + std::to_string(c.bytes)
                       : std::string();
  };
  auto header = [&](const filter::Chain& c) {
    if (c.builtin()) {
      out += "-P " + c.name + " " + policy_name(c) + counters(c.policy_counters) + "\n";
    } else {
      out += "-N " + c.name + "\n";
    }
  };
  auto body = [&](const filter::Chain& c) {
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
      if (cmd.rulenum && *cmd.rulenum != i + 1) continue;
      out += "-A " + c.name + rule_spec(c.rules[i], cmd.verbose) + "\n";
    }
  };
  const filter::Chain& forward = rules.forward;
  if (!cmd.chain.empty()) {
    const filter::Chain* c = rules.find(cmd.chain);
    if (c == nullptr) return out;
    if (!cmd.rulenum) header(*c);
    body(*c);
    return out;
  }
  std::vector<const filter::Chain*> order;
  if (const auto* c = rules.find("INPUT")) order.push_back(c);
  order.push_back(&forward);
  if (const auto* c = rules.find("OUTPUT")) order.push_back(c);
  for (const auto* c : detail::user_chains_sorted(rules)) order.push_back(c);
  for (const auto* c : order) {
    if (c->builtin()) header(*c);
  }
  for (const auto* c : order) {
    if (!c->builtin()) header(*c);
  }
  for (const auto* c : order) body(*c);
  return out;
}

}  // namespace norman::nfw

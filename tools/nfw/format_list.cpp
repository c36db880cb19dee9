// iptables -L: the column layout of iptables-nft 1.8.9 (print_header,
// print_rule_details, print_ifaces, print_ipv4_addresses and each match's
// print function), with -v -n -x --line-numbers. Addresses always print
// numerically (nothing here resolves names over the network); ports, users
// and groups use the local databases without -n, as iptables does.
#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "host_split.hpp"
#include "syntax_internal.hpp"

namespace norman::nfw {

namespace {

using filter::Module;
using filter::TargetKind;

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  const int n = std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return n < 0
             ? std::string()
             : std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

struct Format {
  bool numeric = false;
  bool verbose = false;
  bool exact = false;
  bool line_numbers = false;
};

// xtables_print_num: K/M/G/T suffixes unless -x; `notable` is the
// unpadded form of the chain header.
std::string number(std::uint64_t n, const Format& f, bool notable) {
  if (f.exact) return notable ? fmt("%" PRIu64 " ", n) : fmt("%8" PRIu64 " ", n);
  if (n <= 99999) return notable ? fmt("%" PRIu64 " ", n) : fmt("%5" PRIu64 " ", n);
  for (const char* suffix : {"K", "M", "G"}) {
    n = (n + 500) / 1000;
    if (n <= 9999)
      return notable ? fmt("%" PRIu64 "%s ", n, suffix) : fmt("%4" PRIu64 "%s ", n, suffix);
  }
  n = (n + 500) / 1000;
  return notable ? fmt("%" PRIu64 "T ", n) : fmt("%4" PRIu64 "T ", n);
}

std::string port_name(std::uint32_t port, const std::string& proto, const Format& f) {
  if (!f.numeric) {
    if (const servent* s = getservbyport(htons(static_cast<std::uint16_t>(port)), proto.c_str());
        s != nullptr) {
      return s->s_name;
    }
  }
  return std::to_string(port);
}

void print_ports(std::string& out, const char* name, const std::optional<filter::PortMatch>& p,
                 const std::string& proto, const Format& f) {
  if (!p) return;
  const char* inv = p->negated ? "!" : "";
  if (p->range.lo == 0 && p->range.hi == 65535 && !p->negated) return;
  out += std::string(" ") + name;
  if (p->range.lo == p->range.hi) {
    out += std::string(":") + inv + port_name(p->range.lo, proto, f);
  } else {
    out += std::string("s:") + inv + port_name(p->range.lo, proto, f) + ":" +
           port_name(p->range.hi, proto, f);
  }
}

void print_owner_ids(std::string& out, const char* label,
                     const std::optional<filter::Owner::Ids>& ids, bool user, const Format& f) {
  if (!ids) return;
  if (ids->negated) out += " !";
  out += std::string(" ") + label;
  if (ids->range.lo != ids->range.hi) {
    out += " " + std::to_string(ids->range.lo) + "-" + std::to_string(ids->range.hi);
    return;
  }
  if (!f.numeric) {
    if (user) {
      if (const passwd* pw = getpwuid(ids->range.lo); pw != nullptr && pw->pw_name != nullptr) {
        out += std::string(" ") + pw->pw_name;
        return;
      }
    } else if (const group* gr = getgrgid(ids->range.lo); gr != nullptr && gr->gr_name != nullptr) {
      out += std::string(" ") + gr->gr_name;
      return;
    }
  }
  out += " " + std::to_string(ids->range.lo);
}

void print_module(std::string& out, const filter::Rule& r, Module m, const Format& f) {
  switch (m) {
    case Module::kTcp:
    case Module::kUdp: {
      const std::string proto = m == Module::kTcp ? "tcp" : "udp";
      out += " " + proto;
      print_ports(out, "spt", r.sport, proto, f);
      print_ports(out, "dpt", r.dport, proto, f);
      if (m == Module::kTcp && r.tcp_flags && (r.tcp_flags->mask != 0 || r.tcp_flags->negated)) {
        out += std::string(" flags:") + (r.tcp_flags->negated ? "!" : "");
        if (f.numeric) {
          out += fmt("0x%02X/0x%02X", r.tcp_flags->mask, r.tcp_flags->comp);
        } else {
          out += detail::tcp_flags_string(r.tcp_flags->mask) + "/" +
                 detail::tcp_flags_string(r.tcp_flags->comp);
        }
      }
      break;
    }
    case Module::kIcmp: {
      out += " icmp";
      const filter::IcmpType t = r.icmp.value_or(filter::IcmpType{});
      const std::uint8_t lo = t.code.value_or(0);
      const std::uint8_t hi = t.code.value_or(0xFF);
      if (!f.numeric) {
        bool named = false;
        for (const auto& n : detail::icmp_names()) {
          if (n.type == t.type && n.code_min == lo && n.code_max == hi) {
            out += std::string(" ") + (t.negated ? "!" : "") + std::string(n.name);
            named = true;
            break;
          }
        }
        if (named) break;
      }
      // iptables prints "icmp" and then "type N" without a space between
      // them when not negated ("icmptype 8"); kept for identical output.
      if (t.negated) out += " !";
      out += "type " + std::to_string(t.type);
      if (t.code) out += " code " + std::to_string(*t.code);
      break;
    }
    case Module::kMultiport: {
      out += " multiport ";
      if (!r.multiport) break;
      switch (r.multiport->kind) {
        case filter::Multiport::Kind::kSource:
          out += "sports ";
          break;
        case filter::Multiport::Kind::kDestination:
          out += "dports ";
          break;
        case filter::Multiport::Kind::kEither:
          out += "ports ";
          break;
      }
      if (r.multiport->negated) out += " !";
      const std::string proto = r.proto ? detail::proto_display(r.proto->number) : "tcp";
      bool first = true;
      for (const auto& p : r.multiport->ports) {
        if (!first) out += ",";
        first = false;
        out += port_name(p.lo, proto, f);
        if (p.lo != p.hi) out += ":" + port_name(p.hi, proto, f);
      }
      break;
    }
    case Module::kOwner:
      if (!r.owner) break;
      print_owner_ids(out, "owner UID match", r.owner->uid, true, f);
      print_owner_ids(out, "owner GID match", r.owner->gid, false, f);
      if (r.owner->cmd)
        out += std::string(r.owner->cmd->negated ? " !" : "") + " owner CMD match " +
               r.owner->cmd->name;
      break;
    case Module::kCgroup:
      out += " cgroup";
      if (r.cgroup) out += std::string(" ") + (r.cgroup->negated ? "! " : "") + r.cgroup->path;
      break;
    case Module::kComment:
      if (r.comment) out += " /* " + *r.comment + " */";
      break;
    case Module::kState:
    case Module::kConntrack:
      out += detail::conntrack_list(r, m);
      break;
    case Module::kLimit:
    case Module::kHashlimit:
      out += detail::list_limit(r, m);
      break;
  }
}

std::string target_column(const filter::Rule& r) {
  switch (r.target.kind) {
    case TargetKind::kNone:
      return "";
    case TargetKind::kAccept:
      return "ACCEPT";
    case TargetKind::kDrop:
      return "DROP";
    case TargetKind::kReject:
      return "REJECT";
    case TargetKind::kReturn:
      return "RETURN";
    case TargetKind::kLog:
      return "LOG";
    case TargetKind::kJump:
    case TargetKind::kGoto:
      return r.target.chain;
  }
  return "";
}

std::string address(const std::optional<filter::Addr>& a, const Format& f) {
  const filter::Addr v = a.value_or(filter::Addr{{0, 0}, false});
  std::string s = std::string(1, v.negated ? '!' : ' ');
  if (v.prefix.len == 0 && !f.numeric) {
    s += fmt("%-19s ", "anywhere");
  } else {
    s += fmt(
        "%-19s ",
        (detail::addr_string(v.prefix.addr) + detail::prefix_suffix(v.prefix.len, true)).c_str());
  }
  return s;
}

std::string iface(const std::optional<filter::Iface>& i, const Format& f) {
  if (!i) return f.numeric ? "*" : "any";
  return (i->negated ? "!" : "") + i->name;
}

std::string row(const filter::Rule& r, std::size_t num, const Format& f) {
  std::string out;
  if (f.line_numbers) out += fmt("%-4zu ", num);
  if (f.verbose) out += number(r.counters.packets, f, false) + number(r.counters.bytes, f, false);
  out += fmt("%-9s ", target_column(r).c_str());
  out += r.proto && r.proto->negated ? '!' : ' ';
  const std::uint8_t proto = r.proto ? r.proto->number : 0;
  if (f.numeric) {
    out += fmt("%-5u", static_cast<unsigned>(proto));
  } else {
    out += fmt("%-5s", proto == 0 ? "all" : detail::proto_display(proto).c_str());
  }
  out += r.fragment && !*r.fragment ? '!' : '-';
  out += r.fragment ? 'f' : '-';
  out += ' ';
  if (f.verbose) {
    out += fmt(" %-6s ", iface(r.in, f).c_str());
    out += fmt("%-6s ", iface(r.out, f).c_str());
  }
  out += address(r.src, f);
  out += address(r.dst, f);
  if (r.target.kind == TargetKind::kGoto) out += "[goto] ";
  for (Module m : r.modules) print_module(out, r, m, f);
  if (r.target.kind == TargetKind::kReject) {
    out += " reject-with " + std::string(detail::reject_name(r.target.reject_with));
  } else if (r.target.kind == TargetKind::kLog) {
    out += " LOG";
    if (f.numeric) {
      out += " flags 0 level " + std::to_string(r.target.log_level);
    } else {
      out += " level " + std::string(detail::log_level_name(r.target.log_level));
    }
    if (!r.target.log_prefix.empty()) out += " prefix \"" + r.target.log_prefix + "\"";
  }
  return out + "\n";
}

std::string header(const filter::Ruleset& rules, const filter::Chain& c, const Format& f) {
  std::string out = "Chain " + c.name;
  if (c.builtin()) {
    out += " (policy " + std::string(c.policy == filter::Policy::kDrop ? "DROP" : "ACCEPT");
    if (f.verbose) {
      out += " " + number(c.policy_counters.packets, f, true) + "packets, " +
             number(c.policy_counters.bytes, f, true) + "bytes";
    }
    out += ")\n";
  } else {
    out += " (" + std::to_string(rules.references(c.name)) + " references)\n";
  }
  if (f.line_numbers) out += fmt("%-4s ", "num");
  if (f.verbose)
    out += f.exact ? fmt("%8s %10s ", "pkts", "bytes") : fmt("%5s %5s ", "pkts", "bytes");
  out += fmt("%-9s ", "target");
  out += " prot opt";
  if (f.verbose) out += fmt(" %-6s %-6s ", "in", "out");
  out += fmt(" %-19s  %-19s \n", "source", "destination");
  return out;
}

}  // namespace

std::string format_list(const Ruleset& rules, const Command& cmd) {
  const Format f{cmd.numeric, cmd.verbose, cmd.exact, cmd.line_numbers};
  const filter::Chain& forward = rules.forward;
  std::vector<const filter::Chain*> order;
  if (!cmd.chain.empty()) {
    const filter::Chain* c = rules.find(cmd.chain);
    if (c != nullptr) order.push_back(c);
  } else {
    if (const auto* c = rules.find("INPUT")) order.push_back(c);
    order.push_back(&forward);
    if (const auto* c = rules.find("OUTPUT")) order.push_back(c);
    for (const auto* c : detail::user_chains_sorted(rules)) order.push_back(c);
  }
  // Where each rule runs (docs/nfw-host.md), as a comment at the end of
  // the row, shown by -v once the table has a part for the host's netfilter.
  const bool where = f.verbose && filter::has_host_only_part(rules);
  const auto reach = filter::nic_reachable(rules);
  auto row_of = [&](const filter::Chain& c, std::size_t k) {
    std::string r = row(c.rules[k], k + 1, f);
    if (where) {
      r.pop_back();
      r += " /* runs on " +
           std::string(filter::runs_on_name(
               filter::runs_on(c.rules[k], c.name, reach.contains(c.name)))) +
           " */\n";
    }
    return r;
  };
  std::string out;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const filter::Chain& c = *order[i];
    if (cmd.rulenum) {
      if (*cmd.rulenum <= c.rules.size()) out += row_of(c, *cmd.rulenum - 1);
      continue;
    }
    if (i > 0) out += "\n";
    out += header(rules, c, f);
    for (std::size_t k = 0; k < c.rules.size(); ++k) out += row_of(c, k);
  }
  return out;
}

}  // namespace norman::nfw

// JSON form of the rule model. It crosses a trust boundary (normand's
// control socket), so reading is strict: every value is type- and
// range-checked, unknown keys are refused (a misspelt key must not silently
// drop a match), and rules must be self-consistent before anyone compiles
// them.
#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>

#include "json_read.hpp"
#include "ruleset.hpp"
#include "ruleset_json_conntrack.hpp"
#include "ruleset_json_limit.hpp"

namespace norman::filter {

namespace {

using detail::bad;
using detail::expect_object;
using nlohmann::json;

const json& field(const json& j, const std::string& where, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) bad(where, std::string("missing \"") + key + "\"");
  return *it;
}

std::uint64_t get_uint(const json& j, const std::string& where, std::uint64_t max) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0)) {
    bad(where, "expected a non-negative integer");
  }
  auto v = j.get<std::uint64_t>();
  if (v > max) bad(where, "value " + std::to_string(v) + " is above " + std::to_string(max));
  return v;
}

template <typename T>
T get_uint_as(const json& j, const std::string& where) {
  return static_cast<T>(get_uint(j, where, std::numeric_limits<T>::max()));
}

bool get_bool(const json& j, const std::string& where) {
  if (!j.is_boolean()) bad(where, "expected true or false");
  return j.get<bool>();
}

// Every string of the model must survive nfw-save | nfw-restore (see
// unsaveable_text); `word`: written unquoted (names).
std::string get_string(const json& j, const std::string& where, bool word = false) {
  if (!j.is_string()) bad(where, "expected a string");
  std::string s = j.get<std::string>();
  if (auto why = unsaveable_text(s, word)) bad(where, *why);
  return s;
}

bool opt_negated(const json& j, const std::string& where) {
  auto it = j.find("negated");
  return it == j.end() ? false : get_bool(*it, where + ".negated");
}

std::string addr_string(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xFF) + "." +
         std::to_string((a >> 8) & 0xFF) + "." + std::to_string(a & 0xFF);
}

std::uint32_t parse_addr(const std::string& s, const std::string& where) {
  in_addr a{};
  // inet_pton (unlike inet_aton) takes only the dotted-quad form, so the
  // JSON has one spelling per address.
  if (inet_pton(AF_INET, s.c_str(), &a) != 1)
    bad(where, "\"" + s + "\" is not a dotted-quad IPv4 address");
  return ntohl(a.s_addr);
}

json range_json(const Range& r) { return json{{"lo", r.lo}, {"hi", r.hi}}; }

Range range_from(const json& j, const std::string& where, std::uint32_t max) {
  expect_object(j, where, {"lo", "hi", "negated"});
  Range r;
  r.lo = static_cast<std::uint32_t>(get_uint(field(j, where, "lo"), where + ".lo", max));
  r.hi = static_cast<std::uint32_t>(get_uint(field(j, where, "hi"), where + ".hi", max));
  if (r.lo > r.hi) bad(where, "lo is above hi");
  return r;
}

constexpr std::pair<Module, const char*> kModuleNames[] = {
    {Module::kTcp, "tcp"},
    {Module::kUdp, "udp"},
    {Module::kIcmp, "icmp"},
    {Module::kMultiport, "multiport"},
    {Module::kOwner, "owner"},
    {Module::kCgroup, "cgroup"},
    {Module::kComment, "comment"},
    {Module::kState, "state"},
    {Module::kConntrack, "conntrack"},
    {Module::kLimit, "limit"},
    {Module::kHashlimit, "hashlimit"},
};

constexpr std::pair<TargetKind, const char*> kTargetNames[] = {
    {TargetKind::kNone, "none"},     {TargetKind::kAccept, "ACCEPT"}, {TargetKind::kDrop, "DROP"},
    {TargetKind::kReject, "REJECT"}, {TargetKind::kReturn, "RETURN"}, {TargetKind::kLog, "LOG"},
    {TargetKind::kJump, "jump"},     {TargetKind::kGoto, "goto"},
};

constexpr std::pair<RejectWith, const char*> kRejectNames[] = {
    {RejectWith::kIcmpNetUnreachable, "icmp-net-unreachable"},
    {RejectWith::kIcmpHostUnreachable, "icmp-host-unreachable"},
    {RejectWith::kIcmpPortUnreachable, "icmp-port-unreachable"},
    {RejectWith::kIcmpProtoUnreachable, "icmp-proto-unreachable"},
    {RejectWith::kIcmpNetProhibited, "icmp-net-prohibited"},
    {RejectWith::kIcmpHostProhibited, "icmp-host-prohibited"},
    {RejectWith::kIcmpAdminProhibited, "icmp-admin-prohibited"},
    {RejectWith::kTcpReset, "tcp-reset"},
};

constexpr std::pair<Multiport::Kind, const char*> kMultiportKinds[] = {
    {Multiport::Kind::kSource, "source"},
    {Multiport::Kind::kDestination, "destination"},
    {Multiport::Kind::kEither, "either"},
};

template <typename E, std::size_t N>
const char* name_of(const std::pair<E, const char*> (&table)[N], E v) {
  for (const auto& [e, n] : table) {
    if (e == v) return n;
  }
  throw std::invalid_argument("filter JSON: value out of range");
}

template <typename E, std::size_t N>
E value_of(const std::pair<E, const char*> (&table)[N], const json& j, const std::string& where) {
  const std::string s = get_string(j, where);
  for (const auto& [e, n] : table) {
    if (s == n) return e;
  }
  std::string all;
  for (const auto& [e, n] : table) all += std::string(all.empty() ? "" : ", ") + n;
  bad(where, "\"" + s + "\" is not one of " + all);
}

json counters_json(const Counters& c) { return json{{"packets", c.packets}, {"bytes", c.bytes}}; }

Counters counters_from(const json& j, const std::string& where) {
  expect_object(j, where, {"packets", "bytes"});
  Counters c;
  c.packets = get_uint_as<std::uint64_t>(field(j, where, "packets"), where + ".packets");
  c.bytes = get_uint_as<std::uint64_t>(field(j, where, "bytes"), where + ".bytes");
  return c;
}

json addr_json(const Addr& a) {
  return json{{"addr", addr_string(a.prefix.addr)}, {"len", a.prefix.len}, {"negated", a.negated}};
}

Addr addr_from(const json& j, const std::string& where) {
  expect_object(j, where, {"addr", "len", "negated"});
  Addr a;
  a.prefix.addr = parse_addr(get_string(field(j, where, "addr"), where + ".addr"), where + ".addr");
  a.prefix.len = static_cast<std::uint8_t>(get_uint(field(j, where, "len"), where + ".len", 32));
  const std::uint32_t mask = a.prefix.len == 0 ? 0 : ~std::uint32_t{0} << (32 - a.prefix.len);
  if ((a.prefix.addr & ~mask) != 0) bad(where, "address has bits set outside its prefix length");
  a.negated = opt_negated(j, where);
  return a;
}

json iface_json(const Iface& i) { return json{{"name", i.name}, {"negated", i.negated}}; }

Iface iface_from(const json& j, const std::string& where) {
  expect_object(j, where, {"name", "negated"});
  Iface i;
  i.name = get_string(field(j, where, "name"), where + ".name", true);
  if (i.name.empty() || i.name.size() > 15)
    bad(where, "interface name must have 1 to 15 characters");
  i.negated = opt_negated(j, where);
  return i;
}

json port_json(const PortMatch& p) {
  return json{{"lo", p.range.lo}, {"hi", p.range.hi}, {"negated", p.negated}};
}

PortMatch port_from(const json& j, const std::string& where) {
  PortMatch p;
  p.range = range_from(j, where, 65535);
  p.negated = opt_negated(j, where);
  return p;
}

json owner_ids_json(const Owner::Ids& ids) {
  return json{{"lo", ids.range.lo}, {"hi", ids.range.hi}, {"negated", ids.negated}};
}

Owner::Ids owner_ids_from(const json& j, const std::string& where) {
  Owner::Ids ids;
  ids.range = range_from(j, where, std::numeric_limits<std::uint32_t>::max());
  ids.negated = opt_negated(j, where);
  return ids;
}

// FORWARD and the host's other tables (docs/nfw-host.md): "forward" is a
// chain object as in "chains", "host_tables" the text tables. A state file
// of an older normand has only FORWARD's policy counters.
void host_part_to_json(json& j, const Ruleset& rs) {
  const Chain& f = rs.forward;
  if (f.policy != Policy::kAccept || !f.rules.empty() || f.policy_counters != Counters{}) {
    json rules = json::array();
    for (const auto& r : f.rules) rules.push_back(r);
    j["forward"] = json{{"policy", *f.policy == Policy::kAccept ? "ACCEPT" : "DROP"},
                        {"policy_counters", counters_json(f.policy_counters)},
                        {"rules", std::move(rules)}};
  }
  if (rs.host_tables.empty()) return;
  json tables = json::array();
  for (const auto& t : rs.host_tables) {
    json chains = json::array();
    for (const auto& c : t.chains) {
      json rules = json::array();
      for (const auto& r : c.rules)
        rules.push_back(json{{"spec", r.spec}, {"packets", r.packets}, {"bytes", r.bytes}});
      chains.push_back(json{{"name", c.name},
                            {"policy", c.policy},
                            {"packets", c.packets},
                            {"bytes", c.bytes},
                            {"rules", std::move(rules)}});
    }
    tables.push_back(json{{"name", t.name}, {"chains", std::move(chains)}});
  }
  j["host_tables"] = std::move(tables);
}

std::uint64_t get_u64(const json& j, const std::string& where) {
  if (!j.is_number_unsigned()) bad(where, "expected an unsigned number");
  return j.get<std::uint64_t>();
}

void host_part_from_json(const json& j, Ruleset& rs) {
  if (auto fc = j.find("forward_policy_counters"); fc != j.end())
    rs.forward.policy_counters = counters_from(*fc, "ruleset.forward_policy_counters");
  if (auto fj = j.find("forward"); fj != j.end()) {
    const std::string w = "ruleset.forward";
    expect_object(*fj, w, {"policy", "policy_counters", "rules"});
    const std::string pol = get_string(field(*fj, w, "policy"), w + ".policy");
    if (pol != "ACCEPT" && pol != "DROP")
      bad(w + ".policy", "\"" + pol + "\" is not ACCEPT or DROP");
    rs.forward.policy = pol == "ACCEPT" ? Policy::kAccept : Policy::kDrop;
    if (auto pc = fj->find("policy_counters"); pc != fj->end())
      rs.forward.policy_counters = counters_from(*pc, w + ".policy_counters");
    if (auto rj = fj->find("rules"); rj != fj->end()) {
      if (!rj->is_array()) bad(w + ".rules", "expected an array");
      for (std::size_t k = 0; k < rj->size(); ++k) {
        try {
          rs.forward.rules.push_back((*rj)[k].get<Rule>());
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(std::string(e.what()) + " (" + w + ".rules[" +
                                      std::to_string(k) + "])");
        }
      }
    }
  }
  auto tj = j.find("host_tables");
  if (tj == j.end()) return;
  if (!tj->is_array()) bad("ruleset.host_tables", "expected an array");
  for (std::size_t i = 0; i < tj->size(); ++i) {
    const std::string w = "ruleset.host_tables[" + std::to_string(i) + "]";
    const json& t = (*tj)[i];
    expect_object(t, w, {"name", "chains"});
    HostTable table;
    table.name = get_string(field(t, w, "name"), w + ".name", true);
    if (!is_host_table(table.name))
      bad(w + ".name", "\"" + table.name + "\" is not raw, mangle, nat or security");
    const json& chains = field(t, w, "chains");
    if (!chains.is_array()) bad(w + ".chains", "expected an array");
    for (std::size_t c = 0; c < chains.size(); ++c) {
      const std::string cw = w + ".chains[" + std::to_string(c) + "]";
      const json& cj = chains[c];
      expect_object(cj, cw, {"name", "policy", "packets", "bytes", "rules"});
      HostChain chain;
      chain.name = get_string(field(cj, cw, "name"), cw + ".name", true);
      chain.policy = get_string(field(cj, cw, "policy"), cw + ".policy", true);
      if (chain.name.empty() || chain.policy.empty()) bad(cw, "empty chain name or policy");
      if (auto p = cj.find("packets"); p != cj.end()) chain.packets = get_u64(*p, cw + ".packets");
      if (auto b = cj.find("bytes"); b != cj.end()) chain.bytes = get_u64(*b, cw + ".bytes");
      if (auto rj = cj.find("rules"); rj != cj.end()) {
        if (!rj->is_array()) bad(cw + ".rules", "expected an array");
        for (std::size_t k = 0; k < rj->size(); ++k) {
          const std::string rw = cw + ".rules[" + std::to_string(k) + "]";
          expect_object((*rj)[k], rw, {"spec", "packets", "bytes"});
          HostRule r;
          r.spec = get_string(field((*rj)[k], rw, "spec"), rw + ".spec");
          if (r.spec.empty()) bad(rw + ".spec", "empty rule");
          if (auto p = (*rj)[k].find("packets"); p != (*rj)[k].end())
            r.packets = get_u64(*p, rw + ".packets");
          if (auto b = (*rj)[k].find("bytes"); b != (*rj)[k].end())
            r.bytes = get_u64(*b, rw + ".bytes");
          chain.rules.push_back(std::move(r));
        }
      }
      table.chains.push_back(std::move(chain));
    }
    rs.host_tables.push_back(std::move(table));
  }
}

}  // namespace

void to_json(json& j, const Rule& r) {
  j = json::object();
  j["id"] = r.id;
  if (r.src) j["src"] = addr_json(*r.src);
  if (r.dst) j["dst"] = addr_json(*r.dst);
  if (r.in) j["in"] = iface_json(*r.in);
  if (r.out) j["out"] = iface_json(*r.out);
  if (r.proto) j["proto"] = json{{"number", r.proto->number}, {"negated", r.proto->negated}};
  if (r.fragment) j["fragment"] = *r.fragment;
  json mods = json::array();
  for (Module m : r.modules) mods.push_back(name_of(kModuleNames, m));
  j["modules"] = std::move(mods);
  if (r.sport) j["sport"] = port_json(*r.sport);
  if (r.dport) j["dport"] = port_json(*r.dport);
  if (r.tcp_flags) {
    j["tcp_flags"] = json{{"mask", r.tcp_flags->mask},
                          {"comp", r.tcp_flags->comp},
                          {"negated", r.tcp_flags->negated}};
  }
  if (r.icmp) {
    json ic{{"type", r.icmp->type}, {"negated", r.icmp->negated}};
    ic["code"] = r.icmp->code ? json(*r.icmp->code) : json(nullptr);
    j["icmp"] = std::move(ic);
  }
  if (r.multiport) {
    json ports = json::array();
    for (const auto& p : r.multiport->ports) ports.push_back(range_json(p));
    j["multiport"] = json{{"kind", name_of(kMultiportKinds, r.multiport->kind)},
                          {"ports", std::move(ports)},
                          {"negated", r.multiport->negated}};
  }
  if (r.owner) {
    json o = json::object();
    if (r.owner->uid) o["uid"] = owner_ids_json(*r.owner->uid);
    if (r.owner->gid) o["gid"] = owner_ids_json(*r.owner->gid);
    if (r.owner->cmd)
      o["cmd"] = json{{"name", r.owner->cmd->name}, {"negated", r.owner->cmd->negated}};
    j["owner"] = std::move(o);
  }
  if (r.cgroup) j["cgroup"] = json{{"path", r.cgroup->path}, {"negated", r.cgroup->negated}};
  if (r.comment) j["comment"] = *r.comment;
  detail::conntrack_to_json(j, r);
  detail::limit_to_json(j, r);
  json t{{"kind", name_of(kTargetNames, r.target.kind)}};
  if (r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto)
    t["chain"] = r.target.chain;
  if (r.target.kind == TargetKind::kReject)
    t["reject_with"] = name_of(kRejectNames, r.target.reject_with);
  if (r.target.kind == TargetKind::kLog) {
    t["log_prefix"] = r.target.log_prefix;
    t["log_level"] = r.target.log_level;
  }
  j["target"] = std::move(t);
  j["counters"] = counters_json(r.counters);
}

void from_json(const json& j, Rule& out) {
  const std::string w = "rule";
  expect_object(j, w, {"id",        "src",       "dst",    "in",       "out",       "proto",
                       "fragment",  "modules",   "sport",  "dport",    "tcp_flags", "icmp",
                       "multiport", "owner",     "cgroup", "comment",  "target",    "counters",
                       "state",     "conntrack", "limit",  "hashlimit"});
  Rule r;
  if (auto it = j.find("id"); it != j.end()) r.id = get_uint_as<std::uint64_t>(*it, w + ".id");
  if (auto it = j.find("src"); it != j.end()) r.src = addr_from(*it, w + ".src");
  if (auto it = j.find("dst"); it != j.end()) r.dst = addr_from(*it, w + ".dst");
  if (auto it = j.find("in"); it != j.end()) r.in = iface_from(*it, w + ".in");
  if (auto it = j.find("out"); it != j.end()) r.out = iface_from(*it, w + ".out");
  if (auto it = j.find("proto"); it != j.end()) {
    expect_object(*it, w + ".proto", {"number", "negated"});
    r.proto =
        Proto{get_uint_as<std::uint8_t>(field(*it, w + ".proto", "number"), w + ".proto.number"),
              opt_negated(*it, w + ".proto")};
    if (r.proto->number == 0)
      bad(w + ".proto", "protocol 0 (all) is written by leaving \"proto\" out");
  }
  if (auto it = j.find("fragment"); it != j.end()) r.fragment = get_bool(*it, w + ".fragment");
  if (auto it = j.find("modules"); it != j.end()) {
    if (!it->is_array()) bad(w + ".modules", "expected an array");
    for (const auto& m : *it) {
      Module mod = value_of(kModuleNames, m, w + ".modules");
      if (std::find(r.modules.begin(), r.modules.end(), mod) != r.modules.end()) {
        bad(w + ".modules",
            std::string("module \"") + name_of(kModuleNames, mod) + "\" listed twice");
      }
      r.modules.push_back(mod);
    }
  }
  if (auto it = j.find("sport"); it != j.end()) r.sport = port_from(*it, w + ".sport");
  if (auto it = j.find("dport"); it != j.end()) r.dport = port_from(*it, w + ".dport");
  if (auto it = j.find("tcp_flags"); it != j.end()) {
    const std::string fw = w + ".tcp_flags";
    expect_object(*it, fw, {"mask", "comp", "negated"});
    r.tcp_flags = TcpFlags{get_uint_as<std::uint8_t>(field(*it, fw, "mask"), fw + ".mask"),
                           get_uint_as<std::uint8_t>(field(*it, fw, "comp"), fw + ".comp"),
                           opt_negated(*it, fw)};
  }
  if (auto it = j.find("icmp"); it != j.end()) {
    const std::string iw = w + ".icmp";
    expect_object(*it, iw, {"type", "code", "negated"});
    IcmpType ic;
    ic.type = get_uint_as<std::uint8_t>(field(*it, iw, "type"), iw + ".type");
    if (auto c = it->find("code"); c != it->end() && !c->is_null())
      ic.code = get_uint_as<std::uint8_t>(*c, iw + ".code");
    ic.negated = opt_negated(*it, iw);
    r.icmp = ic;
  }
  if (auto it = j.find("multiport"); it != j.end()) {
    const std::string mw = w + ".multiport";
    expect_object(*it, mw, {"kind", "ports", "negated"});
    Multiport mp;
    mp.kind = value_of(kMultiportKinds, field(*it, mw, "kind"), mw + ".kind");
    const json& ports = field(*it, mw, "ports");
    if (!ports.is_array() || ports.empty()) bad(mw + ".ports", "expected a non-empty array");
    std::size_t weight = 0;
    for (const auto& p : ports) {
      mp.ports.push_back(range_from(p, mw + ".ports[]", 65535));
      weight += mp.ports.back().lo == mp.ports.back().hi ? 1 : 2;
    }
    if (weight > 15) bad(mw + ".ports", "more than 15 ports (a range counts as two)");
    mp.negated = opt_negated(*it, mw);
    r.multiport = std::move(mp);
  }
  if (auto it = j.find("owner"); it != j.end()) {
    const std::string ow = w + ".owner";
    expect_object(*it, ow, {"uid", "gid", "cmd"});
    Owner o;
    if (auto u = it->find("uid"); u != it->end()) o.uid = owner_ids_from(*u, ow + ".uid");
    if (auto g = it->find("gid"); g != it->end()) o.gid = owner_ids_from(*g, ow + ".gid");
    if (auto c = it->find("cmd"); c != it->end()) {
      expect_object(*c, ow + ".cmd", {"name", "negated"});
      o.cmd = Owner::Name{get_string(field(*c, ow + ".cmd", "name"), ow + ".cmd.name"),
                          opt_negated(*c, ow + ".cmd")};
      if (o.cmd->name.empty() || o.cmd->name.size() > 15)
        bad(ow + ".cmd", "command name must have 1 to 15 characters");
    }
    if (!o.uid && !o.gid && !o.cmd) bad(ow, "needs at least one of uid, gid, cmd");
    r.owner = std::move(o);
  }
  if (auto it = j.find("cgroup"); it != j.end()) {
    expect_object(*it, w + ".cgroup", {"path", "negated"});
    r.cgroup = Cgroup{get_string(field(*it, w + ".cgroup", "path"), w + ".cgroup.path"),
                      opt_negated(*it, w + ".cgroup")};
    if (r.cgroup->path.empty()) bad(w + ".cgroup.path", "empty path");
  }
  if (auto it = j.find("comment"); it != j.end()) {
    r.comment = get_string(*it, w + ".comment");
    if (r.comment->size() > 255) bad(w + ".comment", "longer than 255 characters");
  }
  {
    const std::string tw = w + ".target";
    const json& t = field(j, w, "target");
    expect_object(t, tw, {"kind", "chain", "reject_with", "log_prefix", "log_level"});
    r.target.kind = value_of(kTargetNames, field(t, tw, "kind"), tw + ".kind");
    const bool jumps = r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto;
    if (jumps) {
      r.target.chain = get_string(field(t, tw, "chain"), tw + ".chain", true);
      if (r.target.chain.empty()) bad(tw + ".chain", "empty chain name");
    } else if (t.contains("chain")) {
      bad(tw, "\"chain\" belongs to jump and goto only");
    }
    if (auto it = t.find("reject_with"); it != t.end()) {
      if (r.target.kind != TargetKind::kReject) bad(tw, "\"reject_with\" belongs to REJECT only");
      r.target.reject_with = value_of(kRejectNames, *it, tw + ".reject_with");
    }
    if (r.target.kind != TargetKind::kLog &&
        (t.contains("log_prefix") || t.contains("log_level"))) {
      bad(tw, "\"log_prefix\" and \"log_level\" belong to LOG only");
    }
    if (auto it = t.find("log_prefix"); it != t.end()) {
      r.target.log_prefix = get_string(*it, tw + ".log_prefix");
      if (r.target.log_prefix.size() > 29) bad(tw + ".log_prefix", "longer than 29 characters");
    }
    if (auto it = t.find("log_level"); it != t.end()) {
      r.target.log_level = static_cast<std::uint8_t>(get_uint(*it, tw + ".log_level", 7));
    }
  }
  if (auto it = j.find("counters"); it != j.end()) r.counters = counters_from(*it, w + ".counters");

  // A field without the module that carries it could be neither printed
  // nor enforced the way iptables would.
  auto has = [&](Module m) {
    return std::find(r.modules.begin(), r.modules.end(), m) != r.modules.end();
  };
  const bool tcp = has(Module::kTcp);
  const bool udp = has(Module::kUdp);
  if (tcp && udp) bad(w + ".modules", "tcp and udp in one rule");
  if ((r.sport || r.dport) && !tcp && !udp) bad(w, "sport/dport need module tcp or udp");
  if (r.tcp_flags && !tcp) bad(w, "tcp_flags needs module tcp");
  if (has(Module::kIcmp) != r.icmp.has_value()) bad(w, "icmp and module icmp go together");
  if (has(Module::kMultiport) != r.multiport.has_value())
    bad(w, "multiport and module multiport go together");
  if (has(Module::kOwner) != r.owner.has_value()) bad(w, "owner and module owner go together");
  if (has(Module::kCgroup) != r.cgroup.has_value()) bad(w, "cgroup and module cgroup go together");
  if (has(Module::kComment) != r.comment.has_value())
    bad(w, "comment and module comment go together");
  detail::conntrack_from_json(j, r);
  detail::limit_from_json(j, r, w);
  out = std::move(r);
}

void to_json(json& j, const Ruleset& rs) {
  json chains = json::array();
  for (const auto& c : rs.chains) {
    json cj{{"name", c.name}};
    cj["policy"] =
        c.policy ? json(*c.policy == Policy::kAccept ? "ACCEPT" : "DROP") : json(nullptr);
    cj["policy_counters"] = counters_json(c.policy_counters);
    json rules = json::array();
    for (const auto& r : c.rules) rules.push_back(r);
    cj["rules"] = std::move(rules);
    chains.push_back(std::move(cj));
  }
  j = json{{"chains", std::move(chains)}};
  host_part_to_json(j, rs);
}

void from_json(const json& j, Ruleset& out) {
  expect_object(j, "ruleset", {"chains", "forward_policy_counters", "forward", "host_tables"});
  const json& chains = field(j, "ruleset", "chains");
  if (!chains.is_array()) bad("ruleset.chains", "expected an array");
  Ruleset rs;
  rs.chains.clear();
  std::set<std::string> names;
  for (std::size_t i = 0; i < chains.size(); ++i) {
    const std::string w = "ruleset.chains[" + std::to_string(i) + "]";
    const json& cj = chains[i];
    expect_object(cj, w, {"name", "policy", "policy_counters", "rules"});
    Chain c;
    c.name = get_string(field(cj, w, "name"), w + ".name", true);
    if (c.name.empty() || c.name.size() > 28)
      bad(w + ".name", "chain names have 1 to 28 characters");
    if (!names.insert(c.name).second) bad(w + ".name", "chain \"" + c.name + "\" appears twice");
    const bool builtin = c.name == "INPUT" || c.name == "OUTPUT";
    if (auto p = cj.find("policy"); p != cj.end() && !p->is_null()) {
      const std::string pol = get_string(*p, w + ".policy");
      if (pol == "ACCEPT") {
        c.policy = Policy::kAccept;
      } else if (pol == "DROP") {
        c.policy = Policy::kDrop;
      } else {
        bad(w + ".policy", "\"" + pol + "\" is not ACCEPT or DROP");
      }
    }
    if (builtin != c.policy.has_value()) {
      bad(w + ".policy", builtin ? "built-in chain " + c.name + " needs a policy"
                                 : "user chain " + c.name + " has no policy");
    }
    if (auto pc = cj.find("policy_counters"); pc != cj.end())
      c.policy_counters = counters_from(*pc, w + ".policy_counters");
    if (auto rj = cj.find("rules"); rj != cj.end()) {
      if (!rj->is_array()) bad(w + ".rules", "expected an array");
      for (std::size_t k = 0; k < rj->size(); ++k) {
        try {
          c.rules.push_back((*rj)[k].get<Rule>());
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(std::string(e.what()) + " (" + w + ".rules[" +
                                      std::to_string(k) + "])");
        }
      }
    }
    rs.chains.push_back(std::move(c));
  }
  for (const char* b : {"INPUT", "OUTPUT"}) {
    if (!names.contains(b))
      bad("ruleset.chains", std::string("built-in chain ") + b + " is missing");
  }
  host_part_from_json(j, rs);
  std::vector<const Chain*> all;
  for (const auto& c : rs.chains) all.push_back(&c);
  all.push_back(&rs.forward);
  for (const Chain* cp : all) {
    const Chain& c = *cp;
    for (const auto& r : c.rules) {
      if (r.target.kind != TargetKind::kJump && r.target.kind != TargetKind::kGoto) continue;
      const Chain* t = rs.find(r.target.chain);
      if (t == nullptr)
        bad("ruleset", "chain " + c.name + " jumps to missing chain " + r.target.chain);
      if (t->builtin())
        bad("ruleset", "chain " + c.name + " jumps to built-in chain " + r.target.chain);
    }
  }
  out = std::move(rs);
}

}  // namespace norman::filter

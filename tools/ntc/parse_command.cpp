#include "parse_command.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>

#include <cstring>

namespace norman::ntc {
namespace {

// tc's matches(): a non-empty prefix of the keyword.
bool matches(const std::string& arg, const char* keyword) {
  return !arg.empty() && std::strncmp(keyword, arg.c_str(), arg.size()) == 0;
}

class Reader {
 public:
  explicit Reader(std::span<const std::string> args) : args_(args) {}
  [[nodiscard]] bool done() const { return i_ >= args_.size(); }
  [[nodiscard]] const std::string& peek() const { return args_[i_]; }
  const std::string& next() { return args_[i_++]; }
  // The value after a keyword; tc's "Command line is not complete" otherwise.
  const std::string& value() {
    if (done()) throw TcError("Command line is not complete. Try option \"help\"", 1);
    return next();
  }

 private:
  std::span<const std::string> args_;
  std::size_t i_ = 0;
};

[[noreturn]] void what_is(const std::string& token) {
  throw TcError("What is \"" + token + "\"?", 1);
}
[[noreturn]] void illegal(const std::string& what) { throw TcError("Illegal \"" + what + "\"", 1); }

Handle handle_arg(Reader& r, const char* what) {
  const std::string& v = r.value();
  if (v == "root") return Handle{0xffff, 0xffff};
  auto h = parse_handle(v);
  if (!h) throw TcError(std::string("Invalid ") + what + " ID \"" + v + "\"", 1);
  return *h;
}

// A qdisc handle "1:" (minor must be 0), as tc's get_qdisc_handle.
Handle qdisc_handle_arg(Reader& r) {
  const std::string& v = r.value();
  auto h = parse_handle(v.find(':') == std::string::npos ? v + ":" : v);
  if (!h || h->minor != 0) throw TcError("Invalid qdisc ID \"" + v + "\"", 1);
  return *h;
}

void parse_htb_qdisc(Reader& r, HtbQdisc& q) {
  while (!r.done()) {
    const std::string arg = r.next();
    if (matches(arg, "default")) {
      // tc reads the default class minor as hexadecimal.
      const std::string& v = r.value();
      char* end = nullptr;
      const unsigned long d = std::strtoul(v.c_str(), &end, 16);
      if (v.empty() || *end != '\0' || d > 0xffff) illegal("default");
      q.default_minor = static_cast<std::uint32_t>(d);
    } else if (matches(arg, "r2q")) {
      auto v = parse_u32(r.value());
      if (!v || *v == 0) illegal("r2q");
      q.r2q = *v;
    } else if (arg == "direct_qlen") {
      auto v = parse_u32(r.value());
      if (!v) illegal("direct_qlen");
      q.direct_qlen = *v;
    } else if (arg == "offload" || matches(arg, "debug")) {
      throw TcError("htb option \"" + arg + "\" is not supported by ntc", 1);
    } else {
      what_is(arg);
    }
  }
}

void parse_htb_class(Reader& r, Command& c) {
  HtbClass cl;
  bool rate_given = false;
  bool prio_given = false;
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "rate") {
      auto v = parse_rate(r.value());
      if (!v) illegal("rate");
      cl.rate = *v;
      rate_given = true;
    } else if (arg == "ceil") {
      auto v = parse_rate(r.value());
      if (!v) illegal("ceil");
      cl.ceil = *v;
      c.ceil_given = true;
    } else if (matches(arg, "burst") || arg == "buffer" || arg == "maxburst") {
      auto v = parse_size(r.value());
      if (!v) illegal("burst");
      cl.burst = *v;
      c.burst_given = true;
    } else if (matches(arg, "cburst") || arg == "cbuffer" || arg == "cmaxburst") {
      auto v = parse_size(r.value());
      if (!v) illegal("cburst");
      cl.cburst = *v;
      c.cburst_given = true;
    } else if (matches(arg, "prio")) {
      auto v = parse_u32(r.value());
      if (!v) illegal("prio");
      cl.prio = *v;
      prio_given = true;
    } else if (matches(arg, "quantum")) {
      auto v = parse_u32(r.value());
      if (!v) illegal("quantum");
      cl.quantum = *v;
      cl.quantum_given = *v != 0;
    } else if (matches(arg, "mtu")) {
      auto v = parse_u32(r.value());
      if (!v) illegal("mtu");
      c.mtu = *v;
    } else if (matches(arg, "mpu") || matches(arg, "overhead") || matches(arg, "linklayer") ||
               arg == "slot" || arg == "pslot" || arg == "help") {
      throw TcError("htb class option \"" + arg + "\" is not supported by ntc", 1);
    } else {
      what_is(arg);
    }
  }
  (void)prio_given;
  // tc sends a class's whole parameter set, so change needs a rate too.
  if (!rate_given || cl.rate == 0) throw TcError("\"rate\" is required.", 1);
  c.htb_class = cl;
}

// "10.0.0.0/8", "192.0.2.1" (a /32), or a host name (first IPv4 address).
std::pair<std::uint32_t, std::uint8_t> prefix_arg(Reader& r, const char* what) {
  const std::string& v = r.value();
  const auto slash = v.find('/');
  const std::string addr = v.substr(0, slash);
  std::uint8_t len = 32;
  if (slash != std::string::npos) {
    auto l = parse_u32(v.substr(slash + 1));
    if (!l || *l > 32) illegal(what);
    len = static_cast<std::uint8_t>(*l);
  }
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1) illegal(what);
  std::uint32_t host = ntohl(a.s_addr);
  if (len < 32) host &= len == 0 ? 0 : ~0u << (32 - len);
  return {host, len};
}

std::pair<std::uint16_t, std::uint16_t> port_range_arg(Reader& r, const char* what) {
  const std::string& v = r.value();
  const auto dash = v.find('-');
  auto lo = parse_u32(v.substr(0, dash));
  auto hi = dash == std::string::npos ? lo : parse_u32(v.substr(dash + 1));
  if (!lo || !hi || *lo > 0xffff || *hi > 0xffff || *lo > *hi) illegal(what);
  return {static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi)};
}

std::uint8_t ip_proto_arg(Reader& r) {
  const std::string& v = r.value();
  if (v == "tcp") return 6;
  if (v == "udp") return 17;
  if (v == "icmp") return 1;
  if (v == "sctp") return 132;
  auto n = parse_u32(v);
  if (!n || *n > 255) illegal("ip_proto");
  return static_cast<std::uint8_t>(*n);
}

void parse_police(Reader& r, Filter& f) {
  Police p;
  bool rate = false;
  bool burst = false;
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "rate") {
      auto v = parse_rate(r.value());
      if (!v || *v == 0) illegal("rate");
      p.rate = *v;
      rate = true;
    } else if (arg == "burst" || arg == "buffer" || arg == "maxburst") {
      auto v = parse_size(r.value());
      if (!v || *v == 0) illegal("burst");
      p.burst = *v;
      burst = true;
    } else if (arg == "mtu" || arg == "minburst") {
      auto v = parse_size(r.value());
      if (!v) illegal("mtu");
      p.mtu = *v;
    } else if (arg == "drop" || arg == "shot") {
      // The exceed action; conform is pass, what the NIC does.
    } else if (arg == "conform-exceed") {
      const std::string& v = r.value();
      if (v != "drop" && v != "drop/pass" && v != "drop/ok" && v != "shot" &&
          v != "drop/continue" && v != "drop/pipe") {
        throw TcError("police conform-exceed \"" + v + "\" is not supported by ntc (only drop)", 1);
      }
    } else {
      throw TcError("police option \"" + arg + "\" is not supported by ntc", 1);
    }
  }
  if (!rate || !burst) throw TcError("police: \"rate\" and \"burst\" are required.", 1);
  f.police = p;
}

void parse_actions(Reader& r, Filter& f) {
  // "action police ..." / "police ..." ends the filter's own options.
  if (r.done()) return;
  const std::string a = r.next();
  if (a != "police") throw TcError("action \"" + a + "\" is not supported by ntc (only police)", 1);
  parse_police(r, f);
}

// What every classifier ends with: the class (classid/flowid) or, on the
// ingress qdisc, the police action. False if `arg` is neither.
bool filter_target_arg(const std::string& arg, Reader& r, Filter& f) {
  if (arg == "classid" || arg == "flowid") {
    f.classid = handle_arg(r, "class");
  } else if (arg == "police") {
    parse_police(r, f);
  } else if (arg == "action") {
    parse_actions(r, f);
  } else {
    return false;
  }
  return true;
}

void parse_flower(Reader& r, Filter& f) {
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "ip_proto") {
      f.match.ip_proto = ip_proto_arg(r);
    } else if (arg == "src_ip") {
      f.match.src_ip = prefix_arg(r, "src_ip");
    } else if (arg == "dst_ip") {
      f.match.dst_ip = prefix_arg(r, "dst_ip");
    } else if (arg == "src_port") {
      f.match.src_port = port_range_arg(r, "src_port");
    } else if (arg == "dst_port") {
      f.match.dst_port = port_range_arg(r, "dst_port");
    } else if (filter_target_arg(arg, r, f)) {
    } else if (arg == "skip_hw" || arg == "skip_sw") {
      throw TcError(
          "flower \"" + arg + "\" is not supported by ntc: its filters are always on the NIC", 1);
    } else {
      throw TcError("flower option \"" + arg + "\" is not supported by ntc", 1);
    }
  }
  // As tc's flower: IPv4 fields need the filter's protocol to be ip.
  if ((f.match.ip_proto || f.match.src_ip || f.match.dst_ip) && f.protocol != 0x0800) {
    throw TcError("Illegal \"eth_type\" for ip proto: give \"protocol ip\"", 1);
  }
  if (f.match.src_port || f.match.dst_port) {
    if (!f.match.ip_proto ||
        (*f.match.ip_proto != 6 && *f.match.ip_proto != 17 && *f.match.ip_proto != 132)) {
      throw TcError("Illegal \"ip_proto\" for port match: ports need tcp, udp or sctp", 1);
    }
  }
}

// u32's named IPv4 match forms: `match ip src|dst A/N`, `match ip sport|dport
// N MASK`, `match ip protocol N MASK`.
void parse_u32_filter(Reader& r, Filter& f) {
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "match") {
      const std::string& layer = r.value();
      if (layer != "ip") {
        throw TcError("u32 match \"" + layer + "\" is not supported by ntc (only \"ip\")", 1);
      }
      const std::string field = r.value();
      if (field == "src") {
        f.match.src_ip = prefix_arg(r, "src");
      } else if (field == "dst") {
        f.match.dst_ip = prefix_arg(r, "dst");
      } else if (field == "sport" || field == "dport" || field == "protocol") {
        auto v = parse_u32(r.value());
        auto mask = parse_u32(r.value());
        const std::uint32_t full = field == "protocol" ? 0xff : 0xffff;
        if (!v || !mask || *v > full) illegal(field);
        if (*mask != full) {
          throw TcError("u32 match ip " + field + " mask \"" + std::to_string(*mask) +
                            "\" is not supported by ntc (only an exact match)",
                        1);
        }
        const auto port = static_cast<std::uint16_t>(*v);
        if (field == "sport") f.match.src_port = std::pair{port, port};
        if (field == "dport") f.match.dst_port = std::pair{port, port};
        if (field == "protocol") f.match.ip_proto = static_cast<std::uint8_t>(*v);
      } else {
        throw TcError("u32 match ip \"" + field + "\" is not supported by ntc", 1);
      }
    } else if (filter_target_arg(arg, r, f)) {
    } else {
      throw TcError("u32 option \"" + arg + "\" is not supported by ntc", 1);
    }
  }
}

std::uint32_t uid_arg(Reader& r) {
  const std::string& v = r.value();
  if (auto n = parse_u32(v)) return *n;
  if (const passwd* pw = getpwnam(v.c_str())) return pw->pw_uid;
  throw TcError("Illegal \"uid\": no user \"" + v + "\"", 1);
}

std::uint32_t gid_arg(Reader& r) {
  const std::string& v = r.value();
  if (auto n = parse_u32(v)) return *n;
  if (const group* gr = getgrnam(v.c_str())) return gr->gr_gid;
  throw TcError("Illegal \"gid\": no group \"" + v + "\"", 1);
}

// ntc's own classifiers: the connection's owner and cgroup, which tc cannot
// see for kernel-bypass traffic (docs/qos.md says why these spellings).
void parse_owner(Reader& r, Filter& f) {
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "uid" || arg == "user") {
      f.match.uid = uid_arg(r);
    } else if (arg == "gid" || arg == "group") {
      f.match.gid = gid_arg(r);
    } else if (arg == "comm") {
      const std::string& v = r.value();
      if (v.empty() || v.size() > 15) illegal("comm");
      f.match.comm = v;
    } else if (filter_target_arg(arg, r, f)) {
    } else {
      throw TcError("owner option \"" + arg + "\" is not supported by ntc", 1);
    }
  }
  if (!f.match.uid && !f.match.gid && !f.match.comm) {
    throw TcError("owner: one of \"uid\", \"gid\" or \"comm\" is required.", 1);
  }
}

void parse_cgroup(Reader& r, Filter& f) {
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "path") {
      const std::string& v = r.value();
      if (v.empty() || v.front() != '/') illegal("path");
      f.match.cgroup = v;
    } else if (filter_target_arg(arg, r, f)) {
    } else {
      throw TcError("cgroup option \"" + arg + "\" is not supported by ntc", 1);
    }
  }
  if (!f.match.cgroup) throw TcError("cgroup: \"path\" is required.", 1);
}

Command::Verb verb_of(const std::string& v, const char* object) {
  if (matches(v, "add")) return Command::Verb::kAdd;
  if (matches(v, "delete")) return Command::Verb::kDel;
  if (matches(v, "change")) return Command::Verb::kChange;
  if (matches(v, "replace")) return Command::Verb::kReplace;
  if (matches(v, "show") || matches(v, "list") || v == "ls") return Command::Verb::kShow;
  throw TcError("Command \"" + v + "\" is unknown, try \"ntc " + object + " help\".", 1);
}

void require_dev(const Command& c) {
  if (c.dev.empty()) {
    if (c.verb == Command::Verb::kShow) return;  // every port
    throw TcError("\"dev\" is required.", 1);
  }
  if (!is_nic_port(c.dev)) {
    throw TcError(
        "Cannot find device \"" + c.dev + "\" (ntc configures the NIC's ports: nic0, nic1)", 1);
  }
}

void parse_qdisc(Reader& r, Command& c) {
  std::string kind;
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "dev") {
      c.dev = r.value();
    } else if (arg == "root") {
      c.root = true;
    } else if (arg == "ingress" || arg == "clsact") {
      if (arg == "clsact") throw TcError("qdisc kind \"clsact\" is not supported by ntc", 1);
      c.ingress = true;
    } else if (arg == "handle") {
      c.handle = qdisc_handle_arg(r);
    } else if (arg == "parent") {
      throw TcError("qdisc \"parent\" is not supported by ntc: the HTB qdisc is the port's root",
                    1);
    } else if (c.verb == Command::Verb::kShow || c.verb == Command::Verb::kDel) {
      what_is(arg);
    } else {
      kind = arg;
      break;
    }
  }
  require_dev(c);
  if (c.verb == Command::Verb::kShow) return;
  if (c.verb == Command::Verb::kChange) {
    throw TcError("qdisc \"change\" is not supported by ntc: use \"replace\"", 1);
  }
  if (c.ingress) {
    if (!kind.empty()) what_is(kind);
    return;
  }
  if (c.verb == Command::Verb::kDel) {
    if (!c.root) throw TcError("Error: Cannot delete qdisc with handle of zero.", 2);
    return;
  }
  if (!c.root) throw TcError("\"root\" or \"ingress\" is required.", 1);
  if (kind.empty()) throw TcError("Command line is not complete. Try option \"help\"", 1);
  if (kind != "htb") {
    throw TcError("qdisc kind \"" + kind + "\" is not supported by ntc (only htb and ingress)", 1);
  }
  HtbQdisc q;
  q.handle = c.handle.value_or(Handle{1, 0});
  parse_htb_qdisc(r, q);
  c.htb_qdisc = q;
}

void parse_class(Reader& r, Command& c) {
  std::string kind;
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "dev") {
      c.dev = r.value();
    } else if (arg == "classid") {
      c.classid = handle_arg(r, "class");
    } else if (arg == "parent") {
      c.parent = handle_arg(r, "parent");
    } else if (arg == "root") {
      c.parent = Handle{0xffff, 0xffff};
    } else if (c.verb == Command::Verb::kShow || c.verb == Command::Verb::kDel) {
      what_is(arg);
    } else {
      kind = arg;
      break;
    }
  }
  require_dev(c);
  if (c.verb == Command::Verb::kShow) return;
  if (!c.classid) throw TcError("\"classid\" is required.", 1);
  if (c.verb == Command::Verb::kDel) return;
  if (kind.empty()) throw TcError("Command line is not complete. Try option \"help\"", 1);
  if (kind != "htb")
    throw TcError("class kind \"" + kind + "\" is not supported by ntc (only htb)", 1);
  parse_htb_class(r, c);
}

void parse_filter(Reader& r, Command& c) {
  Filter f;
  std::string kind;
  bool parent_given = false;
  while (!r.done()) {
    const std::string arg = r.next();
    if (arg == "dev") {
      c.dev = r.value();
    } else if (arg == "parent") {
      f.parent = handle_arg(r, "parent");
      parent_given = true;
    } else if (arg == "root") {
      f.parent = Handle{0xffff, 0xffff};
      parent_given = true;
    } else if (arg == "ingress") {
      f.parent = Handle{0xffff, 0};
      parent_given = true;
    } else if (arg == "protocol") {
      const std::string& v = r.value();
      if (v == "ip") {
        f.protocol = 0x0800;
      } else if (v == "all") {
        f.protocol = 0x0003;
      } else {
        throw TcError("filter protocol \"" + v + "\" is not supported by ntc (ip or all)", 1);
      }
    } else if (matches(arg, "priority") || arg == "pref") {
      auto v = parse_u32(r.value());
      if (!v || *v == 0 || *v > 0xffff) illegal("priority");
      f.prio = *v;
    } else if (arg == "handle") {
      throw TcError("filter \"handle\" is not supported by ntc: filters are named by priority", 1);
    } else if (c.verb == Command::Verb::kShow || c.verb == Command::Verb::kDel) {
      what_is(arg);
    } else {
      kind = arg;
      break;
    }
  }
  require_dev(c);
  if (!parent_given && c.verb != Command::Verb::kShow) {
    throw TcError("\"parent\" is required (1: for the HTB qdisc, ffff: for ingress).", 1);
  }
  c.parent = f.parent;
  if (c.verb == Command::Verb::kShow || c.verb == Command::Verb::kDel) {
    c.filter = f;
    return;
  }
  if (c.verb == Command::Verb::kChange) {
    throw TcError("filter \"change\" is not supported by ntc: use \"replace\"", 1);
  }
  if (kind.empty()) throw TcError("Command line is not complete. Try option \"help\"", 1);
  f.kind = kind;
  if (kind == "flower") {
    parse_flower(r, f);
  } else if (kind == "u32") {
    parse_u32_filter(r, f);
  } else if (kind == "owner") {
    parse_owner(r, f);
  } else if (kind == "cgroup") {
    parse_cgroup(r, f);
  } else {
    throw TcError(
        "filter kind \"" + kind + "\" is not supported by ntc (flower, u32, owner, cgroup)", 1);
  }
  c.filter = f;
}

}  // namespace

bool is_nic_port(const std::string& dev) { return dev == "nic0" || dev == "nic1"; }

CommandLine parse_command_line(std::span<const std::string> args) {
  CommandLine cl;
  std::size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i) {
    std::string o = args[i].substr(args[i].size() > 1 && args[i][1] == '-' ? 2 : 1);
    if (matches(o, "statistics") || o == "s") {
      cl.options.stats = true;
    } else if (matches(o, "details")) {
      cl.options.details = true;
    } else if (matches(o, "json")) {
      cl.options.json = true;
    } else if (matches(o, "pretty")) {
      cl.options.pretty = true;
    } else if (matches(o, "Version") || o == "V") {
      cl.version = true;
      return cl;
    } else if (matches(o, "help")) {
      cl.help = true;
      return cl;
    } else {
      throw TcError("Option \"" + args[i] + "\" is unknown, try \"ntc -help\".", 255);
    }
  }
  if (i >= args.size() || args[i] == "help") {
    cl.help = true;
    return cl;
  }
  const std::string& object = args[i++];
  Reader r(args.subspan(i));
  Command& c = cl.command;
  const char* name = nullptr;
  if (matches(object, "qdisc")) {
    c.object = Command::Object::kQdisc;
    name = "qdisc";
  } else if (matches(object, "class")) {
    c.object = Command::Object::kClass;
    name = "class";
  } else if (matches(object, "filter")) {
    c.object = Command::Object::kFilter;
    name = "filter";
  } else {
    throw TcError("Object \"" + object + "\" is unknown, try \"ntc help\".", 255);
  }
  c.verb = r.done() ? Command::Verb::kShow : verb_of(r.next(), name);
  switch (c.object) {
    case Command::Object::kQdisc:
      parse_qdisc(r, c);
      break;
    case Command::Object::kClass:
      parse_class(r, c);
      break;
    case Command::Object::kFilter:
      parse_filter(r, c);
      break;
  }
  return cl;
}

}  // namespace norman::ntc

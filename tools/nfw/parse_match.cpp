// Rule options: -p -s -d -i -o -f, -m and its options, -j/-g and target
// options, -c. Values are normalized the way iptables stores them (address
// masked to its prefix, "-s 0.0.0.0/0" and "--dport 0:65535" meaning no
// match) so that parse -> save -> parse is the identity and -D/-C compare
// what iptables would compare.
#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <limits>

#include "syntax_internal.hpp"

namespace norman::nfw::detail {

namespace {

using filter::Module;
using filter::TargetKind;

constexpr std::string_view kSupportedMatches =
    "tcp, udp, icmp, multiport, owner, cgroup, comment, state, conntrack, limit, hashlimit";

constexpr std::array<std::pair<std::string_view, Module>, 11> kMatches{{
    {"tcp", Module::kTcp},
    {"udp", Module::kUdp},
    {"icmp", Module::kIcmp},
    {"multiport", Module::kMultiport},
    {"owner", Module::kOwner},
    {"cgroup", Module::kCgroup},
    {"comment", Module::kComment},
    {"state", Module::kState},
    {"conntrack", Module::kConntrack},
    {"limit", Module::kLimit},
    {"hashlimit", Module::kHashlimit},
}};

std::string_view module_name(Module m) {
  for (const auto& [n, v] : kMatches) {
    if (v == m) return n;
  }
  return "?";
}

// iptables matches nfw does not implement yet: named as such, so that a
// file written for iptables learns what stops it (connection tracking, rate
// limits and sets are the usual ones), unlike a misspelt name.
constexpr std::array<std::string_view, 44> kOtherMatches{
    "addrtype", "ah",        "bpf",    "cluster", "connbytes", "connlabel", "connlimit",
    "connmark", "cpu",       "dccp",   "devgroup", "dscp",      "ecn",       "esp",
    "helper",   "hl",        "icmp6",  "iprange", "ipvs",      "length",    "mac",
    "mark",     "nfacct",    "osf",    "physdev",
    "pkttype",  "policy",    "quota",  "rateest", "realm",     "recent",    "rpfilter",
    "sctp",     "set",       "socket", "statistic", "string",    "tcpmss",
    "time",     "tos",       "ttl",    "u32",     "udplite",   "ipcomp"};

// iptables targets nfw does not implement: refused by name rather than
// taken for a user chain of that name.
constexpr std::array<std::string_view, 36> kOtherTargets{
    "AUDIT",       "CHECKSUM",  "CLASSIFY", "CLUSTERIP", "CONNMARK",   "CONNSECMARK",
    "CT",          "DNAT",      "DNPT",     "DSCP",      "ECN",        "HL",
    "HMARK",       "IDLETIMER", "LED",      "MARK",      "MASQUERADE", "NETMAP",
    "NFLOG",       "NFQUEUE",   "NOTRACK",  "QUEUE",     "RATEEST",    "REDIRECT",
    "SECMARK",     "SET",       "SNAT",     "SNPT",      "SYNPROXY",   "TCPMSS",
    "TCPOPTSTRIP", "TEE",       "TOS",      "TPROXY",    "TRACE",      "TTL"};

constexpr std::array<std::string_view, 5> kLogFlagsOptions{
    "--log-tcp-sequence", "--log-tcp-options", "--log-ip-options", "--log-uid", "--log-macdecode"};

bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out <= max;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void no_old_bang(const std::string& value, const std::string& option) {
  if (value == "!") {
    syntax_error("!", "nfw: `!' goes before the option (`! " + option + " ...'), not after it");
  }
}

// Dotted decimal with 1 to 4 parts (iptables pads "10.1" to 10.1.0.0).
std::optional<std::uint32_t> dotted(std::string_view s, bool require_four) {
  std::uint32_t a = 0;
  int parts = 0;
  while (true) {
    const auto dot = s.find('.');
    const std::string_view part = s.substr(0, dot);
    std::uint64_t v = 0;
    if (!parse_uint(part, 255, v) || (part.size() > 1 && part[0] == '0')) return std::nullopt;
    a = (a << 8) | static_cast<std::uint32_t>(v);
    ++parts;
    if (dot == std::string_view::npos) break;
    if (parts == 4) return std::nullopt;
    s.remove_prefix(dot + 1);
  }
  if (require_four && parts != 4) return std::nullopt;
  return a << (8 * (4 - parts));
}

// The IPv4 addresses of a host name, in the resolver's order, duplicates
// dropped (as xtables_ipparse_any does).
std::vector<std::uint32_t> resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_RAW;
  addrinfo* res = nullptr;
  std::vector<std::uint32_t> out;
  if (host.empty() || getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(p->ai_addr);
    const std::uint32_t a = ntohl(sin->sin_addr.s_addr);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  freeaddrinfo(res);
  return out;
}

// One item of -s/-d: ADDRESS[/MASK] or HOSTNAME[/MASK]; a name gives one
// address per address it resolves to (iptables adds one rule for each).
std::vector<filter::Addr> parse_addr_item(const std::string& word, bool negated) {
  const auto slash = word.find('/');
  const std::string host = word.substr(0, slash);
  std::vector<std::uint32_t> addrs;
  if (auto a = dotted(host, false)) {
    addrs.push_back(*a);
  } else {
    addrs = resolve(host);
  }
  if (addrs.empty()) syntax_error(word, "nfw: host/network `" + host + "' not found");
  std::uint8_t len = 32;
  if (slash != std::string::npos) {
    const std::string m = word.substr(slash + 1);
    std::uint64_t v = 0;
    if (parse_uint(m, 32, v)) {
      len = static_cast<std::uint8_t>(v);
    } else if (auto mask = dotted(m, true)) {
      // Only contiguous masks are prefixes; iptables also takes others, the
      // NIC's range matching cannot.
      const std::uint32_t inv = ~*mask;
      if ((inv & (inv + 1)) != 0)
        syntax_error(m, "nfw: non-contiguous mask `" + m + "' is not supported");
      len = static_cast<std::uint8_t>(32 - std::popcount(inv));
    } else {
      syntax_error(m, "nfw: invalid mask `" + m + "' specified");
    }
  }
  const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
  std::vector<filter::Addr> out;
  for (std::uint32_t a : addrs) out.push_back(filter::Addr{{a & mask, len}, negated});
  return out;
}

// -s/-d's value: a comma-separated list of items, as iptables takes it
// (xtables_ipparse_multiple); each item expands the rule (see expand()).
std::vector<filter::Addr> parse_addrs(const std::string& word, bool negated) {
  std::vector<filter::Addr> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = word.find(',', start);
    const std::string item =
        word.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    for (auto& a : parse_addr_item(item, negated)) out.push_back(a);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (negated && out.size() > 1) {
    syntax_error(word, "nfw: ! not allowed with multiple source or destination IP addresses");
  }
  return out;
}

std::uint16_t parse_port(const std::string& word, const std::string& proto) {
  std::uint64_t v = 0;
  if (parse_uint(word, 65535, v)) return static_cast<std::uint16_t>(v);
  if (!word.empty() && std::isalpha(static_cast<unsigned char>(word[0])) != 0) {
    if (const servent* s = getservbyname(word.c_str(), proto.c_str()); s != nullptr) {
      return ntohs(static_cast<std::uint16_t>(s->s_port));
    }
  }
  syntax_error(word, "nfw: invalid port/service `" + word + "' specified");
}

filter::Range parse_port_range(const std::string& word, const std::string& proto) {
  const auto colon = word.find(':');
  if (colon == std::string::npos) {
    const std::uint16_t p = parse_port(word, proto);
    return {p, p};
  }
  const std::string lo = word.substr(0, colon);
  const std::string hi = word.substr(colon + 1);
  filter::Range r{lo.empty() ? 0u : parse_port(lo, proto),
                  hi.empty() ? 65535u : parse_port(hi, proto)};
  if (r.lo > r.hi) syntax_error(word, "nfw: invalid portrange (min > max) `" + word + "'");
  return r;
}

std::uint8_t parse_tcp_flag_list(const std::string& word) {
  std::uint8_t bits = 0;
  std::size_t start = 0;
  while (start <= word.size()) {
    const auto comma = word.find(',', start);
    const std::string name =
        word.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool found = false;
    for (const auto& f : tcp_flag_names()) {
      if (f.name == "ECE" || f.name == "CWR") continue;  // iptables does not take them
      if (lower(std::string(f.name)) == lower(name)) {
        bits = static_cast<std::uint8_t>(bits | f.bits);
        found = true;
      }
    }
    if (!found) syntax_error(name, "nfw: Unknown TCP flag `" + name + "'");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return bits;
}

filter::IcmpType parse_icmp(const std::string& word, bool negated) {
  filter::IcmpType t;
  t.negated = negated;
  const auto slash = word.find('/');
  std::uint64_t v = 0;
  if (slash != std::string::npos ||
      parse_uint(word, std::numeric_limits<std::uint64_t>::max(), v)) {
    if (!parse_uint(word.substr(0, slash), 255, v))
      syntax_error(word, "nfw: Unknown ICMP type `" + word + "'");
    t.type = static_cast<std::uint8_t>(v);
    if (slash != std::string::npos) {
      if (!parse_uint(word.substr(slash + 1), 255, v))
        syntax_error(word, "nfw: Unknown ICMP code `" + word + "'");
      t.code = static_cast<std::uint8_t>(v);
    }
    return t;
  }
  // iptables takes any unambiguous prefix of a name, ignoring case.
  const IcmpName* match = nullptr;
  const std::string w = lower(word);
  for (const auto& n : icmp_names()) {
    const std::string name = lower(std::string(n.name));
    if (name.compare(0, w.size(), w) != 0) continue;
    if (name == w) {
      match = &n;
      break;
    }
    if (match != nullptr) {
      syntax_error(word, "nfw: Ambiguous ICMP type `" + word + "': `" + std::string(match->name) +
                             "' or `" + std::string(n.name) + "'?");
    }
    match = &n;
  }
  if (match == nullptr || word.empty()) syntax_error(word, "nfw: Unknown ICMP type `" + word + "'");
  t.type = match->type;
  if (match->code_min != 0 || match->code_max != 0xFF) t.code = match->code_min;
  return t;
}

filter::Owner::Ids parse_owner_ids(const std::string& option, const std::string& word, bool negated,
                                   bool user) {
  auto bad = [&]() {
    syntax_error(word, "nfw: owner: Bad value for \"" + option + "\" option: \"" + word + "\"");
  };
  constexpr std::uint64_t kMax = 4294967294u;  // (uid_t)-1 means "no id"
  filter::Owner::Ids ids;
  ids.negated = negated;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  const auto dash = word.find('-');
  if (parse_uint(word, kMax, lo)) {
    hi = lo;
  } else if (dash != std::string::npos && parse_uint(word.substr(0, dash), kMax, lo) &&
             parse_uint(word.substr(dash + 1), kMax, hi)) {
    if (lo > hi) bad();
  } else if (user) {
    const passwd* pw = word.empty() ? nullptr : getpwnam(word.c_str());
    if (pw == nullptr) bad();
    lo = hi = pw->pw_uid;
  } else {
    const group* gr = word.empty() ? nullptr : getgrnam(word.c_str());
    if (gr == nullptr) bad();
    lo = hi = gr->gr_gid;
  }
  ids.range = {static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(hi)};
  return ids;
}

std::uint8_t parse_log_level(const std::string& word) {
  std::uint64_t v = 0;
  if (parse_uint(word, 7, v)) return static_cast<std::uint8_t>(v);
  // The names iptables 1.8.9 accepts (it refuses "err" and "warn").
  constexpr std::array<std::pair<std::string_view, std::uint8_t>, 9> kNames{{
      {"alert", 1},
      {"crit", 2},
      {"debug", 7},
      {"emerg", 0},
      {"error", 3},
      {"info", 6},
      {"notice", 5},
      {"panic", 0},
      {"warning", 4},
  }};
  for (const auto& [n, l] : kNames) {
    if (n == word) return l;
  }
  syntax_error(word, "nfw: log level \"" + word + "\" unknown");
}

}  // namespace

void RuleParser::once(const std::string& key, const std::string& token,
                      const std::string& message) {
  if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) syntax_error(token, message);
  seen_.push_back(key);
}

bool RuleParser::loaded(Module m) const {
  return std::find(rule_.modules.begin(), rule_.modules.end(), m) != rule_.modules.end();
}

void RuleParser::load_module(Module m, const std::string& token) {
  if (loaded(m)) {
    // iptables-nft folds a second tcp/udp match into the first; other
    // modules twice cannot be expressed in one rule of the model.
    if (m == Module::kTcp || m == Module::kUdp) return;
    syntax_error(token, "nfw: `-m " + std::string(module_name(m)) + "' given twice (one per rule)");
  }
  rule_.modules.push_back(m);
}

bool RuleParser::option(Args& args, Args::Item& item) {
  const std::string opt = item.option;
  auto start = [&]() {
    if (!any_) {
      any_ = true;
      first_token_ = item.inverted ? "!" : opt;
    }
  };
  auto no_invert = [&]() {
    if (item.inverted) syntax_error("!", "nfw: cannot have ! before " + opt);
  };

  if (opt == "-p" || opt == "--protocol") {
    start();
    once("-p", opt, "nfw: multiple -p flags not allowed");
    const std::string v = args.value(item);
    no_old_bang(v, opt);
    const std::string name = lower(v);
    std::optional<std::uint8_t> n =
        name == "all" ? std::optional<std::uint8_t>(0) : filter::proto_number(name);
    if (!n) {
      if (const protoent* p = getprotobyname(name.c_str()); p != nullptr)
        n = static_cast<std::uint8_t>(p->p_proto);
    }
    if (!n) syntax_error(v, "nfw: unknown protocol `" + v + "' specified");
    if (*n == 0) {
      if (item.inverted) syntax_error(v, "nfw: rule would never match protocol");
    } else {
      rule_.proto = filter::Proto{*n, item.inverted};
    }
    return true;
  }
  if (opt == "-s" || opt == "--source" || opt == "--src" || opt == "-d" || opt == "--destination" ||
      opt == "--dst") {
    start();
    const bool src = opt == "-s" || opt == "--source" || opt == "--src";
    once(src ? "-s" : "-d", opt,
         std::string("nfw: multiple ") + (src ? "-s" : "-d") + " flags not allowed");
    const std::string v = args.value(item);
    no_old_bang(v, opt);
    std::vector<std::optional<filter::Addr>>& list = src ? srcs_ : dsts_;
    list.clear();
    for (const filter::Addr& a : parse_addrs(v, item.inverted)) {
      // 0.0.0.0/0 is no match at all, as iptables-save shows it.
      list.push_back(a.prefix.len != 0 || a.negated ? std::optional(a) : std::nullopt);
    }
    (src ? rule_.src : rule_.dst) = list.front();
    return true;
  }
  if (opt == "-i" || opt == "--in-interface" || opt == "-o" || opt == "--out-interface") {
    start();
    const bool in = opt == "-i" || opt == "--in-interface";
    once(in ? "-i" : "-o", opt,
         std::string("nfw: multiple ") + (in ? "-i" : "-o") + " flags not allowed");
    const std::string v = args.value(item);
    no_old_bang(v, opt);
    if (v.empty()) syntax_error(v, "nfw: Empty interface is likely to be undesired");
    if (v.size() > 15)
      syntax_error(v, "nfw: interface name `" + v + "' must be shorter than IFNAMSIZ (15)");
    if (v.find_first_of(" /\t") != std::string::npos)
      syntax_error(v, "nfw: invalid interface name `" + v + "'");
    // Saved unquoted, so nothing nfw-restore would read as a quote.
    if (auto why = filter::unsaveable_text(v, true))
      syntax_error(v, "nfw: interface name `" + v + "' " + *why);
    std::optional<filter::Iface> value;
    if (v != "+" || item.inverted) value = filter::Iface{v, item.inverted};
    (in ? rule_.in : rule_.out) = value;
    return true;
  }
  if (opt == "-f" || opt == "--fragment") {
    start();
    once("-f", opt, "nfw: multiple -f flags not allowed");
    rule_.fragment = !item.inverted;
    return true;
  }
  if (opt == "-m" || opt == "--match") {
    start();
    no_invert();
    const std::string v = args.value(item);
    const auto it =
        std::find_if(kMatches.begin(), kMatches.end(), [&](const auto& m) { return m.first == v; });
    if (it == kMatches.end()) {
      if (std::find(kOtherMatches.begin(), kOtherMatches.end(), v) != kOtherMatches.end()) {
        syntax_error(v, "nfw: match `" + v + "' is not yet supported (supported: " +
                            std::string(kSupportedMatches) + ")");
      }
      syntax_error(v, "nfw: Couldn't load match `" + v +
                          "': no such match (supported: " + std::string(kSupportedMatches) + ")");
    }
    load_module(it->second, v);
    return true;
  }
  if (opt == "-j" || opt == "--jump" || opt == "-g" || opt == "--goto") {
    start();
    no_invert();
    const bool go = opt == "-g" || opt == "--goto";
    if (have_target_) syntax_error(opt, "nfw: multiple -j flags not allowed");
    have_target_ = true;
    const std::string v = args.value(item);
    if (v.empty() || v[0] == '-' || v == "!")
      syntax_error(v, "nfw: " + opt + " needs a target, not `" + v + "'");
    constexpr std::array<std::pair<std::string_view, TargetKind>, 5> kBuiltin{{
        {"ACCEPT", TargetKind::kAccept},
        {"DROP", TargetKind::kDrop},
        {"REJECT", TargetKind::kReject},
        {"RETURN", TargetKind::kReturn},
        {"LOG", TargetKind::kLog},
    }};
    const auto b =
        std::find_if(kBuiltin.begin(), kBuiltin.end(), [&](const auto& t) { return t.first == v; });
    if (b != kBuiltin.end()) {
      if (go) syntax_error(v, "nfw: -g needs a user chain, not `" + v + "'");
      rule_.target.kind = b->second;
    } else if (std::find(kOtherTargets.begin(), kOtherTargets.end(), v) != kOtherTargets.end()) {
      syntax_error(v, "nfw: target `" + v +
                          "' is not yet supported (supported: ACCEPT, DROP, REJECT, RETURN, LOG, "
                          "or a user chain)");
    } else {
      rule_.target.kind = go ? TargetKind::kGoto : TargetKind::kJump;
      rule_.target.chain = v;
    }
    return true;
  }
  if (opt == "-c" || opt == "--set-counters") {
    start();
    no_invert();
    once("-c", opt, "nfw: multiple -c flags not allowed");
    const std::string p = args.value(item);
    std::uint64_t packets = 0;
    if (!parse_uint(p, std::numeric_limits<std::uint64_t>::max(), packets)) {
      syntax_error(p, "nfw: -c packet counter not numeric");
    }
    auto b = args.optional_word(false);
    std::uint64_t bytes = 0;
    if (!b) syntax_error(opt, "nfw: -c requires packet and byte counter");
    if (!parse_uint(*b, std::numeric_limits<std::uint64_t>::max(), bytes)) {
      syntax_error(*b, "nfw: -c byte counter not numeric");
    }
    rule_.counters = {packets, bytes};
    return true;
  }
  if (opt == "--reject-with" && have_target_ && rule_.target.kind == TargetKind::kReject) {
    start();
    no_invert();
    once(opt, opt, "nfw: multiple --reject-with flags not allowed");
    const std::string v = args.value(item);
    auto r = reject_from_name(v);
    if (!r) syntax_error(v, "nfw: unknown reject type \"" + v + "\"");
    rule_.target.reject_with = *r;
    return true;
  }
  if (have_target_ && rule_.target.kind == TargetKind::kLog) {
    if (opt == "--log-prefix") {
      start();
      no_invert();
      once(opt, opt, "nfw: multiple --log-prefix flags not allowed");
      const std::string v = args.value(item);
      if (v.size() > 29) syntax_error(v, "nfw: Maximum prefix length 29 for --log-prefix");
      if (v.find('\n') != std::string::npos)
        syntax_error(v, "nfw: Newlines not allowed in --log-prefix");
      rule_.target.log_prefix = v;
      return true;
    }
    if (opt == "--log-level") {
      start();
      no_invert();
      once(opt, opt, "nfw: multiple --log-level flags not allowed");
      rule_.target.log_level = parse_log_level(args.value(item));
      return true;
    }
    if (std::find(kLogFlagsOptions.begin(), kLogFlagsOptions.end(), opt) !=
        kLogFlagsOptions.end()) {
      syntax_error(
          opt, "nfw: unsupported LOG option `" + opt + "' (supported: --log-prefix, --log-level)");
    }
  }
  if (opt.starts_with("--")) {
    const bool handled = module_option(args, item, opt);
    if (handled) start();
    return handled;
  }
  return false;
}

bool RuleParser::module_option(Args& args, Args::Item& item, const std::string& opt) {
  if (conntrack_option(args, item, opt)) return true;
  if (limit_option(limits_, args, item, opt, rule_)) return true;
  struct Owned {
    std::string_view option;
    std::string_view key;  // canonical spelling, for duplicates
    std::array<Module, 2> modules;
    int count;
  };
  constexpr std::array<Owned, 17> kOptions{{
      {"--sport", "--sport", {Module::kTcp, Module::kUdp}, 2},
      {"--source-port", "--sport", {Module::kTcp, Module::kUdp}, 2},
      {"--dport", "--dport", {Module::kTcp, Module::kUdp}, 2},
      {"--destination-port", "--dport", {Module::kTcp, Module::kUdp}, 2},
      {"--tcp-flags", "--tcp-flags", {Module::kTcp, Module::kTcp}, 1},
      {"--syn", "--syn", {Module::kTcp, Module::kTcp}, 1},
      {"--icmp-type", "--icmp-type", {Module::kIcmp, Module::kIcmp}, 1},
      {"--sports", "multiport", {Module::kMultiport, Module::kMultiport}, 1},
      {"--source-ports", "multiport", {Module::kMultiport, Module::kMultiport}, 1},
      {"--dports", "multiport", {Module::kMultiport, Module::kMultiport}, 1},
      {"--destination-ports", "multiport", {Module::kMultiport, Module::kMultiport}, 1},
      {"--ports", "multiport", {Module::kMultiport, Module::kMultiport}, 1},
      {"--uid-owner", "--uid-owner", {Module::kOwner, Module::kOwner}, 1},
      {"--gid-owner", "--gid-owner", {Module::kOwner, Module::kOwner}, 1},
      {"--cmd-owner", "--cmd-owner", {Module::kOwner, Module::kOwner}, 1},
      {"--path", "--path", {Module::kCgroup, Module::kCgroup}, 1},
      {"--comment", "--comment", {Module::kComment, Module::kComment}, 1},
  }};
  const auto spec = std::find_if(kOptions.begin(), kOptions.end(),
                                 [&](const Owned& o) { return o.option == opt; });
  if (spec == kOptions.end()) return false;

  std::optional<Module> owner;
  for (int k = 0; k < spec->count; ++k) {
    if (loaded(spec->modules[static_cast<std::size_t>(k)]))
      owner = spec->modules[static_cast<std::size_t>(k)];
  }
  if (!owner && rule_.proto && !rule_.proto->negated) {
    // iptables loads the match named after -p's protocol when one of its
    // options appears without -m.
    const std::optional<Module> implicit = rule_.proto->number == 6    ? std::optional(Module::kTcp)
                                           : rule_.proto->number == 17 ? std::optional(Module::kUdp)
                                           : rule_.proto->number == 1 ? std::optional(Module::kIcmp)
                                                                      : std::nullopt;
    for (int k = 0; k < spec->count; ++k) {
      if (implicit == spec->modules[static_cast<std::size_t>(k)]) owner = implicit;
    }
    if (owner) load_module(*owner, opt);
  }
  if (!owner) {
    std::string needs = "-m " + std::string(module_name(spec->modules[0]));
    if (spec->count == 2) needs = "-p tcp, -p udp, -m tcp or -m udp";
    syntax_error(opt, "nfw: unknown option `" + opt + "' (it belongs to " + needs +
                          ", which must come before it)");
  }

  const bool inv = item.inverted;
  const std::string key(spec->key);
  once(key, opt,
       key == "multiport"
           ? "nfw: only one of --sports, --dports, --ports per -m multiport (`" + opt + "')"
           : "nfw: multiple " + opt + " flags not allowed");
  auto no_invert = [&]() {
    if (inv) syntax_error("!", "nfw: cannot have ! before " + opt);
  };
  auto value = [&]() {
    std::string v = args.value(item);
    no_old_bang(v, opt);
    return v;
  };

  switch (*owner) {
    case Module::kTcp:
    case Module::kUdp: {
      const std::string proto = *owner == Module::kTcp ? "tcp" : "udp";
      if (key == "--sport" || key == "--dport") {
        filter::PortMatch pm{parse_port_range(value(), proto), inv};
        std::optional<filter::PortMatch> v;
        if (inv || pm.range.lo != 0 || pm.range.hi != 65535) v = pm;
        (key == "--sport" ? rule_.sport : rule_.dport) = v;
      } else {
        if (syn_or_flags_) syntax_error(opt, "nfw: Only one of `--syn' or `--tcp-flags' allowed");
        syn_or_flags_ = true;
        filter::TcpFlags f;
        if (key == "--syn") {
          f = {0x17, 0x02, inv};
        } else {
          const std::string mask = value();
          if (!args.has_word()) syntax_error(opt, "nfw: --tcp-flags requires two args.");
          Args::Item second{};
          second.option = opt;
          const std::string comp = args.value(second);
          f = {parse_tcp_flag_list(mask), parse_tcp_flag_list(comp), inv};
        }
        if (f.mask != 0 || f.negated) rule_.tcp_flags = f;
      }
      return true;
    }
    case Module::kIcmp:
      rule_.icmp = parse_icmp(value(), inv);
      return true;
    case Module::kMultiport: {
      filter::Multiport mp;
      mp.negated = inv;
      mp.kind = (opt == "--sports" || opt == "--source-ports") ? filter::Multiport::Kind::kSource
                : (opt == "--dports" || opt == "--destination-ports")
                    ? filter::Multiport::Kind::kDestination
                    : filter::Multiport::Kind::kEither;
      const std::string v = value();
      const std::string proto = rule_.proto ? proto_display(rule_.proto->number) : "tcp";
      std::size_t weight = 0;
      std::size_t start = 0;
      while (true) {
        const auto comma = v.find(',', start);
        const std::string part =
            v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto colon = part.find(':');
        filter::Range r;
        if (colon == std::string::npos) {
          r.lo = r.hi = parse_port(part, proto);
        } else {
          r.lo = parse_port(part.substr(0, colon), proto);
          r.hi = parse_port(part.substr(colon + 1), proto);
          if (r.lo > r.hi) syntax_error(part, "nfw: invalid portrange specified (`" + part + "')");
        }
        weight += colon == std::string::npos ? 1 : 2;
        if (weight > 15)
          syntax_error(v, "nfw: too many ports specified (at most 15, a range counting as 2)");
        mp.ports.push_back(r);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      rule_.multiport = std::move(mp);
      return true;
    }
    case Module::kOwner: {
      if (!rule_.owner) rule_.owner = filter::Owner{};
      const std::string v = value();
      if (key == "--uid-owner") {
        rule_.owner->uid = parse_owner_ids(opt, v, inv, true);
      } else if (key == "--gid-owner") {
        rule_.owner->gid = parse_owner_ids(opt, v, inv, false);
      } else {
        if (v.empty() || v.size() > 15) {
          syntax_error(
              v, "nfw: owner: --cmd-owner takes a command name of 1 to 15 characters, not `" + v +
                     "'");
        }
        rule_.owner->cmd = filter::Owner::Name{v, inv};
      }
      return true;
    }
    case Module::kCgroup: {
      const std::string v = value();
      if (v.empty() || v.size() > 4095)
        syntax_error(v, "nfw: cgroup: --path takes a path of 1 to 4095 characters");
      rule_.cgroup = filter::Cgroup{v, inv};
      return true;
    }
    case Module::kComment: {
      no_invert();
      const std::string v = args.value(item);
      if (v.size() > 255) syntax_error(v, "nfw: COMMENT must be shorter than 256 characters");
      rule_.comment = v;
      return true;
    }
    case Module::kState:
    case Module::kConntrack:
      break;  // conntrack_option took them
    case Module::kLimit:
    case Module::kHashlimit:
      break;  // their options are limit_option()'s
  }
  return false;
}

Rule RuleParser::finish() {
  auto proto_is = [&](std::uint8_t n) {
    return rule_.proto && !rule_.proto->negated && rule_.proto->number == n;
  };
  for (Module m : rule_.modules) {
    const std::string name(module_name(m));
    switch (m) {
      case Module::kTcp:
      case Module::kUdp:
      case Module::kIcmp: {
        const std::uint8_t want = m == Module::kTcp ? 6 : m == Module::kUdp ? 17 : 1;
        if (!proto_is(want)) syntax_error(name, "nfw: `-m " + name + "' needs `-p " + name + "'");
        if (m == Module::kIcmp && !rule_.icmp) rule_.icmp = filter::IcmpType{};
        break;
      }
      case Module::kMultiport: {
        if (!rule_.proto || rule_.proto->negated) {
          syntax_error(
              name,
              "nfw: multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'");
        }
        const std::uint8_t p = rule_.proto->number;
        if (p != 6 && p != 17 && p != 136 && p != 132 && p != 33) {
          syntax_error(name, "nfw: multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP");
        }
        if (!rule_.multiport)
          syntax_error(name, "nfw: multiport needs one of --sports, --dports, --ports");
        break;
      }
      case Module::kOwner:
        if (!rule_.owner) {
          syntax_error(
              name,
              "nfw: owner: At least one of --uid-owner, --gid-owner or --cmd-owner is required");
        }
        break;
      case Module::kCgroup:
        if (!rule_.cgroup) syntax_error(name, "nfw: cgroup: --path is required");
        break;
      case Module::kComment:
        if (!rule_.comment) syntax_error(name, "nfw: COMMENT match: You must specify `--comment'");
        break;
      case Module::kState:
      case Module::kConntrack:
        finish_conntrack(m);
        break;
      case Module::kLimit:
      case Module::kHashlimit:
        limit_finish(limits_, rule_, m);
        break;
    }
  }
  if (rule_.target.kind == TargetKind::kReject &&
      rule_.target.reject_with == filter::RejectWith::kTcpReset && !proto_is(6)) {
    syntax_error("tcp-reset", "nfw: --reject-with tcp-reset needs `-p tcp'");
  }
  return rule_;
}

std::vector<Rule> RuleParser::expand(const Rule& rule) const {
  if (srcs_.size() <= 1 && dsts_.size() <= 1) return {};
  const std::vector<std::optional<filter::Addr>> none{std::nullopt};
  const auto& srcs = srcs_.empty() ? none : srcs_;
  const auto& dsts = dsts_.empty() ? none : dsts_;
  std::vector<Rule> out;
  for (const auto& s : srcs) {
    for (const auto& d : dsts) {
      Rule r = rule;
      if (!srcs_.empty()) r.src = s;
      if (!dsts_.empty()) r.dst = d;
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace norman::nfw::detail

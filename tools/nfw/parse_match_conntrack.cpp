// -m state --state and -m conntrack --ct... as iptables parses them
// (libxt_conntrack): state lists are comma-separated names in any case,
// --ctorigsrc/--ctorigdst keep the address as written, port ranges keep
// their order, --ctdir cannot be negated, each option at most once.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "syntax_internal.hpp"

namespace norman::nfw::detail {

namespace {

using filter::Module;

struct Bit {
  std::string_view name;
  std::uint8_t bit;
};

constexpr std::array<Bit, 7> kStateBits{{{"INVALID", filter::ctstate::kInvalid},
                                         {"NEW", filter::ctstate::kNew},
                                         {"RELATED", filter::ctstate::kRelated},
                                         {"ESTABLISHED", filter::ctstate::kEstablished},
                                         {"UNTRACKED", filter::ctstate::kUntracked},
                                         {"SNAT", filter::ctstate::kSnat},
                                         {"DNAT", filter::ctstate::kDnat}}};

constexpr std::array<Bit, 4> kStatusBits{{{"EXPECTED", filter::ctstatus::kExpected},
                                          {"SEEN_REPLY", filter::ctstatus::kSeenReply},
                                          {"ASSURED", filter::ctstatus::kAssured},
                                          {"CONFIRMED", filter::ctstatus::kConfirmed}}};

std::string upper(std::string_view s) {
  std::string u(s);
  std::transform(u.begin(), u.end(), u.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return u;
}

// "A,B,C" over `bits` (the first `usable` of them); "NONE" is 0 when allowed.
std::uint8_t parse_bits(const std::string& v, std::span<const Bit> bits, std::size_t usable,
                        bool none_ok, const std::string& what) {
  std::uint8_t mask = 0;
  std::size_t start = 0;
  while (true) {
    const auto comma = v.find(',', start);
    const std::string part =
        upper(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    const auto it = std::find_if(bits.begin(), bits.begin() + static_cast<std::ptrdiff_t>(usable),
                                 [&](const Bit& b) { return b.name == part; });
    if (it != bits.begin() + static_cast<std::ptrdiff_t>(usable)) {
      mask |= it->bit;
    } else if (!(none_ok && part == "NONE")) {
      syntax_error(v, "nfw: Bad " + what + " \"" + v.substr(start) + "\"");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return mask;
}

std::string bits_string(std::uint8_t mask, std::span<const Bit> bits) {
  std::string out;
  for (const Bit& b : bits) {
    if ((mask & b.bit) == 0) continue;
    if (!out.empty()) out += ",";
    out += b.name;
  }
  return out.empty() ? "NONE" : out;
}

std::optional<std::uint32_t> parse_u32(std::string_view s, std::uint32_t max) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v > max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

filter::CtAddr parse_ct_addr(const std::string& v, bool inv) {
  const auto slash = v.find('/');
  const std::string host = v.substr(0, slash);
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1)
    syntax_error(
        v, "nfw: conntrack: bad address \"" + v + "\" (a dotted IPv4 address, /LEN or /MASK)");
  filter::CtAddr out{ntohl(a.s_addr), 32, inv};
  if (slash != std::string::npos) {
    const std::string mask = v.substr(slash + 1);
    if (auto n = parse_u32(mask, 32)) {
      out.len = static_cast<std::uint8_t>(*n);
    } else {
      in_addr m{};
      if (inet_pton(AF_INET, mask.c_str(), &m) != 1)
        syntax_error(v, "nfw: conntrack: bad mask \"" + mask + "\"");
      const std::uint32_t bits = ntohl(m.s_addr);
      const auto len = static_cast<std::uint8_t>(std::countl_one(bits));
      if (len < 32 && (bits << len) != 0)
        syntax_error(v, "nfw: conntrack: non-contiguous mask \"" + mask + "\"");
      out.len = len;
    }
  }
  return out;
}

filter::CtPorts parse_ct_ports(const std::string& v, bool inv) {
  const auto colon = v.find(':');
  const auto lo = parse_u32(v.substr(0, colon), 65535);
  const auto hi = colon == std::string::npos ? lo : parse_u32(v.substr(colon + 1), 65535);
  if (!lo || !hi) syntax_error(v, "nfw: conntrack: bad port or port range \"" + v + "\"");
  return {static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi), inv};
}

std::string bang(bool negated) { return negated ? " !" : ""; }

std::string addr_text(const filter::CtAddr& a) {
  return addr_string(a.addr) + (a.len == 32 ? "" : "/" + std::to_string(a.len));
}

std::string ports_text(const filter::CtPorts& p) {
  return std::to_string(p.lo) + (p.lo == p.hi ? "" : ":" + std::to_string(p.hi));
}

// The options of a rule's state or conntrack match in iptables' print order
// (conntrack_dump), each as {negated, name, value}.
struct Opt {
  bool negated;
  std::string name;
  std::string value;
};

std::vector<Opt> options_of(const Rule& r, Module m) {
  std::vector<Opt> out;
  if (m == Module::kState) {
    if (r.state) out.push_back({r.state->negated, "state", bits_string(r.state->mask, kStateBits)});
    return out;
  }
  if (!r.conntrack) return out;
  const filter::ConntrackMatch& c = *r.conntrack;
  if (c.state) out.push_back({c.state->negated, "ctstate", bits_string(c.state->mask, kStateBits)});
  if (c.proto) out.push_back({c.proto->negated, "ctproto", std::to_string(c.proto->number)});
  if (c.orig_src) out.push_back({c.orig_src->negated, "ctorigsrc", addr_text(*c.orig_src)});
  if (c.orig_dst) out.push_back({c.orig_dst->negated, "ctorigdst", addr_text(*c.orig_dst)});
  if (c.orig_sport)
    out.push_back({c.orig_sport->negated, "ctorigsrcport", ports_text(*c.orig_sport)});
  if (c.orig_dport)
    out.push_back({c.orig_dport->negated, "ctorigdstport", ports_text(*c.orig_dport)});
  if (c.status)
    out.push_back({c.status->negated, "ctstatus", bits_string(c.status->mask, kStatusBits)});
  if (c.dir)
    out.push_back({false, "ctdir", *c.dir == filter::CtDir::kOriginal ? "ORIGINAL" : "REPLY"});
  return out;
}

constexpr std::array<std::string_view, 9> kCtOptions{
    "--state",         "--ctstate",       "--ctproto",  "--ctorigsrc", "--ctorigdst",
    "--ctorigsrcport", "--ctorigdstport", "--ctstatus", "--ctdir"};

}  // namespace

bool RuleParser::conntrack_option(Args& args, Args::Item& item, const std::string& opt) {
  if (std::find(kCtOptions.begin(), kCtOptions.end(), opt) == kCtOptions.end()) return false;
  const bool state = opt == "--state";
  const Module m = state ? Module::kState : Module::kConntrack;
  if (!loaded(m)) {
    syntax_error(opt, "nfw: unknown option `" + opt + "' (it belongs to -m " +
                          (state ? "state" : "conntrack") + ", which must come before it)");
  }
  const std::string module = state ? "state" : "conntrack";
  once(module + opt, opt, "nfw: " + module + ": option \"" + opt + "\" can only be used once.");
  const bool inv = item.inverted;
  const std::string v = args.value(item);
  if (v == "!")
    syntax_error("!", "nfw: `!' goes before the option (`! " + opt + " ...'), not after it");
  if (state) {
    // -m state knows no SNAT/DNAT (the first five names only).
    rule_.state = filter::CtStates{parse_bits(v, kStateBits, 5, false, "state"), inv};
    if (rule_.state->mask == 0) syntax_error(v, "nfw: Bad state \"" + v + "\"");
    return true;
  }
  if (!rule_.conntrack) rule_.conntrack = filter::ConntrackMatch{};
  filter::ConntrackMatch& c = *rule_.conntrack;
  if (opt == "--ctstate") {
    c.state = filter::CtStates{parse_bits(v, kStateBits, kStateBits.size(), false, "ctstate"), inv};
    if (c.state->mask == 0) syntax_error(v, "nfw: Bad ctstate \"" + v + "\"");
  } else if (opt == "--ctproto") {
    const std::string name = upper(v) == "ALL" ? "0" : v;
    std::optional<std::uint8_t> n;
    if (auto num = parse_u32(name, 255)) {
      n = static_cast<std::uint8_t>(*num);
    } else {
      std::string lowered = v;
      std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      n = filter::proto_number(lowered);
    }
    if (!n) syntax_error(v, "nfw: unknown protocol \"" + v + "\" specified");
    c.proto = filter::CtProto{*n, inv};
  } else if (opt == "--ctorigsrc") {
    c.orig_src = parse_ct_addr(v, inv);
  } else if (opt == "--ctorigdst") {
    c.orig_dst = parse_ct_addr(v, inv);
  } else if (opt == "--ctorigsrcport") {
    c.orig_sport = parse_ct_ports(v, inv);
  } else if (opt == "--ctorigdstport") {
    c.orig_dport = parse_ct_ports(v, inv);
  } else if (opt == "--ctstatus") {
    c.status =
        filter::CtStatus{parse_bits(v, kStatusBits, kStatusBits.size(), true, "ctstatus"), inv};
  } else {
    if (inv) syntax_error("!", "nfw: conntrack: option \"--ctdir\" cannot be inverted.");
    const std::string d = upper(v);
    if (d != "ORIGINAL" && d != "REPLY")
      syntax_error(v, "nfw: conntrack: --ctdir takes ORIGINAL or REPLY, not \"" + v + "\"");
    c.dir = d == "ORIGINAL" ? filter::CtDir::kOriginal : filter::CtDir::kReply;
  }
  return true;
}

void RuleParser::finish_conntrack(Module m) {
  if (m == Module::kState && !rule_.state)
    syntax_error("state", "nfw: state: option \"--state\" must be specified");
  if (m == Module::kConntrack && !rule_.conntrack)
    syntax_error("conntrack", "nfw: conntrack: At least one option is required");
}

std::string conntrack_save(const Rule& r, Module m) {
  std::string out = m == Module::kState ? " -m state" : " -m conntrack";
  for (const Opt& o : options_of(r, m)) out += bang(o.negated) + " --" + o.name + " " + o.value;
  return out;
}

std::string conntrack_list(const Rule& r, Module m) {
  std::string out;
  for (const Opt& o : options_of(r, m)) out += bang(o.negated) + " " + o.name + " " + o.value;
  return out;
}

}  // namespace norman::nfw::detail

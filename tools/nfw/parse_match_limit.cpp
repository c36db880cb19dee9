// -m limit and -m hashlimit as iptables 1.8.9 parses and prints them (see
// syntax_internal.hpp). Messages are iptables', with nfw's prefix; where
// iptables-legacy would only learn from the kernel that a rule is refused
// (ERANGE, EINVAL), nfw says why.
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "rate_limit.hpp"
#include "syntax_internal.hpp"

namespace norman::nfw::detail {

namespace {

using filter::Module;

// The rates are checked against the kernel's arithmetic at this HZ (250,
// Debian's; 1000 gives the same answers, see docs/ratelimit.md).
constexpr unsigned kCheckHz = 250;

// The unit after '/' as libxt_limit reads it: any prefix of second,
// minute, hour or day, in any case; none means seconds. 0: not a unit.
std::uint32_t rate_unit(const std::string& rate) {
  const auto slash = rate.find('/');
  if (slash == std::string::npos) return 1;
  const std::string u = rate.substr(slash + 1);
  if (u.empty()) return 0;
  constexpr std::pair<const char*, std::uint32_t> kUnits[] = {
      {"second", 1}, {"minute", 60}, {"hour", 3600}, {"day", 86400}};
  for (const auto& [name, mult] : kUnits) {
    if (u.size() <= std::char_traits<char>::length(name) &&
        strncasecmp(u.c_str(), name, u.size()) == 0) {
      return mult;
    }
  }
  return 0;
}

// strtoull() of the leading digits (base 0: 0x.., 0..), the rest returned.
bool leading_uint(const std::string& s, std::uint64_t& v, std::string& rest, int base = 0) {
  const char* p = s.c_str();
  if (*p == '-' || *p == '+' || std::isspace(static_cast<unsigned char>(*p)) != 0) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtoull(p, &end, base);
  if (end == p || errno != 0) return false;
  rest = end;
  return true;
}

[[noreturn]] void range_error(const std::string& module, const std::string& opt, std::uint64_t lo,
                              std::uint64_t hi) {
  syntax_error(opt, "nfw: " + module + ": bad value for option \"" + opt + "\", or out of range (" +
                        std::to_string(lo) + "-" + std::to_string(hi) + ").");
}

std::uint32_t parse_u32(const std::string& module, const std::string& opt, const std::string& v) {
  std::uint64_t x = 0;
  std::string rest;
  if (!leading_uint(v, x, rest) || !rest.empty() || x > std::numeric_limits<std::uint32_t>::max())
    range_error(module, opt, 0, std::numeric_limits<std::uint32_t>::max());
  return static_cast<std::uint32_t>(x);
}

std::uint8_t parse_plen(const std::string& opt, const std::string& v) {
  auto bad = [&]() -> std::uint8_t {
    syntax_error(v, "nfw: hashlimit: bad value for option \"" + opt +
                        "\", neither a valid network mask nor valid CIDR (0-32).");
  };
  std::uint64_t x = 0;
  std::string rest;
  if (v.find('.') == std::string::npos) {
    if (!leading_uint(v, x, rest) || !rest.empty()) return bad();
    // iptables takes up to 255; the kernel refuses a mask above 32.
    if (x > 255) return bad();
    if (x > 32) {
      syntax_error(v, "nfw: hashlimit: " + opt + " " + v +
                          " is above 32 (the kernel refuses it: Invalid argument)");
    }
    return static_cast<std::uint8_t>(x);
  }
  std::uint32_t mask = 0;
  std::size_t start = 0;
  for (int part = 0; part < 4; ++part) {
    const auto dot = v.find('.', start);
    if ((part < 3) == (dot == std::string::npos)) return bad();
    const std::string p =
        v.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!leading_uint(p, x, rest) || !rest.empty() || x > 255) return bad();
    mask = (mask << 8) | static_cast<std::uint32_t>(x);
    start = dot + 1;
  }
  const std::uint32_t inv = ~mask;
  if ((inv & (inv + 1)) != 0) return bad();
  std::uint8_t len = 0;
  while (len < 32 && (mask & (0x80000000u >> len)) != 0) ++len;
  return len;
}

struct RateName {
  const char* name;
  std::uint64_t mult;  // of the scale
};
constexpr RateName kRates[] = {{"day", 86400}, {"hour", 3600}, {"min", 60}, {"sec", 1}};

// print_rate() of libxt_limit / libxt_hashlimit: the largest unit that
// shows the rate as a whole number without losing more than it shows.
// Returns the unit used, in seconds.
std::uint64_t print_rate(std::string& out, std::uint64_t period, std::uint64_t scale) {
  std::size_t i = 1;
  for (; i < std::size(kRates); ++i) {
    const std::uint64_t mult = kRates[i].mult * scale;
    if (period > mult || mult / period < mult % period) break;
  }
  out += " " + std::to_string(kRates[i - 1].mult * scale / period) + "/" + kRates[i - 1].name;
  return kRates[i - 1].mult;
}

std::string mode_string(std::uint32_t mode, char sep) {
  std::string out;
  auto add = [&](std::uint32_t bit, const char* name) {
    if ((mode & bit) == 0) return;
    if (!out.empty()) out += sep;
    out += name;
  };
  add(filter::Hashlimit::kSrcIp, "srcip");
  add(filter::Hashlimit::kSrcPort, "srcport");
  add(filter::Hashlimit::kDstIp, "dstip");
  add(filter::Hashlimit::kDstPort, "dstport");
  return out;
}

}  // namespace

namespace {
void once(LimitParseState& st, const std::string& module, const std::string& name) {
  if (std::find(st.seen.begin(), st.seen.end(), name) != st.seen.end())
    syntax_error(name, "nfw: " + module + ": option \"" + name + "\" can only be used once.");
  st.seen.push_back(name);
}
}  // namespace

bool limit_option(LimitParseState& st, Args& args, Args::Item& item, const std::string& opt,
                  Rule& rule) {
  const bool has_limit =
      rule.limit.has_value() ||
      std::find(rule.modules.begin(), rule.modules.end(), Module::kLimit) != rule.modules.end();
  const bool has_hashlimit =
      std::find(rule.modules.begin(), rule.modules.end(), Module::kHashlimit) != rule.modules.end();
  auto no_invert = [&](const std::string& module) {
    if (item.inverted)
      syntax_error("!", "nfw: " + module + ": option \"" + opt + "\" cannot be inverted.");
  };

  if (has_limit && (opt == "--limit" || opt == "--limit-burst")) {
    once(st, "limit", opt);
    no_invert("limit");
    const std::string v = args.value(item);
    if (!rule.limit) rule.limit = filter::Limit{};
    if (opt == "--limit") {
      // parse_rate(): atoi() of the number (so "3x/s" is 3), a unit.
      const std::uint32_t mult = rate_unit(v);
      const long r = std::atol(v.c_str());
      const auto r32 = static_cast<std::uint32_t>(r);  // atoi into a u32, as libxt_limit
      if (mult == 0 || r32 == 0) syntax_error(v, "nfw: bad rate \"" + v + "\"'");
      const std::uint32_t avg = 10000u * mult / r32;
      if (avg == 0) syntax_error(v, "nfw: Rate too fast \"" + v + "\"");
      rule.limit->avg = avg;
    } else {
      std::uint64_t b = 0;
      std::string rest;
      if (!leading_uint(v, b, rest) || !rest.empty() || b > 10000)
        range_error("limit", "--limit-burst", 0, 10000);
      rule.limit->burst = static_cast<std::uint32_t>(b);
    }
    return true;
  }

  if (!has_hashlimit || !opt.starts_with("--hashlimit")) return false;
  if (!rule.hashlimit) rule.hashlimit = filter::Hashlimit{};
  filter::Hashlimit& h = *rule.hashlimit;
  if (opt == "--hashlimit-upto" || opt == "--hashlimit-above" || opt == "--hashlimit") {
    const bool above = opt == "--hashlimit-above";
    const std::string canonical = above ? "--hashlimit-above" : "--hashlimit-upto";
    const std::string other = above ? "--hashlimit-upto" : "--hashlimit-above";
    if (std::find(st.seen.begin(), st.seen.end(), other) != st.seen.end()) {
      syntax_error(opt,
                   "nfw: hashlimit: option \"--hashlimit-upto\" cannot be used together with "
                   "\"--hashlimit-above\".");
    }
    once(st, "hashlimit", canonical);
    const std::string v = args.value(item);
    // '!' turns one into the other (XT_HASHLIMIT_INVERT).
    h.above = above != item.inverted;
    if (v.find("b/s") != std::string::npos) {
      syntax_error(v, "nfw: hashlimit: byte rates (`" + v +
                          "') are not supported; give a packet rate (N/sec, /min, /hour, /day)");
    }
    // parse_rate(): strtoull() of the number in decimal ("010" is 10), a unit.
    const std::uint32_t mult = rate_unit(v);
    std::uint64_t r = 0;
    std::string rest;
    const bool num = leading_uint(v, r, rest, 10);
    if (mult == 0 || !num || r == 0) {
      syntax_error(v, "nfw: hashlimit: Bad value for \"" + canonical + "\" option: \"" + v + "\"");
    }
    const std::uint64_t avg = 1'000'000ull * mult / r;
    if (avg == 0) syntax_error(v, "nfw: Rate too fast \"" + v + "\"");
    h.avg = avg;
    st.hashlimit_unit = mult;
    return true;
  }
  auto value = [&]() {
    once(st, "hashlimit", opt);
    no_invert("hashlimit");
    return args.value(item);
  };
  if (opt == "--hashlimit-burst") {
    const std::string v = value();
    // parse_burst(): a number (base 0) up to 1000000, or with a k/m suffix.
    std::uint64_t b = 0;
    std::string rest;
    auto error = [&]() {
      syntax_error(v,
                   "nfw: bad value for option \"--hashlimit-burst\", or out of range "
                   "(1-1000000).");
    };
    if (!leading_uint(v, b, rest) || b == 0 || (rest.empty() && b > 1'000'000)) error();
    if (!rest.empty() && rest[0] == 'k') b *= 1024;
    if (!rest.empty() && rest[0] == 'm') b *= 1024 * 1024;
    if (b > 1'000'000) error();
    h.burst = b;
    return true;
  }
  if (opt == "--hashlimit-mode") {
    const std::string v = value();
    std::uint32_t mode = 0;
    std::size_t start = 0;
    while (start <= v.size()) {
      const auto sep = v.find_first_of(",|", start);
      const std::string tok =
          v.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
      if (tok == "dstip") {
        mode |= filter::Hashlimit::kDstIp;
      } else if (tok == "srcip") {
        mode |= filter::Hashlimit::kSrcIp;
      } else if (tok == "srcport") {
        mode |= filter::Hashlimit::kSrcPort;
      } else if (tok == "dstport") {
        mode |= filter::Hashlimit::kDstPort;
      } else if (!tok.empty()) {
        syntax_error(v, "nfw: hashlimit: Bad value for \"--hashlimit-mode\" option: \"" + v + "\"");
      }
      if (sep == std::string::npos) break;
      start = sep + 1;
    }
    h.mode = mode;
    return true;
  }
  if (opt == "--hashlimit-name") {
    const std::string v = value();
    if (v.empty()) syntax_error(v, "nfw: Argument must have a minimum length of 1 characters");
    if (v.size() > 31)
      syntax_error(v, "nfw: hashlimit: --hashlimit-name `" + v + "' is longer than 31 characters");
    if (auto why = filter::unsaveable_text(v, true))
      syntax_error(v, "nfw: hashlimit: --hashlimit-name `" + v + "' " + *why);
    h.name = v;
    return true;
  }
  if (opt == "--hashlimit-srcmask" || opt == "--hashlimit-dstmask") {
    const std::uint8_t len = parse_plen(opt, value());
    (opt == "--hashlimit-srcmask" ? h.srcmask : h.dstmask) = len;
    return true;
  }
  if (opt == "--hashlimit-htable-size" || opt == "--hashlimit-htable-max" ||
      opt == "--hashlimit-htable-gcinterval" || opt == "--hashlimit-htable-expire") {
    const std::uint32_t v = parse_u32("hashlimit", opt, value());
    if (opt == "--hashlimit-htable-size") h.size = v;
    if (opt == "--hashlimit-htable-max") h.max = v;
    if (opt == "--hashlimit-htable-gcinterval") h.gc_interval = v;
    if (opt == "--hashlimit-htable-expire") h.expire = v;
    return true;
  }
  if (opt == "--hashlimit-rate-match" || opt == "--hashlimit-rate-interval") {
    syntax_error(opt, "nfw: hashlimit: " + opt + " is not supported (token-bucket mode only)");
  }
  return false;
}

void limit_finish(LimitParseState& st, Rule& rule, Module m) {
  if (m == Module::kLimit) {
    if (!rule.limit) rule.limit = filter::Limit{};
    // limit_mt_check(): the kernel refuses a burst of 0 and an overflowing
    // rate * burst (iptables-legacy: "Numerical result out of range").
    if (auto why = filter::xt_limit::check(*rule.limit, kCheckHz)) {
      syntax_error("limit", "nfw: limit: " + *why +
                                " (the kernel refuses this rate and burst: Numerical result "
                                "out of range)");
    }
    return;
  }
  if (!rule.hashlimit || rule.hashlimit->avg == 0)
    syntax_error("hashlimit", "nfw: You have to specify --hashlimit");
  filter::Hashlimit& h = *rule.hashlimit;
  if (h.name.empty())
    syntax_error("hashlimit", "nfw: hashlimit: option \"--hashlimit-name\" must be specified");
  // hashlimit_mt_check(): expire defaults to the rate's unit.
  if (std::find(st.seen.begin(), st.seen.end(), "--hashlimit-htable-expire") == st.seen.end())
    h.expire = st.hashlimit_unit * 1000;
  if (h.gc_interval == 0 || h.expire == 0) {
    syntax_error("hashlimit",
                 "nfw: hashlimit: --hashlimit-htable-gcinterval and "
                 "--hashlimit-htable-expire must not be 0 (the kernel refuses "
                 "them: Invalid argument)");
  }
  if (auto why = filter::xt_hashlimit::check(h, kCheckHz)) {
    syntax_error("hashlimit", "nfw: hashlimit: " + *why +
                                  " (the kernel refuses this rate and burst: Numerical result "
                                  "out of range)");
  }
}

std::string save_limit(const Rule& r, Module m) {
  std::string out;
  if (m == Module::kLimit) {
    out += " -m limit";
    if (!r.limit) return out;
    out += " --limit";
    print_rate(out, r.limit->avg, 10000);
    if (r.limit->burst != 5) out += " --limit-burst " + std::to_string(r.limit->burst);
    return out;
  }
  out += " -m hashlimit";
  if (!r.hashlimit) return out;
  const filter::Hashlimit& h = *r.hashlimit;
  out += h.above ? " --hashlimit-above" : " --hashlimit-upto";
  const std::uint64_t unit = print_rate(out, h.avg, 1'000'000);
  out += " --hashlimit-burst " + std::to_string(h.burst);
  if (h.mode != 0) out += " --hashlimit-mode " + mode_string(h.mode, ',');
  out += " --hashlimit-name " + h.name;
  if (h.size != 0) out += " --hashlimit-htable-size " + std::to_string(h.size);
  if (h.max != 0) out += " --hashlimit-htable-max " + std::to_string(h.max);
  if (h.gc_interval != 1000)
    out += " --hashlimit-htable-gcinterval " + std::to_string(h.gc_interval);
  if (h.expire != unit * 1000) out += " --hashlimit-htable-expire " + std::to_string(h.expire);
  if (h.srcmask != 32) out += " --hashlimit-srcmask " + std::to_string(h.srcmask);
  if (h.dstmask != 32) out += " --hashlimit-dstmask " + std::to_string(h.dstmask);
  return out;
}

std::string list_limit(const Rule& r, Module m) {
  std::string out;
  if (m == Module::kLimit) {
    if (!r.limit) return out;
    out += " limit: avg";
    print_rate(out, r.limit->avg, 10000);
    out += " burst " + std::to_string(r.limit->burst);
    return out;
  }
  if (!r.hashlimit) return out;
  const filter::Hashlimit& h = *r.hashlimit;
  out += h.above ? " limit: above" : " limit: up to";
  const std::uint64_t unit = print_rate(out, h.avg, 1'000'000);
  out += " burst " + std::to_string(h.burst);
  if (h.mode != 0) out += " mode " + mode_string(h.mode, '-');
  if (h.size != 0) out += " htable-size " + std::to_string(h.size);
  if (h.max != 0) out += " htable-max " + std::to_string(h.max);
  if (h.gc_interval != 1000) out += " htable-gcinterval " + std::to_string(h.gc_interval);
  if (h.expire != unit * 1000) out += " htable-expire " + std::to_string(h.expire);
  if (h.srcmask != 32) out += " srcmask " + std::to_string(h.srcmask);
  if (h.dstmask != 32) out += " dstmask " + std::to_string(h.dstmask);
  return out;
}

}  // namespace norman::nfw::detail

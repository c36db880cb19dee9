#include "element.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <array>
#include <charconv>
#include <string>
#include <utility>

#include "error.hpp"

namespace norman::sets {

namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kIcmp = 1;
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kSctp = 132;
constexpr std::uint8_t kUdplite = 136;

struct IcmpName {
  const char* name;
  std::uint8_t type;
  std::uint8_t code;
};
// ipset's table (lib/icmp.c), in its order: the first name of a type/code
// is the one it prints.
constexpr std::array<IcmpName, 32> kIcmpNames{{
    {"echo-reply", 0, 0},
    {"dest-unreachable", 3, 0},
    {"network-unreachable", 3, 0},
    {"host-unreachable", 3, 1},
    {"protocol-unreachable", 3, 2},
    {"port-unreachable", 3, 3},
    {"fragmentation-needed", 3, 4},
    {"source-route-failed", 3, 5},
    {"network-unknown", 3, 6},
    {"host-unknown", 3, 7},
    {"network-prohibited", 3, 9},
    {"host-prohibited", 3, 10},
    {"TOS-network-unreachable", 3, 11},
    {"TOS-host-unreachable", 3, 12},
    {"communication-prohibited", 3, 13},
    {"host-precedence-violation", 3, 14},
    {"precedence-cutoff", 3, 15},
    {"source-quench", 4, 0},
    {"network-redirect", 5, 0},
    {"host-redirect", 5, 1},
    {"TOS-network-redirect", 5, 2},
    {"TOS-host-redirect", 5, 3},
    {"echo-request", 8, 0},
    {"router-advertisement", 9, 0},
    {"router-solicitation", 10, 0},
    {"ttl-zero-during-transit", 11, 0},
    {"ttl-zero-during-reassembly", 11, 1},
    {"ip-header-bad", 12, 0},
    {"required-option-missing", 12, 1},
    {"timestamp-request", 13, 0},
    {"timestamp-reply", 14, 0},
    {"address-mask-request", 17, 0},
}};

bool with_ports(std::uint8_t proto) {
  return proto == kTcp || proto == kUdp || proto == kSctp || proto == kUdplite;
}

// A decimal number in [lo, hi], worded as ipset's string_to_number.
std::uint32_t number(std::string_view s, std::uint32_t lo, std::uint32_t hi) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec == std::errc::invalid_argument || p != s.data() + s.size()) {
    throw syntax_error("'" + std::string(s) + "' is invalid as number");
  }
  if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
    throw syntax_error("'" + std::string(s) + "' is out of range " + std::to_string(lo) + "-" +
                       std::to_string(hi));
  }
  return static_cast<std::uint32_t>(v);
}

std::uint32_t parse_ip(std::string_view s) {
  // inet_aton, as ipset's numeric forms ("10.1" is 10.0.0.1). Host names
  // are not resolved: normand keeps the sets and does no DNS.
  in_addr a{};
  const std::string text(s);
  if (text.empty() || ::inet_aton(text.c_str(), &a) == 0) {
    throw syntax_error("cannot parse " + text + ": resolving to IPv4 address failed");
  }
  return ntohl(a.s_addr);
}

struct IpSpec {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0;
  std::optional<unsigned> cidr;
  bool range = false;
};

IpSpec parse_ip_spec(std::string_view s) {
  IpSpec r;
  if (const auto slash = s.find('/'); slash != std::string_view::npos) {
    r.lo = parse_ip(s.substr(0, slash));
    r.cidr = number(s.substr(slash + 1), 0, 32);
    r.hi = r.lo;
    return r;
  }
  if (const auto dash = s.find('-'); dash != std::string_view::npos) {
    r.lo = parse_ip(s.substr(0, dash));
    r.hi = parse_ip(s.substr(dash + 1));
    if (r.lo > r.hi) std::swap(r.lo, r.hi);  // as the kernel does
    r.range = true;
    return r;
  }
  r.lo = r.hi = parse_ip(s);
  return r;
}

const Error kBadCidr("The value of the CIDR parameter of the IP address is invalid");
const Error kNull("Null-valued element, cannot be stored in a hash type of set");

// hash:ip and the address of hash:ip,port: a block or range of addresses.
std::pair<std::uint32_t, std::uint32_t> ip_block(const IpSpec& s) {
  if (s.cidr) {
    if (*s.cidr == 0) throw kBadCidr;
    const std::uint32_t m = prefix_mask(*s.cidr);
    return {s.lo & m, (s.lo & m) | ~m};
  }
  if (s.lo == 0 && !s.range) throw kNull;
  return {s.lo, s.hi};
}

std::uint8_t parse_proto(std::string_view s) {
  const std::string text(s);
  if (text == "tcp") return kTcp;
  if (text == "udp") return kUdp;
  if (text == "icmp") return kIcmp;
  if (text == "sctp") return kSctp;
  if (text == "udplite") return kUdplite;
  if (const protoent* p = ::getprotobyname(text.c_str()); p != nullptr) {
    return static_cast<std::uint8_t>(p->p_proto);
  }
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!s.empty() && ec == std::errc() && end == s.data() + s.size() && v <= 255) {
    return static_cast<std::uint8_t>(v);
  }
  throw syntax_error("cannot parse '" + text + "' as a protocol");
}

std::uint16_t parse_port(std::string_view s, std::uint8_t proto) {
  const std::string text(s);
  const std::string pname = proto_name(proto);
  if (const servent* se = ::getservbyname(text.c_str(), pname.c_str()); se != nullptr) {
    return ntohs(static_cast<std::uint16_t>(se->s_port));
  }
  try {
    return static_cast<std::uint16_t>(number(s, 0, 65535));
  } catch (const Error& e) {
    // ipset tries the text as a number, then as "proto:port", and reports both.
    throw Error(std::string(e.what()) + "\nSyntax error: '" + pname +
                "' is invalid as number\ncannot parse '" + text + "' as a " + pname + " port");
  }
}

std::pair<std::uint16_t, std::uint16_t> parse_port_range(std::string_view s, std::uint8_t proto) {
  std::uint16_t lo = 0;
  std::uint16_t hi = 0;
  if (const auto dash = s.find('-'); dash != std::string_view::npos) {
    lo = parse_port(s.substr(0, dash), proto);
    hi = parse_port(s.substr(dash + 1), proto);
    if (lo > hi) std::swap(lo, hi);
  } else {
    lo = hi = parse_port(s, proto);
  }
  return {lo, hi};
}

std::uint16_t parse_icmp(std::string_view s) {
  for (const auto& n : kIcmpNames) {
    if (s == n.name) return static_cast<std::uint16_t>((n.type << 8) | n.code);
  }
  const auto slash = s.find('/');
  try {
    if (slash == std::string_view::npos) throw Error("");
    const auto type = number(s.substr(0, slash), 0, 255);
    const auto code = number(s.substr(slash + 1), 0, 255);
    return static_cast<std::uint16_t>((type << 8) | code);
  } catch (const Error& e) {
    if (std::string_view(e.what()).find("out of range") != std::string_view::npos) throw;
    throw Error("Cannot parse " + std::string(s) + " as an ICMP type/code.");
  }
}

void push_cidrs(std::vector<Part>& out, std::uint32_t lo, std::uint32_t hi) {
  // The fewest prefixes that cover [lo, hi] exactly.
  std::uint64_t a = lo;
  while (a <= hi) {
    unsigned len = 32;
    while (len > 0) {
      const std::uint64_t size = std::uint64_t{1} << (32 - (len - 1));
      if ((a & (size - 1)) != 0 || a + size - 1 > hi) break;
      --len;
    }
    Part p;
    p.ip_lo = p.ip_hi = static_cast<std::uint32_t>(a);
    p.cidr = static_cast<std::uint8_t>(len);
    out.push_back(p);
    a += std::uint64_t{1} << (32 - len);
  }
}

}  // namespace

std::string proto_name(std::uint8_t proto) {
  switch (proto) {
    case kTcp:
      return "tcp";
    case kUdp:
      return "udp";
    case kIcmp:
      return "icmp";
    case kSctp:
      return "sctp";
    case kUdplite:
      return "udplite";
    default:
      break;
  }
  if (const protoent* p = ::getprotobynumber(proto); p != nullptr) return p->p_name;
  return std::to_string(proto);
}

std::string icmp_name(std::uint8_t type, std::uint8_t code) {
  for (const auto& n : kIcmpNames) {
    if (n.type == type && n.code == code) return n.name;
  }
  return std::to_string(type) + "/" + std::to_string(code);
}

std::uint64_t Element::count() const {
  std::uint64_t n = 0;
  for (const auto& p : parts) {
    n += (std::uint64_t{p.ip_hi} - p.ip_lo + 1) * (std::uint64_t{p.port_hi} - p.port_lo + 1);
  }
  return n;
}

Key Element::first() const {
  const Part& p = parts.front();
  switch (type) {
    case Type::kHashIp:
      return ip_key(p.ip_lo);
    case Type::kHashNet:
      return net_key(p.ip_lo, p.cidr);
    case Type::kHashIpPort:
      return ip_port_key(p.ip_lo, p.proto, p.port_lo);
    case Type::kBitmapPort:
      return p.port_lo;
  }
  return 0;
}

void Element::for_each(const std::function<void(Key)>& fn) const {
  for (const auto& p : parts) {
    for (std::uint64_t ip = p.ip_lo; ip <= p.ip_hi; ++ip) {
      for (std::uint32_t port = p.port_lo; port <= p.port_hi; ++port) {
        const auto a = static_cast<std::uint32_t>(ip);
        const auto q = static_cast<std::uint16_t>(port);
        switch (type) {
          case Type::kHashIp:
            fn(ip_key(a));
            break;
          case Type::kHashNet:
            fn(net_key(a, p.cidr));
            break;
          case Type::kHashIpPort:
            fn(ip_port_key(a, p.proto, q));
            break;
          case Type::kBitmapPort:
            fn(q);
            break;
        }
      }
    }
  }
}

Element parse_element(const Header& h, std::string_view text) {
  Element e;
  e.type = h.type;
  switch (h.type) {
    case Type::kHashIp: {
      const auto [lo, hi] = ip_block(parse_ip_spec(text));
      e.parts.push_back(Part{lo, hi, 32, 0, 0, 0});
      break;
    }
    case Type::kHashNet: {
      const IpSpec s = parse_ip_spec(text);
      if (s.range) {
        e.host = false;
        push_cidrs(e.parts, s.lo, s.hi);
      } else {
        const unsigned cidr = s.cidr.value_or(32);
        if (cidr == 0) throw kBadCidr;
        e.host = !s.cidr.has_value();
        Part p;
        p.ip_lo = p.ip_hi = s.lo & prefix_mask(cidr);
        p.cidr = static_cast<std::uint8_t>(cidr);
        e.parts.push_back(p);
      }
      break;
    }
    case Type::kHashIpPort: {
      const auto comma = text.find(',');
      if (comma == std::string_view::npos) {
        throw syntax_error("Second element is missing from " + std::string(text) + ".");
      }
      const IpSpec ip = parse_ip_spec(text.substr(0, comma));
      if (ip.lo == 0 && !ip.cidr && !ip.range) {
        // The kernel refuses a null address here with a bare EINVAL.
        throw Error("Kernel error received: Invalid argument");
      }
      const auto [lo, hi] = ip_block(ip);
      std::string_view port = text.substr(comma + 1);
      std::uint8_t proto = kTcp;
      if (const auto colon = port.find(':'); colon != std::string_view::npos) {
        proto = parse_proto(port.substr(0, colon));
        port = port.substr(colon + 1);
      }
      Part p{lo, hi, 32, proto, 0, 0};
      if (proto == kIcmp) {
        p.port_lo = p.port_hi = parse_icmp(port);
      } else if (proto == kIcmpv6) {
        throw syntax_error("Protocol ICMPv6 can be used with family inet6 only.");
      } else if (with_ports(proto)) {
        std::tie(p.port_lo, p.port_hi) = parse_port_range(port, proto);
      } else if (port != "0") {
        throw syntax_error("Protocol " + proto_name(proto) +
                           " can be used with pseudo port value 0 only.");
      }
      e.parts.push_back(p);
      break;
    }
    case Type::kBitmapPort: {
      std::string_view port = text;
      if (const auto colon = port.find(':'); colon != std::string_view::npos) {
        const auto proto = parse_proto(port.substr(0, colon));
        if (proto != kTcp && proto != kUdp)
          throw syntax_error("invalid protocol " + std::string(port.substr(0, colon)));
        port = port.substr(colon + 1);
      }
      const auto [lo, hi] = parse_port_range(port, kTcp);
      if (lo < h.range_lo || hi > h.range_hi) throw Error("Element is out of the range of the set");
      e.parts.push_back(Part{0, 0, 32, 0, lo, hi});
      break;
    }
  }
  return e;
}

}  // namespace norman::sets

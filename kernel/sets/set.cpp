#include "set.hpp"

#include <arpa/inet.h>

#include <cstdio>

#include "element.hpp"

namespace norman::sets {

namespace {

std::string ip_text(std::uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

}  // namespace

std::optional<Type> type_from_name(std::string_view n) {
  if (n == "hash:ip" || n == "iphash") return Type::kHashIp;
  if (n == "hash:net" || n == "nethash") return Type::kHashNet;
  if (n == "hash:ip,port" || n == "ipporthash") return Type::kHashIpPort;
  if (n == "bitmap:port" || n == "portmap") return Type::kBitmapPort;
  return std::nullopt;
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kHashIp:
      return "hash:ip";
    case Type::kHashNet:
      return "hash:net";
    case Type::kHashIpPort:
      return "hash:ip,port";
    case Type::kBitmapPort:
      return "bitmap:port";
  }
  return "?";
}

unsigned type_revision(Type t) {
  switch (t) {
    case Type::kHashIp:
      return 6;
    case Type::kHashNet:
    case Type::kHashIpPort:
      return 7;
    case Type::kBitmapPort:
      return 3;
  }
  return 0;
}

bool is_hash(Type t) { return t != Type::kBitmapPort; }

void Set::insert(Key k) {
  if (members.insert(k).second && header.type == Type::kHashNet) ++cidr_count[k & 0xff];
}

void Set::erase(Key k) {
  if (members.erase(k) != 0 && header.type == Type::kHashNet) --cidr_count[k & 0xff];
}

void Set::clear() {
  members.clear();
  cidr_count.fill(0);
}

bool Set::contains_ip(std::uint32_t ip) const {
  if (header.type == Type::kHashIp) return members.contains(ip_key(ip));
  if (header.type != Type::kHashNet) return false;
  for (unsigned cidr = 32; cidr >= 1; --cidr) {
    if (cidr_count[cidr] != 0 && members.contains(net_key(ip & prefix_mask(cidr), cidr))) {
      return true;
    }
  }
  return false;
}

bool Set::contains_ip_port(std::uint32_t ip, std::uint8_t proto, std::uint16_t port) const {
  return header.type == Type::kHashIpPort && members.contains(ip_port_key(ip, proto, port));
}

bool Set::contains_port(std::uint16_t port) const {
  return header.type == Type::kBitmapPort && members.contains(port);
}

std::string format_key(const Header& h, Key k) {
  switch (h.type) {
    case Type::kHashIp:
      return ip_text(static_cast<std::uint32_t>(k));
    case Type::kHashNet: {
      const unsigned cidr = k & 0xff;
      const std::string ip = ip_text(static_cast<std::uint32_t>(k >> 8));
      return cidr == 32 ? ip : ip + "/" + std::to_string(cidr);
    }
    case Type::kHashIpPort: {
      const auto proto = static_cast<std::uint8_t>((k >> 16) & 0xff);
      const auto port = static_cast<std::uint16_t>(k & 0xffff);
      std::string out =
          ip_text(static_cast<std::uint32_t>(k >> 24)) + "," + proto_name(proto) + ":";
      if (proto == 1)
        return out + icmp_name(static_cast<std::uint8_t>(port >> 8),
                               static_cast<std::uint8_t>(port & 0xff));
      return out + std::to_string(port);
    }
    case Type::kBitmapPort:
      return std::to_string(k);
  }
  return {};
}

std::string format_header(const Header& h) {
  if (h.type == Type::kBitmapPort) {
    return "range " + std::to_string(h.range_lo) + "-" + std::to_string(h.range_hi);
  }
  char initval[16];
  std::snprintf(initval, sizeof initval, "0x%08x", h.initval);
  return "family inet hashsize " + std::to_string(h.hashsize) + " maxelem " +
         std::to_string(h.maxelem) + " bucketsize " + std::to_string(h.bucketsize) + " initval " +
         initval;
}

std::uint64_t memory_size(const Set& s) {
  if (s.header.type == Type::kBitmapPort) {
    // As the kernel's bitmap: the header and one bit per port, in longs.
    const std::uint64_t bits = std::uint64_t{s.header.range_hi} - s.header.range_lo + 1;
    return 72 + (bits + 63) / 64 * 8;
  }
  // The kernel's figure for an empty hash and its bucket growth are not
  // modelled; this is what normand spends (a tree node per entry).
  return 216 + 48 * static_cast<std::uint64_t>(s.size());
}

}  // namespace norman::sets

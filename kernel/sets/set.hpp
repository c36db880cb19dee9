// The sets of nipset (ipset's hash:ip, hash:net, hash:ip,port and
// bitmap:port, IPv4): what a set is, how its elements are written in and out
// (ipset's text forms), and the store of all sets with ipset's commands.
// normand keeps the store (docs/sets.md); nipset is only its command line.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace norman::sets {

enum class Type : std::uint8_t { kHashIp, kHashNet, kHashIpPort, kBitmapPort };

std::optional<Type> type_from_name(std::string_view name);  // also ipset's old aliases
std::string_view type_name(Type t);
unsigned type_revision(Type t);  // what ipset 7.17 lists as Revision
bool is_hash(Type t);

// A set's header: the create options as `ipset save` prints them.
struct Header {
  Type type = Type::kHashIp;
  std::uint32_t hashsize = 1024;  // a hint here (no buckets are allocated), kept for save
  std::uint32_t maxelem = 65536;
  std::uint32_t bucketsize = 12;
  std::uint32_t initval = 0;
  std::uint16_t range_lo = 0;  // bitmap:port
  std::uint16_t range_hi = 0;
};

// One element, packed so that the natural order of the key is the listing
// order: hash:ip ip; hash:net ip << 8 | cidr; hash:ip,port ip << 24 |
// proto << 16 | port (ICMP: type << 8 | code); bitmap:port the port.
using Key = std::uint64_t;

inline Key ip_key(std::uint32_t ip) { return ip; }
inline Key net_key(std::uint32_t ip, unsigned cidr) { return (Key{ip} << 8) | cidr; }
inline Key ip_port_key(std::uint32_t ip, std::uint8_t proto, std::uint16_t port) {
  return (Key{ip} << 24) | (Key{proto} << 16) | port;
}
inline std::uint32_t prefix_mask(unsigned cidr) {
  return cidr == 0 ? 0 : ~std::uint32_t{0} << (32 - cidr);
}

struct Set {
  std::string name;
  Header header;
  std::set<Key> members;
  // hash:net: entries per prefix length (membership of an address looks
  // only at the lengths present, as the kernel does).
  std::array<std::uint32_t, 33> cidr_count{};
  std::uint32_t references = 0;  // rules of the filter table naming the set

  [[nodiscard]] std::size_t size() const { return members.size(); }
  void insert(Key k);
  void erase(Key k);
  void clear();
  // Packet membership: an address (hash:ip, hash:net), address + protocol +
  // port (hash:ip,port), a port (bitmap:port; proto 6/17/132/136 only).
  [[nodiscard]] bool contains_ip(std::uint32_t ip) const;
  [[nodiscard]] bool contains_ip_port(std::uint32_t ip, std::uint8_t proto,
                                      std::uint16_t port) const;
  [[nodiscard]] bool contains_port(std::uint16_t port) const;
};

// The element text of a key, as ipset lists it.
std::string format_key(const Header& h, Key k);
// The header line's options: "family inet hashsize 1024 ..." / "range 1-1024".
std::string format_header(const Header& h);
// ipset's "Size in memory" (an estimate of normand's own cost here).
std::uint64_t memory_size(const Set& s);

}  // namespace norman::sets

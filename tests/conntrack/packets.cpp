#include "packets.hpp"

#include <arpa/inet.h>

#include <stdexcept>

namespace norman::conntrack::test {

namespace {

void put16(Bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xFFFF);
}

std::uint32_t sum(const Bytes& b, std::size_t from, std::size_t to, std::uint32_t acc = 0) {
  for (std::size_t i = from; i + 1 < to; i += 2) acc += (std::uint32_t{b[i]} << 8) | b[i + 1];
  if ((to - from) % 2 != 0) acc += std::uint32_t{b[to - 1]} << 8;
  return acc;
}

std::uint16_t finish(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xFFFF);
}

Bytes ipv4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, std::size_t l4_len) {
  static std::uint16_t ident = 1;
  Bytes b(20 + l4_len, 0);
  b[0] = 0x45;
  put16(b, 2, static_cast<std::uint32_t>(b.size()));
  put16(b, 4, ident++);
  b[6] = 0x40;  // DF
  b[8] = 64;
  b[9] = proto;
  put32(b, 12, src);
  put32(b, 16, dst);
  put16(b, 10, finish(sum(b, 0, 20)));
  return b;
}

void l4_checksum(Bytes& b, std::size_t at, std::uint8_t proto) {
  const std::size_t len = b.size() - 20;
  std::uint32_t acc = sum(b, 12, 20) + proto + static_cast<std::uint32_t>(len);
  const std::uint16_t c = finish(sum(b, 20, b.size(), acc));
  put16(b, 20 + at, (proto == 17 && c == 0) ? 0xFFFF : c);
}

}  // namespace

std::uint32_t ip4(const std::string& dotted) {
  in_addr a{};
  if (inet_pton(AF_INET, dotted.c_str(), &a) != 1) throw std::invalid_argument(dotted);
  return ntohl(a.s_addr);
}

Bytes tcp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
          std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::size_t payload) {
  Bytes b = ipv4(src, dst, 6, 20 + payload);
  put16(b, 20, sport);
  put16(b, 22, dport);
  put32(b, 24, seq);
  put32(b, 28, (flags & kAck) ? ack : 0);
  b[32] = 5 << 4;
  b[33] = flags;
  put16(b, 34, 64240);
  for (std::size_t i = 0; i < payload; ++i) b[40 + i] = static_cast<std::uint8_t>('a' + i % 26);
  l4_checksum(b, 16, 6);
  return b;
}

Bytes udp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
          std::size_t payload) {
  Bytes b = ipv4(src, dst, 17, 8 + payload);
  put16(b, 20, sport);
  put16(b, 22, dport);
  put16(b, 24, static_cast<std::uint32_t>(8 + payload));
  for (std::size_t i = 0; i < payload; ++i) b[28 + i] = static_cast<std::uint8_t>(i);
  l4_checksum(b, 6, 17);
  return b;
}

Bytes icmp_echo(std::uint32_t src, std::uint32_t dst, std::uint8_t type, std::uint16_t id,
                std::uint16_t seq, std::size_t payload) {
  Bytes b = ipv4(src, dst, 1, 8 + payload);
  b[20] = type;
  put16(b, 24, id);
  put16(b, 26, seq);
  for (std::size_t i = 0; i < payload; ++i) b[28 + i] = static_cast<std::uint8_t>(i);
  put16(b, 22, finish(sum(b, 20, b.size())));
  return b;
}

Bytes icmp_error(std::uint32_t src, std::uint32_t dst, std::uint8_t type, std::uint8_t code,
                 const Bytes& about) {
  const std::size_t quoted = std::min<std::size_t>(about.size(), 28);
  Bytes b = ipv4(src, dst, 1, 8 + quoted);
  b[20] = type;
  b[21] = code;
  for (std::size_t i = 0; i < quoted; ++i) b[28 + i] = about[i];
  put16(b, 22, finish(sum(b, 20, b.size())));
  return b;
}

}  // namespace norman::conntrack::test

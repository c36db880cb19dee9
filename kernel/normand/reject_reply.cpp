#include "reject_reply.hpp"

#include <algorithm>

namespace norman::normand {

namespace {

using RejectWith = regmap::filter::RejectWith;

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xFFFF);
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if ((n & 1) != 0) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  return sum;
}
std::uint16_t fold(std::uint32_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// Ethernet + IPv4 header of a reply to `frame` (addresses swapped).
std::vector<std::uint8_t> reply_headers(std::span<const std::uint8_t> f, std::size_t l3,
                                        std::uint8_t proto, std::size_t payload) {
  std::vector<std::uint8_t> r(14 + 20 + payload, 0);
  std::copy(f.begin() + 6, f.begin() + 12, r.begin());  // to the sender
  std::copy(f.begin(), f.begin() + 6, r.begin() + 6);   // from the address it used
  r[12] = 0x08;
  r[13] = 0x00;
  r[14] = 0x45;
  r[15] = proto == 1 ? 0xC0 : 0x00;  // ICMP errors: internetwork control, as Linux
  put16(r, 16, static_cast<std::uint32_t>(20 + payload));
  r[22] = 64;
  r[23] = proto;
  std::copy(f.begin() + static_cast<std::ptrdiff_t>(l3 + 16),
            f.begin() + static_cast<std::ptrdiff_t>(l3 + 20),
            r.begin() + 26);  // source: the packet's destination
  std::copy(f.begin() + static_cast<std::ptrdiff_t>(l3 + 12),
            f.begin() + static_cast<std::ptrdiff_t>(l3 + 16), r.begin() + 30);
  put16(r, 24, fold(sum16(r.data() + 14, 20)));
  return r;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> reject_reply(std::span<const std::uint8_t> f,
                                                      RejectWith with) {
  std::size_t l3 = 14;
  if (f.size() < 14) return std::nullopt;
  std::uint16_t type = get16(f, 12);
  if (type == 0x8100 && f.size() >= 18) {
    type = get16(f, 16);
    l3 = 18;
  }
  if (type != 0x0800 || f.size() < l3 + 20 || (f[l3] >> 4) != 4) return std::nullopt;
  const std::size_t ihl = static_cast<std::size_t>(f[l3] & 0x0F) * 4;
  const std::size_t total = get16(f, l3 + 2);
  if (ihl < 20 || total < ihl || f.size() < l3 + total) return std::nullopt;
  if ((get16(f, l3 + 6) & 0x1FFF) != 0) return std::nullopt;  // not the first fragment
  const std::uint32_t dst = get32(f, l3 + 16);
  if ((dst >> 28) == 0xE || dst == 0xFFFFFFFFu || (f[0] & 1) != 0) return std::nullopt;
  const std::uint8_t proto = f[l3 + 9];
  const std::size_t l4 = l3 + ihl;

  if (with == RejectWith::kTcpReset) {
    if (proto != 6 || total < ihl + 20) return std::nullopt;
    const std::uint8_t flags = f[l4 + 13];
    if ((flags & 0x04) != 0) return std::nullopt;  // never answer a reset
    const std::size_t doff = static_cast<std::size_t>(f[l4 + 12] >> 4) * 4;
    if (doff < 20 || total < ihl + doff) return std::nullopt;
    auto r = reply_headers(f, l3, 6, 20);
    put16(r, 34, get16(f, l4 + 2));
    put16(r, 36, get16(f, l4));
    if ((flags & 0x10) != 0) {  // ACK: the reset takes the acknowledged sequence
      put32(r, 38, get32(f, l4 + 8));
      r[47] = 0x04;
    } else {
      const std::uint32_t len = static_cast<std::uint32_t>(total - ihl - doff) +
                                ((flags & 0x02) != 0 ? 1 : 0) + ((flags & 0x01) != 0 ? 1 : 0);
      put32(r, 42, get32(f, l4 + 4) + len);
      r[47] = 0x14;  // RST+ACK
    }
    r[46] = 0x50;
    // Pseudo-header checksum.
    std::uint32_t sum = sum16(r.data() + 26, 8);
    sum += 6 + 20;
    put16(r, 50, fold(sum16(r.data() + 34, 20, sum)));
    return r;
  }

  if (proto == 1 && total >= ihl + 1) {
    const std::uint8_t icmp_type = f[l4];
    const bool is_error =
        icmp_type == 3 || icmp_type == 4 || icmp_type == 5 || icmp_type == 11 || icmp_type == 12;
    if (is_error) return std::nullopt;
  }
  const std::size_t quoted = std::min(total, ihl + 8);
  auto r = reply_headers(f, l3, 1, 8 + quoted);
  r[34] = 3;
  r[35] = static_cast<std::uint8_t>(with);
  std::copy(f.begin() + static_cast<std::ptrdiff_t>(l3),
            f.begin() + static_cast<std::ptrdiff_t>(l3 + quoted), r.begin() + 42);
  put16(r, 36, fold(sum16(r.data() + 34, 8 + quoted)));
  return r;
}

}  // namespace norman::normand

// Hand-built frames for ndump's tests: Ethernet, 802.1Q, ARP, IPv4 (with
// fragments), IPv6, ICMP, UDP and TCP with correct checksums unless told
// otherwise, and a pcap writer for them (libpcap's dump API).
#pragma once

#include <pcap/pcap.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace norman::ndump::test {

using Bytes = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;
using Ip4 = std::array<std::uint8_t, 4>;
using Ip6 = std::array<std::uint8_t, 16>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline void append(Bytes& b, const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }
template <std::size_t N>
inline void append(Bytes& b, const std::array<std::uint8_t, N>& x) {
  b.insert(b.end(), x.begin(), x.end());
}

inline std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t s = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) s += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<std::uint32_t>(p[n - 1] << 8);
  return s;
}
inline std::uint16_t fold(std::uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(~s);
}
inline void set16(Bytes& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}

inline Bytes ether(const Mac& dst, const Mac& src, std::uint16_t type, const Bytes& payload,
                   bool pad = true) {
  Bytes b;
  append(b, dst);
  append(b, src);
  put16(b, type);
  append(b, payload);
  while (pad && b.size() < 60) b.push_back(0);  // minimum frame, without FCS
  return b;
}

inline Bytes vlan_tag(std::uint16_t tci, std::uint16_t inner_type, const Bytes& payload) {
  Bytes b;
  put16(b, tci);
  put16(b, inner_type);
  append(b, payload);
  return b;
}

struct Ip4Opts {
  std::uint16_t id = 1;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  bool df = false;
  bool mf = false;
  std::uint16_t frag_offset = 0;  // bytes, multiple of 8
  std::int32_t total_len = -1;    // override the length field
  bool bad_checksum = false;
};

inline Bytes ipv4(const Ip4& src, const Ip4& dst, std::uint8_t proto, const Bytes& payload,
                  Ip4Opts o = {}, const Bytes& options = {}) {
  Bytes opts = options;  // padded with EOL to 4 bytes
  while (opts.size() % 4) opts.push_back(0);
  const std::size_t hlen = 20 + opts.size();
  Bytes b;
  b.push_back(static_cast<std::uint8_t>(0x40 | hlen / 4));
  b.push_back(o.tos);
  put16(b, o.total_len >= 0 ? static_cast<std::uint16_t>(o.total_len)
                            : static_cast<std::uint16_t>(hlen + payload.size()));
  put16(b, o.id);
  put16(b, static_cast<std::uint16_t>((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) |
                                      (o.frag_offset / 8)));
  b.push_back(o.ttl);
  b.push_back(proto);
  put16(b, 0);
  append(b, src);
  append(b, dst);
  append(b, opts);
  std::uint16_t ck = fold(sum16(b.data(), hlen));
  set16(b, 10, o.bad_checksum ? static_cast<std::uint16_t>(ck ^ 0x1234) : ck);
  append(b, payload);
  return b;
}

inline Bytes ipv6(const Ip6& src, const Ip6& dst, std::uint8_t nh, const Bytes& payload) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<std::uint16_t>(payload.size()));
  b.push_back(nh);
  b.push_back(64);
  append(b, src);
  append(b, dst);
  append(b, payload);
  return b;
}

inline std::uint32_t pseudo4(const Ip4& s, const Ip4& d, std::uint8_t proto, std::size_t len) {
  std::uint32_t x = sum16(s.data(), 4) + sum16(d.data(), 4);
  return x + proto + static_cast<std::uint32_t>(len);
}
inline std::uint32_t pseudo6(const Ip6& s, const Ip6& d, std::uint8_t proto, std::size_t len) {
  std::uint32_t x = sum16(s.data(), 16) + sum16(d.data(), 16);
  return x + proto + static_cast<std::uint32_t>(len);
}

inline Bytes udp_raw(std::uint16_t sport, std::uint16_t dport, const Bytes& payload,
                     std::int32_t ulen = -1) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, ulen >= 0 ? static_cast<std::uint16_t>(ulen)
                     : static_cast<std::uint16_t>(8 + payload.size()));
  put16(b, 0);
  append(b, payload);
  return b;
}
inline Bytes udp4(const Ip4& s, const Ip4& d, std::uint16_t sport, std::uint16_t dport,
                  const Bytes& payload, bool bad_checksum = false) {
  Bytes b = udp_raw(sport, dport, payload);
  std::uint16_t ck = fold(sum16(b.data(), b.size(), pseudo4(s, d, 17, b.size())));
  if (ck == 0) ck = 0xffff;
  set16(b, 6, bad_checksum ? static_cast<std::uint16_t>(ck ^ 0x0f0f) : ck);
  return b;
}
inline Bytes udp6(const Ip6& s, const Ip6& d, std::uint16_t sport, std::uint16_t dport,
                  const Bytes& payload) {
  Bytes b = udp_raw(sport, dport, payload);
  std::uint16_t ck = fold(sum16(b.data(), b.size(), pseudo6(s, d, 17, b.size())));
  set16(b, 6, ck == 0 ? 0xffff : ck);
  return b;
}

namespace tcpf {
constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20,
                       ece = 0x40, cwr = 0x80;
}

inline Bytes tcp_raw(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                     std::uint8_t flags, std::uint16_t win, const Bytes& options,
                     const Bytes& payload, std::uint16_t urp = 0) {
  Bytes opts = options;
  while (opts.size() % 4) opts.push_back(1);  // nop padding
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  b.push_back(static_cast<std::uint8_t>((20 + opts.size()) / 4 << 4));
  b.push_back(flags);
  put16(b, win);
  put16(b, 0);
  put16(b, urp);
  append(b, opts);
  append(b, payload);
  return b;
}
inline Bytes tcp4(const Ip4& s, const Ip4& d, std::uint16_t sport, std::uint16_t dport,
                  std::uint32_t seq, std::uint32_t ack, std::uint8_t flags, std::uint16_t win,
                  const Bytes& options, const Bytes& payload, bool bad_checksum = false) {
  Bytes b = tcp_raw(sport, dport, seq, ack, flags, win, options, payload);
  std::uint16_t ck = fold(sum16(b.data(), b.size(), pseudo4(s, d, 6, b.size())));
  set16(b, 16, bad_checksum ? static_cast<std::uint16_t>(ck ^ 0x00ff) : ck);
  return b;
}
inline Bytes tcp6(const Ip6& s, const Ip6& d, std::uint16_t sport, std::uint16_t dport,
                  std::uint32_t seq, std::uint32_t ack, std::uint8_t flags, std::uint16_t win,
                  const Bytes& options, const Bytes& payload) {
  Bytes b = tcp_raw(sport, dport, seq, ack, flags, win, options, payload);
  set16(b, 16, fold(sum16(b.data(), b.size(), pseudo6(s, d, 6, b.size()))));
  return b;
}

// Linux's SYN options: mss, sackOK, TS, nop, wscale.
inline Bytes syn_options(std::uint32_t tsval, std::uint32_t tsecr, std::uint8_t wscale = 7) {
  return {2,
          4,
          0x05,
          0xb4,
          4,
          2,
          8,
          10,
          static_cast<std::uint8_t>(tsval >> 24),
          static_cast<std::uint8_t>(tsval >> 16),
          static_cast<std::uint8_t>(tsval >> 8),
          static_cast<std::uint8_t>(tsval),
          static_cast<std::uint8_t>(tsecr >> 24),
          static_cast<std::uint8_t>(tsecr >> 16),
          static_cast<std::uint8_t>(tsecr >> 8),
          static_cast<std::uint8_t>(tsecr),
          1,
          3,
          3,
          wscale};
}

inline Bytes icmp(std::uint8_t type, std::uint8_t code, std::uint32_t rest, const Bytes& data,
                  bool bad_checksum = false) {
  Bytes b;
  b.push_back(type);
  b.push_back(code);
  put16(b, 0);
  put32(b, rest);
  append(b, data);
  std::uint16_t ck = fold(sum16(b.data(), b.size()));
  set16(b, 2, bad_checksum ? static_cast<std::uint16_t>(ck ^ 0x1111) : ck);
  return b;
}

inline Bytes arp(std::uint16_t op, const Mac& sha, const Ip4& spa, const Mac& tha, const Ip4& tpa) {
  Bytes b;
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, op);
  append(b, sha);
  append(b, spa);
  append(b, tha);
  append(b, tpa);
  return b;
}

struct Packet {
  Bytes data;
  std::uint32_t caplen = 0;  // 0: the whole frame
};

// Writes the frames to a pcap file, one per millisecond from a fixed epoch
// time (tests run with TZ=UTC).
inline void write_pcap(const std::string& path, const std::vector<Packet>& pkts,
                       int snaplen = 262144) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, snaplen);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (!d) throw std::runtime_error(pcap_geterr(dead));
  std::uint64_t usec = 0;
  for (const auto& p : pkts) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(1700000000 + usec / 1000000);
    h.ts.tv_usec = static_cast<suseconds_t>(usec % 1000000);
    h.len = static_cast<bpf_u_int32>(p.data.size());
    h.caplen = p.caplen ? p.caplen : h.len;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, p.data.data());
    usec += 1234;
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

}  // namespace norman::ndump::test

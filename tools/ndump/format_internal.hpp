// Shared by the per-protocol printers (format_*.cpp): a bounded view of the
// captured bytes, the output buffer and tcpdump's truncation marker.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <string>

#include "format.hpp"

namespace norman::ndump::detail {

// Thrown when a read passes the captured end; the top level appends
// " [|proto]" with the protocol being printed, as tcpdump's longjmp does.
struct Truncated {};

class Bytes {
 public:
  Bytes() = default;
  Bytes(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  [[nodiscard]] std::size_t size() const { return n_; }
  [[nodiscard]] const std::uint8_t* data() const { return p_; }
  [[nodiscard]] bool has(std::size_t off, std::size_t len) const {
    return off <= n_ && len <= n_ - off;
  }
  void need(std::size_t off, std::size_t len) const {
    if (!has(off, len)) throw Truncated{};
  }
  [[nodiscard]] std::uint8_t u8(std::size_t off) const {
    need(off, 1);
    return p_[off];
  }
  [[nodiscard]] std::uint16_t u16(std::size_t off) const {
    need(off, 2);
    return static_cast<std::uint16_t>(p_[off] << 8 | p_[off + 1]);
  }
  [[nodiscard]] std::uint32_t u32(std::size_t off) const {
    need(off, 4);
    return static_cast<std::uint32_t>(p_[off]) << 24 |
           static_cast<std::uint32_t>(p_[off + 1]) << 16 |
           static_cast<std::uint32_t>(p_[off + 2]) << 8 | p_[off + 3];
  }
  // The bytes from off on (empty past the end).
  [[nodiscard]] Bytes from(std::size_t off) const {
    return off >= n_ ? Bytes(p_ + n_, 0) : Bytes(p_ + off, n_ - off);
  }
  // At most len bytes (tcpdump's nd_push_snaplen).
  [[nodiscard]] Bytes limit(std::size_t len) const { return Bytes(p_, len < n_ ? len : n_); }

 private:
  const std::uint8_t* p_ = nullptr;
  std::size_t n_ = 0;
};

class Names;

struct Printer {
  const FormatOptions& opt;
  TcpSeqTable& tcp_seq;
  NameCache& names;
  std::string out;
  const char* proto = "";  // for the truncation marker

  void printf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  [[nodiscard]] std::string ip4(Bytes b, std::size_t off) const;  // address or name
  [[nodiscard]] std::string ip6(Bytes b, std::size_t off) const;
  [[nodiscard]] std::string mac(Bytes b, std::size_t off) const;
  [[nodiscard]] std::string tcp_port(std::uint16_t port) const;
  [[nodiscard]] std::string udp_port(std::uint16_t port) const;
};

// The network layer seen by the transport printers.
struct IpContext {
  int version = 4;
  Bytes header;                  // the IP header (for addresses and the pseudo-header)
  std::uint8_t next_header = 0;  // the IP header's protocol field
};

// Internet checksum (RFC 1071) over data, plus an initial partial sum.
std::uint16_t in_cksum(const std::uint8_t* data, std::size_t len, std::uint32_t sum = 0);
std::uint32_t pseudo_header_sum(const IpContext& ip, std::uint8_t proto, std::uint32_t len);
// tcpdump's in_cksum_shouldbe: the checksum the field should hold.
std::uint16_t in_cksum_shouldbe(std::uint16_t sum, std::uint16_t computed);

const char* ethertype_name(std::uint16_t type);  // nullptr when unknown
const char* ipproto_name(std::uint8_t proto);    // nullptr when unknown

void print_ether(Printer& p, Bytes frame, std::uint32_t length);
void print_ethertype(Printer& p, std::uint16_t type, Bytes payload, std::uint32_t length,
                     bool& handled);
void print_arp(Printer& p, Bytes b, std::uint32_t length);
void print_ipv4(Printer& p, Bytes b, std::uint32_t length);
void print_ipv6(Printer& p, Bytes b, std::uint32_t length);
void print_icmp(Printer& p, Bytes b, std::uint32_t length, const IpContext& ip, bool fragmented);
void print_udp(Printer& p, Bytes b, std::uint32_t length, const IpContext& ip, bool fragmented);
void print_tcp(Printer& p, Bytes b, std::uint32_t length, const IpContext& ip, bool fragmented);

}  // namespace norman::ndump::detail

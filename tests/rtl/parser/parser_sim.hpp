// Drives the verilated pkt_parser: frames in as beats, pkt_meta_t out,
// decoded into ref::PktMeta so it compares directly with the reference.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "Vpkt_parser.h"
#include "ref_parser.hpp"
#include "verilated.h"

namespace norman::parser_test {

inline constexpr uint64_t kParserLatency = 5;  // pkt_parser's ParserLatency
inline constexpr size_t kBeatBytes = 64;

// pkt_meta_t in declaration order. In a packed struct the first member is the
// most significant, so a field's LSB is the width of everything after it.
struct Field {
  std::string_view name;
  unsigned width;
};
inline constexpr std::array<Field, 31> kMetaLayout{{
    {"frame_len", 16}, {"dst_mac", 48},  {"src_mac", 48},      {"ethertype", 16},    {"has_vlan", 1},
    {"vlan_id", 12},   {"vlan_pcp", 3},  {"is_arp", 1},        {"is_ipv4", 1},       {"is_ipv6", 1},
    {"is_tcp", 1},     {"is_udp", 1},    {"is_icmp", 1},       {"ip_frag", 1},       {"ip_frag_later", 1},
    {"ip_options", 1}, {"ip_proto", 8},  {"ip_ttl", 8},        {"ip_dscp", 6},       {"ipv4_len", 16},
    {"src_ip", 128},
    {"dst_ip", 128},   {"src_port", 16}, {"dst_port", 16},     {"tcp_flags", 8},     {"icmp_type", 8},
    {"icmp_code", 8},  {"l3_offset", 8}, {"l4_offset", 8},     {"malformed", 1},     {"err", 4},
}};

consteval unsigned meta_bits() {
  unsigned n = 0;
  for (const auto& f : kMetaLayout) n += f.width;
  return n;
}

struct BitPos {
  unsigned lsb;
  unsigned width;
};

consteval BitPos field_pos(std::string_view name) {
  unsigned hi = meta_bits();
  for (const auto& f : kMetaLayout) {
    hi -= f.width;
    if (f.name == name) return {hi, f.width};
  }
  throw "unknown pkt_meta_t field";  // a compile error in a consteval context
}

using MetaWide = decltype(Vpkt_parser::meta_o);
static_assert(sizeof(MetaWide) * 8 >= meta_bits() && sizeof(MetaWide) * 8 < meta_bits() + 32,
              "pkt_meta_t layout in kMetaLayout does not match the verilated port width");

inline uint64_t get_bits(const MetaWide& w, BitPos p) {
  uint64_t v = 0;
  for (unsigned i = 0; i < p.width; ++i) {
    const unsigned bit = p.lsb + i;
    if ((w.at(bit / 32) >> (bit % 32)) & 1u) v |= uint64_t{1} << i;
  }
  return v;
}

inline std::array<uint8_t, 16> get_bytes128(const MetaWide& w, BitPos p) {
  std::array<uint8_t, 16> out{};
  for (unsigned i = 0; i < 16; ++i) {
    out[i] = static_cast<uint8_t>(get_bits(w, {p.lsb + 120 - 8 * i, 8}));
  }
  return out;
}

inline ref::PktMeta decode_meta(const MetaWide& w) {
  auto u = [&](BitPos p) { return get_bits(w, p); };
  auto b = [&](BitPos p) { return get_bits(w, p) != 0; };
  ref::PktMeta m;
  m.frame_len = static_cast<uint16_t>(u(field_pos("frame_len")));
  m.dst_mac = u(field_pos("dst_mac"));
  m.src_mac = u(field_pos("src_mac"));
  m.ethertype = static_cast<uint16_t>(u(field_pos("ethertype")));
  m.has_vlan = b(field_pos("has_vlan"));
  m.vlan_id = static_cast<uint16_t>(u(field_pos("vlan_id")));
  m.vlan_pcp = static_cast<uint8_t>(u(field_pos("vlan_pcp")));
  m.is_arp = b(field_pos("is_arp"));
  m.is_ipv4 = b(field_pos("is_ipv4"));
  m.is_ipv6 = b(field_pos("is_ipv6"));
  m.is_tcp = b(field_pos("is_tcp"));
  m.is_udp = b(field_pos("is_udp"));
  m.is_icmp = b(field_pos("is_icmp"));
  m.ip_frag = b(field_pos("ip_frag"));
  m.ip_frag_later = b(field_pos("ip_frag_later"));
  m.ip_options = b(field_pos("ip_options"));
  m.ip_proto = static_cast<uint8_t>(u(field_pos("ip_proto")));
  m.ip_ttl = static_cast<uint8_t>(u(field_pos("ip_ttl")));
  m.ip_dscp = static_cast<uint8_t>(u(field_pos("ip_dscp")));
  m.ipv4_len = static_cast<uint16_t>(u(field_pos("ipv4_len")));
  m.src_ip = get_bytes128(w, field_pos("src_ip"));
  m.dst_ip = get_bytes128(w, field_pos("dst_ip"));
  m.src_port = static_cast<uint16_t>(u(field_pos("src_port")));
  m.dst_port = static_cast<uint16_t>(u(field_pos("dst_port")));
  m.tcp_flags = static_cast<uint8_t>(u(field_pos("tcp_flags")));
  m.icmp_type = static_cast<uint8_t>(u(field_pos("icmp_type")));
  m.icmp_code = static_cast<uint8_t>(u(field_pos("icmp_code")));
  m.l3_offset = static_cast<uint8_t>(u(field_pos("l3_offset")));
  m.l4_offset = static_cast<uint8_t>(u(field_pos("l4_offset")));
  m.malformed = b(field_pos("malformed"));
  m.err = static_cast<ref::ParseErr>(u(field_pos("err")));
  return m;
}

struct Beat {
  std::array<uint8_t, kBeatBytes> data{};
  uint64_t keep = 0;
  bool last = false;
};

// Splits a frame into beats. Lanes past the frame's end are filled from `rng`
// so a parser that reads them shows up as a mismatch.
inline std::vector<Beat> to_beats(const std::vector<uint8_t>& frame, std::mt19937_64& rng) {
  std::vector<Beat> beats;
  size_t off = 0;
  do {
    Beat b;
    const size_t n = std::min(kBeatBytes, frame.size() - off);
    for (size_t i = 0; i < kBeatBytes; ++i) {
      b.data[i] = i < n ? frame[off + i] : static_cast<uint8_t>(rng());
    }
    b.keep = n == kBeatBytes ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    off += n;
    b.last = off == frame.size();
    beats.push_back(b);
  } while (off < frame.size());
  return beats;
}

class ParserSim {
 public:
  struct Output {
    uint64_t cycle;
    ref::PktMeta meta;
  };

  explicit ParserSim(uint64_t seed = 1) : rng_(seed) {
    ctx_ = std::make_unique<VerilatedContext>();
    model_ = std::make_unique<Vpkt_parser>(ctx_.get());
    reset();
  }
  ~ParserSim() { model_->final(); }
  ParserSim(const ParserSim&) = delete;
  ParserSim& operator=(const ParserSim&) = delete;

  // Asynchronous reset for two cycles; outputs seen meanwhile are dropped.
  void reset() {
    model_->rst_ni = 0;
    model_->clk_i = 0;
    model_->eval();
    for (int i = 0; i < 2; ++i) step(nullptr);
    model_->rst_ni = 1;
    model_->eval();
    outputs_.clear();
  }

  void assert_reset() {
    model_->rst_ni = 0;
    model_->eval();
  }
  void release_reset() {
    model_->rst_ni = 1;
    model_->eval();
  }

  void idle(unsigned cycles = 1) {
    for (unsigned i = 0; i < cycles; ++i) step(nullptr);
  }

  void beat(const Beat& b) { step(&b); }

  // Sends the frame in consecutive cycles; returns the cycle of its last beat.
  uint64_t send(const std::vector<uint8_t>& frame) {
    for (const Beat& b : to_beats(frame, rng_)) beat(b);
    return cycle_ - 1;
  }

  uint64_t cycle() const { return cycle_; }
  const std::vector<Output>& outputs() const { return outputs_; }
  void clear_outputs() { outputs_.clear(); }

 private:
  // One clock cycle: inputs applied, outputs sampled (they show the state
  // after the previous edge), then the rising edge. An idle cycle drives junk
  // on the data lines, which the parser must ignore.
  void step(const Beat* b) {
    model_->beat_valid_i = b != nullptr;
    for (size_t w = 0; w < kBeatBytes / 4; ++w) {
      uint32_t word = 0;
      for (size_t i = 0; i < 4; ++i) {
        const uint8_t byte = b ? b->data[4 * w + i] : static_cast<uint8_t>(rng_());
        word |= uint32_t{byte} << (8 * i);
      }
      model_->beat_data_i.at(w) = word;
    }
    model_->beat_keep_i = b ? b->keep : rng_();
    model_->beat_last_i = b ? b->last : (rng_() & 1);
    model_->clk_i = 0;
    model_->eval();
    if (model_->meta_valid_o) outputs_.push_back({cycle_, decode_meta(model_->meta_o)});
    model_->clk_i = 1;
    model_->eval();
    ++cycle_;
  }

  std::mt19937_64 rng_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vpkt_parser> model_;
  uint64_t cycle_ = 0;
  std::vector<Output> outputs_;
};

}  // namespace norman::parser_test

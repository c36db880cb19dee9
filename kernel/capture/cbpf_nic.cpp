#include "cbpf_nic.hpp"

#include <pcap/pcap.h>

#include <string>

namespace norman::capture {
namespace {

constexpr std::uint16_t cls(std::uint16_t code) { return code & 0x07; }
constexpr std::uint16_t size_of(std::uint16_t code) { return (code >> 3) & 0x3; }
constexpr std::uint16_t mode(std::uint16_t code) { return (code >> 5) & 0x7; }
constexpr std::uint16_t op(std::uint16_t code) { return (code >> 4) & 0xf; }

// The opcodes libpcap's bpf_filter interprets; bpf_validate checks jumps
// and memory indices but lets through opcodes such as "ldh #k" that the
// interpreter refuses, and those must not reach the NIC either.
constexpr std::uint8_t kPcapOpcodes[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x14,
                                         0x15, 0x16, 0x1c, 0x1d, 0x20, 0x24, 0x25, 0x28, 0x2c, 0x2d,
                                         0x30, 0x34, 0x35, 0x3c, 0x3d, 0x40, 0x44, 0x45, 0x48, 0x4c,
                                         0x4d, 0x50, 0x54, 0x5c, 0x60, 0x61, 0x64, 0x6c, 0x74, 0x7c,
                                         0x80, 0x81, 0x84, 0x87, 0x94, 0x9c, 0xa4, 0xac, 0xb1};

bool pcap_knows(std::uint16_t c) {
  for (const auto k : kPcapOpcodes)
    if (c == k) return true;
  return false;
}

}  // namespace

std::uint64_t nic_word(const sock_filter& insn) {
  return (std::uint64_t{insn.code} << 48) | (std::uint64_t{insn.jt} << 40) |
         (std::uint64_t{insn.jf} << 32) | insn.k;
}

bool nic_supports(const sock_filter& insn) {
  const std::uint16_t c = insn.code;
  if (c > 0xff) return false;
  switch (cls(c)) {
    case BPF_LD:
      return size_of(c) != 3 && (mode(c) == 0 || mode(c) == 1 || mode(c) == 2 || mode(c) == 4);
    case BPF_LDX:
      return ((mode(c) == 0 || mode(c) == 4) && size_of(c) == 0) ||
             (mode(c) == 5 && size_of(c) == 2);
    case BPF_ALU:
      switch (op(c)) {
        case 0x0:
        case 0x1:
        case 0x4:
        case 0x5:
        case 0x8:
          return true;
        case 0x6:
        case 0x7:
          return (c & BPF_X) == 0 && insn.k < 32;
        default:
          return false;
      }
    case BPF_JMP:
      return op(c) <= 4;
    case BPF_RET:
      return mode(c) == 0 && (size_of(c) == 0 || size_of(c) == 2);
    case BPF_MISC:
      return (c >> 3) == 0x00 || (c >> 3) == 0x10;
    default:
      return false;  // ST, STX (scratch memory)
  }
}

ProgramPlan plan_program(std::span<const sock_filter> prog, const NicGeometry& geo) {
  ProgramPlan plan;
  if (prog.empty()) {
    plan.valid = true;
    plan.in_subset = true;
    plan.words = {nic_word(sock_filter{BPF_RET | BPF_K, 0, 0, 0xffffffffu})};
    return plan;
  }
  std::vector<bpf_insn> copy(prog.size());
  for (std::size_t i = 0; i < prog.size(); ++i)
    copy[i] = bpf_insn{prog[i].code, prog[i].jt, prog[i].jf, prog[i].k};
  if (prog.size() > BPF_MAXINSNS || bpf_validate(copy.data(), static_cast<int>(copy.size())) == 0) {
    plan.error = "invalid BPF program (rejected by bpf_validate)";
    return plan;
  }
  for (std::size_t i = 0; i < prog.size(); ++i) {
    if (!pcap_knows(prog[i].code)) {
      plan.error = "invalid BPF program (unknown opcode " + std::to_string(prog[i].code) +
                   " at instruction " + std::to_string(i) + ")";
      return plan;
    }
  }
  plan.valid = true;
  plan.in_subset = prog.size() <= geo.num_insns;
  for (const auto& insn : prog) plan.in_subset = plan.in_subset && nic_supports(insn);
  for (std::size_t i = 0; i < prog.size() && i < geo.num_insns; ++i)
    plan.words.push_back(nic_word(prog[i]));
  return plan;
}

NicVerdict nic_model(std::span<const std::uint64_t> words, std::span<const std::uint8_t> frame,
                     const NicGeometry& geo) {
  const auto len = static_cast<std::uint64_t>(frame.size());
  std::uint32_t a = 0;
  std::uint32_t x = 0;
  std::size_t pc = 0;
  while (pc < geo.num_insns && pc < words.size()) {
    const std::uint64_t w = words[pc];
    const sock_filter insn{static_cast<std::uint16_t>(w >> 48), static_cast<std::uint8_t>(w >> 40),
                           static_cast<std::uint8_t>(w >> 32), static_cast<std::uint32_t>(w)};
    const std::uint16_t c = insn.code;
    if (!nic_supports(insn)) return NicVerdict::unsure;
    const std::uint32_t src = (c & BPF_X) ? x : insn.k;
    ++pc;
    switch (cls(c)) {
      case BPF_LD:
      case BPF_LDX: {
        const bool ldx = cls(c) == BPF_LDX;
        std::uint32_t val = insn.k;
        if (mode(c) == 4) {
          val = static_cast<std::uint32_t>(len);
        } else if (mode(c) == 1 || mode(c) == 2 || mode(c) == 5) {
          const unsigned n = ldx ? 1 : size_of(c) == 0 ? 4 : size_of(c) == 1 ? 2 : 1;
          const std::uint64_t addr = std::uint64_t{insn.k} + (mode(c) == 2 ? x : 0);
          if (addr + n > len) return NicVerdict::reject;
          if (addr + n > geo.win_bytes) return NicVerdict::unsure;
          val = 0;
          for (unsigned i = 0; i < n; ++i) val = (val << 8) | frame[addr + i];
          if (mode(c) == 5) val = (val & 0xf) << 2;
        }
        (ldx ? x : a) = val;
        break;
      }
      case BPF_ALU:
        switch (op(c)) {
          case 0x0:
            a += src;
            break;
          case 0x1:
            a -= src;
            break;
          case 0x4:
            a |= src;
            break;
          case 0x5:
            a &= src;
            break;
          case 0x6:
            a <<= insn.k;
            break;
          case 0x7:
            a >>= insn.k;
            break;
          default:
            a = 0 - a;
            break;
        }
        break;
      case BPF_JMP: {
        std::uint64_t off = 0;
        switch (op(c)) {
          case 0x0:
            off = insn.k;
            break;
          case 0x1:
            off = a == src ? insn.jt : insn.jf;
            break;
          case 0x2:
            off = a > src ? insn.jt : insn.jf;
            break;
          case 0x3:
            off = a >= src ? insn.jt : insn.jf;
            break;
          default:
            off = (a & src) != 0 ? insn.jt : insn.jf;
            break;
        }
        pc += off > 0xff ? 0xff : off;
        break;
      }
      case BPF_RET:
        return ((size_of(c) == 2) ? a : insn.k) != 0 ? NicVerdict::accept : NicVerdict::reject;
      default:
        if (c & 0x80)
          a = x;
        else
          x = a;
        break;
    }
  }
  return NicVerdict::unsure;  // ran off the end of the stages
}

bool pcap_accepts(std::span<const sock_filter> prog, std::span<const std::uint8_t> frame) {
  std::vector<bpf_insn> copy(prog.size());
  for (std::size_t i = 0; i < prog.size(); ++i)
    copy[i] = bpf_insn{prog[i].code, prog[i].jt, prog[i].jf, prog[i].k};
  const auto n = static_cast<u_int>(frame.size());
  return bpf_filter(copy.data(), frame.data(), n, n) != 0;
}

}  // namespace norman::capture

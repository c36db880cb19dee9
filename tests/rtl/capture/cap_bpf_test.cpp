// cap_bpf (the NIC's capture filter) against its model (kernel/capture's
// nic_model), and the model against libpcap: four sessions with different
// programs see the same random frames, one per cycle. Every lane's verdict
// must equal the model's, and the set the host ends up with (accepted, plus
// unsure frames the host filters in software) must be exactly what
// bpf_filter accepts.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bpf_filter.hpp"
#include "Vcap_bpf.h"
#include "cbpf_nic.hpp"
#include "verilated.h"

namespace {

using norman::capture::NicGeometry;
using norman::capture::NicVerdict;

constexpr unsigned kSess = 4;
const NicGeometry kGeo{32, 64};  // cap_bpf's default parameters

using Frame = std::vector<std::uint8_t>;

std::uint32_t R(std::mt19937& g) { return static_cast<std::uint32_t>(g()); }

// As tcpdump compiles it (ndump's BpfFilter: pcap_compile, optimised, netmask
// unknown); empty for an expression pcap_compile refuses (random ones can
// reject every packet).
std::vector<sock_filter> compile(const std::string& expr) {
  try {
    return norman::ndump::BpfFilter(expr, DLT_EN10MB, 262144).instructions();
  } catch (const norman::ndump::FilterError&) {
    return {};
  }
}

// Random frames biased towards what the expressions test: a few addresses,
// ports and protocols, IPv4 options (loads through X beyond the window),
// fragments, and truncated frames (loads beyond the frame).
Frame random_frame(std::mt19937& rng) {
  auto pick = [&](auto... v) {
    const std::array<std::uint32_t, sizeof...(v)> a{static_cast<std::uint32_t>(v)...};
    return a[R(rng) % a.size()];
  };
  Frame f;
  auto put8 = [&](std::uint32_t v) { f.push_back(static_cast<std::uint8_t>(v)); };
  auto put16 = [&](std::uint32_t v) {
    put8(v >> 8);
    put8(v);
  };
  auto put32 = [&](std::uint32_t v) {
    put16(v >> 16);
    put16(v);
  };
  const std::uint32_t mac = pick(1, 2, 0xff);
  for (int i = 0; i < 6; ++i) put8(mac == 0xff ? 0xff : (i == 5 ? mac : i == 0 ? 2 : 0));
  for (int i = 0; i < 6; ++i) put8(i == 5 ? pick(1, 2, 3) : i == 0 ? 2 : 0);
  const std::uint32_t kind = R(rng) % 10;
  const std::uint32_t ip_a = pick(0x0a000001, 0x0a000002, 0xc0a80101, 0xc0a8fe07, R(rng));
  const std::uint32_t ip_b = pick(0x0a000001, 0x0a000002, 0xc0a80101, 0x08080808, R(rng));
  if (kind < 7) {
    put16(0x0800);
    const unsigned ihl = R(rng) % 4 == 0 ? 5 + R(rng) % 11 : 5;
    const std::uint32_t proto = pick(1, 6, 17, 17, 6, 47, R(rng) & 0xff);
    put8(0x40 | ihl);
    put8(R(rng) & 0xff);
    put16(20 + R(rng) % 1480);
    put16(R(rng) & 0xffff);
    put16(R(rng) % 4 == 0 ? R(rng) & 0xffff : pick(0, 0x4000));
    put8(pick(1, 64, 128, R(rng) & 0xff));
    put8(proto);
    put16(R(rng) & 0xffff);
    put32(ip_a);
    put32(ip_b);
    for (unsigned i = 5; i < ihl; ++i) put32(R(rng));
    if (proto == 1) {
      put8(pick(0, 8, 3, 11, R(rng) & 0xff));
      put8(R(rng) % 16);
      put16(R(rng) & 0xffff);
    } else {
      put16(pick(53, 80, 443, 5000, 1024 + R(rng) % 60000));
      put16(pick(53, 80, 443, 5000, 1024 + R(rng) % 60000));
      put32(R(rng));
      put32(R(rng));
      put8(0x50);
      put8(pick(0x02, 0x12, 0x10, 0x11, 0x04, R(rng) & 0xff));
      put16(R(rng) & 0xffff);
    }
  } else if (kind == 7) {
    put16(0x0806);
    put32(0x00010800);
    put32(0x06040000 | pick(1, 2));
    for (int i = 0; i < 6; ++i) put8(R(rng));
    put32(ip_a);
    for (int i = 0; i < 6; ++i) put8(0);
    put32(ip_b);
  } else if (kind == 8) {
    put16(0x86dd);
    put32(0x60000000);
    put16(R(rng) & 0xff);
    put8(pick(6, 17, 58, 0, R(rng) & 0xff));
    put8(64);
    for (int i = 0; i < 32; ++i) put8(i % 16 == 15 ? pick(1, 2) : i % 16 == 0 ? 0xfe : 0);
    put16(pick(53, 80, 443, 5000));
    put16(pick(53, 80, 443, 5000));
  } else {
    put16(pick(0x8100, 0x88cc, R(rng) & 0xffff));
  }
  const unsigned pad = R(rng) % 3 == 0 ? R(rng) % 200 : 0;
  for (unsigned i = 0; i < pad; ++i) put8(R(rng));
  if (R(rng) % 6 == 0) f.resize(R(rng) % (f.size() + 1));  // truncated
  return f;
}

std::string random_primitive(std::mt19937& rng) {
  static const std::vector<std::string> prims = {"ip",
                                                 "ip6",
                                                 "arp",
                                                 "tcp",
                                                 "udp",
                                                 "icmp",
                                                 "host 10.0.0.1",
                                                 "src host 10.0.0.2",
                                                 "dst net 192.168.0.0/16",
                                                 "net 10.0.0.0/8",
                                                 "port 80",
                                                 "src port 53",
                                                 "dst port 5000",
                                                 "portrange 1000-6000",
                                                 "ether host 02:00:00:00:00:01",
                                                 "ether src 02:00:00:00:00:02",
                                                 "ether broadcast",
                                                 "less 100",
                                                 "greater 80",
                                                 "tcp[tcpflags] & tcp-syn != 0",
                                                 "tcp[13] = 0x12",
                                                 "ip[8] < 64",
                                                 "icmp[icmptype] == icmp-echo",
                                                 "ip proto 47",
                                                 "udp[8:2] = 0x1234",
                                                 "ip[2:2] > 100",
                                                 "len >= 60",
                                                 "ether proto 0x88cc",
                                                 "ip[6:2] & 0x1fff = 0",
                                                 "arp host 10.0.0.2",
                                                 "ip6 and tcp",
                                                 "udp port 53",
                                                 "tcp dst port 443",
                                                 "icmp[0] = 8",
                                                 "ip[0] & 0xf > 5",
                                                 "ip[1] + 4 > 10",
                                                 "udp[0:2] - 1 > 80",
                                                 "ip[9] * 2 = 34",
                                                 "ip[9] / 2 = 3",
                                                 "ip[9] ^ 1 = 7",
                                                 "tcp[20:4] = 0"};
  return prims[R(rng) % prims.size()];
}

std::string random_expr(std::mt19937& rng, int depth) {
  if (depth == 0 || R(rng) % 3 == 0) {
    return (R(rng) % 5 == 0 ? "not " : "") + random_primitive(rng);
  }
  const char* op = R(rng) % 2 ? " and " : " or ";
  return "(" + random_expr(rng, depth - 1) + op + random_expr(rng, depth - 1) + ")";
}

// Random raw programs (forward jumps, always ending in RET) for the opcodes
// pcap_compile rarely emits: ALU with X, TAX/TXA, NEG, RET A, JA, LEN, and
// some outside the subset.
std::vector<sock_filter> random_raw(std::mt19937& rng, unsigned n) {
  static const std::uint16_t codes[] = {0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80, 0x00, 0x01, 0x81,
                                        0xb1, 0x04, 0x14, 0x44, 0x54, 0x64, 0x74, 0x84, 0x0c, 0x1c,
                                        0x4c, 0x5c, 0x05, 0x15, 0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d,
                                        0x4d, 0x07, 0x87, 0x24, 0x94, 0xa4, 0x02, 0x61, 0x6c, 0x16};
  std::vector<sock_filter> p;
  for (unsigned i = 0; i + 1 < n; ++i) {
    sock_filter s{codes[R(rng) % std::size(codes)], 0, 0, 0};
    const unsigned left = n - 2 - i;  // instructions a jump may skip
    switch (s.code & 7) {
      case BPF_JMP:
        if ((s.code & 0xf0) == 0) s.k = left ? R(rng) % (left + 1) : 0;
        s.jt = static_cast<std::uint8_t>(left ? R(rng) % (left + 1) : 0);
        s.jf = static_cast<std::uint8_t>(left ? R(rng) % (left + 1) : 0);
        if (s.code & BPF_X) break;
        s.k = (s.code & 0xf0) == 0 ? s.k : (R(rng) % 2 ? R(rng) % 256 : R(rng));
        break;
      case BPF_LD:
      case BPF_LDX:
        s.k = R(rng) % 3 ? R(rng) % 90 : R(rng);
        break;
      case BPF_ALU:
        s.k = R(rng) % 4 ? R(rng) % 40 : R(rng);
        break;
      case BPF_ST:
        s.k = R(rng) % 16;
        break;
      default:
        s.k = R(rng);
        break;
    }
    if (s.code == 0x16 || (s.code & 7) == BPF_RET) s.code = 0x87;  // RET only last
    p.push_back(s);
  }
  p.push_back(R(rng) % 2 ? sock_filter{0x16, 0, 0, 0} : sock_filter{0x06, 0, 0, R(rng) % 2});
  return p;
}

class CapBpf : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_ = std::make_unique<VerilatedContext>();
    top_ = std::make_unique<Vcap_bpf>(ctx_.get());
    top_->clk_i = 0;
    top_->rst_ni = 0;
    top_->eval();
    tick();
    top_->rst_ni = 1;
    tick();
  }
  void TearDown() override { top_->final(); }

  void tick() {
    top_->clk_i = 1;
    top_->eval();
    collect();
    top_->clk_i = 0;
    top_->eval();
  }

  void load(unsigned sess, const std::vector<std::uint64_t>& words) {
    for (unsigned i = 0; i < words.size(); ++i) {
      top_->prog_we_i = 1;
      top_->prog_sess_i = static_cast<std::uint8_t>(sess);
      top_->prog_idx_i = static_cast<std::uint8_t>(i);
      top_->prog_insn_i = words[i];
      tick();
    }
    top_->prog_we_i = 0;
    words_[sess] = words;
  }

  void send(const Frame& f) {
    top_->valid_i = 1;
    for (unsigned w = 0; w < kGeo.win_bytes / 4; ++w) {
      std::uint32_t v = 0;
      for (unsigned b = 0; b < 4; ++b) {
        const unsigned i = 4 * w + b;
        v |= std::uint32_t{i < f.size() ? f[i] : std::uint8_t{0}} << (8 * b);
      }
      top_->win_i[w] = v;
    }
    top_->len_i = static_cast<std::uint16_t>(f.size());
    top_->meta_i = sent_;
    frames_.push_back(f);
    ++sent_;
    tick();
    top_->valid_i = 0;
  }

  void drain() {
    for (unsigned i = 0; i < 2 * kGeo.num_insns + 4; ++i) tick();
    ASSERT_EQ(got_, sent_);
  }

  // Checks each frame leaving the pipeline against the model.
  void collect() {
    if (!top_->valid_o) return;
    const std::uint32_t idx = top_->meta_o;
    ASSERT_EQ(idx, got_) << "frames out of order";
    const Frame& f = frames_[idx];
    ASSERT_EQ(top_->len_o, f.size());
    for (unsigned s = 0; s < kSess; ++s) {
      const NicVerdict want = norman::capture::nic_model(words_[s], f, kGeo);
      const NicVerdict got = (top_->unsure_o >> s) & 1   ? NicVerdict::unsure
                             : (top_->accept_o >> s) & 1 ? NicVerdict::accept
                                                         : NicVerdict::reject;
      ASSERT_EQ(static_cast<int>(got), static_cast<int>(want))
          << "frame " << idx << " session " << s << " len " << f.size();
      ++verdicts_[static_cast<int>(got)];
      if (!exact_[s]) ++(got == NicVerdict::unsure ? long_unsure_ : long_decided_);
      if (!checked_[s]) continue;  // bpf_filter must not run invalid programs
      const bool pcap = norman::capture::pcap_accepts(progs_[s], f);
      // A session whose program is not on the NIC is filtered on the host.
      const bool nic_exact = got != NicVerdict::unsure && !host_filter_[s];
      const bool host = nic_exact ? got == NicVerdict::accept : got != NicVerdict::reject && pcap;
      ASSERT_EQ(host, pcap) << "frame " << idx << " session " << s << " nic "
                            << static_cast<int>(got) << " " << describe(s, f);
    }
    ++got_;
  }

  std::string describe(unsigned s, const Frame& f) const {
    std::string out = exprs_[s] + "\n";
    for (std::size_t i = 0; i < progs_[s].size(); ++i) {
      bpf_insn b{progs_[s][i].code, progs_[s][i].jt, progs_[s][i].jf, progs_[s][i].k};
      out += std::string(bpf_image(&b, static_cast<int>(i))) + "\n";
    }
    char hex[4];
    for (const auto b : f) {
      std::snprintf(hex, sizeof hex, "%02x", b);
      out += hex;
    }
    return out;
  }

  std::array<std::string, kSess> exprs_;
  std::array<bool, kSess> host_filter_{};
  std::array<bool, kSess> checked_{};
  std::array<bool, kSess> exact_{};
  std::uint64_t long_decided_ = 0;
  std::uint64_t long_unsure_ = 0;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vcap_bpf> top_;
  std::array<std::vector<std::uint64_t>, kSess> words_;
  std::array<std::vector<sock_filter>, kSess> progs_;
  std::vector<Frame> frames_;
  std::uint32_t sent_ = 0;
  std::uint32_t got_ = 0;
  std::array<std::uint64_t, 3> verdicts_{};
};

// pcap_compile of random expressions: the NIC is exact where the plan says
// so, and the host's final set is always bpf_filter's.
TEST_F(CapBpf, RandomExpressionsMatchPcap) {
  std::mt19937 rng(1234);
  unsigned programs = 0, exact = 0;
  for (unsigned round = 0; round < 40; ++round) {
    for (unsigned s = 0; s < kSess; ++s) {
      std::vector<sock_filter> prog;
      while (prog.empty()) {
        exprs_[s] = random_expr(rng, 2);
        prog = compile(exprs_[s]);
      }
      const auto plan = norman::capture::plan_program(prog, kGeo);
      ASSERT_TRUE(plan.valid) << plan.error;
      ++programs;
      exact += plan.in_subset ? 1 : 0;
      progs_[s] = prog;
      host_filter_[s] = false;  // the NIC runs a prefix of every program
      exact_[s] = plan.in_subset;
      checked_[s] = true;
      load(s, plan.words);
    }
    for (unsigned i = 0; i < 200; ++i) {
      send(random_frame(rng));
      if (R(rng) % 4 == 0) tick();
      if (HasFatalFailure()) return;
    }
    drain();
    if (HasFatalFailure()) return;
  }
  std::printf(
      "%u programs, %u exactly on the NIC; verdicts reject %llu accept %llu unsure %llu; "
      "programs outside the subset: %llu decided, %llu unsure\n",
      programs, exact, static_cast<unsigned long long>(verdicts_[0]),
      static_cast<unsigned long long>(verdicts_[1]), static_cast<unsigned long long>(verdicts_[2]),
      static_cast<unsigned long long>(long_decided_),
      static_cast<unsigned long long>(long_unsure_));
  // Most compiled expressions run on the NIC, and most frames are decided
  // there.
  EXPECT_GT(exact * 10, programs * 6) << exact << " of " << programs;
  EXPECT_GT(verdicts_[0] + verdicts_[1], verdicts_[2] * 4);
  // Programs outside the subset still have a good part of the frames
  // decided on the NIC (about a third here: those their first 32
  // instructions reject or accept), which cross PCIe no more.
  EXPECT_GT(long_decided_ * 4, long_unsure_) << long_decided_ << " " << long_unsure_;
}

// Raw programs with every opcode the subset has and some it has not.
TEST_F(CapBpf, RandomRawProgramsMatchModel) {
  std::mt19937 rng(99);
  unsigned valid = 0;
  for (unsigned round = 0; round < 60; ++round) {
    for (unsigned s = 0; s < kSess; ++s) {
      const unsigned n = 1 + R(rng) % (kGeo.num_insns + 4);
      std::vector<sock_filter> prog = random_raw(rng, n);
      std::vector<std::uint64_t> words;
      for (const auto& i : prog) words.push_back(norman::capture::nic_word(i));
      words.resize(std::min<std::size_t>(words.size(), kGeo.num_insns));
      // The raw program itself (not the plan) goes to the NIC, so the
      // unsupported opcodes reach the stages.
      progs_[s] = prog;
      host_filter_[s] = false;
      exact_[s] = true;
      checked_[s] = norman::capture::plan_program(prog, kGeo).valid;
      valid += checked_[s] ? 1 : 0;
      load(s, words);
    }
    for (unsigned i = 0; i < 100; ++i) {
      send(random_frame(rng));
      if (HasFatalFailure()) return;
    }
    drain();
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(valid, 60u);  // enough of them are checked against bpf_filter too
  EXPECT_GT(verdicts_[0], 1000u);
  EXPECT_GT(verdicts_[1], 1000u);
}

// What normand refuses, and what it moves to the host.
TEST(CapPlan, ValidationAndSubset) {
  using norman::capture::plan_program;
  // A backward-looking jump past the end is invalid.
  const std::vector<sock_filter> bad = {{BPF_JMP | BPF_JA, 0, 0, 5}, {BPF_RET | BPF_K, 0, 0, 1}};
  EXPECT_FALSE(plan_program(bad, kGeo).valid);
  // Division by a constant zero is invalid.
  const std::vector<sock_filter> div0 = {{BPF_ALU | BPF_DIV | BPF_K, 0, 0, 0},
                                         {BPF_RET | BPF_K, 0, 0, 1}};
  EXPECT_FALSE(plan_program(div0, kGeo).valid);
  // An opcode bpf_validate lets through but bpf_filter cannot run (ldh #k).
  const std::vector<sock_filter> ldh_imm = {{BPF_LD | BPF_H | BPF_IMM, 0, 0, 1},
                                            {BPF_RET | BPF_A, 0, 0, 0}};
  EXPECT_FALSE(plan_program(ldh_imm, kGeo).valid);
  // Scratch memory: valid, not exact on the NIC (frames reaching the ST
  // are unsure); the NIC runs the program as far as it can.
  const std::vector<sock_filter> mem = {{BPF_ST, 0, 0, 0}, {BPF_RET | BPF_K, 0, 0, 1}};
  const auto p = plan_program(mem, kGeo);
  EXPECT_TRUE(p.valid);
  EXPECT_FALSE(p.in_subset);
  EXPECT_EQ(p.words.size(), 2u);
  // A long program: its first stages go to the NIC.
  const auto long_plan = plan_program(
      compile("port 1 or port 2 or port 3 or port 4 or port 5 or port 6 or port 7"), kGeo);
  EXPECT_FALSE(long_plan.in_subset);
  EXPECT_EQ(long_plan.words.size(), kGeo.num_insns);
  // The common expressions run exactly on the NIC.
  for (const char* e : {"icmp", "udp port 53", "tcp port 80", "host 10.0.0.1", "arp",
                        "tcp[tcpflags] & tcp-syn != 0", "ether host 02:00:00:00:00:01"}) {
    EXPECT_TRUE(plan_program(compile(e), kGeo).in_subset) << e;
  }
  EXPECT_TRUE(plan_program({}, kGeo).in_subset);
}

}  // namespace

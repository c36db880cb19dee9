// The NIC capture filter's view of a classic BPF program (hw/rtl/capture/
// cap_bpf.sv): which programs normand accepts, which run exactly on the NIC,
// the words loaded into it, and a bit-exact model of what the NIC decides
// for a frame. normand validates and loads with it; the RTL tests check the
// pipeline against the model and the model against libpcap's bpf_filter.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace norman::capture {

// The pipeline's geometry (cap_bpf's parameters).
struct NicGeometry {
  unsigned num_insns = 32;  // instructions per session program
  unsigned win_bytes = 64;  // header bytes the loads can reach
};

enum class NicVerdict : std::uint8_t { reject = 0, accept = 1, unsure = 2 };

struct ProgramPlan {
  bool valid = false;  // passes libpcap's bpf_validate
  std::string error;   // why not, when !valid
  // Every instruction is in the NIC subset and the program fits, so the NIC
  // decides every frame exactly unless a load reaches beyond the header
  // window (then that frame alone is unsure).
  bool in_subset = false;
  // What the NIC runs: the program's first NicGeometry::num_insns
  // instructions. Outside the subset the NIC still decides every frame
  // whose path stays within them and the subset (most frames: the first
  // instructions usually reject other protocols); a frame that reaches an
  // instruction outside the subset or beyond the last stage is unsure, and
  // the host decides it.
  std::vector<std::uint64_t> words;
};

// One sock_filter as the NIC's instruction word: code 63:48, jt 47:40,
// jf 39:32, k 31:0.
std::uint64_t nic_word(const sock_filter& insn);

// True if the NIC executes this instruction itself (cap_bpf_stage's subset).
bool nic_supports(const sock_filter& insn);

ProgramPlan plan_program(std::span<const sock_filter> prog, const NicGeometry& geo = {});

// What cap_bpf outputs for a frame of frame.size() bytes with the given
// program words (missing words beyond words.size() behave as the NIC's
// unwritten ones would not: callers pass programs from plan_program, whose
// every path ends in RET within the words).
NicVerdict nic_model(std::span<const std::uint64_t> words, std::span<const std::uint8_t> frame,
                     const NicGeometry& geo = {});

// libpcap's own verdict (bpf_filter on the whole frame): accept when the
// program returns non-zero.
bool pcap_accepts(std::span<const sock_filter> prog, std::span<const std::uint8_t> frame);

}  // namespace norman::capture

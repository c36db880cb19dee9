// Reference model of the NIC's hierarchical token-bucket scheduler, with
// Linux HTB's semantics as docs/qos.md states them: a class tree, rate and
// ceil token buckets (burst, cburst) per class, a leaf sends on its own rate
// or borrows from the nearest ancestor that has rate tokens, provided every
// class in between is under its ceil; the lowest level wins, then the lowest
// prio, then deficit round robin (quantum) among equals.
//
// Equal keys are served in FIFO order: a leaf joins the tail of its key's
// ready queue when it becomes able to send (backlog, a done with frames
// left, its tokens back) and, when found at the head under a key that is no
// longer its own, moves to the tail of its new key's queue, as the hardware
// does (Linux orders a row by class id with a persistent pointer instead).
//
// The NIC schedules at descriptor-fetch time, so the unit of a decision is a
// grant: "leaf L may send up to B bytes" (B = quantum + the leaf's deficit).
// The sender reports the bytes it sent under the grant (done), which are
// charged to the leaf and its ancestors. One grant per leaf is outstanding.
//
// Time is in NIC cycles (250 MHz). Tokens are bytes with kFracBits fraction
// bits and are refilled once per sweep period at each class's phase, exactly
// as the hardware's sweep does, so the model and the RTL hold equal token
// values for equal charges.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace norman::qos {

inline constexpr double kNicHz = 250e6;
inline constexpr unsigned kFracBits = 20;  // token fraction bits (1/2^20 byte)
inline constexpr unsigned kNumPrios = 8;   // tc's prio 0..7

struct HtbClassSpec {
  std::uint32_t id = 0;                 // tc class minor, unique
  std::optional<std::uint32_t> parent;  // none: the root
  std::uint64_t rate = 0;               // bytes per second (guaranteed)
  std::uint64_t ceil = 0;               // bytes per second (upper bound, >= rate)
  std::uint32_t burst = 0;              // bytes of rate tokens a class may save
  std::uint32_t cburst = 0;             // bytes of ceil tokens
  unsigned prio = 0;                    // leaves only: 0 is served first
  std::uint32_t quantum = 1514;         // leaves only: DRR share among equal prio
};

struct HtbParams {
  unsigned max_depth = 4;                      // tree levels the hardware holds (root = depth 0)
  std::uint64_t sweep_period = 128;            // cycles between two refills of a class
  std::optional<std::uint32_t> default_class;  // `htb default N`
  // How a leaf whose tokens came back is found: 0 checks every leaf before
  // each decision (ideal); n > 0 checks one leaf-table slot every n cycles,
  // scan_slots slots in turn (leaves in model order), as the hardware's scan.
  unsigned scan_interval = 0;
  unsigned scan_slots = 0;
};

// Token increment per sweep for a rate in bytes/s: rounded to the nearest
// 2^-kFracBits byte. The relative error is at most 2^-(kFracBits+1) / inc.
std::uint64_t refill_increment(std::uint64_t bytes_per_s, std::uint64_t sweep_period);

enum class Mode { kCanSend, kMayBorrow, kCantSend };

struct Grant {
  unsigned leaf = 0;          // class index (model order) of the leaf
  unsigned lender_depth = 0;  // depth of the class whose rate tokens pay
  std::uint32_t budget = 0;   // bytes the sender may send
};

class HtbModel {
 public:
  // Checks the tree (one root, parents exist and are declared first or
  // later, depth within max_depth, prio < 8, rate <= ceil, nonzero burst);
  // throws std::invalid_argument naming the class and the problem.
  HtbModel(std::vector<HtbClassSpec> classes, HtbParams params);

  [[nodiscard]] std::size_t size() const { return cls_.size(); }
  [[nodiscard]] const HtbClassSpec& spec(unsigned c) const { return cls_[c].spec; }
  [[nodiscard]] std::optional<unsigned> index_of(std::uint32_t id) const;
  [[nodiscard]] std::optional<unsigned> parent(unsigned c) const { return cls_[c].parent; }
  [[nodiscard]] unsigned depth(unsigned c) const { return cls_[c].depth; }
  [[nodiscard]] bool is_leaf(unsigned c) const { return cls_[c].children == 0; }
  // Linux's level: 0 for a leaf, max_depth - 1 - depth for an inner class.
  [[nodiscard]] unsigned level(unsigned c) const;
  // The leaf unclassified traffic goes to (htb default), if it is a leaf.
  [[nodiscard]] std::optional<unsigned> default_leaf() const;
  [[nodiscard]] const HtbParams& params() const { return params_; }
  // Refill phase of class c within the sweep period (set by the layout).
  void set_phase(unsigned c, std::uint64_t phase) { cls_[c].phase = phase % params_.sweep_period; }

  // One NIC cycle: refills the classes whose phase it is. Call with
  // consecutive cycle numbers.
  void tick(std::uint64_t cycle);
  // Leaf c has frames to send.
  void backlog(unsigned leaf);
  // The decision of one cycle: the best eligible leaf, if any.
  std::optional<Grant> decide();
  // The sender finished leaf's grant: bytes and packets sent, more = frames left.
  void done(unsigned leaf, std::uint32_t bytes, std::uint32_t pkts, bool more);

  [[nodiscard]] Mode mode(unsigned c) const;
  // (lender depth, key = level * 8 + prio) if leaf may send now.
  struct Eligibility {
    unsigned lender_depth = 0;
    unsigned key = 0;
  };
  [[nodiscard]] std::optional<Eligibility> eligibility(unsigned leaf) const;

  [[nodiscard]] std::int64_t tokens(unsigned c) const { return cls_[c].tokens; }
  [[nodiscard]] std::int64_t ctokens(unsigned c) const { return cls_[c].ctokens; }
  [[nodiscard]] std::uint64_t bytes(unsigned c) const { return cls_[c].bytes; }
  [[nodiscard]] std::uint64_t packets(unsigned c) const { return cls_[c].pkts; }
  [[nodiscard]] bool outstanding(unsigned leaf) const { return cls_[leaf].outstanding; }
  [[nodiscard]] bool backlogged(unsigned leaf) const { return cls_[leaf].backlog; }
  // The path from the root (index 0) to c (last).
  [[nodiscard]] std::vector<unsigned> path(unsigned c) const;

 private:
  struct Cls {
    HtbClassSpec spec;
    std::optional<unsigned> parent;
    unsigned depth = 0;
    unsigned children = 0;
    std::uint64_t phase = 0;
    std::uint64_t inc = 0, cinc = 0;
    std::int64_t burst_t = 0, cburst_t = 0;  // in token units
    std::int64_t tokens = 0, ctokens = 0;
    std::uint64_t bytes = 0, pkts = 0;
    // Leaves.
    bool backlog = false, outstanding = false, queued = false;
    std::uint32_t deficit = 0;
    Grant grant;
  };
  // Queue leaf if it has frames, no grant, is not queued and may send.
  void enqueue_if_ready(unsigned leaf);
  std::vector<Cls> cls_;
  HtbParams params_;
  std::vector<std::deque<unsigned>> ready_;  // per key, FIFO
  std::vector<unsigned> leaves_;             // leaf classes in model order
  unsigned scan_ptr_ = 0;
};

}  // namespace norman::qos

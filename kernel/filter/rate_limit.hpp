// Linux's rate-limit matches, to the packet: xt_limit (-m limit) and
// xt_hashlimit revision 3 (-m hashlimit, as iptables 1.8.9 loads it),
// packet mode. This is the specification the NIC's limiter enforces and
// the state the reference classifier (evaluate.hpp) consults.
//
// Both are token buckets counted in "credits" and refilled once per jiffy
// (1/HZ s, CONFIG_HZ of the kernel being compared with). Every constant and
// every rounding is the kernel's, in the kernel's integer widths: xt_limit
// in u32 (its refill wraps after 2^32 credits, about 37 hours idle at
// HZ=250), xt_hashlimit in u64. Time is given in nanoseconds and turned
// into jiffies by a KernelClock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "ruleset.hpp"

namespace norman::filter {

// The kernel's tick: jiffies(t) = floor((t - base_ns) / (1e9 / hz)).
// base_ns is when some jiffy began (any one: only differences count).
struct KernelClock {
  unsigned hz = 250;
  std::int64_t base_ns = 0;
  [[nodiscard]] std::uint64_t jiffies(std::uint64_t t_ns) const;
  // msecs_to_jiffies() (rounding up, as for HZ dividing 1000 or not).
  [[nodiscard]] std::uint64_t ms_to_jiffies(std::uint32_t ms) const;
};

// CONFIG_HZ of the running kernel, measured from the jiffies counter in
// /proc/timer_list (root) over 200 ms and rounded to the nearest of 100,
// 250, 300 and 1000 (the values Kconfig offers). nullopt when it cannot be
// read. (/proc/config.gz says the same where the kernel has it, but is
// gzip: not worth a decompressor here.)
[[nodiscard]] std::optional<unsigned> running_kernel_hz();

// The running kernel's clock: hz and the CLOCK_MONOTONIC time at which a
// jiffy began, found by sampling /proc/timer_list ("now at" and "jiffies")
// until a tick is seen (root; nullopt otherwise). The base is accurate to
// the few microseconds between two reads.
[[nodiscard]] std::optional<KernelClock> running_kernel_clock();

namespace xt_limit {
// CREDITS_PER_JIFFY: the largest power of two with cpj * HZ * 86400 < 2^32
// (128 at HZ 100 to 300, 32 at HZ 1000).
[[nodiscard]] std::uint32_t credits_per_jiffy(unsigned hz);
// user2credits(): avg (1/10000 s) to credits, in u32 as the kernel does it.
[[nodiscard]] std::uint32_t user2credits(std::uint32_t user, unsigned hz);
// limit_mt_check(): why the kernel refuses the rule (ERANGE), or nothing.
[[nodiscard]] std::optional<std::string> check(const Limit& l, unsigned hz);
}  // namespace xt_limit

namespace xt_hashlimit {
[[nodiscard]] std::uint64_t credits_per_jiffy(unsigned hz);  // POW2_BELOW64(MAX_CPJ)
[[nodiscard]] std::uint64_t user2credits(std::uint64_t user, unsigned hz);
// hashlimit_mt_check_common(): why the kernel refuses the rule, or nothing.
[[nodiscard]] std::optional<std::string> check(const Hashlimit& h, unsigned hz);
}  // namespace xt_hashlimit

// One -m limit's state (struct xt_limit_priv plus the rule's cost/cap).
class LimitBucket {
 public:
  LimitBucket(const Limit& l, unsigned hz, std::uint64_t now_jiffies);
  // limit_mt(): true when the packet is within the limit (takes a token).
  bool admit(std::uint64_t now_jiffies);
  [[nodiscard]] std::uint32_t credit() const { return credit_; }
  [[nodiscard]] std::uint32_t cost() const { return cost_; }
  [[nodiscard]] std::uint32_t cap() const { return cap_; }

 private:
  std::uint32_t cpj_;
  std::uint32_t cost_;
  std::uint32_t cap_;
  std::uint32_t credit_;
  std::uint64_t prev_;
};

// The fields of a packet hashlimit reads (host byte order). Ports are the
// first four bytes after the IPv4 header for TCP, UDP, UDP-Lite, SCTP and
// DCCP (proto_ports_offset() == 0), 0 for other protocols; ports_readable
// false makes the kernel drop the packet (hotdrop) when a port mode is on.
struct HashlimitPacket {
  std::uint32_t src = 0;
  std::uint32_t dst = 0;
  std::uint8_t proto = 0;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  bool ports_readable = true;
};

// One hashlimit table (--hashlimit-name): created by the first rule that
// names it, with that rule's configuration, and shared by every later rule
// naming it (as htable_find_get() shares it in the kernel).
class HashlimitTable {
 public:
  enum class Result : std::uint8_t { kMatch, kNoMatch, kHotdrop };
  // default_size: the kernel's htable size when --hashlimit-htable-size is
  // 0 (8192 on hosts with more than 1 GiB of RAM).
  HashlimitTable(const Hashlimit& cfg, unsigned hz, std::uint32_t default_size = 8192);
  // hashlimit_mt_common() for a packet of a rule whose `above` is given
  // (the table's config decides everything else, as in the kernel).
  Result match(const HashlimitPacket& p, bool above, std::uint64_t now_jiffies);
  [[nodiscard]] std::size_t entries() const { return entries_.size(); }
  [[nodiscard]] std::uint32_t max_entries() const { return max_; }

 private:
  using Dst = std::tuple<std::uint32_t, std::uint32_t, std::uint16_t, std::uint16_t>;
  struct Entry {
    std::uint64_t credit = 0;
    std::uint64_t cap = 0;
    std::uint64_t cost = 0;
    std::uint64_t prev = 0;
    std::uint64_t expires = 0;
  };
  void expire(std::uint64_t now_jiffies);

  Hashlimit cfg_;
  unsigned hz_;
  std::uint64_t cpj_;
  std::uint32_t max_;
  std::map<Dst, Entry> entries_;
};

// All limiter state of a ruleset: -m limit buckets by rule id (and position
// of the match in the rule, for a rule with two), hashlimit tables by name.
// A bucket is created full the first time its rule is evaluated (which is
// what the kernel's "full at rule insertion" amounts to, since a full
// bucket stays full).
class LimiterState {
 public:
  explicit LimiterState(unsigned hz = 250, std::uint32_t hashlimit_default_size = 8192)
      : hz_(hz), default_size_(hashlimit_default_size) {}
  // Creates the hashlimit tables of `rules` as the kernel does when the
  // table is loaded: each name configured by the first rule naming it, in
  // the order of the kernel's table (INPUT, OUTPUT, then user chains by
  // name, as libiptc lays them out). Tables already there are kept (the
  // kernel keeps a table a new rule set names again, with its buckets).
  // Without it, a table is configured by the first rule evaluated.
  void configure(const Ruleset& rules);
  bool limit(std::uint64_t rule_id, const Limit& l, std::uint64_t now_jiffies);
  HashlimitTable::Result hashlimit(const Hashlimit& h, const HashlimitPacket& p,
                                   std::uint64_t now_jiffies);
  // Forget every bucket (iptables-legacy replaces the whole table, and with
  // it every limiter, on each change).
  void clear();
  [[nodiscard]] unsigned hz() const { return hz_; }

 private:
  unsigned hz_;
  std::uint32_t default_size_;
  std::map<std::uint64_t, LimitBucket> limits_;
  std::map<std::string, HashlimitTable> tables_;
};

}  // namespace norman::filter

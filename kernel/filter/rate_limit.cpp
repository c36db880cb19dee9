// The arithmetic of net/netfilter/xt_limit.c and xt_hashlimit.c, in the
// kernel's integer widths. Where C would wrap (u32 in xt_limit, u64 in
// xt_hashlimit), the same unsigned types wrap here, on purpose: a model
// that computed "correctly" would disagree with Linux on the rules whose
// burst overflows (which the kernel accepts, e.g. --limit 1/hour
// --limit-burst 10000) and after very long idle times.
#include "rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace norman::filter {

namespace {

constexpr std::uint64_t kNsPerSec = 1'000'000'000;

// POW2_BELOWnn(x): the largest power of two not above x (x > 0).
std::uint64_t pow2_below(std::uint64_t x) {
  std::uint64_t p = 1;
  while (p <= x / 2) p <<= 1;
  return p;
}

}  // namespace

std::uint64_t KernelClock::jiffies(std::uint64_t t_ns) const {
  // floor((t - base) * hz / 1e9), also for times before base_ns, without
  // overflowing: whole seconds and the rest separately.
  const std::int64_t d = static_cast<std::int64_t>(t_ns) - base_ns;
  const auto sec = static_cast<std::int64_t>(kNsPerSec);
  std::int64_t q = d / sec;
  std::int64_t r = d % sec;
  if (r < 0) {
    r += sec;
    --q;
  }
  return static_cast<std::uint64_t>(q * static_cast<std::int64_t>(hz) +
                                    r * static_cast<std::int64_t>(hz) / sec);
}

std::uint64_t KernelClock::ms_to_jiffies(std::uint32_t ms) const {
  // msecs_to_jiffies(): DIV_ROUND_UP(ms * HZ, 1000) in effect for the usual HZ.
  return (std::uint64_t{ms} * hz + 999) / 1000;
}

namespace xt_limit {

namespace {
constexpr std::uint32_t kScale = 10000;  // XT_LIMIT_SCALE
}

std::uint32_t credits_per_jiffy(unsigned hz) {
  // MAX_CPJ = 0xFFFFFFFF / (HZ*60*60*24), then POW2_BELOW32.
  return static_cast<std::uint32_t>(pow2_below(0xFFFFFFFFu / (hz * 86400u)));
}

std::uint32_t user2credits(std::uint32_t user, unsigned hz) {
  const std::uint32_t hc = hz * credits_per_jiffy(hz);
  // "If multiplying would overflow... Divide first." (u32 throughout: the
  // product may still wrap, as it does in the kernel).
  if (user > 0xFFFFFFFFu / hc) return (user / kScale) * hc;
  return (user * hc) / kScale;
}

std::optional<std::string> check(const Limit& l, unsigned hz) {
  const std::uint32_t product = l.avg * l.burst;  // u32, wraps as in limit_mt_check()
  if (l.burst == 0 || user2credits(product, hz) < user2credits(l.avg, hz)) {
    return "Overflow, try lower: " + std::to_string(l.avg) + "/" + std::to_string(l.burst);
  }
  return std::nullopt;
}

}  // namespace xt_limit

namespace xt_hashlimit {

namespace {
constexpr std::uint64_t kScale = 1'000'000;  // XT_HASHLIMIT_SCALE_v2
}

std::uint64_t credits_per_jiffy(unsigned hz) {
  return pow2_below(0xFFFFFFFFFFFFFFFFull / (std::uint64_t{hz} * 86400u));
}

std::uint64_t user2credits(std::uint64_t user, unsigned hz) {
  const std::uint64_t hc = std::uint64_t{hz} * credits_per_jiffy(hz);
  // "Avoid overflow: divide the constant operands first".
  if (kScale >= hc) return user / (kScale / hc);
  return user * (hc / kScale);
}

std::optional<std::string> check(const Hashlimit& h, unsigned hz) {
  if (h.gc_interval == 0 || h.expire == 0)
    return "--hashlimit-htable-gcinterval and --hashlimit-htable-expire must not be 0";
  if (h.srcmask > 32 || h.dstmask > 32) return "a mask is above 32";
  if (h.name.empty() || h.name.size() > 31) return "the name must have 1 to 31 characters";
  if (h.burst == 0 || user2credits(h.avg * h.burst, hz) < user2credits(h.avg, hz)) {
    return "overflow, try lower: " + std::to_string(h.avg) + "/" + std::to_string(h.burst);
  }
  return std::nullopt;
}

}  // namespace xt_hashlimit

LimitBucket::LimitBucket(const Limit& l, unsigned hz, std::uint64_t now_jiffies)
    : cpj_(xt_limit::credits_per_jiffy(hz)),
      cost_(xt_limit::user2credits(l.avg, hz)),
      cap_(xt_limit::user2credits(l.avg * l.burst, hz)),
      credit_(cap_),
      prev_(now_jiffies) {}

bool LimitBucket::admit(std::uint64_t now) {
  // The kernel's fast path (credit short and no jiffy passed) returns false
  // without touching the state: the same as the slow path with increase 0.
  // credit_increase is u32: (now - prev) * CREDITS_PER_JIFFY is computed
  // in unsigned long and truncated on the addition.
  const auto increase = static_cast<std::uint32_t>((now - prev_) * cpj_);
  prev_ = now;
  std::uint32_t credit = credit_ + increase;  // u32, wraps as in limit_mt()
  if (credit > cap_) credit = cap_;
  const bool ok = credit >= cost_;
  if (ok) credit -= cost_;
  credit_ = credit;
  return ok;
}

HashlimitTable::HashlimitTable(const Hashlimit& cfg, unsigned hz, std::uint32_t default_size)
    : cfg_(cfg), hz_(hz), cpj_(xt_hashlimit::credits_per_jiffy(hz)) {
  // htable_create(): max defaults to 8 * size and is never below size.
  const std::uint32_t size = cfg.size != 0 ? cfg.size : default_size;
  if (cfg.max == 0) {
    max_ = 8 * size;
  } else {
    max_ = cfg.max < size ? size : cfg.max;
  }
}

void HashlimitTable::expire(std::uint64_t now) {
  // htable_gc() frees entries whose time is up; the kernel runs it every
  // gc_interval ms, this model at every lookup (see docs/ratelimit.md for
  // when the difference shows).
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (static_cast<std::int64_t>(now - it->second.expires) >= 0) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

HashlimitTable::Result HashlimitTable::match(const HashlimitPacket& p, bool above,
                                             std::uint64_t now) {
  // hashlimit_init_dst(): masked addresses and ports of the modes chosen.
  auto maskl = [](std::uint32_t a, unsigned len) {
    return len == 0 ? 0u : a & (0xFFFFFFFFu << (32 - len));
  };
  Dst dst{};
  if (cfg_.mode & Hashlimit::kDstIp) std::get<1>(dst) = maskl(p.dst, cfg_.dstmask);
  if (cfg_.mode & Hashlimit::kSrcIp) std::get<0>(dst) = maskl(p.src, cfg_.srcmask);
  if (cfg_.mode & (Hashlimit::kDstPort | Hashlimit::kSrcPort)) {
    if (!p.ports_readable) return Result::kHotdrop;
    if (cfg_.mode & Hashlimit::kSrcPort) std::get<2>(dst) = p.sport;
    if (cfg_.mode & Hashlimit::kDstPort) std::get<3>(dst) = p.dport;
  }
  expire(now);
  const std::uint64_t expires = now + KernelClock{hz_, 0}.ms_to_jiffies(cfg_.expire);
  auto it = entries_.find(dst);
  if (it == entries_.end()) {
    // dsthash_alloc_init(): a full table drops the packet.
    if (max_ != 0 && entries_.size() >= max_) return Result::kHotdrop;
    Entry e;
    e.credit = xt_hashlimit::user2credits(cfg_.avg * cfg_.burst, hz_);
    e.cap = e.credit;
    e.cost = xt_hashlimit::user2credits(cfg_.avg, hz_);
    e.prev = now;
    it = entries_.emplace(dst, e).first;
  } else {
    // rateinfo_recalc(), packet mode.
    Entry& e = it->second;
    const std::uint64_t delta = now - e.prev;
    if (delta != 0) {
      e.prev = now;
      e.credit += delta * cpj_;
      if (e.credit > e.cap) e.credit = e.cap;
    }
  }
  Entry& e = it->second;
  e.expires = expires;
  if (e.credit >= e.cost) {
    e.credit -= e.cost;
    return above ? Result::kNoMatch : Result::kMatch;
  }
  return above ? Result::kMatch : Result::kNoMatch;
}

bool LimiterState::limit(std::uint64_t rule_id, const Limit& l, std::uint64_t now) {
  auto it = limits_.find(rule_id);
  if (it == limits_.end()) it = limits_.emplace(rule_id, LimitBucket(l, hz_, now)).first;
  return it->second.admit(now);
}

HashlimitTable::Result LimiterState::hashlimit(const Hashlimit& h, const HashlimitPacket& p,
                                               std::uint64_t now) {
  auto it = tables_.find(h.name);
  if (it == tables_.end())
    it = tables_.emplace(h.name, HashlimitTable(h, hz_, default_size_)).first;
  return it->second.match(p, h.above, now);
}

void LimiterState::configure(const Ruleset& rules) {
  std::vector<const Chain*> order;
  for (const char* builtin : {"INPUT", "OUTPUT"}) {
    if (const Chain* c = rules.find(builtin)) order.push_back(c);
  }
  std::vector<const Chain*> user;
  for (const Chain& c : rules.chains) {
    if (!c.builtin()) user.push_back(&c);
  }
  std::sort(user.begin(), user.end(),
            [](const Chain* a, const Chain* b) { return a->name < b->name; });
  order.insert(order.end(), user.begin(), user.end());
  for (const Chain* c : order) {
    for (const Rule& r : c->rules) {
      if (r.hashlimit && !tables_.contains(r.hashlimit->name))
        tables_.emplace(r.hashlimit->name, HashlimitTable(*r.hashlimit, hz_, default_size_));
    }
  }
}

void LimiterState::clear() {
  limits_.clear();
  tables_.clear();
}

namespace {

struct TimerSample {
  std::uint64_t now_ns = 0;  // "now at N nsecs" (ktime_get, CLOCK_MONOTONIC)
  std::uint64_t jiffies = 0;
};

std::optional<TimerSample> read_timer_list() {
  std::ifstream in("/proc/timer_list");
  if (!in) return std::nullopt;
  std::string line;
  TimerSample s;
  bool have_now = false;
  while (std::getline(in, line)) {
    if (!have_now && line.rfind("now at ", 0) == 0) {
      s.now_ns = std::stoull(line.substr(7));
      have_now = true;
    } else if (line.rfind("jiffies: ", 0) == 0) {
      s.jiffies = std::stoull(line.substr(9));
      if (have_now) return s;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<unsigned> running_kernel_hz() {
  if (auto c = running_kernel_clock()) return c->hz;
  return std::nullopt;
}

std::optional<KernelClock> running_kernel_clock() {
  // Sample until two ticks are seen: the first jiffy change fixes the phase
  // (to the time between two samples), the span between the ticks the rate.
  auto first = read_timer_list();
  if (!first) return std::nullopt;
  std::optional<TimerSample> tick1;
  std::optional<TimerSample> last = first;
  for (int i = 0; i < 200000; ++i) {
    auto s = read_timer_list();
    if (!s) return std::nullopt;
    if (s->jiffies != last->jiffies) {
      if (!tick1) {
        tick1 = s;
      } else if (s->now_ns - tick1->now_ns >= 200'000'000) {
        const double rate = static_cast<double>(s->jiffies - tick1->jiffies) * 1e9 /
                            static_cast<double>(s->now_ns - tick1->now_ns);
        unsigned hz = 0;
        for (unsigned c : {100u, 250u, 300u, 1000u}) {
          if (hz == 0 || std::abs(rate - c) < std::abs(rate - static_cast<double>(hz))) hz = c;
        }
        KernelClock k;
        k.hz = hz;
        // The jiffy tick1.jiffies began at or just before tick1.now_ns.
        const std::uint64_t tick = kNsPerSec / hz;
        k.base_ns = static_cast<std::int64_t>(tick1->now_ns) -
                    static_cast<std::int64_t>((tick1->jiffies % 1000000) * tick);
        return k;
      }
    }
    last = s;
  }
  return std::nullopt;
}

}  // namespace norman::filter

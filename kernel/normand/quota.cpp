#include "quota.hpp"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "errors.hpp"
#include "norman/regmap.hpp"

namespace norman::normand::quota {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, kNumResources> kNames = {
    "sessions", "channels", "connections", "listen", "nqs", "dma_bytes", "fds"};

// What a refusal calls each resource.
constexpr std::array<std::string_view, kNumResources> kWhat = {
    "control connections",        "doorbell channels",   "connections",
    "listening connections",      "notification queues", "bytes of DMA memory",
    "file descriptors of normand"};

constexpr std::uint64_t kMiB = 1ULL << 20;

json limits_json(const Limits& l) {
  json j = json::object();
  for (unsigned i = 0; i < kNumResources; ++i) {
    j[std::string(kNames[i])] = l.v[i] == kUnlimited ? json(nullptr) : json(l.v[i]);
  }
  return j;
}

json used_json(const Limits& l) {
  json j = json::object();
  for (unsigned i = 0; i < kNumResources; ++i) j[std::string(kNames[i])] = l.v[i];
  return j;
}

Limits parse_limits(const json& j, Limits base, const std::string& where) {
  if (!j.is_object()) throw std::invalid_argument(where + ": must be an object");
  for (const auto& [k, v] : j.items()) {
    const auto r = parse_resource(k);
    if (!r) throw std::invalid_argument(where + ": unknown resource \"" + k + "\"");
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      throw std::invalid_argument(where + "." + k + ": must be a number >= 0 (0: unlimited)");
    }
    const auto n = v.get<std::uint64_t>();
    base[*r] = n == 0 ? kUnlimited : n;
  }
  return base;
}

std::string limit_text(std::uint64_t v) {
  return v == kUnlimited ? "unlimited" : std::to_string(v);
}

}  // namespace

std::string_view name(Resource r) { return kNames[static_cast<unsigned>(r)]; }

std::optional<Resource> parse_resource(std::string_view s) {
  for (unsigned i = 0; i < kNumResources; ++i) {
    if (kNames[i] == s) return static_cast<Resource>(i);
  }
  return std::nullopt;
}

Config Config::defaults() {
  Config c;
  using R = Resource;
  c.per_uid[R::kSessions] = 128;
  c.per_uid[R::kChannels] = 64;
  c.per_uid[R::kConnections] = 1024;
  c.per_uid[R::kListen] = 256;
  c.per_uid[R::kNqs] = 64;
  c.per_uid[R::kDmaBytes] = 512 * kMiB;
  // Pools: the NIC's tables (id 0 of connections and queues is the fallback
  // bridge's), nsim's 1024 MMIO channels less normand's own, half of RAM for
  // DMA. Sessions are bounded by descriptors (set from RLIMIT_NOFILE).
  c.pool[R::kChannels] = 1000;
  c.pool[R::kConnections] = regmap::kNumConns - 1;
  c.pool[R::kListen] = 1ULL << (regmap::kListenBucketsLog2 + 2);
  c.pool[R::kNqs] = regmap::kNumNqs - 1;
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) {
    c.pool[R::kDmaBytes] = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 2;
  }
  c.root_reserve.v.fill(0);
  c.root_reserve[R::kSessions] = 16;
  c.root_reserve[R::kChannels] = 16;
  c.root_reserve[R::kConnections] = 256;
  c.root_reserve[R::kListen] = 64;
  c.root_reserve[R::kNqs] = 16;
  c.root_reserve[R::kDmaBytes] = 64 * kMiB;
  c.root_reserve[R::kFds] = 128;
  return c;
}

Config parse_config(const json& j, Config base) {
  if (!j.is_object()) throw std::invalid_argument("quota: must be an object");
  for (const auto& [k, v] : j.items()) {
    if (k == "per_uid") {
      base.per_uid = parse_limits(v, base.per_uid, k);
    } else if (k == "per_cgroup") {
      base.per_cgroup = parse_limits(v, base.per_cgroup, k);
    } else if (k == "pool") {
      base.pool = parse_limits(v, base.pool, k);
    } else if (k == "root_reserve") {
      // 0 is "no reserve" here, not unlimited.
      Limits r = parse_limits(v, base.root_reserve, k);
      for (unsigned i = 0; i < kNumResources; ++i) {
        if (r.v[i] == kUnlimited) r.v[i] = 0;
      }
      base.root_reserve = r;
    } else if (k == "uid") {
      if (!v.is_object()) throw std::invalid_argument("uid: must be an object of uid -> limits");
      for (const auto& [u, l] : v.items()) {
        std::size_t pos = 0;
        unsigned long n = 0;
        try {
          n = std::stoul(u, &pos);
        } catch (const std::exception&) {
          pos = 0;
        }
        if (pos != u.size() || u.empty())
          throw std::invalid_argument("uid: \"" + u + "\" is not a uid");
        const auto uid = static_cast<uid_t>(n);
        auto it = base.uid.find(uid);
        base.uid[uid] =
            parse_limits(l, it != base.uid.end() ? it->second : base.per_uid, "uid." + u);
      }
    } else {
      throw std::invalid_argument("quota: unknown key \"" + k + "\"");
    }
  }
  return base;
}

// --- Charge ------------------------------------------------------------------

Charge::Charge(Charge&& o) noexcept
    : ledger_(std::exchange(o.ledger_, nullptr)), who_(std::move(o.who_)), amount_(o.amount_) {}

Charge& Charge::operator=(Charge&& o) noexcept {
  if (this != &o) {
    release();
    ledger_ = std::exchange(o.ledger_, nullptr);
    who_ = std::move(o.who_);
    amount_ = o.amount_;
  }
  return *this;
}

void Charge::release() {
  if (ledger_ == nullptr) return;
  ledger_->give_back(who_, amount_);
  ledger_ = nullptr;
}

// --- Ledger ------------------------------------------------------------------

Limits Ledger::limits_of(uid_t uid) const {
  const auto it = cfg_.uid.find(uid);
  return it != cfg_.uid.end() ? it->second : cfg_.per_uid;
}

std::uint64_t Ledger::used_by_uid(uid_t uid, Resource r) const {
  const auto it = by_uid_.find(uid);
  return it != by_uid_.end() ? it->second[r] : 0;
}

std::pair<Charge, std::optional<Refusal>> Ledger::try_charge(
    const Principal& who, std::initializer_list<std::pair<Resource, std::uint64_t>> amounts) {
  const Limits mine = limits_of(who.uid);
  const Limits none = zero();
  const auto uit = by_uid_.find(who.uid);
  const Limits& used_uid = uit != by_uid_.end() ? uit->second : none;
  const auto cit = by_cgroup_.find(who.cgroup);
  const Limits& used_cg = cit != by_cgroup_.end() ? cit->second : none;
  for (const auto& [r, n] : amounts) {
    if (n == 0) continue;
    const auto what = std::string(kWhat[static_cast<unsigned>(r)]);
    const auto rname = std::string(name(r));
    if (!who.root) {
      if (mine[r] != kUnlimited && used_uid[r] + n > mine[r]) {
        return {Charge{},
                Refusal{EDQUOT, "quota exceeded: uid " + std::to_string(who.uid) + " holds " +
                                    std::to_string(used_uid[r]) + " " + what + " (per-uid limit " +
                                    rname + " = " + limit_text(mine[r]) + ")"}};
      }
      if (cfg_.per_cgroup[r] != kUnlimited && used_cg[r] + n > cfg_.per_cgroup[r]) {
        return {Charge{}, Refusal{EDQUOT, "quota exceeded: cgroup " +
                                              (who.cgroup.empty() ? "?" : who.cgroup) + " holds " +
                                              std::to_string(used_cg[r]) + " " + what +
                                              " (per-cgroup limit " + rname + " = " +
                                              limit_text(cfg_.per_cgroup[r]) + ")"}};
      }
    }
    const std::uint64_t pool = cfg_.pool[r];
    if (pool != kUnlimited) {
      const std::uint64_t reserve = who.root ? 0 : std::min(cfg_.root_reserve[r], pool);
      if (total_[r] + n > pool - reserve) {
        const int err = r == Resource::kFds ? EMFILE : ENOSPC;
        return {Charge{},
                Refusal{err, "normand's " + what + " are used up (" + std::to_string(total_[r]) +
                                 " of " + std::to_string(pool) + " in use, pool " + rname +
                                 (reserve != 0 ? "; the last " + std::to_string(reserve) +
                                                     " are reserved for root"
                                               : std::string()) +
                                 ")"}};
      }
    }
  }
  Charge c;
  c.ledger_ = this;
  c.who_ = who;
  c.amount_ = zero();
  Limits& u = by_uid_.try_emplace(who.uid, zero()).first->second;
  Limits& g = by_cgroup_.try_emplace(who.cgroup, zero()).first->second;
  for (const auto& [r, n] : amounts) {
    c.amount_[r] += n;
    total_[r] += n;
    u[r] += n;
    g[r] += n;
  }
  return {std::move(c), std::nullopt};
}

Charge Ledger::charge(const Principal& who,
                      std::initializer_list<std::pair<Resource, std::uint64_t>> amounts) {
  auto [c, refusal] = try_charge(who, amounts);
  if (refusal) throw CtlError(refusal->err, refusal->message);
  return std::move(c);
}

void Ledger::give_back(const Principal& who, const Limits& amount) {
  auto sub = [&](Limits& l) {
    for (unsigned i = 0; i < kNumResources; ++i) l.v[i] -= std::min(l.v[i], amount.v[i]);
  };
  sub(total_);
  auto is_zero = [](const Limits& l) {
    for (auto x : l.v) {
      if (x != 0) return false;
    }
    return true;
  };
  if (auto it = by_uid_.find(who.uid); it != by_uid_.end()) {
    sub(it->second);
    if (is_zero(it->second)) by_uid_.erase(it);
  }
  if (auto it = by_cgroup_.find(who.cgroup); it != by_cgroup_.end()) {
    sub(it->second);
    if (is_zero(it->second)) by_cgroup_.erase(it);
  }
}

json Ledger::to_json(const Principal& viewer) const {
  json users = json::array();
  for (const auto& [uid, used] : by_uid_) {
    if (!viewer.root && uid != viewer.uid) continue;
    users.push_back({{"uid", uid},
                     {"used", used_json(used)},
                     {"limits", uid == 0 ? limits_json(Limits{}) : limits_json(limits_of(uid))}});
  }
  json out = {
      {"per_uid", limits_json(cfg_.per_uid)}, {"per_cgroup", limits_json(cfg_.per_cgroup)},
      {"pool", limits_json(cfg_.pool)},       {"root_reserve", used_json(cfg_.root_reserve)},
      {"total", used_json(total_)},           {"users", std::move(users)}};
  if (viewer.root) {
    json cgroups = json::array();
    for (const auto& [cg, used] : by_cgroup_)
      cgroups.push_back({{"cgroup", cg}, {"used", used_json(used)}});
    out["cgroups"] = std::move(cgroups);
  }
  return out;
}

}  // namespace norman::normand::quota

// Per-user and per-cgroup quotas on what clients hold in normand and on the
// NIC: control connections, connections, listening entries, notification
// queues, doorbell channels, DMA memory, and normand's own file descriptors.
//
// Every allocation is charged here first. A non-root client over its uid's
// (or its cgroup's) limit gets EDQUOT; a pool whose unreserved part is used
// up gets ENOSPC (EMFILE for normand's descriptors). The last part of each
// pool (root_reserve) is for root only, as ext4 keeps blocks for root, so
// root's `normanctl status` (a control connection and a doorbell channel)
// works whatever unprivileged users hold. Root is not subject to per-uid or
// per-cgroup limits. A Charge releases itself when destroyed, so whatever
// owns the resource owns its charge and teardown cannot forget it.
//
// Single-threaded (normand's io_context).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "process_info.hpp"

namespace norman::normand::quota {

enum class Resource : unsigned {
  kSessions,     // control connections (one socket each in normand)
  kChannels,     // doorbell channels (one per client after hello)
  kConnections,  // bypass connections (NIC contexts)
  kListen,       // listening connections (NIC listen-table entries)
  kNqs,          // notification queues
  kDmaBytes,     // host memory registered for the NIC's DMA
  kFds,          // descriptors normand holds for clients
};
inline constexpr std::size_t kNumResources = 7;

// "sessions", "channels", "connections", "listen", "nqs", "dma_bytes", "fds":
// the names in the config file, in status and in messages.
std::string_view name(Resource r);
std::optional<Resource> parse_resource(std::string_view s);

// One value per resource; kUnlimited where there is no limit.
inline constexpr std::uint64_t kUnlimited = UINT64_MAX;
struct Limits {
  std::array<std::uint64_t, kNumResources> v;
  Limits() { v.fill(kUnlimited); }
  std::uint64_t& operator[](Resource r) { return v[static_cast<unsigned>(r)]; }
  std::uint64_t operator[](Resource r) const { return v[static_cast<unsigned>(r)]; }
};

struct Config {
  Limits per_uid;               // every non-root uid (defaults below)
  Limits per_cgroup;            // every cgroup (default: unlimited)
  std::map<uid_t, Limits> uid;  // overrides for single uids
  Limits pool;                  // what exists in total
  Limits root_reserve;          // the part of each pool only root may use
  // Defaults: sessions 128, channels 64, connections 1024, listen 256,
  // nqs 64, dma_bytes 512 MiB per uid; pools from the NIC's sizes.
  static Config defaults();
};

// Reads {"per_uid": {...}, "per_cgroup": {...}, "uid": {"1000": {...}},
// "pool": {...}, "root_reserve": {...}} over `base`: each object maps
// resource names to a number (0: unlimited). Unknown keys are errors
// (std::invalid_argument naming the key).
Config parse_config(const nlohmann::json& j, Config base);

struct Principal {
  uid_t uid = 0;
  std::string cgroup;
  bool root = false;  // root in the initial user namespace
};

inline Principal principal_of(const ProcessInfo& p) { return {p.uid, p.cgroup, p.is_root()}; }

class Ledger;

// Resources held against a principal; released on destruction. Move-only.
class Charge {
 public:
  Charge() = default;
  Charge(Charge&& o) noexcept;
  Charge& operator=(Charge&& o) noexcept;
  ~Charge() { release(); }
  Charge(const Charge&) = delete;
  Charge& operator=(const Charge&) = delete;
  void release();
  [[nodiscard]] bool empty() const { return ledger_ == nullptr; }

 private:
  friend class Ledger;
  Ledger* ledger_ = nullptr;
  Principal who_;
  Limits amount_;  // kUnlimited is never charged; 0 for resources not held
};

// A refusal: errno (EDQUOT, ENOSPC or EMFILE) and a message naming the limit.
struct Refusal {
  int err = 0;
  std::string message;
};

class Ledger {
 public:
  explicit Ledger(Config cfg) : cfg_(std::move(cfg)) {}
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Charges all of `amounts` or nothing: the Charge, or why not.
  [[nodiscard]] std::pair<Charge, std::optional<Refusal>> try_charge(
      const Principal& who, std::initializer_list<std::pair<Resource, std::uint64_t>> amounts);
  // The same, throwing CtlError(err, message) on refusal.
  Charge charge(const Principal& who,
                std::initializer_list<std::pair<Resource, std::uint64_t>> amounts);

  [[nodiscard]] std::uint64_t total(Resource r) const { return total_[r]; }
  [[nodiscard]] std::uint64_t used_by_uid(uid_t uid, Resource r) const;
  [[nodiscard]] Limits limits_of(uid_t uid) const;
  [[nodiscard]] const Config& config() const { return cfg_; }

  // {"limits": {...per_uid}, "pool": {...}, "root_reserve": {...},
  //  "total": {...}, "users": [{"uid", "used": {...}, "limits": {...}}],
  //  "cgroups": [...]}: every user for root, only the viewer's otherwise.
  [[nodiscard]] nlohmann::json to_json(const Principal& viewer) const;

 private:
  friend class Charge;
  void give_back(const Principal& who, const Limits& amount);

  Config cfg_;
  Limits total_ = zero();
  std::map<uid_t, Limits> by_uid_;
  std::map<std::string, Limits> by_cgroup_;
  static Limits zero() {
    Limits l;
    l.v.fill(0);
    return l;
  }
};

}  // namespace norman::normand::quota

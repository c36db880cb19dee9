#include "capture_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "cbpf_nic.hpp"
#include "errors.hpp"
#include "log.hpp"
#include "norman/regmap.hpp"
#include "normand_proto.hpp"

namespace norman::normand {

namespace rm = norman::regmap;
namespace rec = rm::capture_rec;
namespace cfg = rm::capture_cfg;
using nlohmann::json;

namespace {

constexpr std::uint64_t kSweepBusy = 1;  // CAPTURE.STATUS bit 0

}  // namespace

nsim::UniqueFd read_only_ring_fd(int memfd) {
  // Without this a client could open /proc/self/fd/N O_RDWR: a memfd's
  // inode is created 0777.
  if (::fchmod(memfd, S_IRUSR) != 0)
    throw std::system_error(errno, std::generic_category(), "capture ring: fchmod");
  const std::string path = "/proc/self/fd/" + std::to_string(memfd);
  nsim::UniqueFd ro(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ro)
    throw std::system_error(errno, std::generic_category(), "capture ring: reopen read-only");
  return ro;
}

CaptureService::CaptureService(CaptureHw* hw, ForEachConn for_each_conn, OwnerOf owner_of,
                               boost::asio::io_context* io, quota::Ledger* quota, unsigned per_user)
    : hw_(hw),
      for_each_conn_(std::move(for_each_conn)),
      owner_of_(std::move(owner_of)),
      quota_(quota),
      per_user_(per_user),
      fit_(1e9 / static_cast<double>(rm::kClockHz)) {
  if (io != nullptr) timer_.emplace(*io);
  if (hw_ == nullptr) return;
  // The NIC says how many sessions it has; never more than the format's.
  const auto n = std::min<std::uint64_t>(hw_->read(CapReg::kSessions, 0), rec::kSessions);
  slots_.resize(static_cast<std::size_t>(n));
  // A NIC left running by a previous normand: no session of ours yet.
  for (unsigned s = 0; s < n; ++s) hw_->write(CapReg::kCfg, s, 0);
  if (n != 0) {
    sweep_pending_ = (1U << n) - 1;
    advance();
  }
  sample_clock();
}

CaptureService::~CaptureService() {
  *alive_ = false;
  if (timer_) timer_->cancel();
  for (unsigned s = 0; s < slots_.size(); ++s) {
    if (slots_[s].active) end(s, "normand is shutting down");
  }
}

void CaptureService::check_rights(const ProcessInfo& who) {
  if (who.is_root() || who.has_cap(kCapNetRaw)) return;
  throw CtlError(EPERM,
                 "Operation not permitted: capturing needs root or CAP_NET_RAW in the initial "
                 "user namespace");
}

unsigned CaptureService::active() const {
  unsigned n = 0;
  for (const auto& sl : slots_) n += sl.active ? 1 : 0;
  return n;
}

bool CaptureService::owner_sessions() const {
  return std::any_of(slots_.begin(), slots_.end(),
                     [](const Slot& sl) { return sl.active && sl.owner.any(); });
}

unsigned CaptureService::owner_bits(const ProcessInfo& owner) const {
  unsigned bits = 0;
  for (unsigned s = 0; s < slots_.size(); ++s) {
    const Slot& sl = slots_[s];
    if (sl.active && sl.owner.any() && sl.owner.matches(owner)) bits |= 1U << s;
  }
  return bits;
}

bool CaptureService::sweep_busy() { return (hw_->read(CapReg::kStatus, 0) & kSweepBusy) != 0; }

Grant CaptureService::open(std::uint64_t client, const ProcessInfo& who, const CaptureOpenArgs& a) {
  check_rights(who);
  if (hw_ == nullptr)
    throw CtlError(EOPNOTSUPP,
                   "the NIC has no capture overlay (its register block chain lists no CAPTURE "
                   "block)");
  if (slots_.empty()) throw CtlError(EOPNOTSUPP, "the NIC's capture overlay has no sessions");
  // Interface: a NIC port, or all of them.
  const unsigned ports = std::min(hw_->num_ports(), static_cast<unsigned>(cfg::kPortMask.width));
  std::uint64_t port_mask = 0;
  if (a.interface == "any") {
    port_mask = (std::uint64_t{1} << ports) - 1;
  } else {
    unsigned p = 0;
    bool ok = a.interface.size() > 3 && a.interface.size() <= 5 &&
              a.interface.compare(0, 3, "nic") == 0 &&
              a.interface.find_first_not_of("0123456789", 3) == std::string::npos;
    if (ok) p = static_cast<unsigned>(std::stoul(a.interface.substr(3)));
    if (!ok || p >= ports)
      throw CtlError(ENODEV, a.interface + ": No such device (the NIC has " +
                                 std::to_string(ports) + " port(s): nic0.." + "nic" +
                                 std::to_string(ports - 1) + " or any)");
    port_mask = std::uint64_t{1} << p;
  }
  const auto plan = capture::plan_program(a.program);
  if (!plan.valid) throw CtlError(EINVAL, "program: " + plan.error);

  if (!who.is_root()) {
    unsigned mine = 0;
    for (const auto& sl : slots_) mine += sl.active && sl.uid == who.uid ? 1 : 0;
    if (mine >= per_user_)
      throw CtlError(EDQUOT, "uid " + std::to_string(who.uid) + " already holds " +
                                 std::to_string(mine) + " of the NIC's " +
                                 std::to_string(slots_.size()) +
                                 " capture sessions (the per-user limit)");
  }
  advance();
  // A slot whose capture bits are still being cleared serves a session
  // without an owner filter at once (OWNER_REQ 0 never reads the bits); one
  // with an owner filter waits for the sweep (EAGAIN below).
  auto free_slot = [&](bool allow_sweeping) {
    unsigned s = 0;
    while (s < slots_.size() &&
           (slots_[s].active || (!allow_sweeping && ((sweeping() >> s) & 1U) != 0)))
      ++s;
    return s;
  };
  unsigned s = free_slot(false);
  if (s == slots_.size() && !a.owner.any()) s = free_slot(true);
  if (s == slots_.size()) {
    std::string holders;
    for (const auto& sl : slots_)
      if (sl.active) holders += (holders.empty() ? "" : ", ") + sl.who;
    if (holders.empty() || free_slot(true) != slots_.size())
      throw CtlError(EAGAIN,
                     "the NIC is still clearing the owner bits of a capture session; try again "
                     "in a moment");
    throw CtlError(EBUSY, "all " + std::to_string(slots_.size()) +
                              " capture sessions of the NIC are in use (by " + holders +
                              "); try again when one ends");
  }
  if (a.owner.any() && (sweeping() != 0 || !pending_sets_.empty() || sweep_busy()))
    throw CtlError(EAGAIN,
                   "the NIC is still clearing the owner bits of a capture that ended; try "
                   "again in a moment");

  const unsigned log2 = a.log2 != 0 ? a.log2 : ctl::kDefaultCapLog2;
  const std::size_t ring_bytes = std::size_t{rec::kSlotBytes} << log2;
  // Charged first: a refusal (EDQUOT) leaves nothing behind.
  quota::Charge charge;
  if (quota_ != nullptr)
    charge = quota_->charge(quota::principal_of(who), {{quota::Resource::kDmaBytes, ring_bytes}});
  Slot& sl = slots_[s];
  sl.charge = std::move(charge);
  Grant g;
  try {
    // Disabled while the program is loaded (PROG_ADDR's rule).
    hw_->write(CapReg::kCfg, s, 0);
    hw_->write(CapReg::kProgAddr, 0, s);
    for (const auto w : plan.words) hw_->write(CapReg::kProgInsn, 0, w);
    sl.ring = hw_->alloc_ring(ring_bytes);
    g.fds.emplace_back("ring", read_only_ring_fd(sl.ring.fd.get()));
    hw_->write(CapReg::kBase, s, sl.ring.iova);
    const std::uint64_t snap = a.snaplen == 0 || a.snaplen >= rec::kMaxCaplen ? 0 : a.snaplen;
    hw_->write(CapReg::kSnap, s, snap);
    hw_->write(CapReg::kCons, s, 0);
    sl.base_matched = hw_->read(CapReg::kMatched, s);
    sl.base_captured = hw_->read(CapReg::kCaptured, s);
    sl.base_dropped = hw_->read(CapReg::kDropped, s);
    sl.active = true;
    sl.client = client;
    sl.uid = who.uid;
    sl.who = who.describe();
    sl.owner = a.owner;
    if (a.owner.any()) {
      // Every open connection whose owner matches gets the session's bit
      // (with the bits it has for the other sessions).
      for_each_conn_([&](std::uint16_t conn, const ProcessInfo& o) {
        if (!a.owner.matches(o)) return;
        hw_->write(CapReg::kOwnerSet, 0, conn | (std::uint64_t{owner_bits(o)} << 16));
      });
    }
    std::uint64_t c = 0;
    cfg::kLog2.set(c, log2);
    cfg::kEnable.set(c, 1);
    cfg::kDirMask.set(c, (a.in ? 1U : 0U) | (a.out ? 2U : 0U));
    cfg::kPortMask.set(c, port_mask);
    cfg::kOwnerReq.set(c, a.owner.any() ? 1 : 0);
    hw_->write(CapReg::kCfg, s, c);
  } catch (const CtlError&) {
    end(s, "cap_open failed");
    throw;
  } catch (const std::exception& e) {
    end(s, "cap_open failed");
    throw CtlError(EIO, std::string("cannot set up the capture session: ") + e.what());
  }
  if (std::chrono::steady_clock::now() - last_sample_ > std::chrono::seconds(1)) sample_clock();
  arm(std::chrono::seconds(1));
  log::info("capture " + std::to_string(s) + " opened by " + sl.who + " on " + a.interface + " (" +
            std::to_string(a.program.size()) + " instructions, " +
            (plan.in_subset ? "exact on the NIC" : "superset on the NIC, exact on the host") +
            ", owner: " + a.owner.describe() + ")");
  g.results = {{"capture_id", s},
               {"log2", log2},
               {"slot_bytes", rec::kSlotBytes},
               {"header_bytes", rec::kHeaderBytes},
               {"in_subset", plan.in_subset},
               {"clock", clock_json()}};
  return g;
}

CaptureService::Slot& CaptureService::own(std::uint64_t client, unsigned id) {
  if (id >= slots_.size() || !slots_[id].active || slots_[id].client != client)
    throw CtlError(ENOENT, "no capture " + std::to_string(id) + " of yours");
  return slots_[id];
}

json CaptureService::counts(const Slot& sl, unsigned s) {
  return {{"matched", hw_->read(CapReg::kMatched, s) - sl.base_matched},
          {"captured", hw_->read(CapReg::kCaptured, s) - sl.base_captured},
          {"dropped", hw_->read(CapReg::kDropped, s) - sl.base_dropped}};
}

json CaptureService::stats(std::uint64_t client, unsigned id) {
  Slot& sl = own(client, id);
  json j = counts(sl, id);
  j["clock"] = clock_json();
  return j;
}

json CaptureService::consume(std::uint64_t client, unsigned id, std::uint16_t cons) {
  own(client, id);
  // Any value is safe for the NIC: it never writes more than 2^LOG2 slots
  // ahead of CONS, so a bogus index only loses the client's own records.
  hw_->write(CapReg::kCons, id, cons);
  return {{"clock", clock_json()}};
}

json CaptureService::close(std::uint64_t client, unsigned id) {
  Slot& sl = own(client, id);
  json j = counts(sl, id);
  end(id, "closed");
  return j;
}

json CaptureService::owner(const ProcessInfo& who, std::uint32_t conn_id) const {
  check_rights(who);
  if (conn_id == rm::kFallbackConn) {
    return {{"conn_id", conn_id}, {"fallback", true}, {"owner", "host kernel (fallback)"}};
  }
  std::optional<ProcessInfo> o;
  if (conn_id < rm::kNumConns && owner_of_) o = owner_of_(static_cast<std::uint16_t>(conn_id));
  if (!o) throw CtlError(ENOENT, "no open connection " + std::to_string(conn_id));
  return {{"conn_id", conn_id}, {"uid", o->uid},   {"gid", o->gid},
          {"pid", o->pid},      {"comm", o->comm}, {"cgroup", o->cgroup}};
}

void CaptureService::release(std::uint64_t client, const std::string& reason) noexcept {
  for (unsigned s = 0; s < slots_.size(); ++s) {
    if (slots_[s].active && slots_[s].client == client) end(s, reason);
  }
}

void CaptureService::end(unsigned s, const std::string& reason) noexcept {
  Slot& sl = slots_[s];
  const bool had_owner = sl.active && sl.owner.any();
  try {
    hw_->write(CapReg::kCfg, s, 0);
  } catch (const std::exception& e) {
    log::error("capture " + std::to_string(s) + ": cannot disable it: " + e.what());
  }
  // Its slot is reused only once its bits are gone (a failed open may have
  // written some too: it was active from before its first OWNER_SET).
  if (had_owner) sweep_pending_ |= 1U << s;
  if (sl.ring.size != 0) {
    try {
      hw_->free_ring(sl.ring);
    } catch (const std::exception& e) {
      log::error("capture " + std::to_string(s) + ": cannot free its ring: " + e.what());
    }
  }
  if (sl.active) log::info("capture " + std::to_string(s) + " of " + sl.who + " ended: " + reason);
  sl = Slot{};
  if (!advance()) arm(std::chrono::milliseconds(5));
}

void CaptureService::conn_opened(std::uint16_t conn_id, const ProcessInfo& owner) noexcept {
  if (hw_ == nullptr || !owner_sessions()) return;
  try {
    // Written even when no session matches: the id may have carried bits
    // of a connection that had it before.
    if (!pending_sets_.empty() || sweep_busy()) {
      pending_sets_.insert(conn_id);
      arm(std::chrono::milliseconds(5));
      return;
    }
    hw_->write(CapReg::kOwnerSet, 0, conn_id | (std::uint64_t{owner_bits(owner)} << 16));
  } catch (const std::exception& e) {
    log::error("capture: cannot set the owner bits of conn " + std::to_string(conn_id) + ": " +
               e.what());
  }
}

bool CaptureService::advance() noexcept {
  if (hw_ == nullptr) return true;
  if (sweep_pending_ == 0 && sweep_issued_ == 0 && pending_sets_.empty()) return true;
  try {
    if (sweep_busy()) return false;
    sweep_issued_ = 0;
    // Owner writes first: they carry only active sessions' bits, which no
    // pending sweep touches.
    for (const auto conn : pending_sets_) {
      const auto o = owner_of_ ? owner_of_(conn) : std::nullopt;
      hw_->write(CapReg::kOwnerSet, 0, conn | (std::uint64_t{o ? owner_bits(*o) : 0U} << 16));
    }
    pending_sets_.clear();
    if (sweep_pending_ != 0) {
      hw_->write(CapReg::kOwnerSweep, 0, sweep_pending_);
      sweep_issued_ = std::exchange(sweep_pending_, 0U);
      // A short sweep may be over already.
      if (!sweep_busy()) sweep_issued_ = 0;
    }
  } catch (const std::exception& e) {
    log::error(std::string("capture: deferred NIC work failed: ") + e.what());
    return false;
  }
  return sweep_pending_ == 0 && sweep_issued_ == 0 && pending_sets_.empty();
}

void CaptureService::sample_clock() noexcept {
  if (hw_ == nullptr) return;
  try {
    fit_.add(hw_->clock_sample());
    last_sample_ = std::chrono::steady_clock::now();
  } catch (const std::exception& e) {
    log::warn(std::string("capture: cannot sample the NIC clock: ") + e.what());
  }
}

json CaptureService::clock_json() const {
  return {{"ref_cycles", fit_.ref_cycles()},
          {"ref_ns", fit_.ref_ns()},
          {"ns_per_cycle", fit_.ns_per_cycle()}};
}

void CaptureService::tick() noexcept {
  const bool idle = advance();
  if (active() != 0 &&
      std::chrono::steady_clock::now() - last_sample_ >= std::chrono::milliseconds(900))
    sample_clock();
  if (!idle) {
    arm(std::chrono::milliseconds(5));
  } else if (active() != 0) {
    arm(std::chrono::seconds(1));
  }
}

void CaptureService::arm(std::chrono::milliseconds after) {
  if (!timer_) return;
  const auto when = std::chrono::steady_clock::now() + after;
  if (armed_ && timer_->expiry() <= when) return;
  armed_ = true;
  timer_->expires_at(when);
  timer_->async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    armed_ = false;
    tick();
  });
}

json CaptureService::status() const {
  json list = json::array();
  for (unsigned s = 0; s < slots_.size(); ++s) {
    const Slot& sl = slots_[s];
    if (!sl.active) continue;
    list.push_back({{"capture_id", s},
                    {"client", sl.client},
                    {"uid", sl.uid},
                    {"owner_filter", sl.owner.describe()}});
  }
  return {{"present", hw_ != nullptr},
          {"sessions", slots_.size()},
          {"active", list},
          {"sweeping", sweeping()}};
}

}  // namespace norman::normand

// Live capture from the NIC (docs/capture.md, "normand's capture service").
// The checks that need no NIC are done first so that ndump reports bad
// options before it needs normand: the interface name, the direction and
// the program (libpcap's bpf_validate, as normand repeats). Then one
// capture session: cap_open gives a read-only descriptor of the ring the
// NIC writes; records are read from it directly (a slot is ready when its
// SEQ is the consumer index + 1), the consumer index goes back with
// cap_cons, owners come from cap_owner (cached per connection), and the
// session ends with cap_close or, whatever happens to ndump, when its
// control connection closes.
#include "nic_source.hpp"

#include <poll.h>
#include <sys/mman.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "cbpf_nic.hpp"
#include "clock_fit.hpp"
#include "ctl_socket.hpp"
#include "nic_host_filter.hpp"
#include "nic_ring.hpp"
#include "norman/regmap.hpp"

namespace norman::ndump {
namespace {

namespace rec = norman::regmap::capture_rec;
using nlohmann::json;

void check_interface(const std::string& name) {
  if (name == "any") return;
  if (name.size() > 3 && name.compare(0, 3, "nic") == 0 &&
      name.find_first_not_of("0123456789", 3) == std::string::npos && name.size() <= 5)
    return;
  throw std::runtime_error("ndump: " + name + ": No such device (use nic0, nic1, ... or any)");
}

std::string reply_error(const std::system_error& e) { return e.what(); }

class NicSource : public RecordSource {
 public:
  NicSource(ctl::Client client, const NicCaptureOptions& opts, const ctl::Message& opened)
      : client_(std::move(client)),
        snaplen_(opts.snaplen),
        filter_(opts.program, opts.snaplen, false) {
    const json& b = opened.body;
    id_ = b.at("capture_id").get<unsigned>();
    log2_ = b.at("log2").get<unsigned>();
    slot_bytes_ = b.at("slot_bytes").get<std::size_t>();
    if (slot_bytes_ != rec::kSlotBytes || log2_ > 15)
      throw std::runtime_error("ndump: normand's capture ring has another format than ndump's");
    set_clock(b.at("clock"));
    if (opened.fds.empty()) throw std::runtime_error("ndump: normand sent no capture ring");
    bytes_ = slot_bytes_ << log2_;
    // Read-only: normand hands out a descriptor that cannot be written.
    void* p = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, opened.fds.front().get(), 0);
    if (p == MAP_FAILED)
      throw std::runtime_error(std::string("ndump: cannot map the capture ring: ") +
                               std::strerror(errno));
    ring_ = static_cast<const std::uint8_t*>(p);
  }

  ~NicSource() override {
    close_session();
    if (ring_ != nullptr) ::munmap(const_cast<std::uint8_t*>(ring_), bytes_);
  }

  bool next(CaptureRecord& out) override {
    for (;;) {
      if (stopped_.load()) return false;
      const std::uint8_t* slot = ring_slot(ring_, log2_, cons_);
      if (!slot_ready(slot, cons_)) {
        idle();
        continue;
      }
      // Everything is copied: the slot may be reused once cons_ passes it.
      RingRecord r = read_slot(slot);
      ++cons_;
      if (cons_ - reported_ >= (1U << log2_) / 4) report_cons();
      r.rec.ts_ns = static_cast<std::uint64_t>(
          capture::clock_to_ns(ref_cycles_, ref_ns_, ns_per_cycle_, r.cycle));
      if (!filter_.admit(r.rec, r.unsure)) continue;
      if (r.conn == norman::regmap::kFallbackConn) {
        r.rec.host_kernel = true;
      } else if (r.owner_valid) {
        r.rec.conn = r.conn;
        r.rec.owner = owner_of(r.conn);
      } else {
        r.rec.conn = r.conn;
      }
      out = std::move(r.rec);
      return true;
    }
  }

  void stop() noexcept override { stopped_.store(true); }
  [[nodiscard]] int linktype() const override { return 1; }  // DLT_EN10MB
  [[nodiscard]] std::uint32_t snaplen() const override { return snaplen_; }

 private:
  CaptureStats to_stats(const json& b) const {
    CaptureStats s;
    const auto matched = b.at("matched").get<std::uint64_t>();
    // Frames the NIC was unsure of and the exact program then rejected are
    // not "received by filter" for tcpdump.
    s.received_by_filter = matched >= filter_.rejected() ? matched - filter_.rejected() : 0;
    s.dropped = b.at("dropped").get<std::uint64_t>();
    return s;
  }

  void set_clock(const json& c) {
    ref_cycles_ = c.at("ref_cycles").get<std::uint64_t>();
    ref_ns_ = c.at("ref_ns").get<std::int64_t>();
    ns_per_cycle_ = c.at("ns_per_cycle").get<double>();
  }

  void report_cons() {
    const auto m = client_.call(ctl::op::kCapCons, {{"capture_id", id_}, {"cons", cons_ & 0xFFFF}});
    reported_ = cons_;
    last_report_ = std::chrono::steady_clock::now();
    if (m.body.contains("clock")) set_clock(m.body.at("clock"));
  }

  // Nothing ready: give the NIC its slots back, refresh the clock now and
  // then, notice normand going away, and wait a little.
  void idle() {
    const auto now = std::chrono::steady_clock::now();
    if (cons_ != reported_ || now - last_report_ > std::chrono::seconds(1)) report_cons();
    pollfd p{client_.fd(), POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0)
      throw std::runtime_error("normand closed the capture session");
    timespec ts{0, 1'000'000};
    ::nanosleep(&ts, nullptr);  // a signal cuts it short; next() then sees stop()
  }

  std::optional<Owner> owner_of(std::uint32_t conn) {
    const auto it = owners_.find(conn);
    if (it != owners_.end()) return it->second;
    std::optional<Owner> o;
    try {
      const auto m = client_.call(ctl::op::kCapOwner, {{"conn_id", conn}});
      const json& b = m.body;
      if (!b.value("fallback", false)) {
        Owner w;
        w.uid = b.at("uid").get<std::uint32_t>();
        w.gid = b.at("gid").get<std::uint32_t>();
        w.pid = b.at("pid").get<std::int32_t>();
        w.comm = b.at("comm").get<std::string>();
        w.cgroup = b.at("cgroup").get<std::string>();
        o = w;
      }
    } catch (const std::system_error& e) {
      if (e.code().value() != ENOENT) throw;
      // Closed before we asked: no owner to show (not cached: the id may
      // be reused by a connection we will ask about).
      return std::nullopt;
    }
    owners_.emplace(conn, o);
    return o;
  }

  void close_session() noexcept {
    if (closed_) return;
    try {
      final_ = to_stats(client_.call(ctl::op::kCapClose, {{"capture_id", id_}}).body);
    } catch (const std::exception&) {
      // normand is gone or the session already ended: closing the control
      // connection (the client's destructor) releases it anyway.
    }
    closed_ = true;
  }

 public:
  CaptureStats finish() {
    close_session();
    return final_;
  }

 private:
  ctl::Client client_;
  std::uint32_t snaplen_;
  HostFilter filter_;
  unsigned id_ = 0;
  unsigned log2_ = 0;
  std::size_t slot_bytes_ = rec::kSlotBytes;
  std::size_t bytes_ = 0;
  const std::uint8_t* ring_ = nullptr;
  std::uint32_t cons_ = 0;
  std::uint32_t reported_ = 0;
  std::chrono::steady_clock::time_point last_report_ = std::chrono::steady_clock::now();
  std::uint64_t ref_cycles_ = 0;
  std::int64_t ref_ns_ = 0;
  double ns_per_cycle_ = 4.0;
  std::map<std::uint32_t, std::optional<Owner>> owners_;
  std::atomic<bool> stopped_{false};
  bool closed_ = false;
  CaptureStats final_{};
};

}  // namespace

json cap_open_request(const NicCaptureOptions& opts) {
  json prog = json::array();
  for (const auto& i : opts.program) prog.push_back({i.code, i.jt, i.jf, i.k});
  json req = {{"program", std::move(prog)},
              {"interface", opts.interface},
              {"in", opts.capture_in},
              {"out", opts.capture_out},
              // The NIC takes up to the whole frame for UNSURE records and
              // the snap length for the rest; the host cuts to -s.
              {"snaplen", opts.snaplen}};
  if (opts.uid) req["uid"] = *opts.uid;
  if (opts.pid) req["pid"] = *opts.pid;
  if (opts.comm) req["comm"] = *opts.comm;
  if (opts.cgroup) req["cgroup"] = *opts.cgroup;
  return req;
}

std::unique_ptr<RecordSource> open_nic_capture(const NicCaptureOptions& opts) {
  check_interface(opts.interface);
  if (!opts.capture_in && !opts.capture_out)
    throw std::runtime_error("ndump: -Q: no direction selected");
  if (opts.program.empty())
    throw std::runtime_error("ndump: no filter program (pcap_compile gives one even for \"\")");
  const auto plan = capture::plan_program(opts.program);
  if (!plan.valid) throw std::runtime_error("ndump: " + plan.error);
  std::optional<ctl::Client> client;
  try {
    client.emplace(opts.normand_socket.empty() ? ctl::Client::connect()
                                               : ctl::Client::connect(opts.normand_socket));
  } catch (const std::system_error& e) {
    throw std::runtime_error(std::string("ndump: cannot reach normand: ") + e.what());
  }
  const json req = cap_open_request(opts);
  // EAGAIN: the NIC is still clearing a finished capture's owner bits (a
  // matter of a NIC sweep); other refusals are final.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    try {
      auto m = client->call(ctl::op::kCapOpen, req);
      return std::make_unique<NicSource>(std::move(*client), opts, m);
    } catch (const std::system_error& e) {
      if (e.code().value() == EAGAIN && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      throw std::runtime_error("ndump: " + reply_error(e));
    }
  }
}

CaptureStats nic_capture_stats(RecordSource& source) {
  auto* nic = dynamic_cast<NicSource*>(&source);
  if (nic == nullptr) throw std::logic_error("nic_capture_stats: not a NIC capture source");
  // The session's final figures, and the NIC's slot and ring back at once.
  return nic->finish();
}

}  // namespace norman::ndump

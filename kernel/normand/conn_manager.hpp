// The connection manager: every NIC resource a client holds, from creation
// to teardown. Connections (conn ids 1..65535, conn 0 is the fallback
// bridge's) with their DMA memory, NIC context, flow entry, doorbell page and
// port reservation; notification queues (1..1023, NQ 0 is the bridge's)
// with their memory, interrupt vector (= NQ id) and doorbell page; and each
// client's doorbell channel. When a client goes away, reclaim() releases all
// of it, in the order the NIC needs, and logs what it released.
//
// Closing is asynchronous so that no client can hold normand's thread: a
// closed connection stops receiving (FLOW_DELETE) and sending (its doorbell
// page is revoked) at once, then waits in the "closing" state while the NIC
// sends what the client had already posted (polled with CONN_TX_STATE on a
// timer, a bounded number of connections per turn, at most kSettleLimit),
// and only then is cleared (CONN_CLEAR, which drains anything left) and its
// memory, port and id released. A client's reclaim does no NIC command per
// connection in its own turn: one doorbell channel close, the rest queued.
// A queue whose connections are still closing is kept (cleared later) the
// same way. Without an io_context (unit tests) closing is synchronous.
//
// Single-threaded: called from normand's io_context only. Every refusal is
// a CtlError carrying the errno for the client.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "device.hpp"
#include "flat.hpp"
#include "net_types.hpp"
#include "normand_proto.hpp"
#include "port_registry.hpp"
#include "process_info.hpp"
#include "quota.hpp"
#include "request_args.hpp"

namespace norman::normand {

// What normand tells the NIC about nic0 (and clients in hello).
struct NicInfo {
  Mac mac{};
  Ipv4 ip{};
  unsigned prefix_len = 24;
  unsigned port = 0;  // NIC port number for bypass connections
};

// The directed broadcast address of nic0's subnet (0.0.0.0 for /31 and /32).
Ipv4 subnet_broadcast(const NicInfo& nic);

// A client as normand knows it (one per control connection).
struct ClientIdentity {
  std::uint64_t id = 0;  // normand's session number
  ProcessInfo proc;
  std::uint16_t cmd_id = 0;
  std::uint16_t cgroup_class = 0;
  // "pid 123 (comm) uid 1000 cmd_id 2 cgroup_class 1" for logs.
  [[nodiscard]] std::string describe() const;
};

// A reply's results and the descriptors that go with it, in order.
struct Grant {
  nlohmann::json results = nlohmann::json::object();
  std::vector<std::pair<std::string, nsim::UniqueFd>> fds;
};

// Hands out ids in [lo, hi], round robin: a freed id is reused as late as
// possible (frames of a closed connection still in flight somewhere cannot
// land in a new one that took its id at once).
class IdAllocator {
 public:
  IdAllocator(std::uint32_t lo, std::uint32_t hi);
  std::optional<std::uint32_t> alloc();
  void free(std::uint32_t id);
  [[nodiscard]] bool used(std::uint32_t id) const;
  [[nodiscard]] std::size_t in_use() const { return in_use_; }

 private:
  std::uint32_t lo_, hi_, next_;
  std::vector<bool> used_;
  std::size_t in_use_ = 0;
};

class ConnManager {
 public:
  // Connection and NQ id ranges: ids 0 belong to the fallback bridge.
  static constexpr std::uint32_t kFirstConn = 1;
  static constexpr std::uint32_t kLastConn = regmap::kNumConns - 1;
  static constexpr std::uint32_t kFirstNq = 1;
  static constexpr std::uint32_t kLastNq = regmap::kNumNqs - 1;

  // How long a closed connection may keep sending what was posted before
  // it is cleared anyway, how often closing connections are polled, and how
  // long one timer turn may spend on them (NIC commands; at least one
  // connection per turn, each connection at most once).
  static constexpr std::chrono::milliseconds kSettleLimit{100};
  static constexpr std::chrono::milliseconds kSettlePoll{1};
  static constexpr std::chrono::microseconds kSettleBudget{2000};

  // io: where closing connections are polled; nullptr closes synchronously.
  // quota: where every allocation is charged first (null: no quotas).
  ConnManager(device::Device& dev, const NicInfo& nic, PortRegistry& ports,
              boost::asio::io_context* io = nullptr, quota::Ledger* quota = nullptr);
  // Reclaims whatever is still held (normand shutting down).
  ~ConnManager();
  ConnManager(const ConnManager&) = delete;
  ConnManager& operator=(const ConnManager&) = delete;

  // hello: registers the client and opens its doorbell channel.
  // Results {}, fds ["doorbells"]. EISCONN if it is registered already.
  Grant attach(const ClientIdentity& c);
  [[nodiscard]] bool attached(std::uint64_t client) const { return clients_.contains(client); }

  Grant nq_open(std::uint64_t client, const NqOpenArgs& a);
  void nq_close(std::uint64_t client, std::uint16_t nq_id);
  Grant udp_open(std::uint64_t client, const UdpOpenArgs& a);
  void close(std::uint64_t client, std::uint16_t conn_id);
  // Releases every connection, queue and the doorbell channel of the
  // client and forgets it; logs each release with `reason`. No-op for an
  // unknown client.
  void reclaim(std::uint64_t client, const std::string& reason);

  // {connections: [...], nqs: [...], totals: {...}}: everything for root,
  // only the viewer's own entries otherwise.
  [[nodiscard]] nlohmann::json status(const ProcessInfo& viewer) const;
  [[nodiscard]] std::size_t num_conns() const { return conns_.size(); }
  [[nodiscard]] std::size_t num_nqs() const { return nqs_.size(); }
  // Connections closed but not yet cleared (TX settling).
  [[nodiscard]] std::size_t num_closing() const { return closing_.size(); }

  // The owner of the connection a received frame belongs to (connected
  // before listening), as the NIC attached it; nullopt if none.
  [[nodiscard]] std::optional<filter::OwnerMeta> owner_of_flow(std::uint8_t proto,
                                                               std::uint16_t local_port,
                                                               const Ipv4& remote_ip,
                                                               std::uint16_t remote_port) const;

  // The capture service's view (capture_service.hpp): the owner of a
  // connection (the process of the client that opened it, as the kernel
  // named it), every open connection with its owner, and a call for every
  // connection set up from now on (after CONN_SET, before the client gets
  // it), so owner filters follow connections as they open.
  [[nodiscard]] std::optional<ProcessInfo> owner_of_conn(std::uint16_t conn_id) const;
  void for_each_conn(const std::function<void(std::uint16_t, const ProcessInfo&)>& fn) const;
  void on_conn_open(std::function<void(std::uint16_t, const ProcessInfo&)> fn) {
    on_conn_open_ = std::move(fn);
  }

 private:
  struct Conn {
    std::uint16_t id = 0;
    std::uint64_t client = 0;
    std::uint16_t nq_id = 0;
    bool listen = true, raw = false, notify_tx = false;
    unsigned rx_log2 = 0, tx_log2 = 0;
    ctl::ConnLayout layout;
    device::FlowKey key;
    Endpoint local;
    std::optional<Endpoint> remote;
    device::DmaBuffer mem;
    PortReservation port;
    // What is set up on the device (teardown undoes exactly these).
    bool id_held = false, conn_set = false, flow = false, granted = false;
    bool broadcast = false;
    // Closed, waiting for its TX to settle (no longer its client's).
    bool closing = false;
    std::chrono::steady_clock::time_point close_start, close_deadline;
    std::string close_text;  // conn_text and reason, for the final log line
    bool busy_logged = false;
    quota::Charge charge;  // released with the Conn
  };
  struct Nq {
    std::uint16_t id = 0;
    std::uint64_t client = 0;
    unsigned log2 = 0;
    device::DmaBuffer mem;
    std::set<std::uint16_t> conns;
    bool id_held = false, irq_bound = false, nq_set = false, granted = false;
    // Closed while connections of it were still closing: cleared after them.
    bool closing = false;
    std::string close_text;
    quota::Charge charge;
  };
  struct Client {
    ClientIdentity who;
    std::uint32_t doorbell = 0;
    std::set<std::uint16_t> conns, nqs;
    quota::Charge charge;  // the doorbell channel
  };

  Client& client_of(std::uint64_t client);
  std::string conn_text(const Conn& c) const;
  // Undo whatever `c` has set up, in the NIC's order; never throws (a step
  // that fails is logged and the rest still runs).
  void teardown(Conn& c, std::uint32_t doorbell) noexcept;
  void teardown(Nq& q, std::uint32_t doorbell) noexcept;
  // Closing in steps: stop (flow and doorbells), then, once TX has settled
  // (or kSettleLimit passed), clear and release. finish_close is false if
  // the NIC answered BUSY (TX could not drain yet): try again later.
  void stop_conn(Conn& c, std::uint32_t doorbell) noexcept;
  [[nodiscard]] bool tx_settled(const Conn& c) noexcept;
  bool finish_close(Conn& c) noexcept;
  void forget_conn(std::uint16_t id);
  void arm_settle_timer();
  void poll_closing();
  // Queues the connection for closing (nothing else is done in this turn
  // when `defer_stop`, e.g. reclaim of many); closes it at once if idle.
  void destroy_conn(std::uint16_t id, const std::string& how, bool defer_stop = false);
  void destroy_nq(std::uint16_t id, const std::string& how);
  nlohmann::json conn_json(const Conn& c) const;
  nlohmann::json nq_json(const Nq& q) const;

  // Charges `amounts` to the client (no-op without a ledger); throws CtlError.
  quota::Charge charge(const ProcessInfo& who,
                       std::initializer_list<std::pair<quota::Resource, std::uint64_t>> amounts);

  device::Device& dev_;
  NicInfo nic_;
  PortRegistry& ports_;
  boost::asio::io_context* io_ = nullptr;
  std::optional<boost::asio::steady_timer> settle_timer_;
  bool settle_armed_ = false;
  std::deque<std::uint16_t> closing_;  // round robin of closing connections
  quota::Ledger* quota_;
  IdAllocator conn_ids_{kFirstConn, kLastConn};
  IdAllocator nq_ids_{kFirstNq, kLastNq};
  std::map<std::uint16_t, Conn> conns_;
  std::map<std::uint16_t, Nq> nqs_;
  std::map<std::uint64_t, Client> clients_;
  std::function<void(std::uint16_t, const ProcessInfo&)> on_conn_open_;
};

}  // namespace norman::normand

// The connection manager: every NIC resource a client holds, from creation
// to teardown. Connections (conn ids 1..65535, conn 0 is the fallback
// bridge's) with their DMA memory, NIC context, flow entry, doorbell page and
// port reservation; notification queues (1..1023, NQ 0 is the bridge's)
// with their memory, interrupt vector (= NQ id) and doorbell page; and each
// client's doorbell channel. When a client goes away, reclaim() releases all
// of it, in the order the NIC needs, and logs what it released.
//
// Single-threaded: called from normand's io_context only. Every refusal is
// a CtlError carrying the errno for the client.
#pragma once

#include <chrono>
#include <cstdint>
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

  // `quota`: where every allocation is charged first (null: no quotas).
  ConnManager(device::Device& dev, const NicInfo& nic, PortRegistry& ports,
              quota::Ledger* quota = nullptr);
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

  // The owner of the connection a received frame belongs to (connected
  // before listening), as the NIC attached it; nullopt if none.
  [[nodiscard]] std::optional<filter::OwnerMeta> owner_of_flow(std::uint8_t proto,
                                                               std::uint16_t local_port,
                                                               const Ipv4& remote_ip,
                                                               std::uint16_t remote_port) const;

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
    quota::Charge charge;  // released with the Conn
  };
  struct Nq {
    std::uint16_t id = 0;
    std::uint64_t client = 0;
    unsigned log2 = 0;
    device::DmaBuffer mem;
    std::set<std::uint16_t> conns;
    bool id_held = false, irq_bound = false, nq_set = false, granted = false;
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
  // Waits (bounded) until the NIC has finished TX work it fetched from c's
  // ring: it must not be cleared with TX in flight.
  void settle_tx(const Conn& c) noexcept;
  void destroy_conn(std::uint16_t id, const std::string& how);
  void destroy_nq(std::uint16_t id, const std::string& how);
  nlohmann::json conn_json(const Conn& c) const;
  nlohmann::json nq_json(const Nq& q) const;

  // Charges `amounts` to the client (no-op without a ledger); throws CtlError.
  quota::Charge charge(const ProcessInfo& who,
                       std::initializer_list<std::pair<quota::Resource, std::uint64_t>> amounts);

  device::Device& dev_;
  NicInfo nic_;
  PortRegistry& ports_;
  quota::Ledger* quota_;
  IdAllocator conn_ids_{kFirstConn, kLastConn};
  IdAllocator nq_ids_{kFirstNq, kLastNq};
  std::map<std::uint16_t, Conn> conns_;
  std::map<std::uint16_t, Nq> nqs_;
  std::map<std::uint64_t, Client> clients_;
};

}  // namespace norman::normand

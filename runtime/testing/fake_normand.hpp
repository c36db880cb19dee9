// A fake normand for libnorman's tests and benchmark: it speaks the real
// control protocol (kernel/proto: SOCK_SEQPACKET, JSON, SCM_RIGHTS) on a
// socket in a temporary directory, allocates connection and queue memory in
// memfds exactly as normand lays it out (ctl::conn_layout, ctl::nq_bytes),
// and configures a SoftNic instead of the real NIC.
//
// Policy it enforces (like normand): the first request must be hello; ids a
// client names must be its own (ENOENT); local ports are exclusive per local
// address unless both connections are connected to different remotes
// (EADDRINUSE); ports < 1024 need root (EACCES); ring sizes are range-checked
// (EINVAL); `neigh` answers from a table (EHOSTUNREACH otherwise). A client's
// connections and queues are closed when it disconnects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ctl_socket.hpp"
#include "norman/net.hpp"
#include "soft_nic.hpp"

namespace norman::testing {

struct FakeNormandConfig {
  MacAddr nic_mac{{0x02, 0, 0, 0, 0, 0x02}};
  Ipv4 nic_ip = Ipv4::from_octets(10, 11, 0, 2);
  unsigned prefix_len = 24;
  std::uint64_t build_id = 0;          // 0 = regmap::kBuildId
  std::string doorbell = "nsim-mmio";  // the transport named in hello
  bool allow_privileged_ports = false;
};

class FakeNormand {
 public:
  explicit FakeNormand(SoftNic& nic, FakeNormandConfig cfg = {});
  ~FakeNormand();
  FakeNormand(const FakeNormand&) = delete;
  FakeNormand& operator=(const FakeNormand&) = delete;

  [[nodiscard]] const std::string& socket_path() const { return path_; }
  void add_neighbor(Ipv4 ip, const MacAddr& mac);
  // How long a neigh request for an unknown address waits (for an
  // add_neighbor) before EHOSTUNREACH, as normand waits for ARP. Default 0.
  // The fake serves one request at a time: others wait meanwhile.
  void set_neigh_delay(std::chrono::milliseconds d);
  // The next request with this op fails with err (and message).
  void fail_next(const std::string& op, int err, const std::string& message = "injected failure");

  std::size_t open_conns();
  std::size_t open_nqs();
  std::uint64_t neigh_requests();

 private:
  struct Conn;
  struct Nq;
  struct Client;
  void run();
  void handle(Client& c, ctl::Message& m);
  void close_client(Client& c);

  SoftNic& nic_;
  FakeNormandConfig cfg_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<Ipv4, MacAddr, bool (*)(const Ipv4&, const Ipv4&)> neigh_;
  std::map<std::uint32_t, std::unique_ptr<Conn>> conns_;
  std::map<std::uint32_t, std::unique_ptr<Nq>> nqs_;
  std::map<std::string, std::pair<int, std::string>> fail_;
  std::uint32_t next_conn_ = 1;
  std::uint32_t next_nq_ = 1;
  std::uint16_t next_port_ = 49152;
  std::uint64_t neigh_requests_ = 0;
  std::chrono::milliseconds neigh_delay_{0};
  std::thread thread_;
};

}  // namespace norman::testing

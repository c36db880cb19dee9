// The control socket: a UNIX stream socket, mode 0600 (root-only when nsim
// runs as root). Non-blocking: poll() services whatever is ready and returns.
// When a control connection closes, everything created on it goes with it
// (DMA mappings, MMIO channels of both kinds, interrupt vectors: see
// NsimService::client_closed), and the NIC resets when its driver is gone.
#pragma once

#include <string>
#include <vector>

#include "service.hpp"
#include "unique_fd.hpp"

namespace norman::nsim {

class ControlServer {
 public:
  // Creates the parent directory if needed, refuses to start if another nsim
  // answers on `path`, removes a stale socket file. Throws std::system_error.
  ControlServer(std::string path, NsimService& service);
  ~ControlServer();  // closes clients and unlinks the socket
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Waits up to timeout_us (0: just check) for activity, then accepts
  // connections and handles complete requests. Returns true if it did anything.
  bool poll(long timeout_us);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::size_t num_clients() const { return clients_.size(); }

 private:
  void handle_client(std::size_t idx, bool& drop);

  std::string path_;
  NsimService& service_;
  UniqueFd listen_;
  struct Client {
    UniqueFd fd;
    std::uint64_t id;
  };
  std::vector<Client> clients_;
  std::uint64_t next_client_ = 1;
};

}  // namespace norman::nsim

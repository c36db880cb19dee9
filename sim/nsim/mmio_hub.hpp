// Server side of the MMIO channels: polls each channel's request ring,
// checks every access against the channel's rights, and queues the allowed
// ones for the core's CSR port. Read responses travel back in order.
//
// Privileged channels may touch the whole CSR address space; app channels
// only their granted doorbell pages. A refused write is counted and dropped;
// a refused read is answered at once with all ones (status kRefused).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

#include "nsim_proto.hpp"
#include "unique_fd.hpp"

namespace norman::nsim {

struct MmioHubStats {
  std::uint64_t reads = 0;          // reads forwarded to the core
  std::uint64_t writes = 0;         // writes forwarded to the core
  std::uint64_t refused_reads = 0;
  std::uint64_t refused_writes = 0;
  std::uint64_t timeouts = 0;       // reads the core did not answer within the timeout
  std::uint64_t late_responses = 0; // answers that arrived after their timeout
  std::uint64_t lost_responses = 0; // timed-out reads forgotten to make room
  std::uint64_t unexpected_responses = 0;
  std::uint64_t corrupt_channels = 0;  // closed because the client broke the ring
};

struct CsrRequest {
  std::uint32_t addr;
  std::uint64_t data;
  bool write;
  std::uint32_t channel;
  std::uint32_t seq;
};

class MmioHub {
 public:
  // csr_addr_bits: width of the core's CSR address; timeout in cycles.
  explicit MmioHub(unsigned csr_addr_bits = 32, std::uint64_t read_timeout_cycles = 100000,
                   std::size_t max_channels = 1024);
  ~MmioHub();
  MmioHub(const MmioHub&) = delete;
  MmioHub& operator=(const MmioHub&) = delete;

  struct Opened {
    std::uint32_t id;
    UniqueFd fd;  // the channel's memfd, to hand to the client
  };
  // Returns 0 or a positive errno (why set).
  int open(proto::ChannelKind kind, std::span<const std::uint64_t> pages, Opened& out, std::string& why);
  int grant(std::uint32_t id, std::span<const std::uint64_t> pages, std::string& why);
  int revoke(std::uint32_t id, std::span<const std::uint64_t> pages, std::string& why);
  int close(std::uint32_t id);

  // Pulls new requests from the channels into the CSR queue (bounded).
  // Returns true if anything was pulled.
  bool poll(std::uint64_t now);

  // CSR port side.
  [[nodiscard]] bool csr_pending() const { return !queue_.empty() && can_issue_front(); }
  [[nodiscard]] const CsrRequest& csr_front() const { return queue_.front(); }
  // The core accepted csr_front() at cycle `now`.
  void csr_accepted(std::uint64_t now);
  // The core answered the oldest outstanding read.
  void csr_response(std::uint64_t data);
  // Times out reads the core has not answered.
  void tick(std::uint64_t now);
  // The core was reset: reads it had accepted will never be answered, so
  // they are answered now with all ones (status kTimeout). Queued requests
  // stay queued for the reset core.
  void core_reset();

  // Nothing queued and no read waiting for the core.
  [[nodiscard]] bool idle() const { return queue_.empty() && outstanding_active_ == 0; }
  [[nodiscard]] std::size_t num_channels() const { return channels_.size(); }
  [[nodiscard]] const MmioHubStats& stats() const { return stats_; }

  // Does `kind`/`pages` allow an access to addr (exposed for tests).
  static bool page_grantable(std::uint64_t page);

 private:
  struct Channel {
    std::uint32_t id;
    proto::ChannelKind kind;
    UniqueFd fd;
    proto::MmioChannelShm* shm;
    std::set<std::uint64_t> pages;  // page numbers (addr / kPageBytes)
  };
  struct Outstanding {
    std::uint32_t channel;
    std::uint32_t seq;
    std::uint64_t issued;
    bool timed_out;
  };

  bool allowed(const Channel& c, std::uint64_t addr) const;
  void respond(Channel& c, std::uint32_t seq, std::uint64_t data, proto::MmioStatus st);
  void close_channel(std::map<std::uint32_t, Channel>::iterator it);
  bool can_issue_front() const;

  unsigned csr_addr_bits_;
  std::uint64_t timeout_;
  std::size_t max_channels_;
  std::uint32_t next_id_ = 1;
  std::map<std::uint32_t, Channel> channels_;
  std::uint32_t rr_next_ = 0;           // round-robin start (channel id)
  std::deque<CsrRequest> queue_;        // to the core
  std::deque<Outstanding> outstanding_; // reads issued to the core, in order
  std::size_t outstanding_active_ = 0;  // not timed out
  MmioHubStats stats_;
};

}  // namespace norman::nsim

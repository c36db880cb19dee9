// LOG for nfw: the NIC writes a record (header summary, owner, rule slot)
// into the LOG ring for every LOG verdict, rate limited by a token bucket in
// the NIC; normand reads the ring periodically and writes one line per
// record to its log, in the kernel LOG target's words:
//   nfw: <log-prefix>IN=nic0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60 PROTO=UDP
//        SPT=4000 DPT=5432 UID=1000 GID=1000 CMD=postgres
// Records the NIC could not write (rate, ring full) are counted by the NIC
// and reported in the next record's DROPPED field.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "device.hpp"
#include "norman/regmap.hpp"

namespace norman::normand {

struct LogRecord {
  bool output = false;  // DIR
  unsigned port = 0;
  std::uint8_t proto = 0;
  std::uint16_t flags = 0;  // the filter key's flag bits
  std::uint16_t slot = 0;
  std::uint16_t bytes = 0;
  std::uint32_t src = 0, dst = 0;  // host order
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t uid = 0, gid = 0;
  std::uint16_t cmd_id = 0, cgroup = 0;
  std::uint64_t cycle = 0;
  std::uint32_t dropped = 0;
};

// Decodes one 64-byte record (regmap FILTER_LOG).
LogRecord decode_log_record(const std::uint8_t* record);

// The kernel LOG target's line for a record ("IN=... OUT=... SRC=..."),
// without prefix; cmd is the owner's command name (empty: none).
std::string log_line(const LogRecord& r, const std::string& cmd);

class FilterLog {
 public:
  // Describes a record: the --log-prefix of the LOG rule(s) that slot's
  // entry went through, and the owner's command name.
  using Describe = std::function<std::string(const LogRecord&)>;

  // Allocates the ring, programs LOG_BASE/LOG_CFG/LOG_RATE (records_per_second
  // at the NIC's clock, burst records at once) and starts polling.
  FilterLog(boost::asio::io_context& io, device::Device& dev, unsigned records_per_second,
            unsigned burst, Describe describe);
  ~FilterLog();
  FilterLog(const FilterLog&) = delete;
  FilterLog& operator=(const FilterLog&) = delete;

  [[nodiscard]] std::uint64_t records() const { return records_; }

 private:
  void poll();
  void arm();

  device::Device& dev_;
  device::DmaBuffer ring_;
  boost::asio::steady_timer timer_;
  Describe describe_;
  std::uint32_t cons_ = 0;
  std::uint64_t records_ = 0;
  static constexpr unsigned kLog2 = 10;
};

}  // namespace norman::normand

// Request decoding: the arguments of each op (normand_proto.hpp), checked
// for type and range before anything is touched. Every failure throws
// CtlError(EINVAL) naming the bad argument; unknown arguments are refused
// too, so a misspelt option is an error rather than a silent default.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "net_types.hpp"
#include "normand_proto.hpp"
#include "port_registry.hpp"

namespace norman::normand {

struct HelloArgs {
  int version = 0;
};

struct NqOpenArgs {
  unsigned log2 = ctl::kDefaultNqLog2;
};

struct UdpOpenArgs {
  std::uint16_t nq_id = 0;
  std::optional<Ipv4> local_ip;    // absent or 0.0.0.0: nic0's address
  std::uint16_t local_port = 0;    // 0: ephemeral
  std::optional<Endpoint> remote;  // absent: listening
  unsigned rx_log2 = ctl::kDefaultRxLog2;
  unsigned tx_log2 = ctl::kDefaultTxLog2;
  bool notify_tx = false;
  bool raw = false;
  bool broadcast = false;  // SO_BROADCAST: may send to broadcast addresses
};

// "seq" (an unsigned integer); the reply echoes it.
std::uint64_t request_seq(const nlohmann::json& req);
// "op" (a string).
std::string request_op(const nlohmann::json& req);

HelloArgs parse_hello(const nlohmann::json& req);
NqOpenArgs parse_nq_open(const nlohmann::json& req);
UdpOpenArgs parse_udp_open(const nlohmann::json& req);
// nq_close {nq_id} / close {conn_id}: the id (0..65535; ownership is checked later).
std::uint16_t parse_nq_close(const nlohmann::json& req);
std::uint16_t parse_close(const nlohmann::json& req);
Ipv4 parse_neigh(const nlohmann::json& req);
void parse_status(const nlohmann::json& req);

}  // namespace norman::normand

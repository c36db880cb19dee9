// AF_UNIX SOCK_SEQPACKET for Boost.Asio. Boost >= 1.81 ships
// boost::asio::local::seq_packet_protocol; Debian's 1.74 does not, so this is
// the same protocol class (the Protocol requirements: family, type,
// protocol, and the endpoint/socket/acceptor types built on it).
#pragma once

#include <sys/socket.h>

#include <boost/asio/basic_seq_packet_socket.hpp>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/local/basic_endpoint.hpp>

namespace norman::normand {

class SeqPacketProtocol {
 public:
  [[nodiscard]] int type() const noexcept { return SOCK_SEQPACKET; }
  [[nodiscard]] int protocol() const noexcept { return 0; }
  [[nodiscard]] int family() const noexcept { return AF_UNIX; }

  using endpoint = boost::asio::local::basic_endpoint<SeqPacketProtocol>;
  using socket = boost::asio::basic_seq_packet_socket<SeqPacketProtocol>;
  using acceptor = boost::asio::basic_socket_acceptor<SeqPacketProtocol>;
};

}  // namespace norman::normand

// The NIC port behind nic0 follows nic0's link settings, as a NIC driver's
// would: at start the port gets nic0's MAC (RX then accepts only frames to
// it, broadcast and multicast) and its subnet's broadcast address (which
// connections may send to only with broadcast permission); afterwards
// nic0's IFF_PROMISC (`ip link set nic0 promisc on`, or a packet socket in
// promiscuous mode) is mirrored to the port's PROMISC bit, from rtnetlink
// link notifications. Multicast: the NIC accepts every group (as
// IFF_ALLMULTI) and the host kernel filters, so nic0's group list needs no
// mirroring.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <vector>

#include "net_types.hpp"
#include "nic_device.hpp"

struct mnl_socket;

namespace norman::normand {

class LinkWatch {
 public:
  // Programs the port now; throws std::system_error if netlink is unusable.
  LinkWatch(boost::asio::io_context& io, device::NicDevice& nic, unsigned port, int ifindex,
            const Mac& mac, const Ipv4& broadcast);
  ~LinkWatch();
  LinkWatch(const LinkWatch&) = delete;
  LinkWatch& operator=(const LinkWatch&) = delete;

  [[nodiscard]] bool promisc() const { return promisc_; }

 private:
  void read_next();
  void on_link(bool promisc);
  static bool read_promisc(int ifindex);

  device::NicDevice& nic_;
  unsigned port_;
  int ifindex_;
  Mac mac_;
  bool promisc_ = false;
  mnl_socket* nl_ = nullptr;
  boost::asio::posix::stream_descriptor sock_;
  std::vector<char> buf_;
};

}  // namespace norman::normand

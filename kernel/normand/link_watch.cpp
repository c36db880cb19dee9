#include "link_watch.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "log.hpp"

namespace norman::normand {

namespace asio = boost::asio;

LinkWatch::LinkWatch(asio::io_context& io, device::NicDevice& nic, unsigned port, int ifindex,
                     const Mac& mac, const Ipv4& broadcast)
    : nic_(nic),
      port_(port),
      ifindex_(ifindex),
      mac_(mac),
      sock_(io),
      buf_(MNL_SOCKET_BUFFER_SIZE) {
  nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (nl_ == nullptr)
    throw std::system_error(errno, std::generic_category(), "link watch: netlink socket");
  if (mnl_socket_bind(nl_, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(nl_);
    throw std::system_error(err, std::generic_category(), "link watch: bind netlink socket");
  }
  // Subscribed before reading the flags: a change in between is not lost.
  promisc_ = read_promisc(ifindex_);
  std::uint32_t bcast = 0;
  for (auto b : broadcast) bcast = (bcast << 8) | b;
  nic_.set_port_broadcast(port_, bcast);
  nic_.set_port_mac(port_, mac_, promisc_);
  log::info("NIC port " + std::to_string(port_) + ": MAC " + to_string(mac_) + ", broadcast " +
            to_string(broadcast) + (promisc_ ? ", promiscuous" : ""));
  sock_.assign(::dup(mnl_socket_get_fd(nl_)));
  read_next();
}

LinkWatch::~LinkWatch() {
  boost::system::error_code ec;
  sock_.close(ec);
  mnl_socket_close(nl_);
}

bool LinkWatch::read_promisc(int ifindex) {
  ifreq ifr{};
  if (::if_indextoname(static_cast<unsigned>(ifindex), ifr.ifr_name) == nullptr) return false;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  ::close(fd);
  return ok && (ifr.ifr_flags & IFF_PROMISC) != 0;
}

void LinkWatch::read_next() {
  sock_.async_wait(
      asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec) return;  // closed: normand is shutting down
        for (;;) {
          const ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
          if (n < 0) {
            if (errno == ENOBUFS) {
              // Notifications were lost: read the flags directly.
              on_link(read_promisc(ifindex_));
              continue;
            }
            break;  // EAGAIN: drained
          }
          int len = static_cast<int>(n);
          for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data()); mnl_nlmsg_ok(nlh, len);
               nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_type != RTM_NEWLINK) continue;
            const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
            if (ifi->ifi_index == ifindex_) on_link((ifi->ifi_flags & IFF_PROMISC) != 0);
          }
        }
        read_next();
      });
}

void LinkWatch::on_link(bool promisc) {
  if (promisc == promisc_) return;
  try {
    nic_.set_port_promisc(port_, promisc);
    promisc_ = promisc;
    log::info("NIC port " + std::to_string(port_) + ": promiscuous mode " +
              (promisc ? "on" : "off") + " (nic0's IFF_PROMISC)");
  } catch (const std::exception& e) {
    log::error("NIC port " + std::to_string(port_) + ": cannot set promiscuous mode: " + e.what());
  }
}

}  // namespace norman::normand

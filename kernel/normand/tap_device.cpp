#include "tap_device.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace norman::normand {

namespace {

[[noreturn]] void fail(int err, const TapConfig& cfg, const std::string& step) {
  throw std::system_error(err, std::generic_category(), "TAP device " + cfg.name + ": " + step);
}

ifreq make_ifreq(const std::string& name) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size() + 1);  // size checked by create()
  return ifr;
}

void set_ipv4(sockaddr& sa, const Ipv4& a) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  std::memcpy(&sin.sin_addr, a.data(), 4);
  std::memcpy(&sa, &sin, sizeof sin);
}

Ipv4 netmask(unsigned prefix_len) {
  Ipv4 m{};
  for (unsigned i = 0; i < 32 && i < prefix_len; ++i)
    m[i / 8] |= static_cast<std::uint8_t>(0x80U >> (i % 8));
  return m;
}

// Runs one interface ioctl on the control socket; throws naming `step`.
void if_ioctl(int sock, unsigned long req, ifreq& ifr, const TapConfig& cfg,
              const std::string& step) {
  if (::ioctl(sock, req, &ifr) < 0) fail(errno, cfg, step);
}

}  // namespace

TapDevice TapDevice::create(const TapConfig& cfg) {
  if (cfg.name.empty() || cfg.name.size() >= IFNAMSIZ || cfg.name.find('%') != std::string::npos) {
    fail(EINVAL, cfg,
         "bad interface name (1.." + std::to_string(IFNAMSIZ - 1) + " characters, no '%')");
  }
  if (cfg.prefix_len > 32)
    fail(EINVAL, cfg, "prefix length " + std::to_string(cfg.prefix_len) + " > 32");
  // TUNSETIFF would attach to an existing TAP of that name (or fail with
  // EINVAL for other kinds); we only ever want a fresh one.
  if (::if_nametoindex(cfg.name.c_str()) != 0)
    fail(EEXIST, cfg, "an interface of that name already exists");

  TapDevice tap;
  tap.cfg_ = cfg;
  tap.fd_.reset(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tap.fd_) fail(errno, cfg, "open /dev/net/tun");

  ifreq ifr = make_ifreq(cfg.name);
  // IFF_TUN_EXCL: refuse, rather than share, a device created meanwhile.
  ifr.ifr_flags =
      static_cast<short>(static_cast<unsigned short>(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL));
  if (::ioctl(tap.fd_.get(), TUNSETIFF, &ifr) < 0) {
    const int err = errno == EBUSY ? EEXIST : errno;
    fail(err, cfg, "TUNSETIFF (create the TAP device)");
  }

  // The remaining settings go through an ordinary socket, like ip(8)/ifconfig.
  const nsim::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) fail(errno, cfg, "socket for interface ioctls");

  ifr = make_ifreq(cfg.name);
  if_ioctl(sock.get(), SIOCGIFINDEX, ifr, cfg, "SIOCGIFINDEX (get ifindex)");
  tap.ifindex_ = ifr.ifr_ifindex;

  ifr = make_ifreq(cfg.name);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  std::memcpy(ifr.ifr_hwaddr.sa_data, cfg.mac.data(), cfg.mac.size());
  if_ioctl(sock.get(), SIOCSIFHWADDR, ifr, cfg,
           "SIOCSIFHWADDR (set MAC " + to_string(cfg.mac) + ")");

  ifr = make_ifreq(cfg.name);
  ifr.ifr_mtu = static_cast<int>(cfg.mtu);
  if_ioctl(sock.get(), SIOCSIFMTU, ifr, cfg,
           "SIOCSIFMTU (set MTU " + std::to_string(cfg.mtu) + ")");

  // Address first (the kernel gives it a classful mask), then the real mask;
  // the device is still down, so no route for the classful prefix appears.
  ifr = make_ifreq(cfg.name);
  set_ipv4(ifr.ifr_addr, cfg.ip);
  if_ioctl(sock.get(), SIOCSIFADDR, ifr, cfg,
           "SIOCSIFADDR (set address " + to_string(cfg.ip) + ")");
  ifr = make_ifreq(cfg.name);
  set_ipv4(ifr.ifr_netmask, netmask(cfg.prefix_len));
  if_ioctl(sock.get(), SIOCSIFNETMASK, ifr, cfg,
           "SIOCSIFNETMASK (set prefix /" + std::to_string(cfg.prefix_len) + ")");

  ifr = make_ifreq(cfg.name);
  if_ioctl(sock.get(), SIOCGIFFLAGS, ifr, cfg, "SIOCGIFFLAGS");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if_ioctl(sock.get(), SIOCSIFFLAGS, ifr, cfg, "SIOCSIFFLAGS (bring the interface up)");
  return tap;
}

}  // namespace norman::normand

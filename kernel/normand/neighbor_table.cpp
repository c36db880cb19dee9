#include "neighbor_table.hpp"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

namespace norman::normand {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(2);
constexpr auto kResolicitInterval = std::chrono::milliseconds(200);
// Neighbor states in which the kernel itself would transmit to the entry's MAC.
constexpr unsigned kUsableStates =
    NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
}  // namespace

struct NeighborTable::Impl {
  // One async_resolve in progress.
  struct Resolve {
    Resolve(asio::io_context& io, const Ipv4& a) : ip(a), timer(io) {}
    Ipv4 ip;
    asio::steady_timer timer;
    Clock::time_point deadline, next_solicit;
    std::function<void(std::error_code, Mac)> handler;
  };

  Impl(asio::io_context& ctx, int idx, const Ipv4& ip, unsigned len)
      : io(ctx), ifindex(idx), local_ip(ip), prefix_len(len) {
    nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (nl == nullptr)
      throw std::system_error(errno, std::generic_category(), "neighbor table: netlink socket");
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      const int err = errno;
      mnl_socket_close(nl);
      throw std::system_error(err, std::generic_category(), "neighbor table: bind netlink socket");
    }
    portid = mnl_socket_get_portid(nl);
    // The kernel answers rtnetlink requests synchronously; the timeout only
    // guards against a reply that never comes (it would stall the io_context).
    timeval tv{1, 0};
    mnl_socket_setsockopt(nl, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Impl() {
    for (const auto& r : pending) r->timer.cancel();
    mnl_socket_close(nl);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Starts a request of `type` for ip on nic0 in buf; returns the header.
  nlmsghdr* start(std::uint16_t type, std::uint16_t flags, const Ipv4& ip, std::uint8_t ndm_flags) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    nlh->nlmsg_seq = ++seq;
    auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    ndm->ndm_family = AF_INET;
    ndm->ndm_ifindex = ifindex;
    ndm->ndm_flags = ndm_flags;
    mnl_attr_put(nlh, NDA_DST, ip.size(), ip.data());
    return nlh;
  }

  // Sends the request in buf and reads until its answer: an RTM_NEWNEIGH
  // (parsed into `out`) or an error/ack. Returns 0 or a positive errno.
  int transact(const nlmsghdr* req, std::optional<Mac>* out) {
    const unsigned want = req->nlmsg_seq;
    if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) return errno;
    for (;;) {
      const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
      if (n < 0) return errno == EAGAIN ? ETIMEDOUT : errno;
      int len = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        // Leftovers of an earlier request (e.g. after a timeout) are skipped.
        if (nlh->nlmsg_seq != want || nlh->nlmsg_pid != portid) continue;
        if (nlh->nlmsg_type == NLMSG_ERROR) {
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
          return -e->error;
        }
        if (nlh->nlmsg_type == RTM_NEWNEIGH && out != nullptr) *out = parse(nlh);
        return 0;
      }
    }
  }

  // The MAC of a usable entry on nic0, else nullopt.
  std::optional<Mac> parse(const nlmsghdr* nlh) const {
    const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
    if (ndm->ndm_ifindex != ifindex || (ndm->ndm_state & kUsableStates) == 0) return std::nullopt;
    std::array<const nlattr*, NDA_MAX + 1> tb{};
    mnl_attr_parse(
        nlh, sizeof(ndmsg),
        [](const nlattr* a, void* data) {
          auto& t = *static_cast<std::array<const nlattr*, NDA_MAX + 1>*>(data);
          if (mnl_attr_type_valid(a, NDA_MAX) > 0) t[mnl_attr_get_type(a)] = a;
          return MNL_CB_OK;
        },
        &tb);
    if (tb[NDA_LLADDR] == nullptr || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6)
      return std::nullopt;
    Mac m{};
    std::memcpy(m.data(), mnl_attr_get_payload(tb[NDA_LLADDR]), m.size());
    return m;
  }

  void poll(const std::shared_ptr<Resolve>& r) {
    r->timer.expires_after(kPollInterval);
    r->timer.async_wait([this, r](const boost::system::error_code& ec) {
      if (ec) {  // the table is gone: do not touch `this`
        r->handler(std::make_error_code(std::errc::operation_canceled), Mac{});
        return;
      }
      std::optional<Mac> mac;
      std::error_code err;
      try {
        mac = lookup(r->ip);
        const auto now = Clock::now();
        if (!mac && now >= r->deadline) {
          err = std::make_error_code(std::errc::host_unreachable);
        } else if (!mac && now >= r->next_solicit) {
          // The kernel gives up after its own probes (FAILED); ask again.
          solicit(r->ip);
          r->next_solicit = now + kResolicitInterval;
        }
      } catch (const std::system_error& e) {
        err = e.code();
      }
      if (!mac && !err) return poll(r);
      pending.erase(r);
      r->handler(err, mac.value_or(Mac{}));
    });
  }

  std::optional<Mac> lookup(const Ipv4& ip) {
    // A targeted RTM_GETNEIGH (no dump): the kernel answers ENOENT if absent.
    const nlmsghdr* req = start(RTM_GETNEIGH, 0, ip, 0);
    std::optional<Mac> mac;
    const int err = transact(req, &mac);
    if (err == ENOENT) return std::nullopt;
    if (err != 0) {
      throw std::system_error(err, std::generic_category(),
                              "neighbor table: RTM_GETNEIGH " + to_string(ip));
    }
    return mac;
  }

  void solicit(const Ipv4& ip) {
    // NTF_USE: the kernel treats it like a packet waiting for the entry
    // (neigh_event_send), creating it if needed and sending ARP requests.
    const nlmsghdr* req = start(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_ACK, ip, NTF_USE);
    const int err = transact(req, nullptr);
    if (err != 0) {
      throw std::system_error(err, std::generic_category(),
                              "neighbor table: RTM_NEWNEIGH (NTF_USE) " + to_string(ip));
    }
  }

  asio::io_context& io;
  int ifindex;
  Ipv4 local_ip;
  unsigned prefix_len;
  mnl_socket* nl = nullptr;
  unsigned portid = 0;
  unsigned seq = 0;
  std::array<char, 8192> buf{};
  std::set<std::shared_ptr<Resolve>> pending;
};

NeighborTable::NeighborTable(asio::io_context& io, int ifindex, Ipv4 local_ip, unsigned prefix_len)
    : impl_(new Impl(io, ifindex, local_ip, prefix_len)) {}

NeighborTable::~NeighborTable() { delete impl_; }

std::optional<Mac> NeighborTable::lookup(const Ipv4& ip) { return impl_->lookup(ip); }

void NeighborTable::solicit(const Ipv4& ip) { impl_->solicit(ip); }

void NeighborTable::async_resolve(const Ipv4& ip, std::chrono::milliseconds timeout,
                                  std::function<void(std::error_code, Mac)> handler) {
  auto finish = [this, &handler](std::error_code ec, Mac mac) {
    asio::post(impl_->io, [h = std::move(handler), ec, mac] { h(ec, mac); });
  };
  if (!same_subnet(ip, impl_->local_ip, impl_->prefix_len)) {
    return finish(std::make_error_code(std::errc::network_unreachable), Mac{});
  }
  try {
    if (auto mac = impl_->lookup(ip)) return finish({}, *mac);
    impl_->solicit(ip);
  } catch (const std::system_error& e) {
    return finish(e.code(), Mac{});
  }
  auto r = std::make_shared<Impl::Resolve>(impl_->io, ip);
  r->handler = std::move(handler);
  r->deadline = Clock::now() + timeout;
  r->next_solicit = Clock::now() + kResolicitInterval;
  impl_->pending.insert(r);
  impl_->poll(r);
}

}  // namespace norman::normand

// Boost.Asio integration: asynchronous receive and send on libnorman
// sockets, driven by an io_context.
//
//   boost::asio::io_context io;
//   norman::asio::Service svc(io);
//   std::array<std::uint8_t, 2048> buf;
//   norman::Endpoint from;
//   svc.async_receive(*sock, boost::asio::buffer(buf), from,
//                     [&](std::error_code ec, std::size_t n) { ... });
//   io.run();
//
// How it works: for every NotifyQueue with pending operations, the Service
// arms the queue's interrupt (arm-then-recheck) and waits for its eventfd
// with posix::stream_descriptor::async_wait; on wake-up it drains the queue
// and completes the operations of the sockets named there. While idle
// nothing polls: the io_context sleeps in epoll. An operation that can
// complete at once (a datagram is waiting, the TX ring has room) completes
// without waiting, but its handler is never invoked from inside the
// initiating call (it is posted, as Asio requires).
//
// Handlers: void(std::error_code ec, std::size_t bytes). ec is empty on
// success; std::errc::operation_canceled style errors use
// boost::asio::error::operation_aborted's value (ECANCELED) when cancelled;
// send errors carry the errno libnorman would have thrown (EMSGSIZE,
// EDESTADDRREQ, EHOSTUNREACH...). A receive into a too-small buffer
// completes with the bytes copied (the rest is lost), like Asio's UDP.
// Completion tokens (use_future, use_awaitable, ...) work via async_initiate.
//
// normand going away (exit, SIGKILL, lost NIC) completes every pending
// operation with ENETDOWN: while operations wait, the Service also watches
// the session's control connection for hangup. Later operations on the dead
// session complete with ENETDOWN at once; reconnect with a new Runtime.
//
// A full TX ring: sockets opened with notify_tx wait for the NIC's TX_DONE
// notification; others retry on a 50 us timer while a send is pending.
//
// Threading: a Service, its sockets and their queues are used from the one
// thread running the io_context (or a strand). Do not also call
// NotifyQueue::wait on a queue a Service drives, and cancel() a socket's
// operations before destroying it.
#pragma once

#include <unistd.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <memory>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "norman/notify_queue.hpp"
#include "norman/udp_socket.hpp"

namespace norman::asio {

namespace detail {

// A move-only type-erased completion void(std::error_code, std::size_t).
class Completion {
  struct Base {
    virtual ~Base() = default;
    virtual void invoke(std::error_code ec, std::size_t n) = 0;
  };
  template <typename F>
  struct Impl final : Base {
    explicit Impl(F&& f_) : f(std::move(f_)) {}
    void invoke(std::error_code ec, std::size_t n) override { f(ec, n); }
    F f;
  };

 public:
  Completion() = default;
  template <typename F>
  explicit Completion(F f) : p_(std::make_unique<Impl<F>>(std::move(f))) {}
  void operator()(std::error_code ec, std::size_t n) {
    auto p = std::move(p_);
    if (p) p->invoke(ec, n);
  }

 private:
  std::unique_ptr<Base> p_;
};

struct RecvOp {
  boost::asio::mutable_buffer buf;
  Endpoint* from;
  Completion done;
};
struct SendOp {
  boost::asio::const_buffer buf;
  Endpoint to;  // unspecified = the connected peer
  Completion done;
};
struct SocketOps {
  std::deque<RecvOp> recv;
  std::deque<SendOp> send;
};

inline std::error_code aborted() { return std::error_code(ECANCELED, std::generic_category()); }

// Drives one NotifyQueue from an io_context.
class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(boost::asio::io_context& io, std::shared_ptr<NotifyQueue> nq)
      : io_(io), nq_(std::move(nq)), sd_(io), ctl_(io), timer_(io), events_(64) {
    const int fd = ::dup(nq_->fd());
    if (fd < 0)
      throw std::system_error(errno, std::generic_category(),
                              "norman::asio: dup of the queue's eventfd");
    sd_.assign(fd);
    const int cfd = ::dup(nq_->session_fd());
    if (cfd < 0)
      throw std::system_error(errno, std::generic_category(),
                              "norman::asio: dup of the control connection");
    ctl_.assign(cfd);
  }

  void add_recv(UdpSocket& s, RecvOp op) {
    if (nq_->session_lost()) return post_lost(std::move(op.done));
    ops_[&s].recv.push_back(std::move(op));
    service(&s);
    pump();
  }
  void add_send(UdpSocket& s, SendOp op) {
    if (nq_->session_lost()) return post_lost(std::move(op.done));
    ops_[&s].send.push_back(std::move(op));
    service(&s);
    pump();
  }

  void cancel(UdpSocket* s) {
    auto it = ops_.find(s);
    if (it == ops_.end()) return;
    SocketOps o = std::move(it->second);
    ops_.erase(it);
    for (auto& op : o.recv) op.done(aborted(), 0);
    for (auto& op : o.send) op.done(aborted(), 0);
    if (ops_.empty()) unwatch_session();
  }

  void close() {
    closed_ = true;
    boost::system::error_code ignored;
    sd_.cancel(ignored);
    ctl_.cancel(ignored);
    timer_.cancel();
    std::vector<UdpSocket*> all;
    for (auto& [s, o] : ops_) all.push_back(s);
    for (UdpSocket* s : all) cancel(s);
  }

 private:
  // Completes what can complete now on socket s.
  void service(UdpSocket* s) {
    auto it = ops_.find(s);
    if (it == ops_.end()) return;
    SocketOps& o = it->second;
    while (!o.recv.empty()) {
      RecvOp& op = o.recv.front();
      std::optional<RecvResult> r;
      std::error_code ec;
      try {
        r = s->try_recv(
            std::span<std::uint8_t>(static_cast<std::uint8_t*>(op.buf.data()), op.buf.size()));
      } catch (const std::system_error& e) {
        ec = e.code();
      }
      if (!r && !ec) break;
      if (r && op.from != nullptr) *op.from = r->from;
      Completion done = std::move(op.done);
      o.recv.pop_front();
      done(ec, r ? r->len : 0);
    }
    while (!o.send.empty()) {
      SendOp& op = o.send.front();
      if (s->tx_ring().free_slots() == 0) {
        s->poll_tx();
        if (s->tx_ring().free_slots() == 0) break;  // ring full: wait
      }
      std::error_code ec;
      try {
        const std::span<const std::uint8_t> p(static_cast<const std::uint8_t*>(op.buf.data()),
                                              op.buf.size());
        const bool ok = op.to.is_unspecified() ? s->try_send(p) : s->try_send_to(p, op.to);
        if (!ok) break;
      } catch (const std::system_error& e) {
        ec = e.code();
      }
      const std::size_t n = ec ? 0 : op.buf.size();
      Completion done = std::move(op.done);
      o.send.pop_front();
      done(ec, n);
    }
    if (o.recv.empty() && o.send.empty()) ops_.erase(it);
  }

  static void post_lost(Completion done) {
    done(std::error_code(ENETDOWN, std::generic_category()), 0);  // posted by make_completion
  }
  // Completes every pending operation with `ec` (normand went away).
  void fail_all(std::error_code ec) {
    auto all = std::move(ops_);
    ops_.clear();
    boost::system::error_code ignored;  // nothing is left to wait for
    sd_.cancel(ignored);
    timer_.cancel();
    for (auto& [s, o] : all) {
      for (auto& op : o.recv) op.done(ec, 0);
      for (auto& op : o.send) op.done(ec, 0);
    }
  }
  // While operations wait: the control connection's hangup fails them all.
  void watch_session() {
    if (ctl_waiting_) return;
    ctl_waiting_ = true;
    ctl_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [self = shared_from_this()](const boost::system::error_code& ec) {
                      self->ctl_waiting_ = false;
                      if (ec || self->closed_) return;
                      try {
                        self->nq_->check_session();
                      } catch (const std::system_error& e) {
                        self->fail_all(e.code());
                        return;
                      }
                      if (!self->ops_.empty()) self->watch_session();
                    });
  }
  void unwatch_session() {
    boost::system::error_code ignored;
    if (ctl_waiting_) ctl_.cancel(ignored);
  }

  void pump() {
    if (closed_) return;
    for (;;) {
      const std::size_t n = nq_->poll(events_);
      for (std::size_t i = 0; i < n; ++i) service(events_[i].socket);
      if (n < events_.size()) break;
    }
    bool need_irq = false;
    bool need_timer = false;
    for (auto& [s, o] : ops_) {
      if (!o.recv.empty()) need_irq = true;
      if (!o.send.empty()) (s->notify_tx() ? need_irq : need_timer) = true;
    }
    if (need_irq || need_timer) {
      watch_session();
    } else {
      unwatch_session();  // nothing waits: let io_context::run() return
    }
    auto self = shared_from_this();
    if (need_timer && !timer_armed_) {
      timer_armed_ = true;
      timer_.expires_after(std::chrono::microseconds(50));
      timer_.async_wait([self](const boost::system::error_code& ec) {
        self->timer_armed_ = false;
        if (ec || self->closed_) return;
        std::vector<UdpSocket*> senders;
        for (auto& [s, o] : self->ops_) {
          if (!o.send.empty()) senders.push_back(s);
        }
        for (UdpSocket* s : senders) self->service(s);
        self->pump();
      });
    }
    if (need_irq && !waiting_) {
      if (!nq_->arm()) {  // news already pending: look again soon, without sleeping
        boost::asio::post(io_, [self] { self->pump(); });
        return;
      }
      waiting_ = true;
      sd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [self](const boost::system::error_code& ec) {
                       self->waiting_ = false;
                       if (ec || self->closed_) return;
                       self->nq_->clear_irq();
                       self->pump();
                     });
    }
  }

  boost::asio::io_context& io_;
  std::shared_ptr<NotifyQueue> nq_;
  boost::asio::posix::stream_descriptor sd_;
  boost::asio::posix::stream_descriptor ctl_;  // the session's control connection (a dup)
  boost::asio::steady_timer timer_;
  std::unordered_map<UdpSocket*, SocketOps> ops_;
  std::vector<Event> events_;
  bool waiting_ = false;
  bool ctl_waiting_ = false;
  bool timer_armed_ = false;
  bool closed_ = false;
};

// Wraps a handler so that it runs through its associated executor (posted).
template <typename Handler>
Completion make_completion(Handler&& h, boost::asio::io_context& io) {
  return Completion([h = std::forward<Handler>(h), &io](std::error_code ec, std::size_t n) mutable {
    auto ex = boost::asio::get_associated_executor(h, io.get_executor());
    boost::asio::post(ex, [h = std::move(h), ec, n]() mutable { std::move(h)(ec, n); });
  });
}

}  // namespace detail

class Service {
 public:
  using Signature = void(std::error_code, std::size_t);

  explicit Service(boost::asio::io_context& io) : io_(io) {}
  ~Service() {
    for (auto& [nq, w] : watchers_) w->close();
  }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  [[nodiscard]] boost::asio::io_context& context() const { return io_; }

  // Receives one datagram into `buf` (copying); `from` gets the sender and
  // must stay valid until the handler runs.
  template <typename Token>
  auto async_receive(UdpSocket& s, boost::asio::mutable_buffer buf, Endpoint& from, Token&& token) {
    return boost::asio::async_initiate<Token, Signature>(
        [this](auto handler, UdpSocket* sock, boost::asio::mutable_buffer b, Endpoint* f) {
          watcher(*sock).add_recv(
              *sock, detail::RecvOp{b, f, detail::make_completion(std::move(handler), io_)});
        },
        token, &s, buf, &from);
  }
  template <typename Token>
  auto async_receive(UdpSocket& s, boost::asio::mutable_buffer buf, Token&& token) {
    return boost::asio::async_initiate<Token, Signature>(
        [this](auto handler, UdpSocket* sock, boost::asio::mutable_buffer b) {
          watcher(*sock).add_recv(
              *sock, detail::RecvOp{b, nullptr, detail::make_completion(std::move(handler), io_)});
        },
        token, &s, buf);
  }
  // Sends one datagram to the connected peer (copying `buf` into the TX ring
  // when there is room; `buf` must stay valid until the handler runs).
  template <typename Token>
  auto async_send(UdpSocket& s, boost::asio::const_buffer buf, Token&& token) {
    return async_send_to(s, buf, Endpoint{}, std::forward<Token>(token));
  }
  template <typename Token>
  auto async_send_to(UdpSocket& s, boost::asio::const_buffer buf, const Endpoint& to,
                     Token&& token) {
    return boost::asio::async_initiate<Token, Signature>(
        [this](auto handler, UdpSocket* sock, boost::asio::const_buffer b, Endpoint dst) {
          watcher(*sock).add_send(
              *sock, detail::SendOp{b, dst, detail::make_completion(std::move(handler), io_)});
        },
        token, &s, buf, to);
  }

  // Completes the socket's pending operations with ECANCELED.
  void cancel(UdpSocket& s) {
    auto it = watchers_.find(&s.notify_queue());
    if (it != watchers_.end()) it->second->cancel(&s);
  }

 private:
  detail::Watcher& watcher(UdpSocket& s) {
    auto& w = watchers_[&s.notify_queue()];
    if (!w) w = std::make_shared<detail::Watcher>(io_, s.notify_queue_ptr());
    return *w;
  }

  boost::asio::io_context& io_;
  std::unordered_map<NotifyQueue*, std::shared_ptr<detail::Watcher>> watchers_;
};

}  // namespace norman::asio

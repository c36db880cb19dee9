// Layer 4: NotifyQueue — which of many sockets have news, epoll-like:
// events, de-duplication, re-notification, TX_DONE, the capacity budget,
// arm-then-recheck, blocking wait, and recovery when the NIC found the queue full.
#include <poll.h>

#include <cerrno>

#include "fixture.hpp"
#include "norman/regmap.hpp"

namespace norman::test {
namespace {

namespace rm = norman::regmap;

bool fd_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(NotifyQueue, ReportsWhichSocketsAreReadable) {
  Env env;
  auto nq = env.rt.open_notify_queue(6);
  UdpOptions o = Env::quick();
  o.nq = nq;
  std::vector<std::unique_ptr<UdpSocket>> socks;
  for (int i = 0; i < 5; ++i) {
    o.user_data = 100 + static_cast<std::uint64_t>(i);
    socks.push_back(env.rt.udp_bind(static_cast<std::uint16_t>(7000 + i), o));
  }
  EXPECT_EQ(nq->attached(), 5U);
  std::array<Event, 16> ev;
  EXPECT_EQ(nq->poll(ev), 0U);
  // Two datagrams to socket 1 (one notification: at most one outstanding), one to socket 3.
  env.nic.deliver_udp(socks[1]->conn_id(), kPeer, bytes("a"));
  env.nic.deliver_udp(socks[1]->conn_id(), kPeer, bytes("b"));
  env.nic.deliver_udp(socks[3]->conn_id(), kPeer, bytes("c"));
  ASSERT_EQ(nq->poll(ev), 2U);
  EXPECT_EQ(ev[0].socket, socks[1].get());
  EXPECT_EQ(ev[0].user_data, 101U);
  EXPECT_EQ(ev[0].flags, event::kReadable);
  EXPECT_EQ(ev[1].socket, socks[3].get());
  EXPECT_EQ(ev[1].conn_id, socks[3]->conn_id());
  EXPECT_EQ(nq->poll(ev), 0U);
  // Reading one of socket 1's two datagrams re-arms it: the NIC notifies
  // again once it sees RX_CONS (deferred while a frame waits; the queue's
  // poll writes it).
  std::array<std::uint8_t, 8> buf{};
  ASSERT_TRUE(socks[1]->try_recv(buf));
  EXPECT_EQ(nq->poll(ev), 0U);
  env.nic.process_doorbells();
  ASSERT_EQ(nq->poll(ev), 1U);
  EXPECT_EQ(ev[0].socket, socks[1].get());
  ASSERT_TRUE(socks[1]->try_recv(buf));
  env.nic.process_doorbells();
  EXPECT_EQ(nq->poll(ev), 0U) << "drained: no new notification";
  // CONS doorbells reached the NIC.
  EXPECT_EQ(env.nic.nq_cons(nq->id()), 3U);
}

TEST(NotifyQueue, EventsBeyondTheOutputSpanStayQueued) {
  Env env;
  auto nq = env.rt.open_notify_queue(6);
  UdpOptions o = Env::quick();
  o.nq = nq;
  std::vector<std::unique_ptr<UdpSocket>> socks;
  for (int i = 0; i < 4; ++i)
    socks.push_back(env.rt.udp_bind(static_cast<std::uint16_t>(7000 + i), o));
  for (auto& s : socks) env.nic.deliver_udp(s->conn_id(), kPeer, bytes("x"));
  std::array<Event, 3> ev;
  EXPECT_EQ(nq->poll(ev), 3U);
  EXPECT_EQ(nq->poll(ev), 1U);
  EXPECT_EQ(ev[0].socket, socks[3].get());
  // No new notification while a socket's datagram is unread; after reading
  // (RX_CONS) the next datagram notifies again.
  env.nic.deliver_udp(socks[0]->conn_id(), kPeer, bytes("x2"));
  EXPECT_EQ(nq->poll(ev), 0U);
  std::array<std::uint8_t, 8> buf{};
  for (auto& s : socks) {
    while (s->try_recv(buf)) {
    }
  }
  env.nic.process_doorbells();
  // Socket 0 read "x" and "x2" in a row: one RX_CONS when the ring ran
  // empty, so no stale re-notification.
  EXPECT_EQ(nq->poll(ev), 0U);
  // A socket closed while it has an unreported event is never reported.
  env.nic.deliver_udp(socks[2]->conn_id(), kPeer, bytes("y"));
  env.nic.deliver_udp(socks[0]->conn_id(), kPeer, bytes("y"));
  std::array<Event, 1> one;
  ASSERT_EQ(nq->poll(one), 1U);
  socks[0].reset();
  socks[2].reset();
  EXPECT_EQ(nq->poll(ev), 0U);
}

TEST(NotifyQueue, TxDoneEventsForNotifyTxSockets) {
  Env env;
  auto nq = env.rt.open_notify_queue(6);
  UdpOptions o = Env::quick();
  o.nq = nq;
  o.notify_tx = true;
  auto s = env.rt.udp_connect(kPeer, o);
  ASSERT_TRUE(s->try_send(bytes("x")));
  env.nic.process_doorbells();
  env.nic.deliver_udp(s->conn_id(), kPeer, bytes("in"));
  std::array<Event, 4> ev;
  ASSERT_EQ(nq->poll(ev), 1U);
  EXPECT_EQ(ev[0].flags, event::kTxDone | event::kReadable) << "merged into one event";
  EXPECT_EQ(s->poll_tx(), 1U);
  EXPECT_EQ(nq->stats().tx_notifications, 1U);
}

TEST(NotifyQueue, RefusesMoreSocketsThanItCanNotify) {
  Env env;
  auto nq = env.rt.open_notify_queue(3);  // 8 entries: budget 4
  UdpOptions o = Env::quick();
  o.nq = nq;
  std::vector<std::unique_ptr<UdpSocket>> socks;
  for (int i = 0; i < 4; ++i)
    socks.push_back(env.rt.udp_bind(static_cast<std::uint16_t>(7000 + i), o));
  EXPECT_EQ(nq->budget_free(), 0U);
  const auto conns = env.normand.open_conns();
  try {
    env.rt.udp_bind(7010, o);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOSPC);
    EXPECT_NE(std::string(e.what()).find("capacity/2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(env.normand.open_conns(), conns) << "refused before asking normand";
  socks.pop_back();
  socks.pop_back();
  o.notify_tx = true;  // takes 2
  socks.push_back(env.rt.udp_bind(7011, o));
  EXPECT_EQ(nq->budget_free(), 0U);
}

TEST(NotifyQueue, IgnoresUnknownConnections) {
  Env env;
  auto nq = env.rt.open_notify_queue(6);
  env.nic.notify(nq->id(), 999, rm::notify::kKindsRx);
  std::array<Event, 4> ev;
  EXPECT_EQ(nq->poll(ev), 0U);
  EXPECT_EQ(nq->stats().unknown_conn, 1U);
}

TEST(NotifyQueue, ArmThenRecheck) {
  Env env;
  auto nq = env.rt.open_notify_queue(6);
  UdpOptions o = Env::quick();
  o.nq = nq;
  auto s = env.rt.udp_bind(7000, o);
  // Nothing pending: arm() arms (true), the NIC sees ARM.
  EXPECT_TRUE(nq->arm());
  env.nic.process_doorbells();
  EXPECT_TRUE(env.nic.nq_armed(nq->id()));
  EXPECT_FALSE(fd_readable(nq->fd()));
  // The next notification fires the interrupt (one-shot).
  env.nic.deliver_udp(s->conn_id(), kPeer, bytes("x"));
  EXPECT_TRUE(fd_readable(nq->fd()));
  EXPECT_FALSE(env.nic.nq_armed(nq->id()));
  nq->clear_irq();
  EXPECT_FALSE(fd_readable(nq->fd()));
  // A notification that arrived before arming: arm() says "do not sleep".
  EXPECT_FALSE(nq->arm()) << "the entry is pending";
  std::array<Event, 4> ev;
  EXPECT_EQ(nq->poll(ev), 1U);
  // Race: the entry lands after arm()'s own drain but before the NIC sees ARM:
  // ARM then fires at once because entries are pending.
  std::array<std::uint8_t, 8> buf{};
  ASSERT_TRUE(s->try_recv(buf));
  env.nic.process_doorbells();
  EXPECT_TRUE(nq->arm());
  env.nic.deliver_udp(s->conn_id(), kPeer, bytes("y"));  // NIC has not processed ARM yet
  EXPECT_FALSE(fd_readable(nq->fd()));
  env.nic.process_doorbells();  // now it sees ARM with an entry pending
  EXPECT_TRUE(fd_readable(nq->fd()));
}

TEST(NotifyQueue, BlockingWaitWokenByInterrupt) {
  Env env;
  env.nic.start();
  auto nq = env.rt.open_notify_queue(6);
  UdpOptions o = Env::quick();
  o.nq = nq;
  auto a = env.rt.udp_bind(7000, o);
  auto b = env.rt.udp_bind(7001, o);
  std::array<Event, 4> ev;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(nq->wait(ev, 20ms), 0U);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  std::thread peer([&] {
    std::this_thread::sleep_for(30ms);
    env.nic.deliver_udp(b->conn_id(), kPeer, bytes("b"));
  });
  ASSERT_EQ(nq->wait(ev, 5s), 1U);
  peer.join();
  EXPECT_EQ(ev[0].socket, b.get());
  EXPECT_GE(nq->stats().irq_wakeups, 1U);
  // The vector convenience form.
  env.nic.deliver_udp(a->conn_id(), kPeer, bytes("a"));
  auto v = nq->wait(1s);
  ASSERT_EQ(v.size(), 1U);
  EXPECT_EQ(v[0].socket, a.get());
}

TEST(NotifyQueue, ManySocketsOneThreadNoLostEvents) {
  Env env;
  env.nic.start();
  auto nq = env.rt.open_notify_queue(8);
  UdpOptions o = Env::quick();
  o.nq = nq;
  o.rx_log2 = 4;
  std::vector<std::unique_ptr<UdpSocket>> socks;
  for (int i = 0; i < 32; ++i)
    socks.push_back(env.rt.udp_bind(static_cast<std::uint16_t>(7000 + i), o));
  constexpr int kPer = 100;
  std::thread peer([&] {
    for (int k = 0; k < kPer; ++k) {
      for (auto& s : socks) {
        while (!env.nic.deliver_udp(s->conn_id(), kPeer, bytes(std::to_string(k))))
          std::this_thread::yield();
      }
      if (k % 10 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  std::vector<int> got(socks.size(), 0);
  int total = 0;
  std::array<Event, 64> ev;
  std::array<std::uint8_t, 16> buf{};
  while (total < kPer * static_cast<int>(socks.size())) {
    const std::size_t n = nq->wait(ev, 5s);
    ASSERT_GT(n, 0U) << "stalled after " << total;
    for (std::size_t i = 0; i < n; ++i) {
      auto* s = ev[i].socket;
      const auto idx = static_cast<std::size_t>(s->local().port - 7000);
      // Read just one per event: the NIC re-notifies for the rest.
      if (auto r = s->try_recv(buf)) {
        ASSERT_EQ(text(std::span(buf).first(r->len)), std::to_string(got[idx]));
        ++got[idx];
        ++total;
      }
    }
  }
  peer.join();
}

TEST(NotifyQueue, RecoversWhenTheNicFoundTheQueueFull) {
  Env env;
  auto nq = env.rt.open_notify_queue(3);  // 8 entries
  UdpOptions o = Env::quick();
  o.nq = nq;
  o.notify_tx = true;
  auto s = env.rt.udp_connect(kPeer, o);
  // TX_DONE notifications pile up while nobody reads the queue...
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(s->try_send(bytes("x")));
    env.nic.process_doorbells();
  }
  // ...so the RX notification for this datagram is dropped by the NIC.
  env.nic.deliver_udp(s->conn_id(), kPeer, bytes("lost notification"));
  EXPECT_GT(env.nic.notifications_dropped(nq->id()), 0U);
  std::array<Event, 4> ev;
  ASSERT_EQ(nq->poll(ev), 1U);
  EXPECT_EQ(ev[0].flags & event::kReadable, event::kReadable) << "found by the rescan";
  EXPECT_GE(nq->stats().rescans, 1U);
  std::array<std::uint8_t, 32> buf{};
  auto r = s->try_recv(buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(text(std::span(buf).first(r->len)), "lost notification");
}

}  // namespace
}  // namespace norman::test

// Layer 3: UdpSocket against the software NIC: receive (copying, zero-copy,
// batches, wrap-around, drops), send (headers, batches, zero-copy, ring
// full, completions), doorbell values, and blocking receive.
#include <atomic>
#include <cerrno>

#include "fixture.hpp"
#include "norman/regmap.hpp"

namespace norman::test {
namespace {

namespace rm = norman::regmap;
using testing::DoorbellWrite;

std::vector<DoorbellWrite> only(const std::vector<DoorbellWrite>& w, std::uint64_t addr) {
  std::vector<DoorbellWrite> out;
  for (const auto& x : w) {
    if (x.addr == addr) out.push_back(x);
  }
  return out;
}

std::uint64_t rx_cons_addr(const UdpSocket& s) {
  return ctl::conn_db_page(s.conn_id()) + rm::kDbConnRxCons;
}
std::uint64_t tx_prod_addr(const UdpSocket& s) {
  return ctl::conn_db_page(s.conn_id()) + rm::kDbConnTxProd;
}

TEST(Receive, CopyingOneAtATimeDefersRxConsWhileFramesWait) {
  Env env;
  auto s = env.rt.udp_bind(7000, Env::quick());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(env.nic.deliver_udp(s->conn_id(), kPeer, bytes("msg" + std::to_string(i))));
  }
  std::array<std::uint8_t, 100> buf{};
  for (int i = 0; i < 3; ++i) {
    auto r = s->try_recv(buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(text(std::span(buf).first(r->len)), "msg" + std::to_string(i));
    EXPECT_EQ(r->from, kPeer);
    EXPECT_FALSE(r->truncated);
    env.nic.process_doorbells();
    // While frames wait (and less than a quarter ring is taken) RX_CONS is
    // deferred; the call that empties the ring writes it.
    EXPECT_EQ(only(env.nic.take_doorbells(), rx_cons_addr(*s)).size(), i == 2 ? 1U : 0U) << i;
  }
  EXPECT_FALSE(s->try_recv(buf)) << "nothing more: a return value, not an exception";
  env.nic.process_doorbells();
  EXPECT_TRUE(only(env.nic.take_doorbells(), rx_cons_addr(*s)).empty());
  EXPECT_EQ(env.nic.rx_cons(s->conn_id()), 3U);
  EXPECT_EQ(s->stats().rx_datagrams, 3U);
  EXPECT_EQ(s->stats().rx_bytes, 12U);
}

TEST(Receive, DeferredRxConsIsFlushedByTheQueueAndByBlockingCalls) {
  Env env;
  auto s = env.rt.udp_bind(7000, Env::quick());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(env.nic.deliver_udp(s->conn_id(), kPeer, bytes("m")));
  std::array<std::uint8_t, 8> buf{};
  ASSERT_TRUE(s->try_recv(buf));
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.rx_cons(s->conn_id()), 0U) << "deferred";
  std::array<Event, 2> ev;
  s->notify_queue().poll(ev);  // reporting/sleeping flushes deferred doorbells
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.rx_cons(s->conn_id()), 1U);
  ASSERT_TRUE(s->try_recv(buf));
  EXPECT_TRUE(s->wait_readable(0ns)) << "one frame is still waiting";
  ASSERT_TRUE(s->try_recv(buf));
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.rx_cons(s->conn_id()), 3U);
  // A quarter ring taken forces the doorbell even while frames wait.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(env.nic.deliver_udp(s->conn_id(), kPeer, bytes("m")));
  for (std::uint32_t i = 0; i < s->rx_ring_size() / 4; ++i) ASSERT_TRUE(s->try_recv(buf));
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.rx_cons(s->conn_id()), 3U + s->rx_ring_size() / 4);
}

TEST(Receive, BatchWritesOneRxCons) {
  Env env;
  auto s = env.rt.udp_bind(7000, Env::quick());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(env.nic.deliver_udp(s->conn_id(), kPeer, bytes(std::to_string(i))));
  std::vector<std::array<std::uint8_t, 64>> bufs(32);
  std::vector<RecvMsg> msgs(32);
  for (std::size_t i = 0; i < msgs.size(); ++i) msgs[i].buffer = bufs[i];
  ASSERT_EQ(s->try_recv_batch(msgs), 20U);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(text(std::span(bufs[i]).first(msgs[i].result.len)), std::to_string(i));
    EXPECT_EQ(msgs[i].result.from, kPeer);
  }
  env.nic.process_doorbells();
  EXPECT_EQ(only(env.nic.take_doorbells(), rx_cons_addr(*s)),
            (std::vector<DoorbellWrite>{{rx_cons_addr(*s), 20}}));
  EXPECT_EQ(s->try_recv_batch(msgs), 0U);
}

TEST(Receive, TruncatesIntoSmallBuffer) {
  Env env;
  auto s = env.rt.udp_bind(7000, Env::quick());
  ASSERT_TRUE(env.nic.deliver_udp(s->conn_id(), kPeer, bytes("0123456789")));
  std::array<std::uint8_t, 4> buf{};
  auto r = s->try_recv(buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->len, 4U);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(text(buf), "0123");
  EXPECT_EQ(s->stats().rx_truncated, 1U);
}

TEST(Receive, ZeroCopyPeekHoldsSlotsUntilRelease) {
  Env env;
  auto s = env.rt.udp_bind(7000, Env::quick());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(env.nic.deliver_udp(s->conn_id(), kPeer, bytes("dgram" + std::to_string(i))));
  std::array<RxDatagram, 3> d;
  ASSERT_EQ(s->try_peek(d), 3U);
  EXPECT_EQ(s->peeked(), 3U);
  // The payloads are views into consecutive 2 KiB RX slots, not copies.
  EXPECT_EQ(d[1].payload.data() - d[0].payload.data(),
            static_cast<std::ptrdiff_t>(rm::rx_slot::kSlotBytes));
  std::array<RxDatagram, 3> more;
  ASSERT_EQ(s->try_peek(more), 2U) << "a second peek continues after the first";
  EXPECT_EQ(text(more[1].payload), "dgram4");
  env.nic.process_doorbells();
  EXPECT_TRUE(only(env.nic.take_doorbells(), rx_cons_addr(*s)).empty())
      << "no RX_CONS before release()";
  EXPECT_EQ(env.nic.rx_unconsumed(s->conn_id()), 5U);
  EXPECT_EQ(text(d[0].payload), "dgram0") << "still valid: the NIC cannot reuse the slot";
  s->release();
  env.nic.process_doorbells();
  EXPECT_EQ(only(env.nic.take_doorbells(), rx_cons_addr(*s)),
            (std::vector<DoorbellWrite>{{rx_cons_addr(*s), 5}}));
  EXPECT_EQ(env.nic.rx_unconsumed(s->conn_id()), 0U);
  EXPECT_FALSE(s->try_peek());
}

TEST(Receive, WrapAroundSmallRingWithFlowControl) {
  Env env;
  UdpOptions o = Env::quick();
  o.rx_log2 = 3;
  auto s = env.rt.udp_bind(7000, o);
  std::uint32_t sent = 0, got = 0;
  std::array<std::uint8_t, 64> buf{};
  while (got < 1000) {
    env.nic.process_doorbells();
    while (sent < 1000 && env.nic.deliver_udp(s->conn_id(), kPeer, bytes(std::to_string(sent))))
      ++sent;
    EXPECT_LE(sent - got, 8U) << "the NIC can never be more than a ring ahead";
    while (auto r = s->try_recv(buf)) {
      ASSERT_EQ(text(std::span(buf).first(r->len)), std::to_string(got));
      ++got;
    }
  }
  EXPECT_EQ(s->stats().rx_datagrams, 1000U);
}

TEST(Receive, DropsAreCountedByReasonAndSlotsReturned) {
  Env env;
  auto s = env.rt.udp_bind(7000, [] {
    UdpOptions o = Env::quick();
    o.verify_checksums = true;
    return o;
  }());
  const auto c = s->conn_id();
  const Bytes good = testing::make_udp_frame(kPeerMac, s->mac(), kPeer, s->local(), bytes("good"));
  ASSERT_TRUE(env.nic.deliver(c, good, 1U << rm::rx_slot::kFlagsMalformed));
  ASSERT_TRUE(env.nic.deliver(c, good, 1U << rm::rx_slot::kFlagsFrag));
  Bytes arp = good;
  arp[12] = 0x08;
  arp[13] = 0x06;
  ASSERT_TRUE(env.nic.deliver(c, arp));
  Bytes tcp = good;
  tcp[off::kIp + 9] = 6;
  ASSERT_TRUE(env.nic.deliver(c, tcp));
  Bytes shortf(good.begin(), good.begin() + 30);
  ASSERT_TRUE(env.nic.deliver(c, shortf));
  Bytes bad = good;
  bad[off::kPayload] ^= 0x55;
  ASSERT_TRUE(env.nic.deliver(c, bad));
  std::array<std::uint8_t, 64> buf{};
  EXPECT_FALSE(s->try_recv(buf)) << "six frames, none deliverable";
  const auto& st = s->stats();
  EXPECT_EQ(st.rx_drop_malformed, 1U);
  EXPECT_EQ(st.rx_drop_fragment, 1U);
  EXPECT_EQ(st.rx_drop_not_ipv4, 1U);
  EXPECT_EQ(st.rx_drop_not_udp, 1U);
  EXPECT_EQ(st.rx_drop_bad_length, 1U);
  EXPECT_EQ(st.rx_drop_bad_checksum, 1U);
  EXPECT_EQ(st.rx_dropped(), 6U);
  EXPECT_EQ(st.rx_datagrams, 0U);
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.rx_cons(c), 6U) << "dropped frames' slots are returned at once";
  // A peek that only meets dropped frames returns them too.
  ASSERT_TRUE(env.nic.deliver(c, arp));
  ASSERT_TRUE(env.nic.deliver(c, good));
  std::array<RxDatagram, 4> d;
  ASSERT_EQ(s->try_peek(d), 1U);
  EXPECT_EQ(text(d[0].payload), "good");
  s->release();
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.rx_cons(c), 8U);
}

TEST(Send, ConnectedFrameMatchesIndependentBuilderAndIsAccepted) {
  Env env;
  auto s = env.rt.udp_connect(kPeer, Env::quick());
  ASSERT_TRUE(s->try_send(bytes("hello, peer")));
  env.nic.process_doorbells();
  auto sent = env.nic.take_sent(s->conn_id());
  ASSERT_EQ(sent.size(), 1U) << "the NIC's spoof checks accept the runtime's headers";
  Bytes want = testing::make_udp_frame(s->mac(), kPeerMac, s->local(), kPeer, bytes("hello, peer"));
  // Same bytes except the IPv4 id (and hence the header checksum).
  ASSERT_EQ(sent[0].size(), want.size());
  EXPECT_EQ(testing::rfc1071(std::span(sent[0]).subspan(off::kIp, 20)), 0)
      << "IPv4 header checksum";
  for (std::size_t i : {off::kIpId, off::kIpId + 1, off::kIpCsum, off::kIpCsum + 1})
    sent[0][i] = want[i] = 0;
  EXPECT_EQ(sent[0], want);
  EXPECT_EQ(only(env.nic.take_doorbells(), tx_prod_addr(*s)),
            (std::vector<DoorbellWrite>{{tx_prod_addr(*s), 1}}));
  EXPECT_EQ(s->stats().tx_sent, 1U);
  EXPECT_EQ(s->tx_in_flight(), 0U);
}

TEST(Send, BatchRingsOnceAndRingFullIsAReturnValue) {
  Env env;
  UdpOptions o = Env::quick();
  o.tx_log2 = 3;
  auto s = env.rt.udp_bind(7000, o);
  env.nic.set_auto_complete(false);
  std::vector<Bytes> payloads;
  std::vector<TxDatagram> d;
  for (int i = 0; i < 10; ++i) payloads.push_back(bytes("p" + std::to_string(i)));
  for (auto& p : payloads) d.push_back({p, kPeer});
  EXPECT_EQ(s->try_send_batch(d), 8U) << "8 slots";
  EXPECT_EQ(s->stats_snapshot().tx_ring_full, 2U);
  EXPECT_FALSE(s->try_send_to(bytes("x"), kPeer));
  env.nic.process_doorbells();
  EXPECT_EQ(only(env.nic.take_doorbells(), tx_prod_addr(*s)),
            (std::vector<DoorbellWrite>{{tx_prod_addr(*s), 8}}));
  EXPECT_EQ(env.nic.complete_tx(s->conn_id(), 3), 3U);
  EXPECT_EQ(s->try_send_batch(std::span(d).subspan(8)), 2U)
      << "reaps completions when it needs room";
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.tx_prod(s->conn_id()), 10U);
  env.nic.complete_tx(s->conn_id());
  EXPECT_TRUE(s->flush(1s));
  auto sent = env.nic.take_sent(s->conn_id());
  ASSERT_EQ(sent.size(), 10U);
  for (int i = 0; i < 10; ++i) {
    ParsedUdp p;
    ASSERT_EQ(parse_udp_frame(sent[i].data(), sent[i].size(), 0, {1, 4}, true, p), RxVerdict::kOk);
    EXPECT_EQ(text({p.payload, p.payload_len}), "p" + std::to_string(i));
    EXPECT_EQ(p.dst, kPeer);
  }
  EXPECT_EQ(s->stats().tx_sent, 10U);
  EXPECT_EQ(s->stats().tx_datagrams, 10U);
}

TEST(Send, EveryCompletionStatusIsCounted) {
  Env env;
  auto s = env.rt.udp_connect(kPeer, Env::quick());
  const std::pair<std::uint16_t, std::uint64_t SocketStats::*> cases[] = {
      {rm::tx_desc::kStatusSent, &SocketStats::tx_sent},
      {rm::tx_desc::kStatusDropSpoof, &SocketStats::tx_drop_spoof},
      {rm::tx_desc::kStatusDropFilter, &SocketStats::tx_drop_filter},
      {rm::tx_desc::kStatusDropBadLen, &SocketStats::tx_drop_bad_len},
      {rm::tx_desc::kStatusDropVlan, &SocketStats::tx_drop_refused},
      {rm::tx_desc::kStatusDropMartian, &SocketStats::tx_drop_refused},
      {rm::tx_desc::kStatusDropBroadcast, &SocketStats::tx_drop_refused},
      {rm::tx_desc::kStatusDropClosed, &SocketStats::tx_drop_closed},
      {99, &SocketStats::tx_status_unknown}};
  for (auto [status, field] : cases) {
    const std::uint64_t before = s->stats().*field;
    env.nic.set_forced_status(status);
    ASSERT_TRUE(s->try_send(bytes("x")));
    env.nic.process_doorbells();
    EXPECT_EQ(s->stats().*field, before + 1) << "status " << status;
  }
  EXPECT_EQ(s->stats().tx_completed(), std::size(cases));
}

TEST(Send, RefusalsAreExceptionsWithErrno) {
  Env env;
  auto l = env.rt.udp_bind(7000, Env::quick());
  auto code = [](auto f) {
    try {
      f();
    } catch (const std::system_error& e) {
      return e.code().value();
    }
    return 0;
  };
  EXPECT_EQ(code([&] { l->try_send(bytes("x")); }), EDESTADDRREQ)
      << "listening socket, no destination";
  EXPECT_EQ(code([&] { l->try_send_to(bytes("x"), {kPeer.ip, 0}); }), EDESTADDRREQ);
  Bytes big(UdpSocket::kMaxPayload + 1, 0);
  EXPECT_EQ(code([&] { l->try_send_to(big, kPeer); }), EMSGSIZE);
  Bytes max(UdpSocket::kMaxPayload, 1);
  EXPECT_TRUE(l->try_send_to(max, kPeer));
  // An address nobody answers for: held (sends never wait for ARP), then
  // dropped and reported; then FAILED, refused at once.
  const Endpoint ghost{Ipv4::from_octets(10, 11, 0, 77), 1};
  EXPECT_TRUE(l->try_send_to(bytes("x"), ghost));
  EXPECT_TRUE(eventually([&] { return l->stats().tx_drop_unresolved == 1; }));
  EXPECT_EQ(l->take_error()->error, EHOSTUNREACH);
  EXPECT_EQ(code([&] { l->try_send_to(bytes("x"), ghost); }), EHOSTUNREACH);
  EXPECT_EQ(code([&] {
              l->try_send_to(bytes("x"), {Ipv4::from_octets(10, 99, 0, 1), 1});
            }),
            ENETUNREACH);
  // A batch with one bad datagram sends nothing.
  std::vector<TxDatagram> d = {{max, kPeer}, {big, kPeer}};
  EXPECT_EQ(code([&] { l->try_send_batch(d); }), EMSGSIZE);
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.tx_prod(l->conn_id()), 1U);
  EXPECT_EQ(env.nic.take_sent(l->conn_id()).size(), 1U);
}

// As Linux: broadcast needs SO_BROADCAST (EACCES), loopback and 0/8 are not
// reachable from a bypass socket (EINVAL); the NIC drops them regardless.
TEST(Send, BroadcastNeedsPermissionAndLoopbackIsRefused) {
  Env env;
  auto l = env.rt.udp_bind(7000, Env::quick());
  auto code = [](auto f) {
    try {
      f();
    } catch (const std::system_error& e) {
      return e.code().value();
    }
    return 0;
  };
  const Endpoint all{Ipv4::from_octets(255, 255, 255, 255), 9};
  const Endpoint subnet{Ipv4::from_octets(10, 11, 0, 255), 9};  // nic0 is 10.11.0.2/24
  EXPECT_EQ(code([&] { l->try_send_to(bytes("x"), all); }), EACCES);
  EXPECT_EQ(code([&] { l->try_send_to(bytes("x"), subnet); }), EACCES);
  EXPECT_EQ(code([&] { l->send_to(bytes("x"), subnet, 0ms); }), EACCES);
  EXPECT_EQ(code([&] {
              l->try_send_to(bytes("x"), {Ipv4::from_octets(127, 0, 0, 1), 9});
            }),
            EINVAL);
  EXPECT_EQ(code([&] { l->try_send_to(bytes("x"), {Ipv4::from_octets(0, 1, 2, 3), 9}); }), EINVAL);
  EXPECT_EQ(code([&] { env.rt.udp_connect(all, Env::quick()); }), EACCES);
  EXPECT_EQ(code([&] {
              env.rt.udp_connect({Ipv4::from_octets(127, 0, 0, 1), 9}, Env::quick());
            }),
            EINVAL);
  env.nic.process_doorbells();
  EXPECT_TRUE(env.nic.take_sent(l->conn_id()).empty());

  UdpOptions o = Env::quick();
  o.broadcast = true;
  auto b = env.rt.udp_bind(7001, o);
  ASSERT_TRUE(b->try_send_to(bytes("y"), all));
  ASSERT_TRUE(b->try_send_to(bytes("z"), subnet));
  env.nic.process_doorbells();
  const auto sent = env.nic.take_sent(b->conn_id());
  ASSERT_EQ(sent.size(), 2U);
  for (const auto& f : sent) {
    EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes(6, 0xff))
        << "broadcast goes to ff:ff:ff:ff:ff:ff";
  }
}

TEST(Send, ListeningSocketSendsToMany) {
  Env env;
  const Endpoint other{Ipv4::from_octets(10, 11, 0, 7), 9999};
  const MacAddr other_mac{{0x02, 1, 2, 3, 4, 5}};
  env.normand.add_neighbor(other.ip, other_mac);
  env.rt.resolve(other.ip);
  auto l = env.rt.udp_bind(7000, Env::quick());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(l->try_send_to(bytes("a"), kPeer));
    ASSERT_TRUE(l->try_send_to(bytes("b"), other));
  }
  env.nic.process_doorbells();
  auto sent = env.nic.take_sent(l->conn_id());
  ASSERT_EQ(sent.size(), 20U);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const bool to_other = i % 2 == 1;
    EXPECT_EQ(0, std::memcmp(sent[i].data(), (to_other ? other_mac : kPeerMac).b.data(), 6));
    ParsedUdp p;
    ASSERT_EQ(parse_udp_frame(sent[i].data(), sent[i].size(), 0, {1, 4}, true, p), RxVerdict::kOk);
    EXPECT_EQ(p.dst, to_other ? other : kPeer);
    EXPECT_EQ(p.src, l->local());
  }
  EXPECT_EQ(env.normand.neigh_requests(), 2U)
      << "one neigh request per destination, then the cache";
}

TEST(Send, ZeroCopyAllocCommit) {
  Env env;
  UdpOptions o = Env::quick();
  o.udp_checksum = false;
  auto s = env.rt.udp_connect(kPeer, o);
  std::array<TxSlot, 4> slots;
  ASSERT_EQ(s->try_alloc(slots), 4U);
  for (int i = 0; i < 3; ++i) {
    const std::string m = "zc" + std::to_string(i);
    std::memcpy(slots[i].buffer.data(), m.data(), m.size());
    slots[i].len = m.size();
  }
  auto code = [](auto f) {
    try {
      f();
    } catch (const std::system_error& e) {
      return e.code().value();
    }
    return 0;
  };
  EXPECT_EQ(code([&] { s->commit(std::span(slots).subspan(1, 2)); }), EINVAL) << "must be a prefix";
  s->commit(std::span(slots).first(3));  // the 4th reservation is dropped
  EXPECT_EQ(code([&] { s->commit(std::span(slots).first(1)); }), EINVAL)
      << "nothing reserved any more";
  env.nic.process_doorbells();
  auto sent = env.nic.take_sent(s->conn_id());
  ASSERT_EQ(sent.size(), 3U);
  for (int i = 0; i < 3; ++i) {
    ParsedUdp p;
    ASSERT_EQ(parse_udp_frame(sent[i].data(), sent[i].size(), 0, {1, 4}, true, p), RxVerdict::kOk);
    EXPECT_EQ(text({p.payload, p.payload_len}), "zc" + std::to_string(i));
    EXPECT_EQ(load_be16(sent[i].data() + off::kUdpCsum), 0) << "udp_checksum = false";
  }
  EXPECT_EQ(env.nic.tx_prod(s->conn_id()), 3U);
}

TEST(Send, BlockingSendWaitsForCompletions) {
  Env env;
  UdpOptions o = Env::quick();
  o.tx_log2 = 3;
  auto s = env.rt.udp_connect(kPeer, o);
  env.nic.set_auto_complete(false);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(s->try_send(bytes("x")));
  env.nic.process_doorbells();
  EXPECT_FALSE(s->send(bytes("y"), 2ms)) << "times out while the NIC completes nothing";
  std::thread nic([&] {
    std::this_thread::sleep_for(20ms);
    env.nic.complete_tx(s->conn_id(), 1);
  });
  EXPECT_TRUE(s->send(bytes("y"), 5s));
  nic.join();
  EXPECT_EQ(s->stats().tx_sent, 1U);
}

TEST(Blocking, RecvSleepsAndIsWokenByTheInterrupt) {
  Env env;  // spin 0: straight to sleep
  env.nic.start();
  auto s = env.rt.udp_bind(7000, Env::quick());
  const auto t0 = std::chrono::steady_clock::now();
  std::array<std::uint8_t, 64> buf{};
  EXPECT_FALSE(s->recv(buf, 30ms)) << "timeout";
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  std::thread peer([&] {
    std::this_thread::sleep_for(50ms);
    env.nic.deliver_udp(s->conn_id(), kPeer, bytes("wake up"));
  });
  auto r = s->recv(buf, 5s);
  peer.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(text(std::span(buf).first(r->len)), "wake up");
  const auto& nqs = s->notify_queue().stats();
  EXPECT_GE(nqs.irq_wakeups, 1U) << "it slept on the eventfd and the interrupt woke it";
  EXPECT_GE(nqs.arms, 1U);
}

TEST(Blocking, NoLostWakeupsUnderRacingDeliveries) {
  Env env;
  env.nic.start();
  auto s = env.rt.udp_bind(7000, Env::quick());
  constexpr int kN = 2000;
  std::thread peer([&] {
    for (int i = 0; i < kN; ++i) {
      while (!env.nic.deliver_udp(s->conn_id(), kPeer, bytes(std::to_string(i))))
        std::this_thread::yield();
      if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(i % 50));
    }
  });
  std::array<std::uint8_t, 64> buf{};
  int got = 0;
  while (got < kN) {
    auto r = s->recv(buf, 5s);
    ASSERT_TRUE(r) << "lost wake-up after " << got << " datagrams";
    ASSERT_EQ(text(std::span(buf).first(r->len)), std::to_string(got));
    ++got;
  }
  peer.join();
  EXPECT_GE(s->notify_queue().stats().irq_wakeups, 1U);
}

TEST(Blocking, PeekWaitsThenReturnsViews) {
  Env env(std::chrono::microseconds(50));
  env.nic.start();
  auto s = env.rt.udp_bind(7000, Env::quick());
  std::thread peer([&] {
    std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 3; ++i)
      env.nic.deliver_udp(s->conn_id(), kPeer, bytes("v" + std::to_string(i)));
  });
  std::array<RxDatagram, 8> d;
  std::size_t n = 0;
  while (n < 3) {
    const std::size_t k = s->peek(std::span(d).subspan(n), 5s);
    ASSERT_GT(k, 0U);
    // A blocking peek releases earlier views before waiting: copy what we need.
    for (std::size_t i = 0; i < k; ++i)
      EXPECT_EQ(text(d[n + i].payload), "v" + std::to_string(n + i));
    n += k;
  }
  peer.join();
  s->release();
}

}  // namespace
}  // namespace norman::test

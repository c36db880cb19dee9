// Sending to a destination whose MAC is not known never waits for ARP: the
// resolver answers at once (kIncomplete), the socket holds a few datagrams
// and sends them when the answer comes; a failure is cached (FAILED) so
// later sends fail at once with EHOSTUNREACH; batches drop and report only
// the datagrams they cannot route.
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>

#include "fixture.hpp"
#include "neighbor_resolver.hpp"

namespace norman::test {
namespace {

using detail::NeighborResolver;
using State = NeighborResolver::State;
using Clock = std::chrono::steady_clock;

const Ipv4 kGood = Ipv4::from_octets(10, 11, 0, 20);
const Ipv4 kBad = Ipv4::from_octets(10, 11, 0, 21);
const MacAddr kGoodMac{{0x02, 0x20, 0, 0, 0, 0x20}};

// An answer that comes only when the test says so.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> asked{0};
  MacAddr ask(Ipv4 ip) {
    ++asked;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
    if (ip == kGood) return kGoodMac;
    throw std::system_error(EHOSTUNREACH, std::generic_category(), "no ARP answer");
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

int errno_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

TEST(NeighborResolver, AnswersAtOnceAndCachesFailuresForAWhile) {
  Gate gate;
  NeighborResolver r([&](Ipv4 ip) { return gate.ask(ip); }, 300ms);
  const auto t0 = Clock::now();
  EXPECT_EQ(r.lookup(kGood).state, State::kIncomplete);
  EXPECT_EQ(r.lookup(kBad).state, State::kIncomplete);
  EXPECT_EQ(r.lookup(kGood).state, State::kIncomplete) << "one question per address";
  EXPECT_LT(Clock::now() - t0, 100ms) << "lookup never waits for the answer";
  const auto ev = r.events();
  gate.release();
  ASSERT_TRUE(eventually([&] { return r.lookup(kBad).state == State::kFailed; }));
  const auto good = r.lookup(kGood);
  EXPECT_EQ(good.state, State::kReachable);
  EXPECT_EQ(good.mac, kGoodMac);
  EXPECT_GT(r.events(), ev);
  EXPECT_EQ(gate.asked.load(), 2);
  // FAILED: fails at once, without asking again, for the hold time.
  EXPECT_EQ(r.lookup(kBad).err, EHOSTUNREACH);
  EXPECT_EQ(errno_of([&] { r.resolve(kBad); }), EHOSTUNREACH);
  EXPECT_EQ(gate.asked.load(), 2);
  std::this_thread::sleep_for(350ms);
  EXPECT_EQ(r.lookup(kBad).state, State::kIncomplete) << "asked again after the hold";
  ASSERT_TRUE(eventually([&] { return r.lookup(kBad).state == State::kFailed; }));
  EXPECT_EQ(gate.asked.load(), 3);
  r.flush();
  EXPECT_EQ(r.lookup(kGood).state, State::kIncomplete) << "flushed";
}

TEST(NeighborResolver, BoundsTheQuestionsItKeepsOpen) {
  Gate gate;
  NeighborResolver r([&](Ipv4 ip) { return gate.ask(ip); }, 300ms);
  for (std::size_t i = 0; i < NeighborResolver::kMaxResolving; ++i) {
    EXPECT_EQ(r.lookup(Ipv4::from_octets(10, 12, 0, static_cast<std::uint8_t>(i))).state,
              State::kIncomplete);
  }
  const auto over = r.lookup(Ipv4::from_octets(10, 13, 0, 1));
  EXPECT_EQ(over.state, State::kFailed);
  EXPECT_EQ(over.err, EHOSTUNREACH);
  gate.release();  // the destructor waits for the question in flight only
}

TEST(SendUnresolved, NeverWaitsForArpAndCachesTheFailure) {
  Env env;
  env.rt.resolve(kPeer.ip);  // known before anything else asks
  env.normand.set_neigh_delay(300ms);
  auto l = env.rt.udp_bind(7000, Env::quick());
  const Endpoint ghost{Ipv4::from_octets(10, 11, 0, 66), 9};
  const auto t0 = Clock::now();
  constexpr std::size_t kHeld = UdpSocket::kMaxHeldPerDestination;
  for (std::size_t i = 0; i <= kHeld; ++i) {
    EXPECT_TRUE(l->send_to(bytes("g" + std::to_string(i)), ghost));
  }
  EXPECT_LT(Clock::now() - t0, 100ms) << "send_to waited for ARP";
  EXPECT_EQ(l->held(), kHeld);
  EXPECT_EQ(l->stats_snapshot().tx_drop_held_overflow, 1U) << "the oldest held one";
  // A known peer is not held up by the unknown one.
  EXPECT_TRUE(l->send_to(bytes("p"), kPeer));
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.take_sent(l->conn_id()).size(), 1U);
  // No answer: the held datagrams are dropped, counted and reported.
  ASSERT_TRUE(eventually([&] { return l->stats().tx_drop_unresolved == kHeld; }));
  EXPECT_EQ(l->held(), 0U);
  for (std::size_t i = 0; i < UdpSocket::kMaxErrors; ++i) {
    auto e = l->take_error();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->to, ghost);
    EXPECT_EQ(e->error, EHOSTUNREACH);
  }
  EXPECT_FALSE(l->take_error());
  EXPECT_EQ(l->stats().tx_errors_lost, kHeld - UdpSocket::kMaxErrors);
  // FAILED: the next send fails at once, without asking normand again.
  const auto asked = env.normand.neigh_requests();
  const auto t1 = Clock::now();
  EXPECT_EQ(errno_of([&] { l->send_to(bytes("again"), ghost); }), EHOSTUNREACH);
  EXPECT_EQ(errno_of([&] { l->try_send_to(bytes("again"), ghost); }), EHOSTUNREACH);
  EXPECT_LT(Clock::now() - t1, 50ms);
  EXPECT_EQ(env.normand.neigh_requests(), asked);
  EXPECT_EQ(l->stats().tx_drop_unresolved, kHeld + 2);
  // Off the subnet: ENETUNREACH at once, normand is not asked.
  const Endpoint far{Ipv4::from_octets(192, 0, 2, 9), 9};
  EXPECT_EQ(errno_of([&] { l->send_to(bytes("far"), far); }), ENETUNREACH);
  EXPECT_EQ(env.normand.neigh_requests(), asked);
  EXPECT_EQ(l->stats().tx_drop_unreachable, 1U);
}

TEST(SendUnresolved, HeldDatagramsGoOutWhenTheAnswerComesEvenWhileAsleep) {
  Env env;
  env.nic.start();
  env.normand.set_neigh_delay(3000ms);
  auto l = env.rt.udp_bind(7000, Env::quick());
  const Endpoint late{Ipv4::from_octets(10, 11, 0, 77), 9};
  const MacAddr late_mac{{0x02, 0x77, 0, 0, 0, 0x77}};
  ASSERT_TRUE(l->send_to(bytes("x1"), late));
  ASSERT_TRUE(l->send_to(bytes("x2"), late));
  EXPECT_EQ(l->held(), 2U);
  std::thread answer([&] {
    std::this_thread::sleep_for(100ms);
    env.normand.add_neighbor(late.ip, late_mac);
  });
  // The socket's thread sleeps in a blocking receive; the answer wakes it
  // and the held datagrams go out long before its receive times out.
  std::atomic<bool> sent{false};
  std::thread watch([&] {
    sent = eventually([&] { return env.nic.tx_prod(l->conn_id()) == 2; }, 1500ms);
    env.nic.deliver_udp(l->conn_id(), kPeer, bytes("wake"));
  });
  std::array<std::uint8_t, 16> buf{};
  const auto r = l->recv(buf, 5s);
  answer.join();
  watch.join();
  EXPECT_TRUE(sent.load()) << "held datagrams not sent while the socket's thread slept";
  ASSERT_TRUE(r);
  EXPECT_EQ(l->held(), 0U);
  ASSERT_TRUE(env.nic.settle());
  const auto frames = env.nic.take_sent(l->conn_id());
  ASSERT_EQ(frames.size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(0, std::memcmp(frames[i].data(), late_mac.b.data(), 6));
    ParsedUdp p;
    ASSERT_EQ(parse_udp_frame(frames[i].data(), frames[i].size(), 0, {1, 4}, true, p),
              RxVerdict::kOk);
    EXPECT_EQ(text({p.payload, p.payload_len}), "x" + std::to_string(i + 1));
  }
  EXPECT_EQ(l->stats().tx_held_unresolved, 2U);
}

TEST(SendUnresolved, BatchesDropOnlyWhatTheyCannotRoute) {
  Env env;
  env.rt.resolve(kPeer.ip);
  env.normand.set_neigh_delay(200ms);
  auto l = env.rt.udp_bind(7000, Env::quick());
  const Endpoint far{Ipv4::from_octets(192, 0, 2, 9), 9};
  const Endpoint ghost{Ipv4::from_octets(10, 11, 0, 66), 9};
  // Zero-copy: the peer's slots go out, packed and in order.
  std::array<TxSlot, 4> slots;
  ASSERT_EQ(l->try_alloc(slots), 4U);
  const std::array<std::pair<const char*, Endpoint>, 4> what{
      {{"a", kPeer}, {"far", far}, {"ghost", ghost}, {"d", kPeer}}};
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string m = what[i].first;
    std::memcpy(slots[i].buffer.data(), m.data(), m.size());
    slots[i].len = m.size();
    slots[i].to = what[i].second;
  }
  l->commit(slots);  // never throws for a destination
  env.nic.process_doorbells();
  auto frames = env.nic.take_sent(l->conn_id());
  ASSERT_EQ(frames.size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    ParsedUdp p;
    ASSERT_EQ(parse_udp_frame(frames[i].data(), frames[i].size(), 0, {1, 4}, true, p),
              RxVerdict::kOk);
    EXPECT_EQ(text({p.payload, p.payload_len}), i == 0 ? "a" : "d");
    EXPECT_EQ(p.dst, kPeer);
  }
  EXPECT_EQ(l->held(), 1U);
  auto e = l->take_error();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->to, far);
  EXPECT_EQ(e->error, ENETUNREACH);
  // Copying batches: every datagram is taken (posted, held or dropped).
  const auto pb = bytes("b");
  std::vector<TxDatagram> d = {{pb, kPeer}, {pb, far}, {pb, ghost}, {pb, kPeer}};
  EXPECT_EQ(l->try_send_batch(d), 4U);
  env.nic.process_doorbells();
  EXPECT_EQ(env.nic.take_sent(l->conn_id()).size(), 2U);
  EXPECT_EQ(l->held(), 2U);
  ASSERT_TRUE(eventually([&] { return l->stats().tx_drop_unresolved == 2; }));
  EXPECT_EQ(l->stats().tx_drop_unreachable, 2U);
  // A full error queue counts what it cannot keep.
  const std::size_t queued = l->pending_errors();
  std::vector<TxDatagram> many(UdpSocket::kMaxErrors + 5, TxDatagram{pb, far});
  EXPECT_EQ(l->try_send_batch(many), many.size());
  EXPECT_EQ(l->pending_errors(), UdpSocket::kMaxErrors);
  EXPECT_EQ(l->stats().tx_errors_lost, many.size() - (UdpSocket::kMaxErrors - queued));
}

}  // namespace
}  // namespace norman::test

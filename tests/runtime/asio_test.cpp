// Layer 5: Boost.Asio integration with a NIC thread: async_receive completes
// when the interrupt arrives (no polling while idle), async_send posts into
// the TX ring, handlers are never run inline, cancel() aborts.
#include "norman/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include "fixture.hpp"

namespace norman::test {
namespace {

TEST(Asio, ReceiveCompletesOnInterrupt) {
  Env env;
  env.nic.start();
  auto s = env.rt.udp_bind(7000, Env::quick());
  boost::asio::io_context io;
  norman::asio::Service svc(io);
  std::array<std::uint8_t, 64> buf{};
  Endpoint from;
  std::error_code got_ec = std::make_error_code(std::errc::io_error);
  std::size_t got_n = 0;
  svc.async_receive(*s, boost::asio::buffer(buf), from, [&](std::error_code ec, std::size_t n) {
    got_ec = ec;
    got_n = n;
  });
  std::thread peer([&] {
    std::this_thread::sleep_for(30ms);
    env.nic.deliver_udp(s->conn_id(), kPeer, bytes("async hello"));
  });
  const auto t0 = std::chrono::steady_clock::now();
  io.run_for(5s);
  peer.join();
  EXPECT_FALSE(got_ec) << got_ec.message();
  EXPECT_EQ(text(std::span(buf).first(got_n)), "async hello");
  EXPECT_EQ(from, kPeer);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s)
      << "io.run() returned when the work was done";
  const auto& st = s->notify_queue().stats();
  EXPECT_GE(st.arms, 1U);
  EXPECT_EQ(st.sleeps, 0U) << "the io_context slept, not the queue";
}

// normand going away completes a pending async_receive with ENETDOWN (not
// a wait forever), and later operations on the dead session at once.
TEST(Asio, NormandGoingAwayFailsPendingReceivesWithEnetdown) {
  testing::SoftNic nic;
  auto normand = std::make_unique<testing::FakeNormand>(nic);
  Runtime rt(Env::options(normand->socket_path(), 0ns));
  auto s = rt.udp_bind(7000, Env::quick());
  boost::asio::io_context io;
  norman::asio::Service svc(io);
  std::array<std::uint8_t, 64> buf{};
  std::error_code got_ec;
  bool done = false;
  svc.async_receive(*s, boost::asio::buffer(buf), [&](std::error_code ec, std::size_t) {
    got_ec = ec;
    done = true;
  });
  boost::asio::steady_timer kill(io);
  kill.expires_after(50ms);
  kill.async_wait([&](const boost::system::error_code&) { normand.reset(); });
  const auto t0 = std::chrono::steady_clock::now();
  io.run_for(10s);
  EXPECT_TRUE(done);
  EXPECT_EQ(got_ec.value(), ENETDOWN) << got_ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  done = false;
  got_ec = {};
  svc.async_receive(*s, boost::asio::buffer(buf), [&](std::error_code ec, std::size_t) {
    got_ec = ec;
    done = true;
  });
  io.restart();
  io.run_for(5s);
  EXPECT_TRUE(done);
  EXPECT_EQ(got_ec.value(), ENETDOWN) << got_ec.message();
}

TEST(Asio, ImmediateCompletionIsPostedNotInline) {
  Env env;
  auto s = env.rt.udp_bind(7000, Env::quick());
  env.nic.deliver_udp(s->conn_id(), kPeer, bytes("ready"));
  boost::asio::io_context io;
  norman::asio::Service svc(io);
  std::array<std::uint8_t, 64> buf{};
  bool done = false;
  svc.async_receive(*s, boost::asio::buffer(buf), [&](std::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, 5U);
    done = true;
  });
  EXPECT_FALSE(done) << "never from inside the initiating call";
  io.run_for(1s);
  EXPECT_TRUE(done);
}

TEST(Asio, EchoLoopWithSends) {
  Env env;
  env.nic.start();
  auto s = env.rt.udp_bind(7000, Env::quick());
  boost::asio::io_context io;
  norman::asio::Service svc(io);
  std::array<std::uint8_t, 256> buf{};
  Endpoint from;
  int echoed = 0;
  constexpr int kN = 50;
  std::function<void()> start = [&] {
    svc.async_receive(*s, boost::asio::buffer(buf), from, [&](std::error_code ec, std::size_t n) {
      ASSERT_FALSE(ec);
      svc.async_send_to(*s, boost::asio::buffer(buf.data(), n), from,
                        [&](std::error_code ec2, std::size_t m) {
                          ASSERT_FALSE(ec2) << ec2.message();
                          EXPECT_GT(m, 0U);
                          if (++echoed < kN) start();
                        });
    });
  };
  start();
  std::thread peer([&] {
    for (int i = 0; i < kN; ++i) {
      env.nic.deliver_udp(s->conn_id(), kPeer, bytes("echo " + std::to_string(i)));
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  io.run_for(10s);
  peer.join();
  EXPECT_EQ(echoed, kN);
  ASSERT_TRUE(eventually([&] { return s->stats().tx_sent == kN; }));
  auto sent = env.nic.take_sent(s->conn_id());
  ASSERT_EQ(sent.size(), static_cast<std::size_t>(kN));
  ParsedUdp p;
  ASSERT_EQ(parse_udp_frame(sent[7].data(), sent[7].size(), 0, {1, 4}, true, p), RxVerdict::kOk);
  EXPECT_EQ(text({p.payload, p.payload_len}), "echo 7");
  EXPECT_EQ(p.dst, kPeer);
}

TEST(Asio, SendWaitsForRoomInAFullRing) {
  Env env;
  env.nic.set_auto_complete(false);
  env.nic.start();
  UdpOptions o = Env::quick();
  o.tx_log2 = 3;
  auto s = env.rt.udp_connect(kPeer, o);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(s->try_send(bytes("fill")));
  boost::asio::io_context io;
  norman::asio::Service svc(io);
  bool done = false;
  const Bytes msg = bytes("after room");
  svc.async_send(*s, boost::asio::buffer(msg), [&](std::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, msg.size());
    done = true;
  });
  std::thread nic([&] {
    std::this_thread::sleep_for(30ms);
    env.nic.complete_tx(s->conn_id());
  });
  io.run_for(5s);
  nic.join();
  EXPECT_TRUE(done);
}

TEST(Asio, ErrorsAndCancel) {
  Env env;
  auto l = env.rt.udp_bind(7000, Env::quick());
  boost::asio::io_context io;
  norman::asio::Service svc(io);
  std::error_code send_ec;
  const Bytes msg = bytes("x");
  svc.async_send(*l, boost::asio::buffer(msg),
                 [&](std::error_code ec, std::size_t) { send_ec = ec; });
  std::array<std::uint8_t, 8> buf{};
  std::error_code recv_ec;
  svc.async_receive(*l, boost::asio::buffer(buf),
                    [&](std::error_code ec, std::size_t) { recv_ec = ec; });
  io.poll();
  EXPECT_EQ(send_ec.value(), EDESTADDRREQ) << "a listening socket needs a destination";
  EXPECT_FALSE(recv_ec);
  svc.cancel(*l);
  io.poll();
  EXPECT_EQ(recv_ec.value(), ECANCELED);
}

TEST(Asio, UseFuture) {
  Env env;
  env.nic.start();
  auto s = env.rt.udp_bind(7000, Env::quick());
  boost::asio::io_context io;
  norman::asio::Service svc(io);
  std::array<std::uint8_t, 64> buf{};
  auto f = svc.async_receive(*s, boost::asio::buffer(buf), boost::asio::use_future);
  env.nic.deliver_udp(s->conn_id(), kPeer, bytes("future"));
  io.run_for(1s);
  // use_future's handler runs on the system executor, not on io.
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  auto [ec, n] = f.get();
  EXPECT_FALSE(ec);
  EXPECT_EQ(n, 6U);
}

}  // namespace
}  // namespace norman::test

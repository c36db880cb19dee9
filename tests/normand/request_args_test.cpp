// Request decoding: types, ranges, defaults and unknown arguments.
#include "request_args.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include "errors.hpp"

namespace norman::normand {
namespace {

using nlohmann::json;

template <typename F>
int err_of(F&& f) {
  try {
    f();
    return 0;
  } catch (const CtlError& e) {
    return e.err();
  }
}

TEST(RequestArgs, SeqAndOp) {
  EXPECT_EQ(request_seq(json{{"seq", 7}}), 7U);
  EXPECT_EQ(request_seq(json{{"seq", 18446744073709551615ULL}}), 18446744073709551615ULL);
  EXPECT_EQ(err_of([] { request_seq(json::object()); }), EINVAL);
  EXPECT_EQ(err_of([] { request_seq(json{{"seq", -1}}); }), EINVAL);
  EXPECT_EQ(err_of([] { request_seq(json{{"seq", "1"}}); }), EINVAL);
  EXPECT_EQ(err_of([] { request_seq(json{{"seq", 1.5}}); }), EINVAL);
  EXPECT_EQ(request_op(json{{"op", "hello"}}), "hello");
  EXPECT_EQ(err_of([] { request_op(json{{"op", 1}}); }), EINVAL);
  EXPECT_EQ(err_of([] { request_op(json::object()); }), EINVAL);
}

TEST(RequestArgs, UdpOpenDefaults) {
  const auto a = parse_udp_open(json{{"op", "udp_open"}, {"seq", 1}, {"nq_id", 3}});
  EXPECT_EQ(a.nq_id, 3);
  EXPECT_FALSE(a.local_ip.has_value());
  EXPECT_EQ(a.local_port, 0);
  EXPECT_FALSE(a.remote.has_value());
  EXPECT_EQ(a.rx_log2, ctl::kDefaultRxLog2);
  EXPECT_EQ(a.tx_log2, ctl::kDefaultTxLog2);
  EXPECT_FALSE(a.notify_tx);
  EXPECT_FALSE(a.raw);
  EXPECT_FALSE(a.broadcast);
}

TEST(RequestArgs, UdpOpenConnected) {
  const auto a = parse_udp_open(json{{"nq_id", 1},
                                     {"local_ip", "10.11.0.2"},
                                     {"local_port", 7000},
                                     {"remote_ip", "10.11.0.1"},
                                     {"remote_port", 5555},
                                     {"rx_log2", 3},
                                     {"tx_log2", 12},
                                     {"notify_tx", true},
                                     {"raw", false},
                                     {"broadcast", true}});
  ASSERT_TRUE(a.remote.has_value());
  EXPECT_EQ(a.remote->ip, (Ipv4{10, 11, 0, 1}));
  EXPECT_EQ(a.remote->port, 5555);
  EXPECT_EQ(a.local_ip, (Ipv4{10, 11, 0, 2}));
  EXPECT_EQ(a.local_port, 7000);
  EXPECT_EQ(a.rx_log2, 3U);
  EXPECT_EQ(a.tx_log2, 12U);
  EXPECT_TRUE(a.notify_tx);
  EXPECT_TRUE(a.broadcast);
  // null means absent.
  const auto b =
      parse_udp_open(json{{"nq_id", 1}, {"remote_ip", nullptr}, {"remote_port", nullptr}});
  EXPECT_FALSE(b.remote.has_value());
}

TEST(RequestArgs, UdpOpenRefusals) {
  auto e = [](json j) { return err_of([&] { parse_udp_open(j); }); };
  EXPECT_EQ(e(json::object()), EINVAL);                             // nq_id missing
  EXPECT_EQ(e(json{{"nq_id", "1"}}), EINVAL);                       // wrong type
  EXPECT_EQ(e(json{{"nq_id", -1}}), EINVAL);                        // negative
  EXPECT_EQ(e(json{{"nq_id", 1}, {"local_port", 65536}}), EINVAL);  // range
  EXPECT_EQ(e(json{{"nq_id", 1}, {"local_port", "80"}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"local_port", 80.0}}), EINVAL);  // floats are not ports
  EXPECT_EQ(e(json{{"nq_id", 1}, {"rx_log2", ctl::kMinRingLog2 - 1}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"rx_log2", ctl::kMaxRxLog2 + 1}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"tx_log2", ctl::kMaxTxLog2 + 1}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"raw", 1}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"local_ip", "10.11.0"}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"local_ip", 167837698}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"remote_ip", "10.11.0.1"}}), EINVAL);  // half a peer
  EXPECT_EQ(e(json{{"nq_id", 1}, {"remote_port", 9}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"remote_ip", "10.11.0.1"}, {"remote_port", 0}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"remote_ip", "0.0.0.0"}, {"remote_port", 9}}), EINVAL);
  EXPECT_EQ(e(json{{"nq_id", 1}, {"local_prot", 80}}), EINVAL);  // misspelt: not ignored
}

TEST(RequestArgs, OtherOps) {
  EXPECT_EQ(parse_nq_open(json::object()).log2, ctl::kDefaultNqLog2);
  EXPECT_EQ(parse_nq_open(json{{"log2", ctl::kMaxNqLog2}}).log2, ctl::kMaxNqLog2);
  EXPECT_EQ(err_of([] { parse_nq_open(json{{"log2", ctl::kMaxNqLog2 + 1}}); }), EINVAL);
  EXPECT_EQ(err_of([] { parse_nq_open(json{{"log2", 2}}); }), EINVAL);
  EXPECT_EQ(parse_close(json{{"conn_id", 5}}), 5);
  EXPECT_EQ(err_of([] { parse_close(json::object()); }), EINVAL);
  EXPECT_EQ(err_of([] { parse_close(json{{"conn_id", 70000}}); }), EINVAL);
  EXPECT_EQ(parse_nq_close(json{{"nq_id", 2}}), 2);
  EXPECT_EQ(parse_neigh(json{{"ip", "10.11.0.1"}}), (Ipv4{10, 11, 0, 1}));
  EXPECT_EQ(err_of([] { parse_neigh(json{{"ip", "fe80::1"}}); }), EINVAL);
  EXPECT_EQ(parse_hello(json{{"version", 1}}).version, 1);
  EXPECT_EQ(err_of([] { parse_hello(json::object()); }), EINVAL);
  EXPECT_EQ(err_of([] { parse_status(json{{"verbose", true}}); }), EINVAL);
  EXPECT_EQ(err_of([] { parse_status(json{{"op", "status"}, {"seq", 3}}); }), 0);
}

}  // namespace
}  // namespace norman::normand

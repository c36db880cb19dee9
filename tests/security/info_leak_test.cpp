// Item: what one user learns about another. A port held through normand
// by one user is refused to another with EADDRINUSE and nothing more (as
// Linux: not the holder's pid, command or uid); root is still told who
// holds it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "security_env.hpp"

namespace norman::security_test {
namespace {

constexpr int kPort = 20471;

struct Holder {
  ctl::Client c;
  ctl::Message conn;
};

// Opens a connection on kPort in this (root) process.
Holder hold_port() {
  auto c = ctl::Client::connect(env().normand_socket());
  c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
  auto nq = c.call(ctl::op::kNqOpen, {{"log2", 6}});
  auto conn = c.call(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}, {"local_port", kPort}});
  return Holder{std::move(c), std::move(conn)};
}

// The refusal another client gets for kPort: {errno, message}.
json try_port() {
  auto c = ctl::Client::connect(env().normand_socket());
  c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
  auto nq = c.call(ctl::op::kNqOpen, {{"log2", 6}});
  try {
    c.call(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}, {"local_port", kPort}});
    return {{"errno", 0}};
  } catch (const std::system_error& e) {
    return {{"errno", e.code().value()}, {"message", e.what()}};
  }
}

TEST(InfoLeak, AddressInUseNamesNoOtherUser) {
  Holder h = hold_port();
  const json other = run_as(kNobody, [] { return try_port(); });
  ASSERT_FALSE(other.contains("error")) << other.dump();
  EXPECT_EQ(other["errno"], EADDRINUSE) << other.dump();
  const std::string msg = other.value("message", "");
  for (const std::string& leak :
       std::vector<std::string>{"pid", "uid", "conn ", std::to_string(::getpid())}) {
    EXPECT_EQ(msg.find(leak), std::string::npos) << "\"" << leak << "\" in: " << msg;
  }
  // Root (here the holder itself) is told which connection holds it.
  const json root = try_port();
  EXPECT_EQ(root["errno"], EADDRINUSE) << root.dump();
  EXPECT_NE(root.value("message", "").find("pid " + std::to_string(::getpid())), std::string::npos)
      << root.dump();
  expect_daemons_alive("the port conflicts");
}

}  // namespace
}  // namespace norman::security_test

int main(int argc, char** argv) { return norman::security_test::security_main(argc, argv); }

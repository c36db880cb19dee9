// The control protocol's framing: a string that is not UTF-8 is a refused
// request (EINVAL), never an exception from the JSON library, and a
// datagram that is not UTF-8 JSON is refused by the receiver.
#include "ctl_socket.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace norman::ctl {
namespace {

TEST(CtlSocket, InvalidUtf8IsEinvalNotAJsonException) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  const nlohmann::json bad = {{"op", "nfw"}, {"comment", "caf\xc3"}};
  try {
    send_message(a.get(), bad);
    ADD_FAILURE() << "sent";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EINVAL);
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
  }
  try {
    (void)json_to_memfd(bad, "payload");
    ADD_FAILURE() << "written";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EINVAL);
  }
  // Raw bytes that are not UTF-8 on the wire: the receiver refuses them.
  const char raw[] = "{\"op\":\"x\xff\"}";
  ASSERT_EQ(::send(a.get(), raw, sizeof raw - 1, 0), static_cast<ssize_t>(sizeof raw - 1));
  try {
    (void)recv_message(b.get(), 1000);
    ADD_FAILURE() << "parsed";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPROTO);
  }
}

}  // namespace
}  // namespace norman::ctl

// Item: every descriptor normand hands a client (the doorbell channel
// memfd, queue and connection ring memfds, the queue's interrupt eventfd)
// can be misused in every way the kernel allows without hurting nsim,
// normand or anyone else: truncating or growing a memfd is refused (sealed),
// adding seals is refused, writing junk and punching holes only change the
// client's own memory (nsim validates every index it reads), and an
// interrupt eventfd that is full and made blocking never blocks nsim.
// After each attack nsim and normand run and another client is served.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "norman/regmap.hpp"
#include "nsim_client.hpp"
#include "security_env.hpp"

namespace norman::security_test {
namespace {

namespace rm = norman::regmap;

std::size_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

// Every size and seal change the kernel offers, on one memfd.
json size_attacks(int fd) {
  const auto size = static_cast<off_t>(size_of(fd));
  json r;
  r["size"] = size;
  r["truncate_0"] = errno_of(::ftruncate(fd, 0));
  r["truncate_half"] = errno_of(::ftruncate(fd, size / 2));
  r["truncate_grow"] = errno_of(::ftruncate(fd, size * 2));
  r["fallocate_grow"] = errno_of(::fallocate(fd, 0, size, 4096));
  r["add_seal_write"] = errno_of(::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 ? -1 : 0);
  r["add_seal_future_write"] = errno_of(::fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0 ? -1 : 0);
  r["size_after"] = size_of(fd);
  // Other protections and private maps: the client's own business.
  void* x =
      ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  if (x != MAP_FAILED) ::munmap(x, static_cast<std::size_t>(size));
  void* pv =
      ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (pv != MAP_FAILED) {
    std::memset(pv, 0xff, static_cast<std::size_t>(size));
    ::munmap(pv, static_cast<std::size_t>(size));
  }
  return r;
}

// Junk through write(), then holes over all of it (reads as zeros).
json content_attacks(int fd) {
  const std::size_t size = size_of(fd);
  std::vector<std::uint8_t> junk(size, 0xA5);
  json r;
  r["write"] = ::pwrite(fd, junk.data(), junk.size(), 0) == static_cast<ssize_t>(size) ? 0 : errno;
  r["punch"] = errno_of(
      ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size)));
  r["size_after"] = size_of(fd);
  return r;
}

void expect_sealed(const json& r, const std::string& what) {
  SCOPED_TRACE(what + ": " + r.dump());
  EXPECT_EQ(r["truncate_0"], EPERM);
  EXPECT_EQ(r["truncate_half"], EPERM);
  EXPECT_EQ(r["truncate_grow"], EPERM);
  EXPECT_EQ(r["fallocate_grow"], EPERM);
  EXPECT_EQ(r["add_seal_write"], EPERM);
  EXPECT_EQ(r["add_seal_future_write"], EPERM);
  EXPECT_EQ(r["size_after"], r["size"]);
}

// A UDP socket in the peer's network namespace (the Linux host on the wire),
// opened while still root.
int peer_socket(const std::string& ns) {
  const int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int peer = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (self < 0 || peer < 0 || ::setns(peer, CLONE_NEWNET) != 0) return -1;
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ::setns(self, CLONE_NEWNET);
  ::close(self);
  ::close(peer);
  return s;
}

TEST(FdMisuse, EveryHandedOutDescriptor) {
  const std::string path = env().normand_socket();
  const std::string nic_ip = env().nic_ip();
  int udp = -1;
  RunOptions o;
  o.before_drop = [&] { udp = peer_socket(env().ns()); };
  const json r = run_as(
      kNobody,
      [&]() -> json {
        json out;
        auto c = ctl::Client::connect(path);
        auto hello = c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
        auto nq = c.call(ctl::op::kNqOpen, {{"log2", 6}});
        auto conn = c.call(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}});
        const int doorbells = hello.fds.at(0).get();
        const int nq_ring = nq.fds.at(0).get();
        const int irq = nq.fds.at(1).get();
        const int conn_ring = conn.fds.at(0).get();
        out["doorbells"] = size_attacks(doorbells);
        out["nq_ring"] = size_attacks(nq_ring);
        out["conn_ring"] = size_attacks(conn_ring);
        out["nq_ring_content"] = content_attacks(nq_ring);
        out["conn_ring_content"] = content_attacks(conn_ring);

        // The interrupt eventfd: full, and blocking for every holder of it.
        const std::uint64_t max = 0xfffffffffffffffeULL;
        out["irq_setfl"] = errno_of(::fcntl(irq, F_SETFL, 0));
        out["irq_fill"] = ::write(irq, &max, sizeof max) == 8 ? 0 : errno;
        // A datagram for the connection (a notification pending), then ARM:
        // the NIC raises the queue's interrupt at once.
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<std::uint16_t>(conn.body.at("local_port").get<int>()));
        ::inet_pton(AF_INET, nic_ip.c_str(), &to.sin_addr);
        for (int i = 0; i < 5; ++i) {
          (void)::sendto(udp, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
          std::this_thread::sleep_for(50ms);
        }
        auto ch = nsim::MmioChannel::attach(doorbells);
        const std::uint64_t page = nq.body.at("db_page").get<std::uint64_t>();
        ch.write64(page + rm::kDbNqArm, 1);
        std::this_thread::sleep_for(300ms);
        out["nic_answers"] = true;
        // Last, the doorbell ring itself: junk, then holes.
        out["doorbells_content"] = content_attacks(doorbells);
        std::this_thread::sleep_for(200ms);
        return out;
      },
      o);
  if (udp >= 0) ::close(udp);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  ASSERT_FALSE(r.contains("timeout")) << r.dump();
  expect_sealed(r["doorbells"], "doorbell channel memfd");
  expect_sealed(r["nq_ring"], "queue ring memfd");
  expect_sealed(r["conn_ring"], "connection ring memfd");
  for (const char* k : {"nq_ring_content", "conn_ring_content", "doorbells_content"}) {
    EXPECT_EQ(r[k]["size_after"],
              r[std::string(k).substr(0, std::string(k).find("_content"))]["size"])
        << k << ": " << r[k].dump();
  }
  EXPECT_EQ(r["irq_fill"], 0) << r.dump();
  expect_daemons_alive("misusing every descriptor");
}

TEST(FdMisuse, TruncatedDoorbellChannelDoesNotKillNsim) {
  // The reported case, alone: ftruncate(fd, 0) of the hello's doorbells,
  // then a doorbell write through the (now refused) shrink.
  const std::string path = env().normand_socket();
  const json r = run_as(kNobody, [&]() -> json {
    auto c = ctl::Client::connect(path);
    auto hello = c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    const int fd = hello.fds.at(0).get();
    json out;
    out["truncate"] = errno_of(::ftruncate(fd, 0));
    std::this_thread::sleep_for(300ms);
    return out;
  });
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["truncate"], EPERM) << r.dump();
  expect_daemons_alive("ftruncate of the doorbell channel");
}

TEST(FdMisuse, FilterPayloadMustBeASealedMemfd) {
  // Descriptors passed in: filter_replace reads its table only from a memfd
  // sealed against writes (a file on FUSE could block normand; an unsealed
  // memfd could change under the parser). Root sends them: the check does
  // not depend on who asks.
  auto c = ctl::Client::connect(env().normand_socket());
  const std::string file = env().dir() + "/table.json";
  std::ofstream(file) << "{}";
  const int plain = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  const int unsealed = ::memfd_create("t", MFD_CLOEXEC);
  ASSERT_EQ(::write(unsealed, "{}", 2), 2);
  int fifo[2];
  ASSERT_EQ(::pipe2(fifo, O_CLOEXEC), 0);
  for (const int fd : {plain, unsealed, fifo[0]}) {
    try {
      const int fds[] = {fd};
      c.call(ctl::op::kFilterReplace, {{"counters", false}}, fds, 10000);
      ADD_FAILURE() << "fd accepted";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EINVAL) << e.what();
    }
  }
  ::close(plain);
  ::close(unsealed);
  ::close(fifo[0]);
  ::close(fifo[1]);
  expect_daemons_alive("bad filter payloads");
}

}  // namespace
}  // namespace norman::security_test

int main(int argc, char** argv) { return norman::security_test::security_main(argc, argv); }

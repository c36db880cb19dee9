// The pcapng writer: block structure parsed here against the spec (SHB,
// one IDB per port with if_name and if_tsresol, EPBs with epb_flags for the
// direction and opt_comment for the owner), and libpcap reads it back with
// the right frames, lengths and nanosecond timestamps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "traffic.hpp"
#include "writer.hpp"

namespace norman::ndump::test {
namespace {

namespace fs = std::filesystem;

struct Option {
  std::uint16_t code;
  std::string value;
};
struct Block {
  std::uint32_t type;
  std::vector<std::uint8_t> body;  // between the two length fields
};

std::uint32_t le32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
std::uint16_t le16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

std::vector<Block> parse_blocks(const std::vector<std::uint8_t>& f) {
  std::vector<Block> out;
  std::size_t off = 0;
  while (off < f.size()) {
    EXPECT_LE(off + 12, f.size());
    std::uint32_t type = le32(&f[off]), len = le32(&f[off + 4]);
    EXPECT_EQ(len % 4, 0u);
    EXPECT_LE(off + len, f.size());
    EXPECT_EQ(le32(&f[off + len - 4]), len) << "trailing length";
    out.push_back(
        {type, std::vector<std::uint8_t>(f.begin() + static_cast<std::ptrdiff_t>(off + 8),
                                         f.begin() + static_cast<std::ptrdiff_t>(off + len - 4))});
    off += len;
  }
  return out;
}

std::vector<Option> parse_options(const std::vector<std::uint8_t>& b, std::size_t off) {
  std::vector<Option> out;
  while (off + 4 <= b.size()) {
    std::uint16_t code = le16(&b[off]), len = le16(&b[off + 2]);
    if (code == 0) break;
    out.push_back({code, std::string(reinterpret_cast<const char*>(&b[off + 4]), len)});
    off += 4 + ((len + 3u) & ~3u);
  }
  return out;
}

class Pcapng : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        (fs::temp_directory_path() / ("ndump_ng_" + std::to_string(getpid()) + ".pcapng")).string();
  }
  void TearDown() override { fs::remove(path_); }
  std::string path_;
};

TEST_F(Pcapng, BlocksCarryInterfaceDirectionAndOwner) {
  std::vector<Packet> traffic = varied_traffic();
  std::vector<CaptureRecord> recs;
  for (std::size_t i = 0; i < 4; ++i) {
    CaptureRecord r;
    r.ts_ns = 1700000000123456789ull + i;
    r.orig_len = static_cast<std::uint32_t>(traffic[i].data.size());
    r.data = traffic[i].data;
    if (i == 3) r.data.resize(17), r.orig_len = 100;  // cut by the snap length, odd size
    r.port = i == 2 ? 1 : 0;
    r.dir = i == 0 ? Direction::in : i == 1 ? Direction::out : Direction::unknown;
    if (i == 1) r.owner = Owner{1001, 1001, 4242, "redis-server", "/system.slice/redis.service"};
    recs.push_back(r);
  }
  {
    WriterOptions o;
    o.path = path_;
    o.pcapng = true;
    o.snaplen = 65535;
    o.interface_name = [](std::uint8_t p) { return "nic" + std::to_string(p); };
    auto w = open_writer(o);
    for (const auto& r : recs) w->write(r);
  }
  std::ifstream in(path_, std::ios::binary);
  std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
  auto blocks = parse_blocks(file);
  // SHB, IDB(nic0), EPB, EPB, IDB(nic1), EPB, EPB.
  ASSERT_EQ(blocks.size(), 7u);
  EXPECT_EQ(blocks[0].type, 0x0A0D0D0Au);
  EXPECT_EQ(le32(&blocks[0].body[0]), 0x1A2B3C4Du);
  EXPECT_EQ(le16(&blocks[0].body[4]), 1);
  EXPECT_EQ(le16(&blocks[0].body[6]), 0);
  auto idb_check = [&](const Block& b, const char* name) {
    EXPECT_EQ(b.type, 1u);
    EXPECT_EQ(le16(&b.body[0]), 1);  // DLT_EN10MB
    EXPECT_EQ(le32(&b.body[4]), 65535u);
    auto opts = parse_options(b.body, 8);
    ASSERT_EQ(opts.size(), 2u);
    EXPECT_EQ(opts[0].code, 2);
    EXPECT_EQ(opts[0].value, name);
    EXPECT_EQ(opts[1].code, 9);
    EXPECT_EQ(opts[1].value, std::string(1, '\x09'));
  };
  idb_check(blocks[1], "nic0");
  idb_check(blocks[4], "nic1");
  const std::size_t epb_index[] = {2, 3, 5, 6};
  const std::uint32_t want_if[] = {0, 0, 1, 0};
  for (std::size_t i = 0; i < 4; ++i) {
    const Block& b = blocks[epb_index[i]];
    SCOPED_TRACE(i);
    EXPECT_EQ(b.type, 6u);
    EXPECT_EQ(le32(&b.body[0]), want_if[i]);
    std::uint64_t ts = std::uint64_t{le32(&b.body[4])} << 32 | le32(&b.body[8]);
    EXPECT_EQ(ts, recs[i].ts_ns);
    std::uint32_t caplen = le32(&b.body[12]);
    EXPECT_EQ(caplen, recs[i].data.size());
    EXPECT_EQ(le32(&b.body[16]), recs[i].orig_len);
    EXPECT_EQ(0, std::memcmp(&b.body[20], recs[i].data.data(), caplen));
    auto opts = parse_options(b.body, 20 + ((caplen + 3u) & ~3u));
    std::optional<std::uint32_t> flags;
    std::optional<std::string> comment;
    for (auto& o : opts) {
      if (o.code == 2) flags = le32(reinterpret_cast<const std::uint8_t*>(o.value.data()));
      if (o.code == 1) comment = o.value;
    }
    if (i == 0) {
      EXPECT_EQ(flags, 1u);  // inbound
    } else if (i == 1) {
      EXPECT_EQ(flags, 2u);  // outbound
    } else {
      EXPECT_FALSE(flags);
    }
    if (i == 1) {
      EXPECT_EQ(comment, "uid 1001 pid 4242 redis-server cgroup /system.slice/redis.service");
    } else {
      EXPECT_FALSE(comment);
    }
  }

  // libpcap reads the same frames back.
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path_.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(p, nullptr) << err;
  pcap_pkthdr* h;
  const u_char* data;
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(pcap_next_ex(p, &h, &data), 1);
    EXPECT_EQ(h->caplen, recs[i].data.size());
    EXPECT_EQ(h->len, recs[i].orig_len);
    EXPECT_EQ(static_cast<std::uint64_t>(h->ts.tv_sec) * 1000000000u +
                  static_cast<std::uint64_t>(h->ts.tv_usec),
              recs[i].ts_ns);
    EXPECT_EQ(0, std::memcmp(data, recs[i].data.data(), h->caplen));
  }
  EXPECT_EQ(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);
  pcap_close(p);

  if (access("/usr/bin/tcpdump", X_OK) == 0) {
    std::string cmd = "/usr/bin/tcpdump -r " + path_ + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
}

}  // namespace
}  // namespace norman::ndump::test

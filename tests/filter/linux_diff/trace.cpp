#include "trace.hpp"

#include <array>

namespace norman::filter::difftest {

namespace {

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put16(b, at, static_cast<std::uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<std::uint16_t>(v));
}

std::uint16_t checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if ((n & 1) != 0) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

template <typename T>
T pick(std::mt19937& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
}

}  // namespace

Pools default_pools() {
  Pools p;
  for (std::uint32_t i = 0; i < 6; ++i) {
    p.src.push_back(0x0A010000u | (i * 37 + 1));  // 10.1.0.x
    p.src.push_back(0x0A018000u | (i * 11 + 3));  // 10.1.128.x
    p.src.push_back(0xAC100000u | (i << 8) | 5);  // 172.16.i.5
    p.src.push_back(0xC0A80000u | (i * 40 + 2));  // 192.168.0.x
    p.dst.push_back(0x0A630000u | (i * 29 + 1));  // 10.99.0.x
    p.dst.push_back(0x0A638000u | (i * 53 + 7));  // 10.99.128.x
  }
  p.ports = {1, 22, 53, 80, 443, 1023, 1024, 3306, 5432, 8080, 20000, 40000, 65535};
  return p;
}

Frame random_frame(std::mt19937& rng, const Pools& pools, const std::uint8_t (&dst_mac)[6],
                   const std::uint8_t (&src_mac)[6]) {
  static constexpr std::array<std::uint8_t, 8> kProtos{6, 6, 6, 17, 17, 1, 47, 99};
  const std::uint8_t proto =
      kProtos[std::uniform_int_distribution<std::size_t>(0, kProtos.size() - 1)(rng)];
  std::size_t l4 = proto == 6 ? 20 : proto == 17 ? 8 : proto == 1 ? 8 : 4;
  const std::size_t payload = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
  const std::size_t ip_len = 20 + l4 + payload;
  Frame f;
  auto& b = f.bytes;
  b.assign(14 + ip_len, 0);
  for (int i = 0; i < 6; ++i) {
    b[static_cast<std::size_t>(i)] = dst_mac[i];
    b[static_cast<std::size_t>(6 + i)] = src_mac[i];
  }
  put16(b, 12, 0x0800);
  std::uint8_t* ip = b.data() + 14;
  ip[0] = 0x45;
  put16(b, 16, static_cast<std::uint16_t>(ip_len));
  put16(b, 18, static_cast<std::uint16_t>(rng()));
  ip[8] = 64;
  ip[9] = proto;
  put32(b, 26, pick(rng, pools.src));
  put32(b, 30, pick(rng, pools.dst));
  put16(b, 24, checksum(ip, 20));
  const std::size_t t = 34;
  auto port = [&] {
    return (rng() % 4) == 0 ? static_cast<std::uint16_t>(rng()) : pick(rng, pools.ports);
  };
  if (proto == 6) {
    put16(b, t, port());
    put16(b, t + 2, port());
    put32(b, t + 4, static_cast<std::uint32_t>(rng()));
    b[t + 12] = 0x50;
    static constexpr std::array<std::uint8_t, 8> kFlags{0x02, 0x02, 0x12, 0x10,
                                                        0x18, 0x11, 0x04, 0x29};
    b[t + 13] = (rng() % 5) == 0
                    ? static_cast<std::uint8_t>(rng())
                    : kFlags[std::uniform_int_distribution<std::size_t>(0, kFlags.size() - 1)(rng)];
    put16(b, t + 14, 1024);
  } else if (proto == 17) {
    put16(b, t, port());
    put16(b, t + 2, port());
    put16(b, t + 4, static_cast<std::uint16_t>(8 + payload));
  } else if (proto == 1) {
    static constexpr std::array<std::uint8_t, 6> kTypes{0, 3, 8, 8, 11, 13};
    b[t] = kTypes[std::uniform_int_distribution<std::size_t>(0, kTypes.size() - 1)(rng)];
    b[t + 1] = static_cast<std::uint8_t>(rng() % 4);
  }
  return f;
}

}  // namespace norman::filter::difftest

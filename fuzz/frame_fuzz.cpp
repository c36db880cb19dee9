// Frames through the packet parser's software references: the filter's
// key_of_frame (which mirrors the RTL pkt_parser for the NIC's filter) and
// the C++ reference parser the RTL tests compare pkt_parser with. Both
// must take any bytes; and they must agree on what they share: a frame the
// filter judges exactly the IPv4 frames the reference parser accepts up to
// L3.
#include <cstddef>
#include <cstdint>
#include <span>

#include "flat.hpp"
#include "fuzz_util.hpp"
#include "ref_parser.hpp"

using namespace norman;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> frame(data, size);
  const ref::PktMeta meta = ref::parse(frame);
  // The filter judges IPv4 whose L3 checks pass; an L4 header that fails
  // its own checks still leaves the frame judged on its IPv4 fields.
  const bool judged =
      meta.is_ipv4 && (meta.err == ref::ParseErr::kNone || meta.err == ref::ParseErr::kTruncL4 ||
                       meta.err == ref::ParseErr::kTcpDoff || meta.err == ref::ParseErr::kUdpLen);
  for (const auto dir : {filter::Direction::kInput, filter::Direction::kOutput}) {
    const auto key = filter::key_of_frame(frame, dir, 1, std::nullopt);
    FUZZ_CHECK(key.has_value() == judged);
  }
  return 0;
}

#include "summary.hpp"

namespace norman::ndump {
namespace {
std::string line(std::uint64_t n, const char* what) {
  return std::to_string(n) + (n == 1 ? " packet " : " packets ") + what + "\n";
}
}  // namespace

std::string summary_text(std::uint64_t captured, const CaptureStats& nic) {
  return line(captured, "captured") + line(nic.received_by_filter, "received by filter") +
         line(nic.dropped, "dropped by kernel");
}

}  // namespace norman::ndump

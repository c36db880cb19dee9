// conntrack -L's default line (libnetfilter_conntrack's snprintf_default):
// "PROTO NUM TIMEOUT [TCPSTATE] orig-tuple counters [UNREPLIED] reply-tuple
// counters [ASSURED] mark=0 use=1". The model keeps no marks, zones or
// security contexts: those print as on a host that uses none.
#include <cstdio>

#include "conntrack.hpp"

namespace norman::conntrack {

namespace {

std::string ip(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xFF) + "." +
         std::to_string((a >> 8) & 0xFF) + "." + std::to_string(a & 0xFF);
}

std::string tuple_text(const Tuple& t) {
  std::string out = "src=" + ip(t.src) + " dst=" + ip(t.dst) + " ";
  if (t.proto == 6 || t.proto == 17) {
    out += "sport=" + std::to_string(t.sport) + " dport=" + std::to_string(t.dport) + " ";
  } else if (t.proto == 1) {
    out += "type=" + std::to_string(t.dport >> 8) + " code=" + std::to_string(t.dport & 0xFF) +
           " id=" + std::to_string(t.sport) + " ";
  }
  return out;
}

const char* proto_text(std::uint8_t p) {
  switch (p) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    default:
      return "unknown";
  }
}

}  // namespace

std::string format_entry(const Entry& e, std::uint64_t now_ns) {
  char head[40];
  const std::uint64_t left = e.expires_ns > now_ns ? (e.expires_ns - now_ns) / 1'000'000'000ULL : 0;
  std::snprintf(head, sizeof head, "%-8s %u %llu ", proto_text(e.orig.proto), e.orig.proto,
                static_cast<unsigned long long>(left));
  std::string out = head;
  if (e.orig.proto == 6) out += std::string(tcp_state_name(e.tcp_state)) + " ";
  out += tuple_text(e.orig);
  out += "packets=" + std::to_string(e.packets[0]) + " bytes=" + std::to_string(e.bytes[0]) + " ";
  if ((e.status & filter::ctstatus::kSeenReply) == 0) out += "[UNREPLIED] ";
  out += tuple_text(reply_of(e.orig));
  out += "packets=" + std::to_string(e.packets[1]) + " bytes=" + std::to_string(e.bytes[1]) + " ";
  if ((e.status & filter::ctstatus::kAssured) != 0) out += "[ASSURED] ";
  out += "mark=0 use=1";
  return out;
}

}  // namespace norman::conntrack

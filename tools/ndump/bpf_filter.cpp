#include "bpf_filter.hpp"

#include <memory>

namespace norman::ndump {

BpfFilter::BpfFilter(const std::string& expression, int linktype, std::uint32_t snaplen) {
  std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(
      pcap_open_dead(linktype, static_cast<int>(snaplen)), &pcap_close);
  if (!dead) throw FilterError("pcap_open_dead failed");
  // tcpdump compiles with optimisation on and netmask unknown.
  if (pcap_compile(dead.get(), &prog_, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    throw FilterError(pcap_geterr(dead.get()));
}

BpfFilter::~BpfFilter() { pcap_freecode(&prog_); }

bool BpfFilter::matches(const std::uint8_t* data, std::uint32_t caplen,
                        std::uint32_t orig_len) const {
  pcap_pkthdr h{};
  h.caplen = caplen;
  h.len = orig_len;
  return pcap_offline_filter(&prog_, &h, data) != 0;
}

std::vector<sock_filter> BpfFilter::instructions() const {
  std::vector<sock_filter> out;
  out.reserve(prog_.bf_len);
  for (unsigned i = 0; i < prog_.bf_len; ++i) {
    const bpf_insn& in = prog_.bf_insns[i];
    out.push_back(sock_filter{in.code, in.jt, in.jf, in.k});
  }
  return out;
}

}  // namespace norman::ndump

#include "nic_host_filter.hpp"

#include <pcap/pcap.h>

namespace norman::ndump {

HostFilter::HostFilter(const std::vector<sock_filter>& program, std::uint32_t snaplen,
                       bool host_filtered)
    : snaplen_(snaplen), host_filtered_(host_filtered) {
  for (const auto& i : program) prog_.push_back(bpf_insn{i.code, i.jt, i.jf, i.k});
}

bool HostFilter::admit(CaptureRecord& rec, bool unsure) const {
  if ((unsure || host_filtered_) && !prog_.empty()) {
    // The NIC captured the whole frame for these, so the program reads the
    // same bytes the kernel's filter would; buflen is what is here, wirelen
    // the original length (BPF_LEN).
    const auto keep = bpf_filter(prog_.data(), rec.data.data(), rec.orig_len,
                                 static_cast<u_int>(rec.data.size()));
    if (keep == 0) {
      ++rejected_;
      return false;
    }
  }
  if (snaplen_ != 0 && rec.data.size() > snaplen_) rec.data.resize(snaplen_);
  return true;
}

}  // namespace norman::ndump

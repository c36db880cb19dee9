#include "filter_log.hpp"

#include "log.hpp"

namespace norman::normand {

namespace rm = norman::regmap;
namespace fl = rm::filter_log;

namespace {

std::uint64_t word(const std::uint8_t* rec, unsigned i) {
  return __atomic_load_n(reinterpret_cast<const std::uint64_t*>(rec) + i, __ATOMIC_ACQUIRE);
}
std::uint64_t get(const std::uint8_t* rec, const rm::Field& f) { return f.get(word(rec, f.arg)); }

std::string ip_text(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

bool flag(const LogRecord& r, rm::filter::Flag f) {
  return ((r.flags >> static_cast<unsigned>(f)) & 1U) != 0;
}

}  // namespace

LogRecord decode_log_record(const std::uint8_t* rec) {
  LogRecord r;
  r.output = get(rec, fl::kDir) != 0;
  r.port = static_cast<unsigned>(get(rec, fl::kPort));
  r.proto = static_cast<std::uint8_t>(get(rec, fl::kProto));
  r.flags = static_cast<std::uint16_t>(get(rec, fl::kFlags));
  r.slot = static_cast<std::uint16_t>(get(rec, fl::kSlot));
  r.bytes = static_cast<std::uint16_t>(get(rec, fl::kBytes));
  r.src = static_cast<std::uint32_t>(get(rec, fl::kSrcIp));
  r.dst = static_cast<std::uint32_t>(get(rec, fl::kDstIp));
  r.sport = static_cast<std::uint16_t>(get(rec, fl::kSport));
  r.dport = static_cast<std::uint16_t>(get(rec, fl::kDport));
  r.cmd_id = static_cast<std::uint16_t>(get(rec, fl::kCmdId));
  r.cgroup = static_cast<std::uint16_t>(get(rec, fl::kCgroup));
  r.uid = static_cast<std::uint32_t>(get(rec, fl::kUid));
  r.gid = static_cast<std::uint32_t>(get(rec, fl::kGid));
  r.cycle = get(rec, fl::kCycle);
  r.dropped = static_cast<std::uint32_t>(get(rec, fl::kDropped));
  return r;
}

std::string log_line(const LogRecord& r, const std::string& cmd) {
  using F = rm::filter::Flag;
  const std::string iface = "nic" + std::to_string(r.port);
  std::string s = r.output ? "IN= OUT=" + iface : "IN=" + iface + " OUT=";
  s += " SRC=" + ip_text(r.src) + " DST=" + ip_text(r.dst) + " LEN=" + std::to_string(r.bytes);
  if (flag(r, F::kFrag)) s += " FRAG";
  switch (r.proto) {
    case 6:
    case 17:
      s += r.proto == 6 ? " PROTO=TCP" : " PROTO=UDP";
      if (flag(r, F::kL4Valid)) {
        s += " SPT=" + std::to_string(r.sport) + " DPT=" + std::to_string(r.dport);
        if (r.proto == 6) {
          static constexpr std::pair<F, const char*> kBits[] = {
              {F::kTcpCwr, " CWR"}, {F::kTcpEce, " ECE"}, {F::kTcpUrg, " URG"},
              {F::kTcpAck, " ACK"}, {F::kTcpPsh, " PSH"}, {F::kTcpRst, " RST"},
              {F::kTcpSyn, " SYN"}, {F::kTcpFin, " FIN"}};
          for (const auto& [b, name] : kBits) {
            if (flag(r, b)) s += name;
          }
        }
      }
      break;
    case 1:
      s += " PROTO=ICMP";
      if (flag(r, F::kL4Valid))
        s += " TYPE=" + std::to_string(r.sport >> 8) + " CODE=" + std::to_string(r.sport & 255);
      break;
    default:
      s += " PROTO=" + std::to_string(r.proto);
  }
  if (flag(r, F::kOwnerValid)) {
    s += " UID=" + std::to_string(r.uid) + " GID=" + std::to_string(r.gid);
    if (!cmd.empty()) s += " CMD=" + cmd;
  }
  if (r.dropped != 0)
    s += " (" + std::to_string(r.dropped) + " earlier records not written: rate limit)";
  return s;
}

FilterLog::FilterLog(boost::asio::io_context& io, device::Device& dev, unsigned records_per_second,
                     unsigned burst, Describe describe)
    : dev_(dev), timer_(io), describe_(std::move(describe)) {
  ring_ = dev_.alloc_dma((std::size_t{1} << kLog2) * fl::kRecordBytes, "filter-log");
  auto& io_regs = dev_.nic().io();
  const std::uint64_t per_token = records_per_second == 0 ? 0 : rm::kClockHz / records_per_second;
  io_regs.write64(rm::kRegFilterLogRate,
                  (per_token & 0xFFFFFFFFu) | (static_cast<std::uint64_t>(burst & 0xFFFF) << 32));
  io_regs.write64(rm::kRegFilterLogBase, ring_.iova);
  io_regs.write64(rm::kRegFilterLogCons, 0);
  io_regs.write64(rm::kRegFilterLogCfg, kLog2);
  arm();
}

FilterLog::~FilterLog() {
  timer_.cancel();
  try {
    dev_.nic().io().write64(rm::kRegFilterLogCfg, 0);
  } catch (const std::exception&) {
    // The NIC is gone; nothing writes into the ring any more either way.
  }
  dev_.free_dma(ring_);
}

void FilterLog::arm() {
  timer_.expires_after(std::chrono::milliseconds(100));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    poll();
    arm();
  });
}

void FilterLog::poll() {
  const std::uint32_t start = cons_;
  for (;;) {
    const std::uint8_t* rec =
        ring_.data + static_cast<std::size_t>(cons_ % (1U << kLog2)) * fl::kRecordBytes;
    if (get(rec, fl::kSeq) != ((cons_ + 1) & 0xFFFF)) break;
    const LogRecord r = decode_log_record(rec);
    log::warn("nfw: " + describe_(r));
    ++cons_;
    ++records_;
  }
  if (cons_ != start) dev_.nic().io().write64(rm::kRegFilterLogCons, cons_);
}

}  // namespace norman::normand

#include "nic_device.hpp"

#include <cstring>
#include <sstream>
#include <thread>
#include <utility>

namespace norman::device {
namespace rm = norman::regmap;

namespace {

std::uint64_t load64(const std::uint8_t* p) {
  // Addresses travel as the NIC compares them: bytes in network order packed
  // into the low end of the 128-bit field, first byte most significant.
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// A 16-byte address as the (lo, hi) 64-bit halves of the 128-bit field; an
// IPv4 address occupies the low 32 bits.
std::pair<std::uint64_t, std::uint64_t> ip_words(const std::array<std::uint8_t, 16>& ip, bool v6) {
  if (!v6) {
    std::uint64_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | ip[static_cast<std::size_t>(i)];
    return {v, 0};
  }
  return {load64(ip.data() + 8), load64(ip.data())};
}

std::uint64_t mac_word(const std::array<std::uint8_t, 6>& mac) {
  std::uint64_t v = 0;
  for (std::uint8_t b : mac) v = (v << 8) | b;
  return v;
}

}  // namespace

void NicDevice::check_identity() {
  const std::uint64_t magic = io_.read64(rm::kRegIdMagic);
  const std::uint64_t build = io_.read64(rm::kRegIdBuildId);
  if (magic != rm::kMagic || build != rm::kBuildId) {
    std::ostringstream os;
    os << std::hex << "NIC identity mismatch: MAGIC 0x" << magic << " (want 0x" << rm::kMagic
       << "), BUILD_ID 0x" << build << " (want 0x" << rm::kBuildId
       << "): the NIC and this software were built from different register maps";
    throw std::runtime_error(os.str());
  }
}

std::uint64_t NicDevice::run(rm::Op op, const std::array<std::uint64_t, 16>& args, const char* what,
                             unsigned nargs) {
  for (unsigned i = 0; i < nargs && i < args.size(); ++i) {
    io_.write64(rm::kRegCmdArg + i * rm::kRegCmdArgStride, args[i]);
  }
  io_.write64(rm::kRegCmdOp, static_cast<std::uint64_t>(op));
  for (unsigned spin = 0;; ++spin) {
    const std::uint64_t st = io_.read64(rm::kRegCmdStatus);
    if ((st & (1U << rm::kCmdStatusBusyBit)) == 0) {
      const auto code = static_cast<rm::Status>(rm::kCmdStatusCode.get(st));
      if (code != rm::Status::kOk) {
        throw CommandError(
            std::string(what) + ": NIC answered " + std::string(rm::status_name(code)), code);
      }
      return st;
    }
    if (spin > 1000) std::this_thread::yield();
    if (spin > 1000000) throw std::runtime_error(std::string(what) + ": NIC command timed out");
  }
}

void NicDevice::set_key(std::array<std::uint64_t, 16>& a, const FlowKey& k) {
  namespace f = rm::flow;
  f::kProto.set(a[f::kProto.arg], k.proto);
  f::kIsIpv6.set(a[f::kIsIpv6.arg], k.is_ipv6);
  f::kLocalPort.set(a[f::kLocalPort.arg], k.local_port);
  f::kRemotePort.set(a[f::kRemotePort.arg], k.remote_port);
  auto [llo, lhi] = ip_words(k.local_ip, k.is_ipv6);
  auto [rlo, rhi] = ip_words(k.remote_ip, k.is_ipv6);
  f::kLocalIpLo.set(a[f::kLocalIpLo.arg], llo);
  f::kLocalIpHi.set(a[f::kLocalIpHi.arg], lhi);
  f::kRemoteIpLo.set(a[f::kRemoteIpLo.arg], rlo);
  f::kRemoteIpHi.set(a[f::kRemoteIpHi.arg], rhi);
}

void NicDevice::flow_insert(const FlowKey& key, std::uint16_t conn_id, bool listen) {
  std::array<std::uint64_t, 16> a{};
  set_key(a, key);
  rm::flow::kListen.set(a[rm::flow::kListen.arg], listen);
  rm::flow::kConnId.set(a[rm::flow::kConnId.arg], conn_id);
  run(rm::Op::kFlowInsert, a, "FLOW_INSERT");
}

void NicDevice::flow_delete(const FlowKey& key, bool listen) {
  std::array<std::uint64_t, 16> a{};
  set_key(a, key);
  rm::flow::kListen.set(a[rm::flow::kListen.arg], listen);
  run(rm::Op::kFlowDelete, a, "FLOW_DELETE");
}

std::uint16_t NicDevice::flow_lookup(const FlowKey& key, bool listen) {
  std::array<std::uint64_t, 16> a{};
  set_key(a, key);
  rm::flow::kListen.set(a[rm::flow::kListen.arg], listen);
  const std::uint64_t st = run(rm::Op::kFlowLookup, a, "FLOW_LOOKUP");
  return static_cast<std::uint16_t>(rm::kCmdStatusResult.get(st) & 0xFFFF);
}

void NicDevice::conn_set(const ConnConfig& c) {
  namespace f = rm::conn;
  std::array<std::uint64_t, 16> a{};
  f::kConnId.set(a[f::kConnId.arg], c.conn_id);
  f::kNqId.set(a[f::kNqId.arg], c.nq_id);
  f::kPort.set(a[f::kPort.arg], c.port);
  f::kRaw.set(a[f::kRaw.arg], c.raw);
  f::kNotifyTx.set(a[f::kNotifyTx.arg], c.notify_tx);
  f::kBroadcast.set(a[f::kBroadcast.arg], c.broadcast);
  f::kRxBase.set(a[f::kRxBase.arg], c.rx_base);
  f::kRxLog2.set(a[f::kRxLog2.arg], c.rx_log2);
  f::kTxLog2.set(a[f::kTxLog2.arg], c.tx_log2);
  f::kTxDescBase.set(a[f::kTxDescBase.arg], c.tx_desc_base);
  f::kTxDataBase.set(a[f::kTxDataBase.arg], c.tx_data_base);
  f::kPid.set(a[f::kPid.arg], c.owner.pid);
  f::kUid.set(a[f::kUid.arg], c.owner.uid);
  f::kGid.set(a[f::kGid.arg], c.owner.gid);
  f::kCmdId.set(a[f::kCmdId.arg], c.owner.cmd_id);
  f::kCgroup.set(a[f::kCgroup.arg], c.owner.cgroup);
  f::kSrcMac.set(a[f::kSrcMac.arg], mac_word(c.src_mac));
  f::kProto.set(a[f::kProto.arg], c.proto);
  f::kIsIpv6.set(a[f::kIsIpv6.arg], c.is_ipv6);
  f::kSrcPort.set(a[f::kSrcPort.arg], c.src_port);
  auto [lo, hi] = ip_words(c.src_ip, c.is_ipv6);
  f::kSrcIpLo.set(a[f::kSrcIpLo.arg], lo);
  f::kSrcIpHi.set(a[f::kSrcIpHi.arg], hi);
  run(rm::Op::kConnSet, a, "CONN_SET");
}

void NicDevice::conn_clear(std::uint16_t conn_id) {
  std::array<std::uint64_t, 16> a{};
  rm::conn::kConnId.set(a[rm::conn::kConnId.arg], conn_id);
  run(rm::Op::kConnClear, a, "CONN_CLEAR");
}

NicDevice::TxState NicDevice::conn_tx_state(std::uint16_t conn_id) {
  std::array<std::uint64_t, 16> a{};
  rm::conn::kConnId.set(a[rm::conn::kConnId.arg], conn_id);
  const std::uint64_t r =
      rm::kCmdStatusResult.get(run(rm::Op::kConnTxState, a, "CONN_TX_STATE", 1));
  return {static_cast<std::uint16_t>(r >> 16), static_cast<std::uint16_t>(r)};
}

namespace {
std::uint32_t port_reg(std::uint32_t base, unsigned port) {
  if (port >= rm::kRegCtrlPortMacCount) throw std::out_of_range("port register out of range");
  return base + port * rm::kRegCtrlPortMacStride;
}
constexpr unsigned kPromiscBit = rm::kPortMacPromiscBit;
}  // namespace

void NicDevice::set_port_mac(unsigned port, const std::array<std::uint8_t, 6>& mac, bool promisc) {
  io_.write64(port_reg(rm::kRegCtrlPortMac, port),
              mac_word(mac) | (std::uint64_t{promisc} << kPromiscBit));
}

void NicDevice::set_port_promisc(unsigned port, bool promisc) {
  const std::uint32_t reg = port_reg(rm::kRegCtrlPortMac, port);
  const std::uint64_t v = io_.read64(reg) & ((std::uint64_t{1} << kPromiscBit) - 1);
  io_.write64(reg, v | (std::uint64_t{promisc} << kPromiscBit));
}

void NicDevice::set_port_broadcast(unsigned port, std::uint32_t ipv4_host_order) {
  io_.write64(port_reg(rm::kRegCtrlPortBcast, port), ipv4_host_order);
}

void NicDevice::nq_set(const NqConfig& q) {
  namespace f = rm::nq;
  std::array<std::uint64_t, 16> a{};
  f::kNqId.set(a[f::kNqId.arg], q.nq_id);
  f::kVector.set(a[f::kVector.arg], q.vector);
  f::kLog2.set(a[f::kLog2.arg], q.log2);
  f::kBase.set(a[f::kBase.arg], q.base);
  run(rm::Op::kNqSet, a, "NQ_SET");
}

void NicDevice::nq_clear(std::uint16_t nq_id) {
  std::array<std::uint64_t, 16> a{};
  rm::nq::kNqId.set(a[rm::nq::kNqId.arg], nq_id);
  run(rm::Op::kNqClear, a, "NQ_CLEAR");
}

std::uint64_t NicDevice::counter(rm::Counter c) {
  return io_.read64(rm::kRegCountersValue + static_cast<unsigned>(c) * rm::kRegCountersValueStride);
}

void NicDevice::filter_write(const std::uint64_t* args, std::size_t count) {
  std::array<std::uint64_t, 16> a{};
  if (count > a.size()) throw std::invalid_argument("filter_write: too many arguments");
  for (std::size_t i = 0; i < count; ++i) a[i] = args[i];
  run(rm::Op::kFilterWrite, a, "FILTER_WRITE", static_cast<unsigned>(count));
}

std::uint64_t NicDevice::filter_commit() {
  const std::uint64_t st = run(rm::Op::kFilterCommit, {}, "FILTER_COMMIT", 0);
  return rm::kCmdStatusResult.get(st);
}

void NicDevice::filter_counter_clear(std::uint16_t slot) {
  std::array<std::uint64_t, 16> a{};
  rm::filter::kSlot.set(a[rm::filter::kSlot.arg], slot);
  run(rm::Op::kFilterCntClear, a, "FILTER_CNT_CLEAR", 1);
}

NicDevice::FilterHits NicDevice::filter_counter(std::uint16_t slot, unsigned lookup_port) {
  io_.write64(rm::kRegFilterCntSel, slot | (static_cast<std::uint64_t>(lookup_port & 1U) << 16));
  return {io_.read64(rm::kRegFilterCntPkts), io_.read64(rm::kRegFilterCntBytes)};
}

void NicDevice::filter_exact_data(
    const std::array<std::uint64_t, rm::kRegFilterExactDataCount>& words) {
  for (unsigned i = 0; i < words.size(); ++i) {
    if (exact_data_known_ && exact_data_[i] == words[i]) continue;
    io_.write64(rm::kRegFilterExactData + i * rm::kRegFilterExactDataStride, words[i]);
    exact_data_[i] = words[i];
  }
  exact_data_known_ = true;
}

}  // namespace norman::device

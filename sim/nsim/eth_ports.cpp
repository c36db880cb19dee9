// The only file that includes DPDK headers.
#include "eth_ports.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>

#include <cstring>
#include <stdexcept>

namespace norman::nsim {

namespace {

constexpr std::uint16_t kRingSize = 1024;
constexpr unsigned kTxBatch = 32;
constexpr unsigned kPoolMbufs = 8191;

std::string dpdk_error(const std::string& what, int err) {
  return "nsim: " + what + ": " + rte_strerror(err < 0 ? -err : err);
}

}  // namespace

struct EthPorts::Impl {
  struct Port {
    std::string name;
    std::uint16_t id;
    rte_mbuf* txq[kTxBatch];
    unsigned txn = 0;
    std::uint64_t tx_drops = 0;
  };
  static void flush_port(Port& p) {
    if (p.txn == 0) {
      return;
    }
    std::uint16_t sent = rte_eth_tx_burst(p.id, 0, p.txq, static_cast<std::uint16_t>(p.txn));
    for (unsigned i = sent; i < p.txn; ++i) {
      rte_pktmbuf_free(p.txq[i]);
      ++p.tx_drops;
    }
    p.txn = 0;
  }
  std::vector<Port> ports;
  rte_mempool* pool = nullptr;
  bool eal = false;
};

EthPorts::EthPorts(const EthPortsConfig& cfg) : impl_(std::make_unique<Impl>()) {
  // The EAL pins the calling thread to its main lcore; nsim shares the
  // machine, so remember the affinity and give it back afterwards.
  cpu_set_t saved;
  CPU_ZERO(&saved);
  bool have_saved = sched_getaffinity(0, sizeof(saved), &saved) == 0;
  int first_cpu = 0;
  if (have_saved) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &saved)) {
        first_cpu = c;
        break;
      }
    }
  }
  std::vector<std::string> args = {"nsim",        "--no-huge",     "--no-pci",
                                   "-m",          std::to_string(cfg.mem_mb),
                                   "-l",          std::to_string(first_cpu),
                                   "--file-prefix", cfg.file_prefix, "--no-shconf",
                                   "--no-telemetry", "--log-level", cfg.log_level};
  for (const std::string& p : cfg.ports) {
    args.push_back("--vdev");
    args.push_back(p);
  }
  for (const std::string& a : cfg.extra_eal) {
    args.push_back(a);
  }
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  int rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
  if (have_saved) {
    sched_setaffinity(0, sizeof(saved), &saved);
  }
  if (rc < 0) {
    throw std::runtime_error(dpdk_error("DPDK EAL initialization failed", rte_errno));
  }
  impl_->eal = true;
  impl_->pool = rte_pktmbuf_pool_create("nsim_mbufs", kPoolMbufs, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (impl_->pool == nullptr) {
    throw std::runtime_error(dpdk_error("mbuf pool creation failed", rte_errno));
  }
  for (const std::string& p : cfg.ports) {
    std::string name = p.substr(0, p.find(','));
    std::uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
      throw std::runtime_error("nsim: DPDK has no ethdev named '" + name + "' (from --port " + p + ")");
    }
    rte_eth_conf conf{};
    if ((rc = rte_eth_dev_configure(id, 1, 1, &conf)) != 0) {
      throw std::runtime_error(dpdk_error("configuring " + name, rc));
    }
    std::uint16_t nrx = kRingSize;
    std::uint16_t ntx = kRingSize;
    rte_eth_dev_adjust_nb_rx_tx_desc(id, &nrx, &ntx);
    int sock = rte_eth_dev_socket_id(id);
    unsigned socket = sock < 0 ? static_cast<unsigned>(SOCKET_ID_ANY) : static_cast<unsigned>(sock);
    if ((rc = rte_eth_rx_queue_setup(id, 0, nrx, socket, nullptr, impl_->pool)) != 0) {
      throw std::runtime_error(dpdk_error("RX queue of " + name, rc));
    }
    if ((rc = rte_eth_tx_queue_setup(id, 0, ntx, socket, nullptr)) != 0) {
      throw std::runtime_error(dpdk_error("TX queue of " + name, rc));
    }
    if ((rc = rte_eth_dev_start(id)) != 0) {
      throw std::runtime_error(dpdk_error("starting " + name, rc));
    }
    rte_eth_promiscuous_enable(id);  // a NIC model sees every frame; not all PMDs support it
    impl_->ports.push_back(Impl::Port{name, id, {}, 0});
  }
}

EthPorts::~EthPorts() {
  if (!impl_) {
    return;
  }
  flush();
  for (Impl::Port& p : impl_->ports) {
    for (unsigned i = 0; i < p.txn; ++i) {
      rte_pktmbuf_free(p.txq[i]);
    }
    p.txn = 0;
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
  }
  impl_->ports.clear();
  if (impl_->pool != nullptr) {
    rte_mempool_free(impl_->pool);
  }
  if (impl_->eal) {
    rte_eal_cleanup();
  }
}

unsigned EthPorts::size() const { return static_cast<unsigned>(impl_->ports.size()); }
const std::string& EthPorts::name(unsigned port) const { return impl_->ports.at(port).name; }

unsigned EthPorts::rx(unsigned port, unsigned max, std::vector<std::vector<std::uint8_t>>& out) {
  Impl::Port& p = impl_->ports[port];
  rte_mbuf* bufs[32];
  std::uint16_t want = static_cast<std::uint16_t>(max < 32 ? max : 32);
  if (want == 0) {
    return 0;
  }
  std::uint16_t n = rte_eth_rx_burst(p.id, 0, bufs, want);
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = bufs[i];
    std::vector<std::uint8_t> frame(rte_pktmbuf_pkt_len(m));
    const void* d = rte_pktmbuf_read(m, 0, static_cast<std::uint32_t>(frame.size()), frame.data());
    if (d != nullptr && d != frame.data()) {
      std::memcpy(frame.data(), d, frame.size());
    }
    out.push_back(std::move(frame));
    rte_pktmbuf_free(m);
  }
  return n;
}

bool EthPorts::tx(unsigned port, const std::uint8_t* data, std::size_t len) {
  Impl::Port& p = impl_->ports[port];
  rte_mbuf* m = rte_pktmbuf_alloc(impl_->pool);
  if (m == nullptr) {
    ++p.tx_drops;
    return false;
  }
  char* dst = len > UINT16_MAX ? nullptr : rte_pktmbuf_append(m, static_cast<std::uint16_t>(len));
  if (dst == nullptr) {  // larger than one mbuf
    rte_pktmbuf_free(m);
    ++p.tx_drops;
    return false;
  }
  std::memcpy(dst, data, len);
  p.txq[p.txn++] = m;
  if (p.txn == kTxBatch) {
    Impl::flush_port(p);
  }
  return true;
}

void EthPorts::flush() {
  for (Impl::Port& p : impl_->ports) {
    Impl::flush_port(p);
  }
}

EthPortCounters EthPorts::counters(unsigned port) const {
  rte_eth_stats st{};
  EthPortCounters c;
  if (rte_eth_stats_get(impl_->ports.at(port).id, &st) == 0) {
    c.rx_drops = st.imissed + st.ierrors + st.rx_nombuf;
    c.tx_errors = st.oerrors;
  }
  c.tx_drops = impl_->ports.at(port).tx_drops;
  return c;
}

}  // namespace norman::nsim

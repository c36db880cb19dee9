// The nsim control protocol and the MMIO channel layout, defined once and
// used by both nsim and the host library (sim/host).
//
// Control: a UNIX stream socket (root-only, 0600). Every request and every
// response is one MsgHeader followed by `size` payload bytes, sent in one
// sendmsg(); file descriptors travel as SCM_RIGHTS ancillary data attached to
// the header. A response carries the request's type; status 0 means success,
// otherwise it is a positive errno value and the payload is an ErrorText.
// A response echoes its request's seq: a client matches responses to
// requests by it and skips the late answer of a request it gave up on, so a
// failed request never leaves the stream out of step. A receiver always
// consumes a whole message, even one whose file descriptors it could not
// accept (MSG_CTRUNC, e.g. at RLIMIT_NOFILE): it answers that request with
// EMFILE instead of losing its place in the stream.
//
// MMIO channels: a memfd created by nsim holding one MmioChannelShm: an SPSC
// request ring (client -> nsim) and an SPSC response ring (nsim -> client),
// indexed by free-running 64-bit counters published with release stores and
// read with acquire loads. Only reads get responses, in request order.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace norman::nsim::proto {

inline constexpr std::uint32_t kMsgMagic = 0x4D49534EU;  // "NSIM" little-endian
inline constexpr std::uint16_t kProtoVersion = 3;
inline constexpr std::size_t kMaxPayload = 4096;

enum class MsgType : std::uint16_t {
  kHello = 1,
  kMapDma = 2,
  kUnmapDma = 3,
  kOpenMmioChannel = 4,
  kGrantPages = 5,     // add doorbell pages to an app channel
  kRevokePages = 6,    // remove doorbell pages from an app channel
  kCloseMmioChannel = 7,
  kSetIrq = 8,         // vector -> eventfd (no fd: unregister the vector)
  kStats = 9,
  kShutdown = 10,
};

inline constexpr std::string_view msg_type_name(MsgType t) {
  switch (t) {
    case MsgType::kHello: return "HELLO";
    case MsgType::kMapDma: return "MAP_DMA";
    case MsgType::kUnmapDma: return "UNMAP_DMA";
    case MsgType::kOpenMmioChannel: return "OPEN_MMIO_CHANNEL";
    case MsgType::kGrantPages: return "GRANT_PAGES";
    case MsgType::kRevokePages: return "REVOKE_PAGES";
    case MsgType::kCloseMmioChannel: return "CLOSE_MMIO_CHANNEL";
    case MsgType::kSetIrq: return "SET_IRQ";
    case MsgType::kStats: return "STATS";
    case MsgType::kShutdown: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

struct MsgHeader {
  std::uint32_t magic;    // kMsgMagic
  std::uint16_t version;  // kProtoVersion
  std::uint16_t type;     // MsgType
  std::int32_t status;    // responses: 0 or a positive errno
  std::uint32_t size;     // payload bytes that follow (<= kMaxPayload)
  std::uint32_t seq;      // requests: chosen by the client; responses: the request's
  std::uint32_t reserved;
};

// Payload of a failed response.
struct ErrorText {
  char text[200];
};

struct HelloReq {
  std::uint32_t client_version;
  std::uint32_t reserved;
};
struct HelloRsp {
  std::uint32_t proto_version;
  std::uint32_t num_ports;     // Ethernet ports of the model
  std::uint64_t build_id;      // norman::regmap::kBuildId nsim was built with
  std::uint64_t cycles;        // simulated cycles so far
  std::uint64_t clock_hz;
};

// MAP_DMA: the fd (a memfd sealed with F_SEAL_SHRINK) travels as SCM_RIGHTS.
// iova, size and offset must be multiples of kIovaPageBytes.
inline constexpr std::uint64_t kIovaPageBytes = 4096;
struct MapDmaReq {
  std::uint64_t iova;
  std::uint64_t size;
  std::uint64_t offset;  // into the fd
};
struct UnmapDmaReq {
  std::uint64_t iova;  // the iova a region was mapped at
};

enum class ChannelKind : std::uint32_t {
  kPrivileged = 1,  // the whole register space
  kApp = 2,         // only granted doorbell pages
};
inline constexpr std::uint32_t kMaxPagesPerMsg = 128;
// OPEN_MMIO_CHANNEL; the response carries the channel's memfd.
struct OpenChannelReq {
  std::uint32_t kind;       // ChannelKind
  std::uint32_t num_pages;  // app channels: initial pages
  std::uint64_t pages[kMaxPagesPerMsg];  // page base addresses (multiples of kPageBytes)
};
struct OpenChannelRsp {
  std::uint32_t channel_id;
  std::uint32_t entries;    // ring entries
  std::uint64_t shm_bytes;  // size of the memfd
};
// GRANT_PAGES / REVOKE_PAGES
struct PagesReq {
  std::uint32_t channel_id;
  std::uint32_t num_pages;
  std::uint64_t pages[kMaxPagesPerMsg];
};
struct CloseChannelReq {
  std::uint32_t channel_id;
  std::uint32_t reserved;
};
// SET_IRQ: with an eventfd attached the vector is registered (replacing any
// previous fd), without one it is unregistered.
struct SetIrqReq {
  std::uint32_t vector;
  std::uint32_t reserved;
};

inline constexpr std::uint32_t kMaxStatsPorts = 4;
struct PortStats {
  std::uint64_t rx_frames;        // frames handed to the core
  std::uint64_t rx_bytes;
  std::uint64_t rx_drops_dpdk;    // imissed + ierrors + rx_nombuf of the ethdev
  std::uint64_t rx_drops_too_big; // frames longer than nsim's beat buffer (not injected)
  std::uint64_t tx_frames;        // frames the core sent that DPDK accepted
  std::uint64_t tx_bytes;
  std::uint64_t tx_drops;         // ring full, no mbuf, malformed beats
  // DPDK polls nsim skipped because its queue ahead of the core was full (the
  // core, paced at line rate, is behind the input): frames wait in the ethdev,
  // whose overflow is rx_drops_dpdk. Nonzero means the input was back-pressured.
  std::uint64_t rx_backpressure_polls;
};
struct StatsRsp {
  std::uint64_t cycles;
  std::uint64_t idle_sleeps;
  std::uint64_t mmio_reads;
  std::uint64_t mmio_writes;
  std::uint64_t mmio_refused;       // refused reads + writes (outside granted pages)
  std::uint64_t mmio_timeouts;      // reads the core did not answer in time
  std::uint64_t mmio_channels;      // open channels
  std::uint64_t iommu_faults;       // DMA requests to unmapped IOVAs
  std::uint64_t dma_wr_reqs;
  std::uint64_t dma_wr_bytes;
  std::uint64_t dma_rd_reqs;
  std::uint64_t dma_rd_bytes;
  std::uint64_t irqs;               // delivered to an eventfd
  std::uint64_t irqs_unregistered;  // vector without an eventfd
  std::uint32_t num_ports;
  std::uint32_t reserved;
  PortStats ports[kMaxStatsPorts];
};

// ---- MMIO channel shared memory -------------------------------------------

inline constexpr std::uint32_t kChannelMagic = 0x4E4D4D43U;  // "CMMN"
inline constexpr std::uint32_t kChannelEntries = 256;          // power of two

inline constexpr std::uint32_t kMmioWrite = 1U << 0;
struct MmioReq {
  std::uint64_t addr;
  std::uint64_t data;
  std::uint32_t flags;  // kMmioWrite
  std::uint32_t seq;    // echoed in the response
};

enum class MmioStatus : std::uint32_t {
  kOk = 0,
  kRefused = 1,   // outside the channel's pages: data is all ones
  kTimeout = 2,   // the core did not answer: data is all ones
};
struct MmioRsp {
  std::uint64_t data;
  std::uint32_t status;  // MmioStatus
  std::uint32_t seq;
};

struct MmioChannelShm {
  // Written once by nsim before the fd is handed out.
  std::uint32_t magic;
  std::uint16_t version;
  std::uint16_t kind;  // ChannelKind
  std::uint32_t entries;
  std::uint32_t channel_id;
  // Client -> nsim: the client owns req_head, nsim owns req_tail.
  alignas(64) std::atomic<std::uint64_t> req_head;
  alignas(64) std::atomic<std::uint64_t> req_tail;
  // nsim -> client: nsim owns rsp_head, the client owns rsp_tail.
  alignas(64) std::atomic<std::uint64_t> rsp_head;
  alignas(64) std::atomic<std::uint64_t> rsp_tail;
  // Status written by nsim.
  alignas(64) std::atomic<std::uint32_t> closed;   // nsim no longer serves it
  std::atomic<std::uint32_t> claimed;               // set by the attaching client
  std::atomic<std::uint64_t> refused_writes;
  std::atomic<std::uint64_t> refused_reads;
  alignas(64) MmioReq req[kChannelEntries];
  alignas(64) MmioRsp rsp[kChannelEntries];
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
static_assert((kChannelEntries & (kChannelEntries - 1)) == 0);
inline constexpr std::size_t kChannelShmBytes = (sizeof(MmioChannelShm) + 4095) / 4096 * 4096;

// Every message type maps to its request and response payloads.
template <MsgType T> struct Msg;
template <> struct Msg<MsgType::kHello> { using Req = HelloReq; using Rsp = HelloRsp; };
template <> struct Msg<MsgType::kMapDma> { using Req = MapDmaReq; using Rsp = void; };
template <> struct Msg<MsgType::kUnmapDma> { using Req = UnmapDmaReq; using Rsp = void; };
template <> struct Msg<MsgType::kOpenMmioChannel> { using Req = OpenChannelReq; using Rsp = OpenChannelRsp; };
template <> struct Msg<MsgType::kGrantPages> { using Req = PagesReq; using Rsp = void; };
template <> struct Msg<MsgType::kRevokePages> { using Req = PagesReq; using Rsp = void; };
template <> struct Msg<MsgType::kCloseMmioChannel> { using Req = CloseChannelReq; using Rsp = void; };
template <> struct Msg<MsgType::kSetIrq> { using Req = SetIrqReq; using Rsp = void; };
template <> struct Msg<MsgType::kStats> { using Req = void; using Rsp = StatsRsp; };
template <> struct Msg<MsgType::kShutdown> { using Req = void; using Rsp = void; };

// Payload size of each request type (0 for none).
inline constexpr std::size_t request_size(MsgType t) {
  switch (t) {
    case MsgType::kHello: return sizeof(HelloReq);
    case MsgType::kMapDma: return sizeof(MapDmaReq);
    case MsgType::kUnmapDma: return sizeof(UnmapDmaReq);
    case MsgType::kOpenMmioChannel: return sizeof(OpenChannelReq);
    case MsgType::kGrantPages:
    case MsgType::kRevokePages: return sizeof(PagesReq);
    case MsgType::kCloseMmioChannel: return sizeof(CloseChannelReq);
    case MsgType::kSetIrq: return sizeof(SetIrqReq);
    case MsgType::kStats:
    case MsgType::kShutdown: return 0;
  }
  return 0;
}

static_assert(std::is_trivially_copyable_v<StatsRsp> && sizeof(StatsRsp) <= kMaxPayload);
static_assert(sizeof(OpenChannelReq) <= kMaxPayload && sizeof(PagesReq) <= kMaxPayload);

}  // namespace norman::nsim::proto

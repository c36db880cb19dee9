#include "nsim_client.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "norman/regmap.hpp"
#include "wire.hpp"

namespace norman::nsim {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

namespace detail {

// The control connection. Every request carries a fresh seq and its
// response must echo it: the late answer of a request that timed out is
// recognised and skipped, so one failed request never shifts every later
// answer by one. When the framing itself is lost (a message cut short, a
// send that failed half-way, a bad header), the connection is lost for
// good: nsim releases what a control connection created when it closes (DMA
// mappings, channels, interrupt routes; the whole device is reset once its
// driver is gone, see docs/reliability.md), so a new connection could not
// carry on where this one stopped. Every later request fails with ENOTCONN
// and on_lost tells the driver, whose way out is a clean restart.
class Connection {
 public:
  Connection(std::string path, int timeout_ms) : path_(std::move(path)), timeout_ms_(timeout_ms) {}

  // Connects and says HELLO; throws on failure.
  proto::HelloRsp open() {
    std::lock_guard lock(mu_);
    return open_locked();
  }

  // Called once (under the connection's lock) when the connection is lost.
  void set_on_lost(std::function<void(const std::string& why)> fn) {
    std::lock_guard lock(mu_);
    on_lost_ = std::move(fn);
  }

  // Sends a request and waits for its response; throws if nsim refused it.
  wire::Message call(proto::MsgType type, std::span<const std::uint8_t> payload, std::span<const int> fds = {}) {
    std::lock_guard lock(mu_);
    fail_if_lost(type);
    close_orphans_locked();
    fail_if_lost(type);
    return call_locked(type, payload, fds);
  }

  template <typename Rsp>
  Rsp call_for(proto::MsgType type, std::span<const std::uint8_t> payload, std::span<const int> fds = {},
               UniqueFd* fd_out = nullptr) {
    wire::Message m = call(type, payload, fds);
    return decode<Rsp>(type, m, fd_out);
  }

 private:
  template <typename Rsp>
  static Rsp decode(proto::MsgType type, wire::Message& m, UniqueFd* fd_out) {
    if (m.payload.size() != sizeof(Rsp)) {
      throw_errno(EPROTO, "nsim " + std::string(proto::msg_type_name(type)) + ": response of the wrong size");
    }
    Rsp r{};
    std::memcpy(&r, m.payload.data(), sizeof(Rsp));
    if (fd_out != nullptr) {
      if (m.fds.empty()) {
        throw_errno(EPROTO, "nsim " + std::string(proto::msg_type_name(type)) + ": response without its fd");
      }
      *fd_out = std::move(m.fds[0]);
    }
    return r;
  }

  void fail_if_lost(proto::MsgType type) {
    if (sock_) {
      return;
    }
    throw_errno(ENOTCONN, "nsim " + std::string(proto::msg_type_name(type)) +
                              ": the control connection was lost earlier (" + lost_why_ + ")");
  }

  proto::HelloRsp open_locked() {
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) {
      throw_errno(errno, "nsim: socket");
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(addr.sun_path)) {
      throw_errno(ENAMETOOLONG, "nsim: socket path too long: " + path_);
    }
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw_errno(errno, "nsim: cannot connect to " + path_ + " (is nsim running, and are you root?)");
    }
    sock_ = std::move(sock);
    proto::HelloReq hello{proto::kProtoVersion, 0};
    wire::Message m = call_locked(proto::MsgType::kHello, wire::as_bytes(hello), {});
    return decode<proto::HelloRsp>(proto::MsgType::kHello, m, nullptr);
  }

  // The stream is no longer in step: drop it for good.
  [[noreturn]] void lose(int err, const std::string& what) {
    sock_.reset();
    lost_why_ = what;
    if (on_lost_) {
      auto fn = std::move(on_lost_);
      on_lost_ = nullptr;
      fn(what);
    }
    throw_errno(err, what + " (control connection lost)");
  }

  wire::Message call_locked(proto::MsgType type, std::span<const std::uint8_t> payload, std::span<const int> fds) {
    const std::string name(proto::msg_type_name(type));
    const std::uint32_t seq = ++seq_;
    try {
      wire::send_message(sock_.get(), wire::make_header(type, 0, payload.size(), seq), payload, fds);
    } catch (const std::system_error& e) {
      // Part of the request may be on its way: nsim would read the next one
      // as its rest.
      lose(e.code().value(), "nsim " + name + ": " + e.what());
    }
    wire::Message rsp;
    for (;;) {
      if (!wire::wait_readable(sock_.get(), timeout_ms_)) {
        // Still in step: the late answer is skipped by its seq.
        throw_errno(ETIMEDOUT, "nsim " + name + ": no response in " + std::to_string(timeout_ms_) + " ms");
      }
      try {
        if (!wire::recv_message(sock_.get(), rsp, timeout_ms_)) {
          lose(ECONNRESET, "nsim " + name + ": nsim closed the connection");
        }
      } catch (const std::system_error& e) {
        lose(e.code().value(), "nsim " + name + ": " + e.what());
      }
      if (rsp.hdr.seq == seq) {
        break;
      }
      if (static_cast<std::int32_t>(rsp.hdr.seq - seq) > 0) {
        lose(EPROTO, "nsim " + name + ": response to a request not sent yet (seq " + std::to_string(rsp.hdr.seq) +
                         ", expected " + std::to_string(seq) + ")");
      }
      // The answer to an earlier request this side gave up on: its
      // descriptors close with it; what it created is undone after this call.
      if (auto id = opened_channel(rsp)) {
        orphans_.push_back(*id);
      }
    }
    if (rsp.hdr.type != static_cast<std::uint16_t>(type)) {
      lose(EPROTO, "nsim " + name + ": response of the wrong type");
    }
    if (rsp.fds_lost) {
      // nsim did the request, but its descriptor never reached us (we are at
      // RLIMIT_NOFILE): release what it stands for and say so.
      if (auto id = opened_channel(rsp)) {
        orphans_.push_back(*id);
        close_orphans_locked();
      }
      throw_errno(EMFILE, "nsim " + name +
                              ": the response's file descriptor could not be received (this process is out of "
                              "file descriptors)");
    }
    if (rsp.hdr.status != 0) {
      std::string text = name + " refused";
      if (rsp.payload.size() == sizeof(proto::ErrorText)) {
        proto::ErrorText t{};
        std::memcpy(&t, rsp.payload.data(), sizeof(t));
        t.text[sizeof(t.text) - 1] = '\0';
        text = t.text;
      }
      throw_errno(rsp.hdr.status, "nsim: " + text);
    }
    return rsp;
  }

  // The channel a successful OPEN_MMIO_CHANNEL response created.
  static std::optional<std::uint32_t> opened_channel(const wire::Message& rsp) {
    if (rsp.hdr.type != static_cast<std::uint16_t>(proto::MsgType::kOpenMmioChannel) || rsp.hdr.status != 0 ||
        rsp.payload.size() != sizeof(proto::OpenChannelRsp)) {
      return std::nullopt;
    }
    proto::OpenChannelRsp r{};
    std::memcpy(&r, rsp.payload.data(), sizeof(r));
    return r.channel_id;
  }

  // A channel nsim opened for a response this side did not take (timed out,
  // or its fd was lost) would stay open in nsim for ever: close it.
  void close_orphans_locked() {
    while (!orphans_.empty() && sock_) {
      proto::CloseChannelReq req{orphans_.back(), 0};
      orphans_.pop_back();
      try {
        (void)call_locked(proto::MsgType::kCloseMmioChannel, wire::as_bytes(req), {});
      } catch (const std::system_error&) {
        // Already gone, or the connection dropped (nsim closes it if privileged).
      }
    }
  }

  std::mutex mu_;
  std::string path_;
  UniqueFd sock_;
  int timeout_ms_;
  std::uint32_t seq_ = 0;
  std::string lost_why_;
  std::function<void(const std::string&)> on_lost_;
  std::vector<std::uint32_t> orphans_;
};

}  // namespace detail

// ---- MmioChannel -----------------------------------------------------------

MmioChannel MmioChannel::attach(int fd) {
  UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!own) {
    throw_errno(errno, "nsim MMIO channel: bad fd");
  }
  void* p = ::mmap(nullptr, proto::kChannelShmBytes, PROT_READ | PROT_WRITE, MAP_SHARED, own.get(), 0);
  if (p == MAP_FAILED) {
    throw_errno(errno, "nsim MMIO channel: mmap of the channel fd failed");
  }
  auto* shm = static_cast<proto::MmioChannelShm*>(p);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (shm->magic != proto::kChannelMagic || shm->version != proto::kProtoVersion ||
      shm->entries != proto::kChannelEntries) {
    ::munmap(p, proto::kChannelShmBytes);
    throw_errno(EPROTO, "nsim MMIO channel: the fd is not an nsim channel of this protocol version");
  }
  std::uint32_t expected = 0;
  if (!shm->claimed.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    ::munmap(p, proto::kChannelShmBytes);
    throw_errno(EBUSY, "nsim MMIO channel: already attached (a channel has one user)");
  }
  return MmioChannel(std::move(own), shm);
}

MmioChannel::MmioChannel(UniqueFd fd, proto::MmioChannelShm* shm) : fd_(std::move(fd)), shm_(shm) {}

MmioChannel::MmioChannel(MmioChannel&& o) noexcept
    : fd_(std::move(o.fd_)), shm_(std::exchange(o.shm_, nullptr)), seq_(o.seq_), last_status_(o.last_status_),
      timeout_(o.timeout_) {}

MmioChannel& MmioChannel::operator=(MmioChannel&& o) noexcept {
  if (this != &o) {
    if (shm_ != nullptr) {
      ::munmap(shm_, proto::kChannelShmBytes);
    }
    fd_ = std::move(o.fd_);
    shm_ = std::exchange(o.shm_, nullptr);
    seq_ = o.seq_;
    last_status_ = o.last_status_;
    timeout_ = o.timeout_;
  }
  return *this;
}

MmioChannel::~MmioChannel() {
  if (shm_ != nullptr) {
    ::munmap(shm_, proto::kChannelShmBytes);
  }
}

std::uint32_t MmioChannel::id() const { return shm_->channel_id; }
proto::ChannelKind MmioChannel::kind() const { return static_cast<proto::ChannelKind>(shm_->kind); }
std::uint64_t MmioChannel::refused_writes() const { return shm_->refused_writes.load(std::memory_order_relaxed); }
std::uint64_t MmioChannel::refused_reads() const { return shm_->refused_reads.load(std::memory_order_relaxed); }
bool MmioChannel::closed() const { return shm_->closed.load(std::memory_order_acquire) != 0; }

namespace {

// Spin briefly, then sleep in short steps; false once the deadline passes.
class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds timeout) : deadline_(std::chrono::steady_clock::now() + timeout) {}
  bool wait() {
    if (++spins_ < 2000) {
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline_) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(spins_ < 2100 ? 5 : 50));
    return true;
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  unsigned spins_ = 0;
};

}  // namespace

void MmioChannel::push(const proto::MmioReq& r) {
  std::uint64_t head = shm_->req_head.load(std::memory_order_relaxed);
  Backoff b(timeout_);
  while (head - shm_->req_tail.load(std::memory_order_acquire) >= proto::kChannelEntries) {
    if (closed()) {
      throw_errno(EPIPE, "nsim MMIO channel " + std::to_string(id()) + ": closed by nsim");
    }
    if (!b.wait()) {
      throw_errno(ETIMEDOUT, "nsim MMIO channel " + std::to_string(id()) + ": request ring full (is nsim running?)");
    }
  }
  shm_->req[head % proto::kChannelEntries] = r;
  shm_->req_head.store(head + 1, std::memory_order_release);
}

void MmioChannel::write64(std::uint64_t addr, std::uint64_t value) {
  if (closed()) {
    throw_errno(EPIPE, "nsim MMIO channel " + std::to_string(id()) + ": closed by nsim");
  }
  push(proto::MmioReq{addr, value, proto::kMmioWrite, seq_++});
}

std::uint64_t MmioChannel::read64(std::uint64_t addr) {
  if (closed()) {
    throw_errno(EPIPE, "nsim MMIO channel " + std::to_string(id()) + ": closed by nsim");
  }
  std::uint32_t seq = seq_++;
  push(proto::MmioReq{addr, 0, 0, seq});
  std::uint64_t tail = shm_->rsp_tail.load(std::memory_order_relaxed);
  Backoff b(timeout_);
  for (;;) {
    while (tail != shm_->rsp_head.load(std::memory_order_acquire)) {
      proto::MmioRsp r = shm_->rsp[tail % proto::kChannelEntries];
      ++tail;
      shm_->rsp_tail.store(tail, std::memory_order_release);
      if (r.seq == seq) {  // older answers (of reads that timed out here) are skipped
        last_status_ = static_cast<proto::MmioStatus>(r.status);
        return r.data;
      }
    }
    if (closed()) {
      throw_errno(EPIPE, "nsim MMIO channel " + std::to_string(id()) + ": closed by nsim");
    }
    if (!b.wait()) {
      throw_errno(ETIMEDOUT, "nsim MMIO channel " + std::to_string(id()) + ": read of " + hex(addr) +
                                 " got no answer in " + std::to_string(timeout_.count()) + " ms (is nsim running?)");
    }
  }
}

// ---- DmaRegion ---------------------------------------------------------------

DmaRegion DmaRegion::create(std::size_t size, const std::string& name) {
  if (size == 0 || size % proto::kIovaPageBytes != 0) {
    throw_errno(EINVAL, "nsim DMA region: size must be a non-zero multiple of 4096");
  }
  UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    throw_errno(errno, "nsim DMA region: memfd_create");
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    throw_errno(errno, "nsim DMA region: ftruncate");
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    throw_errno(errno, "nsim DMA region: sealing the memfd");
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) {
    throw_errno(errno, "nsim DMA region: mmap");
  }
  DmaRegion r;
  r.fd_ = std::move(fd);
  r.data_ = static_cast<std::uint8_t*>(p);
  r.size_ = size;
  return r;
}

DmaRegion::DmaRegion(DmaRegion&& o) noexcept
    : fd_(std::move(o.fd_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
      iova_(std::exchange(o.iova_, 0)), owner_(std::move(o.owner_)) {}

DmaRegion& DmaRegion::operator=(DmaRegion&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = std::move(o.fd_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    iova_ = std::exchange(o.iova_, 0);
    owner_ = std::move(o.owner_);
  }
  return *this;
}

DmaRegion::~DmaRegion() { release(); }

void DmaRegion::release() {
  if (auto c = owner_.lock()) {
    proto::UnmapDmaReq req{iova_};
    try {
      c->call(proto::MsgType::kUnmapDma, wire::as_bytes(req));
    } catch (const std::system_error&) {
      // nsim is gone or already forgot the region: nothing left to undo.
    }
  }
  owner_.reset();
  if (data_ != nullptr) {
    ::munmap(data_, size_);
    data_ = nullptr;
  }
  fd_.reset();
}

// ---- NsimClient ----------------------------------------------------------------

NsimClient NsimClient::connect(const std::string& socket_path, const ConnectOptions& opts) {
  NsimClient c;
  c.conn_ = std::make_shared<detail::Connection>(socket_path, static_cast<int>(opts.timeout.count()));
  proto::HelloRsp h = c.conn_->open();
  c.hello_ = HelloInfo{h.proto_version, h.num_ports, h.build_id, h.cycles, h.clock_hz};
  if (h.proto_version != proto::kProtoVersion) {
    throw_errno(EPROTONOSUPPORT, "nsim: protocol version " + std::to_string(h.proto_version) + ", expected " +
                                     std::to_string(proto::kProtoVersion));
  }
  if (h.build_id != norman::regmap::kBuildId) {
    throw_errno(EPROTO, "nsim: built from a different register map (nsim BUILD_ID " + hex(h.build_id) +
                            ", this software " + hex(norman::regmap::kBuildId) + "): rebuild both from one tree");
  }
  c.mmio_ = std::make_unique<MmioChannel>(c.open_privileged_channel());
  c.mmio_->set_timeout(opts.timeout);
  if (opts.check_identity) {
    std::uint64_t magic = c.mmio_->read64(norman::regmap::kRegIdMagic);
    if (magic != norman::regmap::kMagic) {
      throw_errno(ENODEV, "nsim: ID.MAGIC reads " + hex(magic) + ", expected " + hex(norman::regmap::kMagic) +
                              " ('NORM'): the core does not answer as a Norman NIC");
    }
    std::uint64_t build = c.mmio_->read64(norman::regmap::kRegIdBuildId);
    if (build != norman::regmap::kBuildId) {
      throw_errno(EPROTO, "nsim: ID.BUILD_ID reads " + hex(build) + ", expected " + hex(norman::regmap::kBuildId) +
                              ": the NIC was built from a different register map");
    }
  }
  return c;
}

NsimClient::NsimClient(NsimClient&&) noexcept = default;
NsimClient& NsimClient::operator=(NsimClient&&) noexcept = default;
NsimClient::~NsimClient() {
  if (conn_ && mmio_) {
    conn_->set_on_lost(nullptr);
    const std::uint32_t id = mmio_->id();
    mmio_.reset();
    // Best effort: nsim also drops the channel when it exits.
    proto::CloseChannelReq req{id, 0};
    try {
      conn_->call(proto::MsgType::kCloseMmioChannel, wire::as_bytes(req));
    } catch (const std::system_error&) {
    }
  }
}

MmioChannel& NsimClient::mmio() {
  if (!mmio_) {
    throw_errno(ENOTCONN, "nsim: no MMIO channel (the client was shut down or moved from)");
  }
  return *mmio_;
}

void NsimClient::map_dma(int fd, std::uint64_t iova, std::uint64_t size, std::uint64_t offset) {
  proto::MapDmaReq req{iova, size, offset};
  conn_->call(proto::MsgType::kMapDma, wire::as_bytes(req), std::span<const int>(&fd, 1));
}

void NsimClient::unmap_dma(std::uint64_t iova) {
  proto::UnmapDmaReq req{iova};
  conn_->call(proto::MsgType::kUnmapDma, wire::as_bytes(req));
}

DmaRegion NsimClient::alloc_dma(std::size_t size, std::uint64_t iova) {
  DmaRegion r = DmaRegion::create(size);
  map_dma(r.fd(), iova, size, 0);
  r.iova_ = iova;
  r.owner_ = conn_;
  return r;
}

namespace {
template <typename Req>
void fill_pages(Req& req, std::span<const std::uint64_t> pages, const char* what) {
  if (pages.size() > proto::kMaxPagesPerMsg) {
    throw_errno(EINVAL, std::string("nsim ") + what + ": at most " + std::to_string(proto::kMaxPagesPerMsg) +
                            " pages per call");
  }
  req.num_pages = static_cast<std::uint32_t>(pages.size());
  for (std::size_t i = 0; i < pages.size(); ++i) {
    req.pages[i] = pages[i];
  }
}
}  // namespace

AppChannel NsimClient::open_app_channel(std::span<const std::uint64_t> pages) {
  proto::OpenChannelReq req{};
  req.kind = static_cast<std::uint32_t>(proto::ChannelKind::kApp);
  fill_pages(req, pages, "OPEN_MMIO_CHANNEL");
  AppChannel out{};
  proto::OpenChannelRsp r =
      conn_->call_for<proto::OpenChannelRsp>(proto::MsgType::kOpenMmioChannel, wire::as_bytes(req), {}, &out.fd);
  out.id = r.channel_id;
  return out;
}

MmioChannel NsimClient::open_privileged_channel() {
  proto::OpenChannelReq req{};
  req.kind = static_cast<std::uint32_t>(proto::ChannelKind::kPrivileged);
  UniqueFd fd;
  conn_->call_for<proto::OpenChannelRsp>(proto::MsgType::kOpenMmioChannel, wire::as_bytes(req), {}, &fd);
  return MmioChannel::attach(fd.get());
}

void NsimClient::grant_pages(std::uint32_t channel_id, std::span<const std::uint64_t> pages) {
  proto::PagesReq req{};
  req.channel_id = channel_id;
  fill_pages(req, pages, "GRANT_PAGES");
  conn_->call(proto::MsgType::kGrantPages, wire::as_bytes(req));
}

void NsimClient::revoke_pages(std::uint32_t channel_id, std::span<const std::uint64_t> pages) {
  proto::PagesReq req{};
  req.channel_id = channel_id;
  fill_pages(req, pages, "REVOKE_PAGES");
  conn_->call(proto::MsgType::kRevokePages, wire::as_bytes(req));
}

void NsimClient::close_channel(std::uint32_t channel_id) {
  proto::CloseChannelReq req{channel_id, 0};
  conn_->call(proto::MsgType::kCloseMmioChannel, wire::as_bytes(req));
}

void NsimClient::set_irq(std::uint32_t vector, int eventfd) {
  proto::SetIrqReq req{vector, 0};
  conn_->call(proto::MsgType::kSetIrq, wire::as_bytes(req), std::span<const int>(&eventfd, 1));
}

void NsimClient::clear_irq(std::uint32_t vector) {
  proto::SetIrqReq req{vector, 0};
  conn_->call(proto::MsgType::kSetIrq, wire::as_bytes(req));
}

proto::StatsRsp NsimClient::stats() {
  return conn_->call_for<proto::StatsRsp>(proto::MsgType::kStats, {});
}

void NsimClient::shutdown() {
  conn_->call(proto::MsgType::kShutdown, {});
  conn_->set_on_lost(nullptr);
  mmio_.reset();  // nsim is going away: nothing to close on its side
}

void NsimClient::on_lost(std::function<void(const std::string& why)> fn) {
  conn_->set_on_lost(std::move(fn));
}

UniqueFd make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) {
    throw_errno(errno, "nsim: eventfd");
  }
  return fd;
}

}  // namespace norman::nsim

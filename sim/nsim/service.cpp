#include "service.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include "norman/regmap.hpp"

namespace norman::nsim {

namespace {

Reply ok(proto::MsgType t) {
  Reply r;
  r.hdr = wire::make_header(t, 0, 0);
  return r;
}

template <typename T>
Reply ok(proto::MsgType t, const T& payload) {
  Reply r;
  r.hdr = wire::make_header(t, 0, sizeof(T));
  r.payload.resize(sizeof(T));
  std::memcpy(r.payload.data(), &payload, sizeof(T));
  return r;
}

Reply fail(proto::MsgType t, int err, const std::string& why) {
  Reply r;
  proto::ErrorText e = wire::make_error_text(why);
  r.hdr = wire::make_header(t, err, sizeof(e));
  r.payload.resize(sizeof(e));
  std::memcpy(r.payload.data(), &e, sizeof(e));
  return r;
}

template <typename T>
T payload_as(const wire::Message& m) {
  T v{};
  std::memcpy(&v, m.payload.data(), sizeof(T));
  return v;
}

}  // namespace

NsimService::NsimService(Info info, HostMemory& mem, MmioHub& hub, IrqTable& irqs,
                         std::function<void(proto::StatsRsp&)> fill_stats, std::function<std::uint64_t()> cycles)
    : info_(info), mem_(mem), hub_(hub), irqs_(irqs), fill_stats_(std::move(fill_stats)), cycles_(std::move(cycles)) {}

void NsimService::client_closed(std::uint64_t client) {
  if (client == 0) {
    return;
  }
  const bool was_driver = drivers_.erase(client) != 0;
  std::erase_if(channel_owner_, [&](const std::pair<const std::uint32_t, std::uint64_t>& o) {
    if (o.second != client) {
      return false;
    }
    hub_.close(o.first);  // ENOENT if it was closed already: fine
    return true;
  });
  std::erase_if(dma_owner_, [&](const std::pair<const std::uint64_t, std::uint64_t>& o) {
    if (o.second != client) {
      return false;
    }
    mem_.unmap(o.first);
    return true;
  });
  std::erase_if(irq_owner_, [&](const std::pair<const std::uint32_t, std::uint64_t>& o) {
    if (o.second != client) {
      return false;
    }
    irqs_.set(o.first, UniqueFd{});
    return true;
  });
  if (was_driver && drivers_.empty() && driver_gone_) {
    driver_gone_();
  }
}

Reply NsimService::handle(wire::Message& req, std::uint64_t client) {
  using proto::MsgType;
  auto type = static_cast<MsgType>(req.hdr.type);
  std::size_t want = proto::request_size(type);
  if (proto::msg_type_name(type) == "UNKNOWN") {
    return fail(type, EOPNOTSUPP, "unknown request type " + std::to_string(req.hdr.type));
  }
  if (req.payload.size() != want) {
    return fail(type, EINVAL,
                std::string(proto::msg_type_name(type)) + ": payload of " + std::to_string(req.payload.size()) +
                    " bytes, expected " + std::to_string(want));
  }
  std::string why;
  switch (type) {
    case MsgType::kHello: {
      proto::HelloRsp r{};
      r.proto_version = proto::kProtoVersion;
      r.num_ports = info_.num_ports;
      r.build_id = norman::regmap::kBuildId;
      r.cycles = cycles_ ? cycles_() : 0;
      r.clock_hz = info_.clock_hz;
      return ok(type, r);
    }
    case MsgType::kMapDma: {
      auto m = payload_as<proto::MapDmaReq>(req);
      if (req.fds.size() != 1) {
        return fail(type, EBADF, "MAP_DMA needs exactly one fd (the region's memfd)");
      }
      int err = mem_.map(req.fds[0].get(), m.iova, m.size, m.offset, why);
      if (err != 0) {
        return fail(type, err, "MAP_DMA: " + why);
      }
      if (client != 0) {
        dma_owner_[m.iova] = client;
      }
      return ok(type);
    }
    case MsgType::kUnmapDma: {
      auto m = payload_as<proto::UnmapDmaReq>(req);
      if (mem_.unmap(m.iova) != 0) {
        return fail(type, ENOENT, "UNMAP_DMA: no region is mapped at that iova");
      }
      dma_owner_.erase(m.iova);
      return ok(type);
    }
    case MsgType::kOpenMmioChannel: {
      auto m = payload_as<proto::OpenChannelReq>(req);
      if (m.num_pages > proto::kMaxPagesPerMsg) {
        return fail(type, EINVAL, "OPEN_MMIO_CHANNEL: too many pages in one message");
      }
      MmioHub::Opened opened;
      int err = hub_.open(static_cast<proto::ChannelKind>(m.kind), std::span(m.pages, m.num_pages), opened, why);
      if (err != 0) {
        return fail(type, err, "OPEN_MMIO_CHANNEL: " + why);
      }
      if (client != 0) {
        channel_owner_[opened.id] = client;
        if (static_cast<proto::ChannelKind>(m.kind) == proto::ChannelKind::kPrivileged) {
          drivers_.insert(client);
        }
      }
      proto::OpenChannelRsp r{};
      r.channel_id = opened.id;
      r.entries = proto::kChannelEntries;
      r.shm_bytes = proto::kChannelShmBytes;
      Reply rep = ok(type, r);
      rep.fd = std::move(opened.fd);
      return rep;
    }
    case MsgType::kGrantPages:
    case MsgType::kRevokePages: {
      auto m = payload_as<proto::PagesReq>(req);
      if (m.num_pages > proto::kMaxPagesPerMsg) {
        return fail(type, EINVAL, "too many pages in one message");
      }
      std::span pages(m.pages, m.num_pages);
      int err = type == MsgType::kGrantPages ? hub_.grant(m.channel_id, pages, why)
                                             : hub_.revoke(m.channel_id, pages, why);
      if (err != 0) {
        return fail(type, err, std::string(proto::msg_type_name(type)) + ": " + why);
      }
      return ok(type);
    }
    case MsgType::kCloseMmioChannel: {
      auto m = payload_as<proto::CloseChannelReq>(req);
      if (hub_.close(m.channel_id) != 0) {
        return fail(type, ENOENT, "CLOSE_MMIO_CHANNEL: no such channel");
      }
      channel_owner_.erase(m.channel_id);
      return ok(type);
    }
    case MsgType::kSetIrq: {
      auto m = payload_as<proto::SetIrqReq>(req);
      if (req.fds.size() > 1) {
        return fail(type, EINVAL, "SET_IRQ takes at most one fd");
      }
      if (m.vector >= (1U << 16)) {
        return fail(type, EINVAL, "SET_IRQ: vector out of range (16 bits)");
      }
      irqs_.set(m.vector, req.fds.empty() ? UniqueFd{} : std::move(req.fds[0]));
      if (client != 0 && !req.fds.empty()) {
        irq_owner_[m.vector] = client;  // the last to set a vector owns it
      } else {
        irq_owner_.erase(m.vector);
      }
      return ok(type);
    }
    case MsgType::kStats: {
      proto::StatsRsp s{};
      const MmioHubStats& h = hub_.stats();
      s.mmio_reads = h.reads;
      s.mmio_writes = h.writes;
      s.mmio_refused = h.refused_reads + h.refused_writes;
      s.mmio_timeouts = h.timeouts;
      s.mmio_channels = hub_.num_channels();
      s.iommu_faults = mem_.faults();
      s.irqs = irqs_.delivered();
      s.irqs_unregistered = irqs_.unregistered();
      s.cycles = cycles_ ? cycles_() : 0;
      if (fill_stats_) {
        fill_stats_(s);
      }
      return ok(type, s);
    }
    case MsgType::kShutdown:
      shutdown_ = true;
      return ok(type);
  }
  return fail(type, EOPNOTSUPP, "unknown request");
}

}  // namespace norman::nsim

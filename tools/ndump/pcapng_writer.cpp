// pcapng (draft-ietf-opsawg-pcapng): a Section Header Block, one Interface
// Description Block per NIC port as records arrive (if_name, if_tsresol =
// nanoseconds), and an Enhanced Packet Block per record carrying
// epb_flags (direction: 01 inbound, 10 outbound) and an opt_comment with the
// owner, which Wireshark shows as the packet comment. Host byte order, as
// the SHB's byte-order magic declares.
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

#include "format.hpp"
#include "writer.hpp"

namespace norman::ndump {
namespace {

constexpr std::uint32_t block_shb = 0x0A0D0D0A;
constexpr std::uint32_t block_idb = 0x00000001;
constexpr std::uint32_t block_epb = 0x00000006;
constexpr std::uint16_t opt_endofopt = 0;
constexpr std::uint16_t opt_comment = 1;
constexpr std::uint16_t shb_userappl = 4;
constexpr std::uint16_t if_name = 2;
constexpr std::uint16_t if_tsresol = 9;
constexpr std::uint16_t epb_flags = 2;

class Block {
 public:
  explicit Block(std::uint32_t type) { u32(type), u32(0); }
  void u16(std::uint16_t v) { raw(&v, 2); }
  void u32(std::uint32_t v) { raw(&v, 4); }
  void u64(std::uint64_t v) { raw(&v, 8); }
  void raw(const void* p, std::size_t n) {
    auto* b = static_cast<const std::uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void pad() {
    while (buf_.size() % 4) buf_.push_back(0);
  }
  void option(std::uint16_t code, const void* p, std::size_t n) {
    u16(code);
    u16(static_cast<std::uint16_t>(n));
    raw(p, n);
    pad();
  }
  void option(std::uint16_t code, const std::string& s) { option(code, s.data(), s.size()); }
  // Appends opt_endofopt (when options were written) and both lengths.
  const std::vector<std::uint8_t>& finish(bool had_options) {
    if (had_options) u32(opt_endofopt);
    auto total = static_cast<std::uint32_t>(buf_.size() + 4);
    std::memcpy(buf_.data() + 4, &total, 4);
    u32(total);
    return buf_;
  }

 private:
  std::vector<std::uint8_t> buf_;
};

class PcapngWriter : public PacketWriter {
 public:
  explicit PcapngWriter(const WriterOptions& o) : opts_(o), to_stdout_(o.path == "-") {
    file_ = to_stdout_ ? stdout : std::fopen(o.path.c_str(), "wb");
    if (!file_) throw std::runtime_error(o.path + ": " + std::strerror(errno));
    Block shb(block_shb);
    shb.u32(0x1A2B3C4D);  // byte-order magic
    shb.u16(1);           // version 1.0
    shb.u16(0);
    shb.u64(~std::uint64_t{0});  // section length unknown
    shb.option(shb_userappl, std::string("ndump"));
    put(shb.finish(true));
  }
  ~PcapngWriter() override {
    std::fflush(file_);
    if (!to_stdout_) std::fclose(file_);
  }
  void write(const CaptureRecord& rec) override {
    std::uint32_t ifid = interface_for(rec.port);
    Block epb(block_epb);
    epb.u32(ifid);
    epb.u32(static_cast<std::uint32_t>(rec.ts_ns >> 32));
    epb.u32(static_cast<std::uint32_t>(rec.ts_ns));
    epb.u32(static_cast<std::uint32_t>(rec.data.size()));
    epb.u32(rec.orig_len);
    epb.raw(rec.data.data(), rec.data.size());
    epb.pad();
    bool opts = false;
    if (rec.dir != Direction::unknown) {
      std::uint32_t flags = rec.dir == Direction::in ? 1u : 2u;  // bits 0-1
      epb.option(epb_flags, &flags, 4);
      opts = true;
    }
    if (rec.owner) {
      // The owner suffix of the text output without its brackets.
      std::string s = PacketFormatter::owner_suffix(*rec.owner);
      epb.option(opt_comment, s.substr(2, s.size() - 3));
      opts = true;
    }
    put(epb.finish(opts));
    if (to_stdout_) flush();
  }
  void flush() override {
    if (std::fflush(file_) != 0) throw std::runtime_error("error writing the capture file");
  }
  std::uint64_t bytes_written() override { return written_; }

 private:
  std::uint32_t interface_for(std::uint8_t port) {
    auto it = ids_.find(port);
    if (it != ids_.end()) return it->second;
    Block idb(block_idb);
    idb.u16(static_cast<std::uint16_t>(opts_.linktype));
    idb.u16(0);
    idb.u32(opts_.snaplen);
    std::string name = opts_.interface_name ? opts_.interface_name(port) : std::string();
    if (!name.empty()) idb.option(if_name, name);
    const std::uint8_t nanoseconds = 9;
    idb.option(if_tsresol, &nanoseconds, 1);
    put(idb.finish(true));
    auto id = static_cast<std::uint32_t>(ids_.size());
    ids_.emplace(port, id);
    return id;
  }
  void put(const std::vector<std::uint8_t>& b) {
    if (std::fwrite(b.data(), 1, b.size(), file_) != b.size())
      throw std::runtime_error("error writing the capture file");
    written_ += b.size();
  }

  WriterOptions opts_;
  bool to_stdout_;
  std::FILE* file_ = nullptr;
  std::map<std::uint8_t, std::uint32_t> ids_;
  std::uint64_t written_ = 0;
};

}  // namespace

std::unique_ptr<PacketWriter> open_pcapng_writer(const WriterOptions& opts) {
  return std::make_unique<PcapngWriter>(opts);
}

}  // namespace norman::ndump

// nflash without a card: a fake sysfs tree (bridge, function, BAR resource
// file holding an ID block) and a fake programmer script stand in for the
// kernel and the vendor tool.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "flash.hpp"
#include "norman/regmap.hpp"
#include "options.hpp"
#include "programmer.hpp"

namespace fs = std::filesystem;
namespace rm = norman::regmap;
using namespace norman::nflash;

namespace {

constexpr const char* kBdf = "0000:03:00.0";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::trunc);
  out << s;
}

// A sysfs root with one bridge 0000:00:01.0 and the card's function behind
// it, its resourceN holding {MAGIC, BUILD_ID} at the board's ID offset.
class FakeCard : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nflash_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    bridge_ = root_ / "devices/pci0000:00/0000:00:01.0";
    fn_ = bridge_ / kBdf;
    fs::create_directories(fn_);
    fs::create_directories(root_ / "bus/pci/devices");
    fs::create_symlink(fs::path("../../../devices/pci0000:00/0000:00:01.0") / kBdf,
                       root_ / "bus/pci/devices" / kBdf);
    put(bridge_ / "rescan", "");
    put(root_ / "bus/pci/rescan", "");
    put(fn_ / "remove", "");
    put(fn_ / "enable", "0");
    bit_ = root_ / "norman_u250.bit";
    put(bit_, "not really a bitstream");
    script_ = root_ / "program_xilinx.tcl";
    put(script_, "# stand-in\n");
    write_id(2, 0x100000, rm::kMagic, rm::kBuildId);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write_id(unsigned bar, std::uint64_t off, std::uint64_t magic, std::uint64_t build,
                std::uint64_t size = 4 << 20) {
    const fs::path res = fn_ / ("resource" + std::to_string(bar));
    std::vector<char> bytes(size, 0);
    auto put64 = [&](std::uint64_t at, std::uint64_t v) {
      for (int i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i));
    };
    if (off + rm::kRegIdBuildId + 8 <= size) {
      put64(off + rm::kRegIdMagic, magic);
      put64(off + rm::kRegIdBuildId, build);
    }
    std::ofstream out(res, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // A programmer that records its arguments (one per line) and runs body.
  std::string fake_programmer(const std::string& body = "exit 0") {
    const fs::path p = root_ / "fake_vivado_lab";
    put(p, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > " + (root_ / "args").string() +
               "\n" + body + "\n");
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }

  int run(std::vector<std::string> args) {
    args.insert(args.begin(), "nflash");
    args.push_back("--sysfs-root");
    args.push_back(root_.string());
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    out_.str("");
    err_.str("");
    return nflash_main(static_cast<int>(argv.size()), argv.data(), out_, err_);
  }

  std::vector<std::string> flash_args(const std::string& programmer) {
    return {"-b",
            "u250",
            "-d",
            kBdf,
            "--programmer",
            programmer,
            "--program-script",
            script_.string(),
            "--rescan-timeout-ms",
            "200",
            bit_.string()};
  }

  fs::path root_, bridge_, fn_, bit_, script_;
  std::ostringstream out_, err_;
};

std::optional<Options> parse(std::vector<std::string> args, int* status = nullptr) {
  args.insert(args.begin(), "nflash");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  ParseResult r = parse_options(static_cast<int>(argv.size()), argv.data(), out, err);
  if (status) *status = r.status;
  return r.options;
}

}  // namespace

TEST(NflashOptions, RefusesBadUsage) {
  int st = 0;
  EXPECT_FALSE(parse({"-d", kBdf, "x.bit"}, &st));  // no board
  EXPECT_EQ(st, kExitUsage);
  EXPECT_FALSE(parse({"-b", "vcu118", "-d", kBdf, "x.bit"}, &st));  // unknown board
  EXPECT_EQ(st, kExitUsage);
  EXPECT_FALSE(parse({"-b", "u250", "-d", "03:00.0", "x.bit"}, &st));  // not sysfs form
  EXPECT_EQ(st, kExitUsage);
  EXPECT_FALSE(parse({"-b", "u250", "-d", "0000:03:00.0/../..", "x.bit"}, &st));
  EXPECT_EQ(st, kExitUsage);
  EXPECT_FALSE(parse({"-b", "u250", "-d", kBdf}, &st));  // no bitstream
  EXPECT_EQ(st, kExitUsage);
  EXPECT_FALSE(parse({"-b", "u250", "-d", kBdf, "--verify-only", "x.bit"}, &st));
  EXPECT_EQ(st, kExitUsage);
  EXPECT_FALSE(parse({"-b", "u250", "-d", kBdf, "--bar", "6", "x.bit"}, &st));
  EXPECT_EQ(st, kExitUsage);
  EXPECT_FALSE(parse({"--help"}, &st));
  EXPECT_EQ(st, kExitOk);
}

TEST(NflashOptions, BoardDefaults) {
  auto u = parse({"-b", "U250", "-d", kBdf, "x.bit"});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->board, Board::kU250);
  EXPECT_EQ(u->bar, 2U);
  EXPECT_EQ(u->bar_offset, 0x100000U);
  EXPECT_EQ(u->programmer, "vivado_lab");
  auto s = parse({"-b", "s10mx", "-d", kBdf, "x.sof"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bar, 0U);
  EXPECT_EQ(s->bar_offset, 0U);
  EXPECT_EQ(s->programmer, "quartus_pgm");
  auto o = parse({"-b", "u280", "-d", kBdf, "--bar", "4", "--bar-offset", "0", "x.bit"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->bar, 4U);
  EXPECT_EQ(o->bar_offset, 0U);
}

TEST(NflashProgrammer, CommandLines) {
  Options x;
  x.board = Board::kU280;
  x.programmer = "vivado_lab";
  x.program_script = "/s/program_xilinx.tcl";
  x.bitstream = "/b/n.bit";
  x.cable = "*/xilinx_tcf/Xilinx/21770205K00PA";
  EXPECT_EQ(programmer_command(x),
            (std::vector<std::string>{"vivado_lab", "-mode", "batch", "-nojournal", "-nolog",
                                      "-notrace", "-source", "/s/program_xilinx.tcl", "-tclargs",
                                      "/b/n.bit", "xcu280", "*/xilinx_tcf/Xilinx/21770205K00PA"}));
  Options q;
  q.board = Board::kS10Mx;
  q.programmer = "quartus_pgm";
  q.bitstream = "/b/n.sof";
  q.cable = "1";
  q.jtag_index = 2;
  EXPECT_EQ(programmer_command(q), (std::vector<std::string>{"quartus_pgm", "-c", "1", "-m", "jtag",
                                                             "-o", "p;/b/n.sof@2"}));
  EXPECT_EQ(shell_quote({"quartus_pgm", "-o", "p;/b/n.sof@2"}), "quartus_pgm -o 'p;/b/n.sof@2'");
}

TEST(NflashProgrammer, MissingToolIsAClearError) {
  try {
    resolve_programmer("vivado_lab", "/nonexistent:/also/not");
    FAIL() << "resolved a missing tool";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'vivado_lab' not found in PATH"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--programmer"), std::string::npos);
  }
  EXPECT_THROW(resolve_programmer("/nonexistent/quartus_pgm", ""), std::runtime_error);
  EXPECT_EQ(resolve_programmer("sh", "/nonexistent:/bin:/usr/bin").substr(0, 1), "/");
}

TEST_F(FakeCard, VerifyAcceptsTheRightId) {
  EXPECT_EQ(run({"-b", "u250", "-d", kBdf, "--verify-only"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("as this software expects"), std::string::npos);
  EXPECT_EQ(slurp(fn_ / "enable"), "0");  // memory decoding left as found
}

TEST_F(FakeCard, VerifyRefusesAnotherRegisterMap) {
  write_id(2, 0x100000, rm::kMagic, rm::kBuildId ^ 1);
  EXPECT_EQ(run({"-b", "u250", "-d", kBdf, "--verify-only"}), kExitMismatch);
  std::ostringstream want;
  want << std::hex << "BUILD_ID 0x" << (rm::kBuildId ^ 1) << " (want 0x" << rm::kBuildId << ")";
  EXPECT_NE(err_.str().find(want.str()), std::string::npos) << err_.str();
}

TEST_F(FakeCard, VerifyRefusesAnotherImageAndASilentDevice) {
  write_id(2, 0x100000, 0x12345678, rm::kBuildId);
  EXPECT_EQ(run({"-b", "u250", "-d", kBdf, "--verify-only"}), kExitMismatch);
  EXPECT_NE(err_.str().find("not a Norman NIC image"), std::string::npos) << err_.str();
  write_id(2, 0x100000, ~0ULL, ~0ULL);
  EXPECT_EQ(run({"-b", "u250", "-d", kBdf, "--verify-only"}), kExitMismatch);
  EXPECT_NE(err_.str().find("does not answer"), std::string::npos) << err_.str();
}

TEST_F(FakeCard, VerifyChecksTheBarIsBigEnough) {
  write_id(2, 0x100000, rm::kMagic, rm::kBuildId, 4096);
  EXPECT_EQ(run({"-b", "u250", "-d", kBdf, "--verify-only"}), kExitFailed);
  EXPECT_NE(err_.str().find("too small for the ID block"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"-b", "u250", "-d", "0000:04:00.0", "--verify-only"}), kExitFailed);
}

TEST_F(FakeCard, S10UsesBarZero) {
  write_id(0, 0, rm::kMagic, rm::kBuildId, 1 << 20);
  EXPECT_EQ(run({"-b", "s10mx", "-d", kBdf, "--verify-only"}), kExitOk) << err_.str();
}

TEST_F(FakeCard, FlashRemovesProgramsRescansAndVerifies) {
  EXPECT_EQ(run(flash_args(fake_programmer())), kExitOk) << err_.str();
  EXPECT_EQ(slurp(fn_ / "remove"), "1");
  EXPECT_EQ(slurp(bridge_ / "rescan"), "1");  // the parent bridge, not the whole bus
  EXPECT_EQ(slurp(root_ / "bus/pci/rescan"), "");
  EXPECT_EQ(slurp(root_ / "args"), "-mode\nbatch\n-nojournal\n-nolog\n-notrace\n-source\n" +
                                       script_.string() + "\n-tclargs\n" + bit_.string() +
                                       "\nxcu250\n");
  EXPECT_NE(out_.str().find("as this software expects"), std::string::npos);
}

TEST_F(FakeCard, FlashRefusesTheNewImageWithAnotherRegisterMap) {
  // The programmer "loads" an image built from another register map.
  const std::string res = (fn_ / "resource2").string();
  const std::string body = "printf '\\001' | dd of=" + res +
                           " bs=1 seek=" + std::to_string(0x100000 + rm::kRegIdBuildId) +
                           " conv=notrunc 2>/dev/null";
  EXPECT_EQ(run(flash_args(fake_programmer(body))), kExitMismatch) << err_.str();
  EXPECT_NE(err_.str().find("different register maps"), std::string::npos) << err_.str();
}

TEST_F(FakeCard, MissingProgrammerTouchesNothing) {
  EXPECT_EQ(run(flash_args((root_ / "no_such_vivado_lab").string())), kExitFailed);
  EXPECT_NE(err_.str().find("not an executable file"), std::string::npos) << err_.str();
  EXPECT_EQ(slurp(fn_ / "remove"), "");  // the device was not removed
}

TEST_F(FakeCard, WrongBitstreamTouchesNothing) {
  std::vector<std::string> a = flash_args(fake_programmer());
  const fs::path sof = root_ / "n.sof";
  put(sof, "x");
  a.back() = sof.string();
  EXPECT_EQ(run(a), kExitFailed);
  EXPECT_NE(err_.str().find("takes a .bit file"), std::string::npos) << err_.str();
  a.back() = (root_ / "missing.bit").string();
  EXPECT_EQ(run(a), kExitFailed);
  EXPECT_NE(err_.str().find("is not a readable file"), std::string::npos) << err_.str();
  EXPECT_EQ(slurp(fn_ / "remove"), "");
  EXPECT_FALSE(fs::exists(root_ / "args"));
}

TEST_F(FakeCard, FailedProgrammingStillRescans) {
  EXPECT_EQ(run(flash_args(fake_programmer("exit 7"))), kExitFailed);
  EXPECT_NE(err_.str().find("failed (exit 7)"), std::string::npos) << err_.str();
  EXPECT_EQ(slurp(bridge_ / "rescan"), "1");
}

TEST_F(FakeCard, DeviceThatDoesNotComeBack) {
  const std::string body = "rm -f " + (fn_ / "resource2").string();
  EXPECT_EQ(run(flash_args(fake_programmer(body))), kExitFailed);
  EXPECT_NE(err_.str().find("did not come back"), std::string::npos) << err_.str();
}

TEST_F(FakeCard, DryRunTouchesNothing) {
  std::vector<std::string> a = flash_args(fake_programmer());
  a.push_back("--dry-run");
  EXPECT_EQ(run(a), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("-tclargs " + bit_.string() + " xcu250"), std::string::npos);
  EXPECT_EQ(slurp(fn_ / "remove"), "");
  EXPECT_FALSE(fs::exists(root_ / "args"));
}

TEST(NflashScript, ShippedScriptTakesTheArgumentsNflashPasses) {
  // The Tcl script reads BITSTREAM PART [TARGET] from -tclargs.
  const std::string tcl = slurp(NFLASH_SOURCE_SCRIPT);
  EXPECT_NE(tcl.find("set bitfile [lindex $argv 0]"), std::string::npos);
  EXPECT_NE(tcl.find("set part [lindex $argv 1]"), std::string::npos);
  EXPECT_NE(tcl.find("program_hw_devices"), std::string::npos);
}

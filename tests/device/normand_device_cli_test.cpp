// `normand --device`: the real binary refuses a bad spec or a flag that does
// not apply before touching anything (status 2), and a PCIe device that
// cannot be attached with the attach step's own explanation (status 1),
// without creating nic0 or leaving its control socket behind.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int status = -1;
  std::string err;
};

class NormandDeviceCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/normand-device-cli-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Outcome run(const std::string& args) {
    const std::string err = dir_ + "/stderr";
    const std::string cmd = std::string(NORMAND_BINARY) + " --socket " + dir_ + "/normand.sock" +
                            " --state-dir " + dir_ + "/state --tap nrmclitest0 " + args +
                            " </dev/null >/dev/null 2>" + err;
    const int rc = std::system(cmd.c_str());
    Outcome r;
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    std::ifstream f(err);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    return r;
  }
  std::string dir_;
};

TEST_F(NormandDeviceCli, UnknownDeviceKind) {
  const auto r = run("--device vfio:0000:03:00.0");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("normand: --device: device \"vfio:0000:03:00.0\": unknown device kind"),
            std::string::npos)
      << r.err;
}

TEST_F(NormandDeviceCli, MalformedPciAddress) {
  const auto r = run("--device pci:0000:03:20.0");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("device \"20\" is above its maximum 1f"), std::string::npos) << r.err;
}

TEST_F(NormandDeviceCli, NsimSocketDoesNotApplyToPci) {
  const auto r = run("--device pci:0000:03:00.0 --nsim-socket /tmp/nsim.sock");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--nsim-socket applies to --device nsim only"), std::string::npos) << r.err;
}

TEST_F(NormandDeviceCli, AbsentPciDeviceFailsAtAttachWithTheReason) {
  if (fs::exists("/sys/bus/pci/devices/0000:ff:1f.7")) GTEST_SKIP() << "0000:ff:1f.7 exists here";
  const auto r = run("--device pci:0000:ff:1f.7");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot attach to the NIC: PCI device 0000:ff:1f.7: no such device"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/normand.sock"));
  EXPECT_FALSE(fs::exists("/sys/class/net/nrmclitest0"));
}

}  // namespace

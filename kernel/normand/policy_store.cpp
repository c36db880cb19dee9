#include "policy_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "syntax.hpp"
#include "unique_fd.hpp"

namespace norman::normand {

namespace {

constexpr const char* kFormat = "norman-policy";
constexpr int kVersion = 1;
constexpr const char* kFileName = "policy.json";

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void write_all(int fd, const std::string& data, const std::string& what) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what + ": write");
    }
    done += static_cast<std::size_t>(n);
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(path.string() + ": cannot be read: " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  return ss.str();
}

// A file or directory whose content decides the firewall must be
// root's (normand's) alone: owned by this user and writable by nobody else,
// or anyone who could write it would choose the policy.
void check_trusted(const std::filesystem::path& path, bool directory) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    throw std::runtime_error(path.string() + ": " + std::strerror(errno));
  }
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    throw std::runtime_error(path.string() + ": not a " +
                             (directory ? "directory" : "regular file"));
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw std::runtime_error(path.string() + ": not trusted (it must belong to uid " +
                             std::to_string(::geteuid()) +
                             " and be writable by nobody else; it decides the firewall)");
  }
}

}  // namespace

PolicyStore::PolicyStore(std::filesystem::path dir)
    : dir_(std::move(dir)), file_(dir_ / kFileName) {}

std::optional<filter::Ruleset> PolicyStore::load_filter() const {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) {
    if (ec) throw std::runtime_error(file_.string() + ": " + ec.message());
    return std::nullopt;
  }
  check_trusted(dir_, true);
  check_trusted(file_, false);
  const std::string text = read_file(file_);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(file_.string() + ": not a JSON document (" + e.what() + ")");
  }
  if (!doc.is_object() || doc.value("format", std::string()) != kFormat) {
    throw std::runtime_error(file_.string() + ": not a norman policy (\"format\" is not \"" +
                             kFormat + "\")");
  }
  if (!doc.contains("version") || !doc["version"].is_number_integer() ||
      doc["version"].get<int>() != kVersion) {
    throw std::runtime_error(file_.string() + ": policy version " +
                             (doc.contains("version") ? doc["version"].dump() : "(none)") +
                             ", this normand reads version " + std::to_string(kVersion));
  }
  if (!doc.contains("filter")) {
    throw std::runtime_error(file_.string() + ": the policy has no \"filter\" table");
  }
  try {
    return doc["filter"].get<filter::Ruleset>();
  } catch (const std::exception& e) {
    throw std::runtime_error(file_.string() + ": its filter table is invalid: " + e.what());
  }
}

void PolicyStore::save_filter(const filter::Ruleset& filter) {
  const std::string what = "saving the policy to " + file_.string();
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    throw_errno(errno, what + ": mkdir " + dir_.string());
  }
  try {
    check_trusted(dir_, true);
  } catch (const std::exception& e) {
    throw std::system_error(EPERM, std::generic_category(), what + ": " + e.what());
  }
  nlohmann::json doc = {{"format", kFormat}, {"version", kVersion}, {"filter", filter}};
  const std::string data = doc.dump(1) + "\n";
  const std::filesystem::path tmp = file_.string() + ".tmp";
  {
    nsim::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) throw_errno(errno, what + ": open " + tmp.string());
    write_all(fd.get(), data, what);
    if (::fsync(fd.get()) != 0) throw_errno(errno, what + ": fsync");
  }
  if (::rename(tmp.c_str(), file_.c_str()) != 0) throw_errno(errno, what + ": rename");
  // The rename itself must reach the disk too.
  nsim::UniqueFd d(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d || ::fsync(d.get()) != 0) throw_errno(errno, what + ": fsync of the directory");
}

filter::Ruleset load_rules_file(const std::filesystem::path& path) {
  check_trusted(path, false);
  const std::string text = read_file(path);
  nfw::RestoreFile file;
  try {
    file = nfw::parse_restore(text);
  } catch (const nfw::SyntaxError& e) {
    throw std::runtime_error(path.string() + (e.line != 0 ? ":" + std::to_string(e.line) : "") +
                             ": " + e.what() +
                             (e.token.empty() ? std::string() : " (at \"" + e.token + "\")"));
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  if (!file.committed) {
    throw std::runtime_error(path.string() +
                             ": no complete *filter table (empty, or cut before COMMIT); "
                             "write it with nfw-save");
  }
  filter::Ruleset rules;
  std::uint64_t id = 1;
  try {
    nfw::apply_restore(rules, file, /*noflush=*/false, /*with_counters=*/false,
                       [&id] { return id++; });
  } catch (const nfw::SyntaxError& e) {
    throw std::runtime_error(path.string() + (e.line != 0 ? ":" + std::to_string(e.line) : "") +
                             ": " + e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  return rules;
}

}  // namespace norman::normand

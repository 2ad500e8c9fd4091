#include "sysctl.hpp"

#include "droplab/counters/netns.hpp"
#include "droplab/fd.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace droplab::harness {

std::string normalize_sysctl_value(const std::string& s) {
  std::istringstream in(s);
  std::string word, out;
  while (in >> word) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

namespace {

std::string read_whole(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw std::system_error(errno, std::generic_category(), "read " + what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_whole(const std::string& path, const std::string& value, const std::string& what) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + what);
  std::string v = value + "\n";
  if (::write(fd.get(), v.data(), v.size()) < 0) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("write \"{}\" to {}", value, what));
  }
}

// Runs `op` on `path` in a child that mounted the sysfs of `netns`. The result
// (or errno text) comes back over a pipe.
std::string sysfs_in_netns(const std::string& path, const std::string& netns,
                           const std::string* value) {
  std::string ns_path = "/run/netns/" + netns;
  Fd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) throw std::system_error(errno, std::generic_category(), "open " + ns_path);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  Fd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    auto fail = [&](const char* what) {
      int e = errno;
      std::string msg = fmt::format("E{} {}: {}", e, what, std::strerror(e));
      (void)!::write(wr.get(), msg.data(), msg.size());
      ::_exit(1);
    };
    if (::unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
    // Keep our mounts from propagating back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) fail("mount MS_SLAVE");
    if (::setns(ns.get(), CLONE_NEWNET) != 0) fail("setns");
    ::umount2("/sys", MNT_DETACH);
    if (::mount(netns.c_str(), "/sys", "sysfs", 0, nullptr) != 0) fail("mount sysfs");
    if (value) {
      int fd = ::open(path.c_str(), O_WRONLY);
      if (fd < 0) fail("open");
      std::string v = *value + "\n";
      if (::write(fd, v.data(), v.size()) < 0) fail("write");
      (void)!::write(wr.get(), "OK", 2);
    } else {
      int fd = ::open(path.c_str(), O_RDONLY);
      if (fd < 0) fail("open");
      char buf[4096];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) fail("read");
      (void)!::write(wr.get(), "OK", 2);
      (void)!::write(wr.get(), buf, static_cast<std::size_t>(n));
    }
    ::_exit(0);
  }
  wr.reset();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (out.rfind("OK", 0) == 0) return out.substr(2);
  int err = EIO;
  if (out.size() > 1 && out[0] == 'E') err = std::atoi(out.c_str() + 1);
  auto space = out.find(' ');
  throw std::system_error(err, std::generic_category(),
                          fmt::format("{} in netns {} ({})", path, netns,
                                      space == std::string::npos ? out : out.substr(space + 1)));
}

} // namespace

std::string sysctl_path(const std::string& key) {
  std::string p = key;
  std::replace(p.begin(), p.end(), '.', '/');
  return "/proc/sys/" + p;
}

std::string read_sysctl(const std::string& key, const std::string& netns) {
  std::string what = netns.empty() ? "sysctl " + key : fmt::format("sysctl {} in netns {}", key, netns);
  if (netns.empty()) return normalize_sysctl_value(read_whole(sysctl_path(key), what));
  std::string out;
  // /proc/sys/net resolves against the calling thread's namespace.
  counters::in_netns(netns, [&] { out = normalize_sysctl_value(read_whole(sysctl_path(key), what)); });
  return out;
}

void write_sysctl(const std::string& key, const std::string& value, const std::string& netns) {
  std::string what = netns.empty() ? "sysctl " + key : fmt::format("sysctl {} in netns {}", key, netns);
  if (netns.empty()) return write_whole(sysctl_path(key), value, what);
  counters::in_netns(netns, [&] { write_whole(sysctl_path(key), value, what); });
}

std::string read_sysfs(const std::string& path, const std::string& netns) {
  if (netns.empty()) return normalize_sysctl_value(read_whole(path, path));
  return normalize_sysctl_value(sysfs_in_netns(path, netns, nullptr));
}

void write_sysfs(const std::string& path, const std::string& value, const std::string& netns) {
  if (netns.empty()) return write_whole(path, value, path);
  sysfs_in_netns(path, netns, &value);
}

} // namespace droplab::harness

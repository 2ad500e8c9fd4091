#include "sink_process.hpp"

#include "droplab/counters/netns.hpp"
#include "droplab/payload.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <exception>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <time.h>

namespace sinktest {
namespace {

pid_t spawn(const std::vector<std::string>& argv, const char* out_path) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    int fd = ::open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

} // namespace

int run_quiet(const std::vector<std::string>& argv) {
  pid_t pid = spawn(argv, "/dev/null");
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::optional<NetnsGuard> NetnsGuard::create(const std::string& name, const std::string& addr,
                                             std::string& why) {
  if (run_quiet({"ip", "netns", "add", name}) != 0) {
    why = "`ip netns add " + name + "` failed (needs CAP_SYS_ADMIN and iproute2)";
    return std::nullopt;
  }
  NetnsGuard g(name); // from here on the destructor deletes it
  if (run_quiet({"ip", "-n", name, "addr", "add", addr + "/32", "dev", "lo"}) != 0 ||
      run_quiet({"ip", "-n", name, "link", "set", "lo", "up"}) != 0) {
    why = "cannot configure lo in namespace " + name;
    return std::nullopt;
  }
  return std::optional<NetnsGuard>(std::move(g));
}

NetnsGuard::NetnsGuard(NetnsGuard&& o) noexcept : name_(std::move(o.name_)) {
  o.name_.clear();
}

NetnsGuard& NetnsGuard::operator=(NetnsGuard&& o) noexcept {
  if (this != &o) {
    if (!name_.empty()) run_quiet({"ip", "netns", "del", name_});
    name_ = std::move(o.name_);
    o.name_.clear();
  }
  return *this;
}

NetnsGuard::~NetnsGuard() {
  if (!name_.empty()) run_quiet({"ip", "netns", "del", name_});
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& out_path)
    : pid_(spawn(argv, out_path.c_str())) {}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(5000);
  }
}

bool ChildProcess::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return false;
  }
  return r == 0;
}

std::optional<int> ChildProcess::wait(int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (running()) {
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (status_ && *status_ < 0) return std::nullopt;
  return status_;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for_ready_file(const std::string& path, ChildProcess& proc, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    // The sink writes it with rename(), so a file that exists is complete.
    if (::access(path.c_str(), F_OK) == 0) {
      return nlohmann::json::accept(read_text(path));
    }
    if (!proc.running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

namespace {

// Runs `body` on a thread that joined namespace `ns` (setns moves only the
// calling thread, so the test process stays put); rethrows its exception.
using droplab::counters::in_netns;

std::uint64_t now_ns(clockid_t c) {
  timespec ts{};
  ::clock_gettime(c, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace

std::size_t send_paced_in_netns(const std::string& ns, const std::string& dst_addr,
                                std::uint16_t port, double rate_pps, std::size_t count,
                                unsigned flows, std::uint16_t first_flow) {
  std::size_t sent = 0;
  in_netns(ns, [&] {
    std::vector<int> fds;
    struct Closer {
      std::vector<int>& f;
      ~Closer() {
        for (int fd : f)
          ::close(fd);
      }
    } closer{fds};
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    ::inet_pton(AF_INET, dst_addr.c_str(), &dst.sin_addr);
    for (unsigned f = 0; f < flows; ++f) {
      int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
      fds.push_back(fd);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0) {
        throw std::system_error(errno, std::generic_category(), "connect");
      }
    }
    std::vector<std::uint32_t> seq(flows, 0);
    std::array<std::byte, 32> buf{};
    buf.fill(std::byte{0x5a});
    const std::uint64_t start = now_ns(CLOCK_MONOTONIC);
    const auto bound = start +
                       static_cast<std::uint64_t>(static_cast<double>(count) / rate_pps * 1e9) +
                       5'000'000'000ULL;
    std::size_t i = 0;
    while (i < count) {
      const std::uint64_t now = now_ns(CLOCK_MONOTONIC);
      if (now >= bound) break;
      // Datagrams due by now at rate_pps, sent back to back, then a 100 us nap.
      auto due = static_cast<std::size_t>(static_cast<double>(now - start) * rate_pps / 1e9) + 1;
      for (; i < std::min(due, count); ++i) {
        unsigned f = static_cast<unsigned>(i % flows);
        droplab::encode_payload({.flow = static_cast<std::uint16_t>(first_flow + f),
                                 .seq = seq[f]++,
                                 .send_ns = now_ns(CLOCK_REALTIME)},
                                buf);
        if (::send(fds[f], buf.data(), buf.size(), 0) == static_cast<ssize_t>(buf.size())) ++sent;
      }
      timespec nap{.tv_sec = 0, .tv_nsec = 100'000};
      ::nanosleep(&nap, nullptr);
    }
  });
  return sent;
}

std::optional<std::uint64_t> proc_udp_drops(pid_t pid, std::uint64_t inode) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/net/udp"));
  std::string line;
  std::getline(in, line); // header
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::vector<std::string> col;
    for (std::string c; row >> c;)
      col.push_back(c);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (col.size() >= 13 && col[9] == std::to_string(inode)) return std::stoull(col.back());
  }
  return std::nullopt;
}

std::size_t send_in_netns(const std::string& ns, const std::string& dst_addr, std::uint16_t port,
                          const std::vector<Datagram>& datagrams) {
  std::size_t sent = 0;
  in_netns(ns, [&] {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    ::inet_pton(AF_INET, dst_addr.c_str(), &dst.sin_addr);
    std::array<std::byte, 32> buf{};
    for (const Datagram& d : datagrams) {
      buf.fill(std::byte{0x5a});
      if (d.valid) droplab::encode_payload({.flow = d.flow, .seq = d.seq, .send_ns = 0}, buf);
      if (::sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) ==
          static_cast<ssize_t>(buf.size())) {
        ++sent;
      }
    }
    ::close(fd);
  });
  return sent;
}

} // namespace sinktest

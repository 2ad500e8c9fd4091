// DropReasonCounter against real drops in throwaway namespaces (root), and the paths that
// need no privileges (both backends disabled, recovery of a missing instance).
#include "droplab/dropreason/counter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

namespace droplab::dropreason {
namespace {

using namespace std::chrono_literals;

constexpr const char* kLabAddr = "198.18.0.1";

bool run(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

bool path_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// A namespace "dldr<pid><suffix>" with 198.18.0.1/32 on lo, deleted on every exit path.
class TestNetns {
public:
  explicit TestNetns(const std::string& suffix)
      : name_("dldr" + std::to_string(::getpid()) + suffix) {
    if (!run("ip netns add " + name_))
      throw std::runtime_error("ip netns add " + name_ + " failed");
    created_ = true;
    if (!run("ip -n " + name_ + " addr add " + kLabAddr + "/32 dev lo") ||
        !run("ip -n " + name_ + " link set lo up"))
      throw std::runtime_error("configuring lo in " + name_ + " failed");
  }
  ~TestNetns() {
    if (created_) run("ip netns del " + name_);
  }
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  const std::string& name() const { return name_; }

private:
  std::string name_;
  bool created_ = false;
};

// Runs fn on a thread that has joined the namespace; rethrows what fn threw.
void in_netns(const std::string& name, const std::function<void()>& fn) {
  std::exception_ptr error;
  std::thread t([&] {
    try {
      const std::string path = "/run/netns/" + name;
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
      const int rc = ::setns(fd, CLONE_NEWNET);
      const int err = errno;
      ::close(fd);
      if (rc != 0) throw std::system_error(err, std::generic_category(), "setns " + name);
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

int udp_socket() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  return fd;
}

sockaddr_in lab_addr(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, kLabAddr, &a.sin_addr);
  return a;
}

// Sends `count` datagrams of `size` bytes to 198.18.0.1:port from an unconnected socket.
void send_datagrams(int count, std::uint16_t port, std::size_t size = 64) {
  const int fd = udp_socket();
  const sockaddr_in to = lab_addr(port);
  std::string payload(size, 'x');
  for (int i = 0; i < count; ++i)
    if (::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to) < 0) {
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "sendto");
    }
  ::close(fd);
}

// The drops column of the socket's row in this thread's namespace's /proc/net/udp.
std::uint64_t proc_udp_drops(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  std::ifstream in("/proc/thread-self/net/udp");
  std::string line;
  std::getline(in, line); // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string s; fields >> s;)
      f.push_back(s);
    if (f.size() >= 13 && f[9] == std::to_string(st.st_ino)) return std::stoull(f.back());
  }
  throw std::runtime_error("socket inode " + std::to_string(st.st_ino) + " not in /proc/net/udp");
}

struct Totals {
  std::uint64_t drops = 0;      // every counted drop
  std::uint64_t not_a_drop = 0; // freed at socket close
  std::uint64_t of(const std::vector<ReasonCount>& counts, const std::string& reason) const {
    std::uint64_t n = 0;
    for (const auto& c : counts)
      if (!c.not_a_drop && c.reason == reason) n += c.count;
    return n;
  }
};

Totals totals(const std::vector<ReasonCount>& counts) {
  Totals t;
  for (const auto& c : counts)
    (c.not_a_drop ? t.not_a_drop : t.drops) += c.count;
  return t;
}

std::string dump(const std::vector<ReasonCount>& counts) {
  std::string s;
  for (const auto& c : counts)
    s += std::string(c.host_wide ? "  [host-wide] " : "  ") + c.reason + "(" +
         std::to_string(c.reason_id) + ") at " + c.location + ": " + std::to_string(c.count) +
         (c.not_a_drop ? " [not a drop]" : "") + "\n";
  return s;
}

// Reads until pred holds or 5 s pass (softirq work may finish after sendto returns; socket
// close frees its queue after an RCU grace period).
std::vector<ReasonCount>
read_until(const DropReasonCounter& counter,
           const std::function<bool(const std::vector<ReasonCount>&)>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  auto counts = counter.read();
  while (!pred(counts) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    counts = counter.read();
  }
  return counts;
}

std::uint64_t sum_reason(const std::vector<ReasonCount>& c, const std::string& r) {
  return Totals{}.of(c, r);
}

// Fills a 1-byte-rcvbuf socket with `sent` datagrams it never reads, then closes it.
// Returns the socket's drops as /proc/net/udp reported them just before close.
std::uint64_t overflow_then_close(const std::string& netns, int sent, std::uint16_t port,
                                  const DropReasonCounter& counter, bool exact) {
  std::uint64_t drops = 0;
  in_netns(netns, [&] {
    const int rx = udp_socket();
    const int tiny = 1; // the kernel rounds up to its minimum (SOCK_MIN_RCVBUF, doubled)
    ::setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    const sockaddr_in addr = lab_addr(port);
    if (::bind(rx, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      ::close(rx);
      throw std::system_error(err, std::generic_category(), "bind");
    }
    send_datagrams(sent, port, 16);
    drops = proc_udp_drops(rx);
    // Wait until the counter has seen them, then read again: both sources must agree.
    read_until(counter, [&](const auto& c) { return sum_reason(c, "SOCKET_RCVBUFF") >= drops; });
    const std::uint64_t again = proc_udp_drops(rx);
    ::close(rx);
    if (exact) {
      EXPECT_EQ(again, drops) << "socket drops moved after the sends returned";
    }
  });
  return drops;
}

bool is_root() {
  return ::geteuid() == 0;
}

TEST(DropReasonCounterTest, BpfCountsOnlyTheFilteredNamespace) {
  if (!is_root()) GTEST_SKIP() << "needs root (BPF, ip netns)";
  TestNetns lab("a"), other("b");
  auto counter =
      DropReasonCounter::start({.netns_names = {lab.name()}, .allow_tracefs = false}, {});
  if (counter->mode() != Mode::Bpf &&
      counter->mode_reason().find("Operation not permitted") != std::string::npos)
    GTEST_SKIP() << counter->mode_reason();
  ASSERT_EQ(counter->mode(), Mode::Bpf) << counter->mode_reason();
  std::cout << "mode_reason: " << counter->mode_reason() << "\n";

  in_netns(other.name(), [] { send_datagrams(57, 40000); });
  in_netns(lab.name(), [] { send_datagrams(100, 40000); });
  auto counts =
      read_until(*counter, [](const auto& c) { return sum_reason(c, "NO_SOCKET") >= 100; });
  std::cout << "counted:\n" << dump(counts);
  EXPECT_EQ(sum_reason(counts, "NO_SOCKET"), 100u) << dump(counts);
  for (const auto& c : counts)
    if (c.reason == "NO_SOCKET") {
      EXPECT_NE(c.location.find("+0x"), std::string::npos)
          << "location not resolved: " << c.location;
    }
  EXPECT_EQ(counter->lost_events(), 0u);
}

TEST(DropReasonCounterTest, BpfRcvbufDropsMatchSocketAndCloseIsNotADrop) {
  if (!is_root()) GTEST_SKIP() << "needs root (BPF, ip netns)";
  TestNetns lab("c");
  auto counter =
      DropReasonCounter::start({.netns_names = {lab.name()}, .allow_tracefs = false}, {});
  if (counter->mode() != Mode::Bpf &&
      counter->mode_reason().find("Operation not permitted") != std::string::npos)
    GTEST_SKIP() << counter->mode_reason();
  ASSERT_EQ(counter->mode(), Mode::Bpf) << counter->mode_reason();

  constexpr int kSent = 100;
  const std::uint64_t drops = overflow_then_close(lab.name(), kSent, 40001, *counter, true);
  ASSERT_GT(drops, 0u) << "a 1-byte SO_RCVBUF should overflow";
  ASSERT_LT(drops, static_cast<std::uint64_t>(kSent)) << "some datagrams must be queued";
  const std::uint64_t queued = kSent - drops;
  auto counts = read_until(*counter, [&](const auto& c) { return totals(c).not_a_drop >= queued; });
  std::cout << "socket drops " << drops << ", queued at close " << queued << ", counted:\n"
            << dump(counts);
  EXPECT_EQ(sum_reason(counts, "SOCKET_RCVBUFF"), drops) << dump(counts);
  EXPECT_EQ(totals(counts).drops, drops) << "the close must not add drops\n" << dump(counts);
  // Exact when the destructor fentry programs attached; host-wide (≥) otherwise.
  bool close_host_wide = false;
  for (const auto& c : counts)
    close_host_wide |= c.not_a_drop && c.host_wide;
  if (close_host_wide) {
    EXPECT_GE(totals(counts).not_a_drop, queued) << dump(counts);
  } else {
    EXPECT_EQ(totals(counts).not_a_drop, queued) << dump(counts);
  }
  for (const auto& c : counts)
    if (c.not_a_drop) {
      EXPECT_EQ(c.location.rfind("udp_destruct_common+", 0) == 0 ||
                    c.location.rfind("inet_sock_destruct+", 0) == 0,
                true)
          << c.location;
    }
  counter->stop();
  EXPECT_EQ(counter->read().size(), counts.size()) << "counts survive stop()";
}

// Mounts tracefs for the test if the host has it unmounted, and unmounts it
// again, so the host is left as found.
class TracefsMount {
public:
  TracefsMount() {
    if (path_exists("/sys/kernel/tracing/instances")) return;
    if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TracefsMount() {
    if (mounted_) ::umount2("/sys/kernel/tracing", MNT_DETACH);
  }
  const std::string& error() const { return error_; }

private:
  bool mounted_ = false;
  std::string error_;
};

TEST(DropReasonCounterTest, TracefsFallbackIsHostWideAndRemovesItsInstance) {
  if (!is_root()) GTEST_SKIP() << "needs root (tracefs instance, ip netns)";
  TracefsMount tracefs;
  if (!path_exists("/sys/kernel/tracing/instances"))
    GTEST_SKIP() << "tracefs is not mounted at /sys/kernel/tracing and mounting it failed: " << tracefs.error();
  TestNetns lab("d");
  std::string journaled;
  auto counter = DropReasonCounter::start(
      {.netns_names = {lab.name()}, .allow_bpf = false}, [&](const std::string& path) {
        EXPECT_FALSE(path_exists(path)) << "journal hook must run before mkdir";
        journaled = path;
      });
  ASSERT_EQ(counter->mode(), Mode::Tracefs) << counter->mode_reason();
  std::cout << "mode_reason: " << counter->mode_reason() << "\n";
  EXPECT_NE(counter->mode_reason().find("host-wide"), std::string::npos);
  EXPECT_NE(counter->mode_reason().find("BPF disabled"), std::string::npos);
  EXPECT_EQ(journaled, DropReasonCounter::planned_tracefs_instance_path());
  EXPECT_EQ(counter->tracefs_instance_path(), journaled);
  EXPECT_TRUE(path_exists(journaled));

  in_netns(lab.name(), [] { send_datagrams(100, 40000); });
  const std::uint64_t drops = overflow_then_close(lab.name(), 100, 40001, *counter, false);
  auto counts = read_until(*counter, [&](const auto& c) {
    return sum_reason(c, "NO_SOCKET") >= 100 && sum_reason(c, "SOCKET_RCVBUFF") >= drops;
  });
  std::cout << "socket drops " << drops << ", counted (host-wide):\n" << dump(counts);
  EXPECT_GE(sum_reason(counts, "NO_SOCKET"), 100u) << dump(counts);
  EXPECT_GE(sum_reason(counts, "SOCKET_RCVBUFF"), drops) << dump(counts);
  for (const auto& c : counts)
    if (c.reason == "NO_SOCKET") {
      EXPECT_GT(c.reason_id, 0u) << "id from the format names";
    }
  counter->stop();
  EXPECT_FALSE(path_exists(journaled)) << "instance left behind";
  EXPECT_EQ(counter->tracefs_instance_path(), "");
}

TEST(DropReasonCounterTest, BothBackendsDisabledIsUnavailableWithReason) {
  auto counter = DropReasonCounter::start({.allow_bpf = false, .allow_tracefs = false}, {});
  EXPECT_EQ(counter->mode(), Mode::Unavailable);
  EXPECT_NE(counter->mode_reason().find("unavailable"), std::string::npos)
      << counter->mode_reason();
  EXPECT_TRUE(counter->read().empty());
}

TEST(DropReasonCounterTest, TooManyNamespacesIsAnError) {
  DropReasonCounter::Options o;
  o.netns_names.assign(9, "x");
  EXPECT_THROW(DropReasonCounter::start(o, {}), std::invalid_argument);
}

TEST(DropReasonCounterTest, RemoveInstanceOfAMissingPathIsNotAnError) {
  EXPECT_NO_THROW(
      DropReasonCounter::remove_instance("/sys/kernel/tracing/instances/droplab-none-such"));
}

} // namespace
} // namespace droplab::dropreason

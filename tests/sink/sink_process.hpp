// Test helpers for running the real droplab-sink in a network namespace the
// test created: NetnsGuard (deletes it on every exit path), ChildProcess
// (kills and reaps on every exit path), and a sender that joins the namespace
// from a thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sinktest {

// Runs argv, stdout/stderr to /dev/null; returns the exit status (-1 if it
// did not exit normally).
int run_quiet(const std::vector<std::string>& argv);

class NetnsGuard {
public:
  // Creates namespace `name`, sets lo up with `addr`/32. nullopt and `why`
  // set when the namespace cannot be created.
  static std::optional<NetnsGuard> create(const std::string& name, const std::string& addr,
                                          std::string& why);
  NetnsGuard(NetnsGuard&& o) noexcept;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  NetnsGuard& operator=(NetnsGuard&& o) noexcept;
  ~NetnsGuard();
  const std::string& name() const { return name_; }

private:
  explicit NetnsGuard(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

class ChildProcess {
public:
  // Starts argv with stdout and stderr redirected to `out_path`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& out_path);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess(); // SIGKILL and reap if still running

  pid_t pid() const { return pid_; }
  bool running(); // reaps if it has exited
  // Waits up to timeout_ms for exit; the exit code, or nullopt on timeout
  // or abnormal exit.
  std::optional<int> wait(int timeout_ms);
  void signal(int sig);

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Polls for `path` to hold valid JSON while `proc` runs, up to timeout_ms.
bool wait_for_ready_file(const std::string& path, ChildProcess& proc, int timeout_ms);

struct Datagram {
  std::uint16_t flow = 0;
  std::uint32_t seq = 0;
  bool valid = true; // false: 32 bytes with no droplab header
};

// Sends `datagrams` in order to dst_addr:port from a socket inside namespace
// `ns` (a thread joins it with setns). Returns how many sendto() accepted;
// throws std::system_error naming the failing call.
std::size_t send_in_netns(const std::string& ns, const std::string& dst_addr, std::uint16_t port,
                          const std::vector<Datagram>& datagrams);

// Paced sender: `count` datagrams of 32 bytes at `rate_pps`, spread round-robin
// over `flows` sockets (one source port each, so SO_REUSEPORT can spread
// them), each carrying the droplab header with its flow's sequence and the
// CLOCK_REALTIME send time. Bounded: stops after count/rate + 5 s whatever
// happens. Returns how many sendto() accepted.
std::size_t send_paced_in_netns(const std::string& ns, const std::string& dst_addr,
                                std::uint16_t port, double rate_pps, std::size_t count,
                                unsigned flows = 1, std::uint16_t first_flow = 0);

// The `drops` column of /proc/PID/net/udp for the socket with `inode`;
// nullopt if the row is not there.
std::optional<std::uint64_t> proc_udp_drops(pid_t pid, std::uint64_t inode);

std::string read_text(const std::string& path);

} // namespace sinktest

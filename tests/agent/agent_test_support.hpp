// Helpers for tests that run the real droplab-agent-test: a temporary
// directory, test certificates made with the openssl CLI, a network namespace
// and child processes that are cleaned up on every exit path, and running
// code inside the namespace.
#pragma once

#include "temp_dir.hpp"

#include "droplab/counters/netns.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace agenttest {

// Runs argv (PATH lookup) with stdout and stderr to `out_path`; the exit
// status, -1 if it did not exit normally.
int run_command(const std::vector<std::string>& argv, const std::string& out_path = "/dev/null");

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// Polls `pred` every 5 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

using droplab::test::TempDir;

// PEM files: a CA, an agent certificate from it (SAN IP:127.0.0.1 and
// DNS:agent.test), a controller certificate from it, and a rogue CA with a
// controller certificate of its own.
struct Certs {
  std::string ca;
  std::string agent_cert, agent_key;
  std::string client_cert, client_key;
  std::string rogue_ca;
  std::string rogue_cert, rogue_key;
};
// Makes them in `dir` with the openssl CLI; throws std::runtime_error with
// openssl's output when a step fails.
Certs make_certs(const std::string& dir);

// Network namespace `name` with lo up, deleted on destruction.
class NetnsGuard {
public:
  // nullopt with `why` set if it cannot be created.
  static std::optional<NetnsGuard> create(const std::string& name, std::string& why);
  NetnsGuard(NetnsGuard&& o) noexcept;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  ~NetnsGuard();
  const std::string& name() const { return name_; }

private:
  explicit NetnsGuard(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Runs `body` on a thread that joined namespace `ns` (setns moves only that
// thread); rethrows its exception. Sockets it creates stay in the namespace.
using droplab::counters::in_netns;

// A child process, SIGKILLed and reaped on destruction if still running.
class ChildProcess {
public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& out_path,
               const std::string& stdin_path = "/dev/null");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return pid_; }
  bool running();
  // Exit code within timeout; nullopt on timeout or death by signal.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig);

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// A plain TCP connection for attacks below TLS: connects to 127.0.0.1:port
// (from the calling thread's namespace) within 5 s.
class TcpClient {
public:
  explicit TcpClient(std::uint16_t port);
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;
  void send(const std::string& bytes);
  // Reads until EOF or error; false if neither came within `timeout`.
  bool read_to_end(std::string& out, std::chrono::milliseconds timeout);

private:
  int fd_ = -1;
};

} // namespace agenttest

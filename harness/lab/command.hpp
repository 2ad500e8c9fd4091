// Running other programs without a shell: `ip` for lab plumbing, and the
// generator and sink inside a namespace.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace droplab::harness {

struct CommandResult {
  int exit_code = -1;    // -1 if killed by a signal
  int term_signal = 0;
  std::string output;    // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) with its output captured. Never throws for
// a non-zero exit; throws std::system_error if it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv);

// As run_command, but throws std::runtime_error with the command line and its
// output when it exits non-zero.
std::string run_checked(const std::vector<std::string>& argv);

std::string join_argv(const std::vector<std::string>& argv);

// A child process started in network namespace `netns` ("" = ours), with
// stdout and stderr appended to `log_path`. It receives SIGTERM if the harness
// dies (PR_SET_PDEATHSIG), so a killed run does not leave it behind. The
// destructor stops (SIGTERM, then SIGKILL after a grace period) and reaps it.
class Child {
public:
  // `cpu`: pin the child (and its threads) to this CPU, as a profile asks
  // when it reproduces a drop that depends on which CPU runs what.
  static Child spawn(const std::vector<std::string>& argv, const std::string& netns,
                     const std::string& log_path, std::optional<unsigned> cpu = std::nullopt);
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  ~Child();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }
  // Non-blocking: the exit status if it has exited.
  std::optional<int> poll();
  // Waits up to `timeout`; nullopt if still running.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  void signal(int sig);
  // SIGTERM, wait `grace`, then SIGKILL; returns the wait status.
  int stop(std::chrono::milliseconds grace);
  std::string describe_exit() const;
  // CPU seconds (user + system) the child and its threads used, once reaped.
  std::optional<double> cpu_s() const { return cpu_s_; }

private:
  void reaped(int status, const struct rusage& ru);

  pid_t pid_ = -1;
  std::optional<int> status_; // raw wait status
  std::optional<double> cpu_s_;
  std::string name_;
};

// Absolute path of a droplab binary: next to our own executable, else PATH.
std::string find_sibling_binary(const std::string& name);

} // namespace droplab::harness

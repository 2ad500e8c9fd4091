#include "command.hpp"

#include "droplab/clock.hpp"
#include "droplab/fd.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace droplab::harness {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child after fork(): only async-signal-safe calls until exec.
[[noreturn]] void child_fail(int err_fd, const char* what) {
  int e = errno;
  (void)!::write(err_fd, what, __builtin_strlen(what));
  (void)!::write(err_fd, ": ", 2);
  const char* msg = ::strerrordesc_np(e);
  if (msg) (void)!::write(err_fd, msg, __builtin_strlen(msg));
  (void)!::write(err_fd, "\n", 1);
  ::_exit(127);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return "stopped";
}

} // namespace

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

CommandResult run_command(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe for " + argv.at(0));
  }
  Fd rd(pipefd[0]);
  Fd wr(pipefd[1]);
  auto args = c_argv(argv);
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork for " + argv[0]);
  if (pid == 0) {
    ::dup2(wr.get(), STDOUT_FILENO);
    ::dup2(wr.get(), STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execvp(args[0], args.data());
    child_fail(STDERR_FILENO, args[0]);
  }
  wr.reset();
  CommandResult r;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0) {
      r.output.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  return r;
}

std::string run_checked(const std::vector<std::string>& argv) {
  CommandResult r = run_command(argv);
  if (r.exit_code != 0) {
    std::string out = r.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    throw std::runtime_error(fmt::format("`{}` failed ({}): {}", join_argv(argv),
                                         r.term_signal ? fmt::format("signal {}", r.term_signal)
                                                       : fmt::format("exit {}", r.exit_code),
                                         out));
  }
  return r.output;
}

Child Child::spawn(const std::vector<std::string>& argv, const std::string& netns,
                   const std::string& log_path, std::optional<unsigned> cpu) {
  Fd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) throw std::system_error(errno, std::generic_category(), "open " + log_path);
  Fd ns;
  if (!netns.empty()) {
    std::string path = "/run/netns/" + netns;
    ns = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw std::system_error(errno, std::generic_category(), "open " + path);
  }
  auto args = c_argv(argv);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork for " + argv.at(0));
  if (pid == 0) {
    // Stop with the harness, whatever kills it: no orphaned sender keeps
    // sending and no sink outlives its namespace.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    // Our own process group: a Ctrl-C at the terminal reaches the harness
    // only, and the harness stops its children in order.
    ::setpgid(0, 0);
    if (ns && ::setns(ns.get(), CLONE_NEWNET) != 0) child_fail(STDERR_FILENO, "setns");
    if (cpu) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(*cpu, &set);
      if (::sched_setaffinity(0, sizeof set, &set) != 0) child_fail(STDERR_FILENO, "sched_setaffinity");
    }
    ::execv(args[0], args.data());
    child_fail(STDERR_FILENO, args[0]);
  }
  Child c;
  c.pid_ = pid;
  c.name_ = std::filesystem::path(argv[0]).filename();
  return c;
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), status_(std::move(o.status_)), cpu_s_(o.cpu_s_),
      name_(std::move(o.name_)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (running()) stop(std::chrono::milliseconds(2000));
    pid_ = std::exchange(o.pid_, -1);
    status_ = std::move(o.status_);
    cpu_s_ = o.cpu_s_;
    name_ = std::move(o.name_);
  }
  return *this;
}

Child::~Child() {
  if (running()) stop(std::chrono::milliseconds(2000));
}

std::optional<int> Child::poll() {
  if (pid_ <= 0) return std::nullopt;
  if (status_) return status_;
  int st = 0;
  rusage ru{};
  pid_t r = ::wait4(pid_, &st, WNOHANG, &ru);
  if (r == pid_) reaped(st, ru);
  return status_;
}

void Child::reaped(int status, const rusage& ru) {
  status_ = status;
  cpu_s_ = cpu_seconds(ru);
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void Child::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int Child::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_.value_or(0);
  ::kill(pid_, SIGTERM);
  if (auto st = wait_for(grace)) return *st;
  ::kill(pid_, SIGKILL);
  int st = 0;
  rusage ru{};
  while (::wait4(pid_, &st, 0, &ru) < 0 && errno == EINTR) {
  }
  reaped(st, ru);
  return st;
}

std::string Child::describe_exit() const {
  if (!status_) return name_ + " is still running";
  return name_ + " " + describe_status(*status_);
}

std::string find_sibling_binary(const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto candidate = self.parent_path() / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  if (const char* path = ::getenv("PATH")) {
    std::string p(path);
    std::size_t start = 0;
    while (start <= p.size()) {
      auto end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      auto candidate = std::filesystem::path(p.substr(start, end - start)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  throw std::runtime_error(fmt::format(
      "cannot find {}: it is neither next to this binary nor in PATH (build it with cmake)", name));
}

} // namespace droplab::harness

#include "scratch.hpp"

#include "command.hpp"
#include "droplab/fd.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace droplab::doctor {
namespace {

using Clock = std::chrono::steady_clock;

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// In the child: never returns.
[[noreturn]] void child_main(int out, const std::function<nlohmann::json()>& fn) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  nlohmann::json result;
  try {
    if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
      throw std::system_error(errno, std::generic_category(),
                              "unshare(CLONE_NEWNET | CLONE_NEWNS)");
    // Our mounts must not propagate back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw std::system_error(errno, std::generic_category(), "mount --make-rprivate /");
    // A sysfs of this namespace, as `ip netns exec` mounts one.
    ::umount2("/sys", MNT_DETACH);
    if (::mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0)
      throw std::system_error(errno, std::generic_category(), "mount sysfs on /sys");
    harness::run_checked({"ip", "link", "set", "lo", "up"});
    result = fn();
  } catch (const std::exception& e) {
    result = {{"error", e.what()}};
  }
  write_all(out, result.dump());
  ::_exit(0);
}

} // namespace

nlohmann::json run_in_scratch_netns(const std::function<nlohmann::json()>& fn,
                                    std::chrono::milliseconds timeout) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  Fd rd(p[0]), wr(p[1]);
  const pid_t pid = ::fork();
  if (pid < 0)
    throw std::system_error(errno, std::generic_category(), "fork for a scratch namespace");
  if (pid == 0) {
    rd.reset();
    child_main(wr.get(), fn);
  }
  wr.reset();

  std::string text;
  std::string error;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      error = fmt::format("the probe did not finish within {} ms", timeout.count());
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd pfd{rd.get(), POLLIN, 0};
    const int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; // EOF: the child is done
    text.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!error.empty()) return {{"error", error}};
  if (WIFSIGNALED(status))
    return {{"error", fmt::format("the probe died of signal {}", WTERMSIG(status))}};
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return {{"error", fmt::format("the probe's answer is not JSON: {}", e.what())}};
  }
}

} // namespace droplab::doctor

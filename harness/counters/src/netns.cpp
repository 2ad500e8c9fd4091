#include "droplab/counters/netns.hpp"

#include "droplab/fd.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace droplab::counters {

namespace {

void check_name(const std::string &name) {
  // The name becomes a path under /run/netns: refuse anything that could escape it.
  if (name == "." || name == ".." || name.find('/') != std::string::npos)
    throw std::invalid_argument("network namespace name \"" + name + "\" is not a plain name");
}

void join_netns(const std::string &name) {
  std::string path = "/run/netns/" + name;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + path);
  if (::setns(fd.get(), CLONE_NEWNET) != 0)
    throw std::system_error(errno, std::generic_category(), "setns(" + path + ", CLONE_NEWNET)");
}

struct ReadError {
  int err;
  const char *op; // "open" or "read"
};

// Reads all of `path` into `out`; errno is captured at the failing call.
std::optional<ReadError> read_all(const std::string &path, std::string &out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ReadError{errno, "open"};
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ReadError{errno, "read"};
    if (n == 0) return std::nullopt;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

} // namespace

void in_netns(const std::string &name, const std::function<void()> &fn) {
  if (name.empty()) {
    fn();
    return;
  }
  check_name(name);
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      join_netns(name);
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

std::string proc_net_origin(const std::string &ns, const std::string &relpath) {
  std::string where = ns.empty() ? "in the caller's netns" : "in netns " + ns;
  return "/proc/net/" + relpath + " " + where;
}

FileRead try_read_file(const std::string &path) {
  std::string text;
  if (auto e = read_all(path, text))
    return FileRead{.text = std::nullopt,
                    .error = std::string(e->op) + " " + path + ": " +
                             std::generic_category().message(e->err),
                    .err = e->err};
  return FileRead{.text = std::move(text), .error = {}, .err = 0};
}

FileRead try_read_proc_net(const std::string &ns, const std::string &relpath) {
  FileRead r;
  in_netns(ns, [&] { r = try_read_file("/proc/thread-self/net/" + relpath); });
  return r;
}

std::string read_file_in_netns(const std::string &ns, const std::string &relpath) {
  std::string text;
  in_netns(ns, [&] {
    if (auto e = read_all("/proc/thread-self/net/" + relpath, text))
      throw std::system_error(e->err, std::generic_category(),
                              std::string(e->op) + " " + proc_net_origin(ns, relpath));
  });
  return text;
}

} // namespace droplab::counters

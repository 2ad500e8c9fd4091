// Reading files inside a named network namespace without moving the process.
//
// setns(CLONE_NEWNET) changes only the calling thread, so the work runs on a fresh
// thread that joins /run/netns/NAME (the `ip netns` convention) and then exits; the
// caller's threads never change namespace. Inside, per-namespace files must be read
// through /proc/thread-self/net: /proc/self/net follows the *main* thread's namespace.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace droplab::counters {

// Runs `fn` on a new thread that has joined the network namespace /run/netns/`name`
// and waits for it. An empty `name` runs `fn` on the calling thread, in the caller's
// own namespace. Exceptions from `fn` are rethrown here. Throws std::system_error
// (open or setns failed, with errno) or std::invalid_argument (a name with '/').
void in_netns(const std::string &name, const std::function<void()> &fn);

// Contents of /proc/thread-self/net/`relpath` as seen in namespace `ns` ("" = the
// caller's). Throws std::system_error naming the file and namespace on any failure.
std::string read_file_in_netns(const std::string &ns, const std::string &relpath);

// How a per-namespace file is named in messages and Counter::source:
// "/proc/net/snmp in netns dl-rx", or "/proc/net/snmp in the caller's netns".
std::string proc_net_origin(const std::string &ns, const std::string &relpath);

// A read that may fail without throwing: a missing or unreadable file makes its
// counters unavailable (reason: the errno text), it does not abort a snapshot.
struct FileRead {
  std::optional<std::string> text;
  std::string error; // "open /proc/thread-self/net/udp6: No such file or directory"
  int err = 0;       // the errno behind `error`
};

// Reads `path` on the calling thread; never throws for open or read errors.
FileRead try_read_file(const std::string &path);

// try_read_file("/proc/thread-self/net/" + relpath) inside `ns`. Failing to enter
// the namespace still throws (the lab is broken, not the counter).
FileRead try_read_proc_net(const std::string &ns, const std::string &relpath);

} // namespace droplab::counters

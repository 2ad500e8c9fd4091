#include "droplab/sink/rx_socket.hpp"

#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>

namespace droplab::sink {
namespace {

void set_int_opt(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    throw std::system_error(errno, std::generic_category(), what);
  }
}

} // namespace

RxSocket open_rx_socket(const Endpoint& listen, const RxSocketOptions& opts) {
  RxSocket s;
  s.fd = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.fd) throw std::system_error(errno, std::generic_category(), "socket(AF_INET, SOCK_DGRAM)");
  const int fd = s.fd.get();

  // Before bind, so the buffer is the constrained size from the first datagram.
  if (opts.rcvbuf && opts.rcvbuf_force) {
    // Needs CAP_NET_ADMIN (EPERM otherwise).
    set_int_opt(fd, SOL_SOCKET, SO_RCVBUFFORCE, static_cast<int>(*opts.rcvbuf),
                "setsockopt(SO_RCVBUFFORCE)");
  } else if (opts.rcvbuf) {
    set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(*opts.rcvbuf), "setsockopt(SO_RCVBUF)");
  }
  if (opts.reuseport) set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)");
  // Each datagram then carries the socket's drop count (sk_drops) as a cmsg.
  set_int_opt(fd, SOL_SOCKET, SO_RXQ_OVFL, 1, "setsockopt(SO_RXQ_OVFL)");
  // ... and the kernel's receive time (CLOCK_REALTIME), for the queue time.
  set_int_opt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1, "setsockopt(SO_TIMESTAMPNS)");

  if (opts.gro) set_int_opt(fd, SOL_UDP, UDP_GRO, 1, "setsockopt(UDP_GRO) (needs Linux >= 5.0)");

  sockaddr_in sa = listen.sockaddr();
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    throw std::system_error(errno, std::generic_category(), "bind " + listen.to_string());
  }

  int granted = 0;
  socklen_t len = sizeof granted;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) != 0) {
    throw std::system_error(errno, std::generic_category(), "getsockopt(SO_RCVBUF)");
  }
  s.rcvbuf_granted = static_cast<std::uint64_t>(granted);

  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw std::system_error(errno, std::generic_category(), "fstat(socket)");
  s.inode = static_cast<std::uint64_t>(st.st_ino);
  return s;
}

std::optional<std::uint64_t> socket_drops_now(int fd) {
  std::uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0) return std::nullopt;
  // An older kernel may return fewer fields than these headers know.
  if (len < (SK_MEMINFO_DROPS + 1) * sizeof(std::uint32_t)) return std::nullopt;
  return mem[SK_MEMINFO_DROPS];
}

std::optional<std::uint64_t> read_rmem_max() {
  std::ifstream in("/proc/sys/net/core/rmem_max");
  std::uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

} // namespace droplab::sink

// The sink's UDP socket: bound, sized and set up to report its own drops,
// plus the per-socket counters the kernel will tell its owner.
#pragma once

#include "droplab/addr.hpp"
#include "droplab/fd.hpp"

#include <cstdint>
#include <optional>

namespace droplab::sink {

struct RxSocket {
  Fd fd;                            // non-blocking
  std::uint64_t rcvbuf_granted = 0; // getsockopt(SO_RCVBUF) after setting it
  std::uint64_t inode = 0;          // fstat st_ino: the inode column of /proc/net/udp
};

struct RxSocketOptions {
  std::optional<std::uint64_t> rcvbuf; // nullopt = rmem_default
  bool rcvbuf_force = false;           // SO_RCVBUFFORCE: not capped by rmem_max
  bool reuseport = false;              // SO_REUSEPORT: one of several readers' sockets
  bool gro = false;                    // UDP_GRO (Linux >= 5.0)
};

// Opens a non-blocking UDP socket, sets SO_RCVBUF or SO_RCVBUFFORCE (if a
// size is given), SO_REUSEPORT (if asked), SO_RXQ_OVFL and SO_TIMESTAMPNS,
// and binds `listen`. Throws std::system_error naming the call.
RxSocket open_rx_socket(const Endpoint& listen, const RxSocketOptions& opts);

// The socket's drop count now: getsockopt(SO_MEMINFO)[SK_MEMINFO_DROPS]
// (Linux >= 4.6). nullopt when the kernel does not support it.
std::optional<std::uint64_t> socket_drops_now(int fd);

// net.core.rmem_max as this process sees it; nullopt if unreadable.
std::optional<std::uint64_t> read_rmem_max();

} // namespace droplab::sink

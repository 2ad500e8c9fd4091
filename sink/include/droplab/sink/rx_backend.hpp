// The seam between the sink's loop and the system call that reads datagrams:
// recvmmsg (batched), recv (one recvmsg per datagram, the naive reader), asio
// (Boost.Asio async_receive_from, as a typical C++ service reads) and io_uring
// (multishot recvmsg into a provided buffer ring), chosen by --backend.
#pragma once

#include "droplab/sink/config.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace droplab::sink {

struct RxDatagram {
  std::span<const std::byte> head; // the bytes copied (at most the backend's slot size)
  std::size_t length = 0;          // the datagram's full UDP payload length
  std::uint64_t kernel_rx_ns = 0;  // SO_TIMESTAMPNS (CLOCK_REALTIME); 0 = unavailable
};

// --gro: reads that carried several coalesced datagrams, and how many.
struct GroCounts {
  std::uint64_t buffers = 0;
  std::uint64_t datagrams = 0;
};

class RxBackend {
public:
  virtual ~RxBackend() = default;
  virtual std::string_view name() const = 0;

  // Reads up to `max` queued datagrams without blocking. The result is valid
  // until the next call; empty means nothing was queued (or a signal
  // interrupted the call). Throws std::system_error on any other error.
  virtual std::span<const RxDatagram> read_batch(std::size_t max) = 0;

  // Blocks until read_batch may return something or `timeout_ns` passes
  // (a signal returns early). The default polls the socket.
  virtual void wait(std::uint64_t timeout_ns);

  // The socket's drop count from the latest SO_RXQ_OVFL cmsg; nullopt if the
  // kernel never attached one (it does so only once the count is non-zero)
  // or the backend cannot see control messages (asio).
  virtual std::optional<std::uint64_t> last_rxq_ovfl() const = 0;

  // Whether kernel_rx_ns can be filled (asio's receive_from drops cmsgs).
  virtual bool has_kernel_timestamps() const { return true; }

  // What --gro coalesced so far (zero without --gro).
  virtual GroCounts gro() const { return {}; }

protected:
  explicit RxBackend(int fd) : fd_(fd) {}
  int fd_;
};

struct BackendSelection {
  std::unique_ptr<RxBackend> backend;
  std::string reason; // why this one, for the report
};

// Builds the backend for `choice` reading from `fd` (borrowed; must outlive
// the backend) with room for `batch` datagrams per call. Auto is recvmmsg (see
// the reason it records). A backend the kernel refuses (io_uring) throws.
// `gro`: the socket has UDP_GRO on; reads are split per datagram (recvmmsg
// and recv only: the config refuses --gro with the others).
BackendSelection make_backend(BackendChoice choice, int fd, unsigned batch, bool gro = false);

// Really tries `choice` on a throwaway UDP socket bound to 127.0.0.1 (io_uring:
// a ring, a buffer ring, an armed multishot recvmsg). Empty if it works,
// otherwise why not.
std::string probe_backend(BackendChoice choice);

} // namespace droplab::sink

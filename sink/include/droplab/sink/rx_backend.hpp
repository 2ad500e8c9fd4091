// The seam between the sink's loop and the system call that reads datagrams.
// recvmmsg is the one implementation today; io_uring (multishot recv), asio
// and plain recv backends plug in here later, chosen by --backend.
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
};

class RxBackend {
public:
  virtual ~RxBackend() = default;
  virtual std::string_view name() const = 0;

  // Reads up to `max` queued datagrams without blocking. The result is valid
  // until the next call; empty means nothing was queued (or a signal
  // interrupted the call). Throws std::system_error on any other error.
  virtual std::span<const RxDatagram> read_batch(std::size_t max) = 0;

  // The socket's drop count from the latest SO_RXQ_OVFL cmsg; nullopt if the
  // kernel never attached one (it does so only once the count is non-zero).
  virtual std::optional<std::uint64_t> last_rxq_ovfl() const = 0;
};

struct BackendSelection {
  std::unique_ptr<RxBackend> backend;
  std::string reason; // why this one, for the report
};

// Builds the backend for `choice` reading from `fd` (borrowed; must outlive
// the backend) with room for `batch` datagrams per call.
BackendSelection make_backend(BackendChoice choice, int fd, unsigned batch);

} // namespace droplab::sink

// io_uring backend: one multishot IORING_OP_RECVMSG (Linux >= 6.0) posts a
// completion per datagram into buffers picked from a provided buffer ring, so
// the kernel keeps reading without a system call per batch.
//
// Unlike the other backends, the kernel moves datagrams out of the socket
// into the ring as they arrive, whether or not the sink reads completions: up
// to ring_buffers() datagrams wait in the ring, then multishot stops with
// ENOBUFS and the socket queue fills. A constrained reader (--read-rate,
// --stall, --hang-after) therefore sees drops ring_buffers() datagrams later.
#pragma once

#include "droplab/sink/rx_backend.hpp"
#include "uring.hpp"

#include <sys/socket.h>

#include <vector>

namespace droplab::sink {

class IoUringRx final : public RxBackend {
public:
  // Sets up the rings and arms the multishot recvmsg; throws
  // std::system_error if the kernel refuses any of it.
  IoUringRx(int fd, unsigned batch);
  ~IoUringRx() override;
  std::string_view name() const override { return "io_uring"; }
  std::span<const RxDatagram> read_batch(std::size_t max) override;
  void wait(std::uint64_t timeout_ns) override;
  std::optional<std::uint64_t> last_rxq_ovfl() const override { return rxq_ovfl_; }

  unsigned ring_buffers() const { return bufs_.count(); }
  // Times multishot ended because every ring buffer was held (re-armed each time).
  std::uint64_t enobufs() const { return enobufs_; }

private:
  static constexpr std::size_t kBufBytes = 2048;
  static constexpr std::uint16_t kGroup = 0;

  void arm();

  IoUring ring_; // declared before bufs_: unregistered after it
  BufRing bufs_;
  msghdr msg_{}; // the template multishot recvmsg copies: name and control lengths
  bool armed_ = false;
  std::vector<RxDatagram> out_;
  std::vector<std::uint16_t> held_; // buffers behind out_, recycled at the next call
  std::optional<std::uint64_t> rxq_ovfl_;
  std::uint64_t enobufs_ = 0;
};

} // namespace droplab::sink

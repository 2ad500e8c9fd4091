// recvmmsg(2) backend: one system call reads up to a batch of datagrams.
#pragma once

#include "droplab/sink/rx_backend.hpp"
#include "rx_cmsg.hpp"
#include "droplab/sink/rx_gro.hpp"

#include <sys/socket.h>

#include <vector>

namespace droplab::sink {

class RecvmmsgRx final : public RxBackend {
public:
  // gro: slots hold a whole coalesced read, which is split per datagram.
  RecvmmsgRx(int fd, unsigned batch, bool gro = false);
  std::string_view name() const override { return "recvmmsg"; }
  std::span<const RxDatagram> read_batch(std::size_t max) override;
  std::optional<std::uint64_t> last_rxq_ovfl() const override { return rxq_ovfl_; }
  GroCounts gro() const override { return gro_counts_; }

private:
  // Each slot copies only this much: the sink needs the header, and
  // MSG_TRUNC still reports every datagram's full length.
  static constexpr std::size_t kSlotBytes = 2048;
  static constexpr std::size_t kControlBytes = kRxControlBytes + kGroControlBytes;

  std::vector<std::byte> data_;
  std::vector<std::byte> control_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
  std::vector<RxDatagram> out_;
  std::optional<std::uint64_t> rxq_ovfl_;
  std::size_t slot_bytes_;
  GroCounts gro_counts_;
};

} // namespace droplab::sink

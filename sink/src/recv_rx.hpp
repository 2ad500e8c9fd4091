// recv backend: one recvmsg(2) per datagram, the way a naive application
// reads (recvmsg rather than recv only to get the SO_RXQ_OVFL and
// SO_TIMESTAMPNS cmsgs; the cost is the same one system call per datagram).
#pragma once

#include "droplab/sink/rx_backend.hpp"
#include "rx_cmsg.hpp"
#include "droplab/sink/rx_gro.hpp"

#include <vector>

namespace droplab::sink {

class RecvRx final : public RxBackend {
public:
  // gro: slots hold a whole coalesced read, which is split per datagram.
  RecvRx(int fd, unsigned batch, bool gro = false);
  std::string_view name() const override { return "recv"; }
  std::span<const RxDatagram> read_batch(std::size_t max) override;
  std::optional<std::uint64_t> last_rxq_ovfl() const override { return rxq_ovfl_; }
  GroCounts gro() const override { return gro_counts_; }

private:
  static constexpr std::size_t kSlotBytes = 2048;
  std::vector<std::byte> data_; // one slot per datagram of the batch
  std::vector<RxDatagram> out_;
  alignas(cmsghdr) std::byte control_[kRxControlBytes + kGroControlBytes];
  std::optional<std::uint64_t> rxq_ovfl_;
  std::size_t slot_bytes_;
  GroCounts gro_counts_;
};

} // namespace droplab::sink

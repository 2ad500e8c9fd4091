// TxBackend over io_uring: one ring per thread, one connected UDP socket per
// flow, a batch as a chain of linked SEND (or SEND_ZC) SQEs submitted with
// one io_uring_enter. Linking keeps the contract that the sent messages are
// a prefix: after a failed send the rest of the chain completes -ECANCELED.
#pragma once

#include "gen/flow_sockets.hpp"
#include "gen/io_uring.hpp"
#include "gen/tx_backend.hpp"

#include <cstddef>
#include <vector>

namespace droplab::gen {

class IoUringTx final : public TxBackend {
public:
  explicit IoUringTx(const TxSetup& setup);

  std::string_view name() const override { return "io_uring"; }
  void send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
            std::span<int> outcome) override;
  std::uint16_t src_port(std::uint32_t flow) const override { return socks_.port(flow); }
  BackendStats stats() const override;

private:
  FlowSockets socks_;
  std::uint16_t flow_id_base_;
  IoUring ring_;
  bool zerocopy_;
  std::size_t slot_bytes_;
  std::vector<std::byte> buffers_;
  std::uint64_t submits_ = 0;
  std::uint64_t zc_notifs_ = 0;
  std::uint64_t zc_copied_ = 0; // the kernel fell back to copying (Linux >= 6.2 reports it)
  std::uint64_t extra_waits_ = 0;
};

} // namespace droplab::gen

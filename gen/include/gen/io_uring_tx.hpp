// TxBackend over io_uring: one ring per thread, one connected UDP socket per
// flow, a batch as a chain of linked SEND (or SEND_ZC) SQEs submitted with
// one io_uring_enter. Linking keeps the contract that the sent messages are
// a prefix: after a failed send the rest of the chain completes -ECANCELED.
// With --gso N a multi-datagram buffer is a SENDMSG SQE carrying UDP_SEGMENT.
#pragma once

#include "gen/flow_sockets.hpp"
#include "gen/gso.hpp"
#include "gen/io_uring.hpp"
#include "gen/tx_backend.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

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
  std::string note() const override { return gso_.fallback(); }

private:
  // Queues one linked SQE per GSO buffer from datagram i on (at most batch);
  // returns how many. ends_[k]: the datagram index after SQE k's buffer.
  std::size_t queue(std::span<const TxMessage> msgs, std::size_t i);
  // Submits the k queued SQEs and waits for them (and SEND_ZC notifications);
  // res_[k] = 0, an errno, or ECANCELED for the chain after a failure.
  void complete(std::size_t k);

  FlowSockets socks_;
  std::uint16_t flow_id_base_;
  IoUring ring_;
  bool zerocopy_;
  std::size_t slot_bytes_;
  std::uint32_t batch_;
  GsoCounters gso_;
  std::vector<std::byte> buffers_;
  std::vector<std::size_t> lens_; // payload bytes per datagram
  std::vector<iovec> dgram_iov_;  // per datagram, for runs of short (--imix) datagrams
  std::vector<std::size_t> ends_;
  std::vector<int> res_;
  std::vector<msghdr> msg_; // SENDMSG state per SQE, alive until completion
  std::vector<iovec> iov_;  // one per SQE (a run of contiguous slots)
  std::vector<std::byte> cmsgs_;
  std::uint64_t submits_ = 0;
  std::uint64_t zc_notifs_ = 0;
  std::uint64_t zc_copied_ = 0; // the kernel fell back to copying (Linux >= 6.2 reports it)
  std::uint64_t extra_waits_ = 0;
};

} // namespace droplab::gen

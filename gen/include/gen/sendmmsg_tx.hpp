// TxBackend over sendmmsg(2) on one connected UDP socket per flow: the kernel
// builds the headers and picks a distinct ephemeral source port per flow.
// With --gso N each message is one UDP GSO buffer of up to N datagrams.
#pragma once

#include "gen/flow_sockets.hpp"
#include "gen/gso.hpp"
#include "gen/tx_backend.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <vector>

namespace droplab::gen {

class SendmmsgTx final : public TxBackend {
public:
  // Probes the syscall itself (sendmmsg arrived in Linux 3.0; a seccomp
  // filter can still forbid it): true unless it returns ENOSYS/EPERM.
  static bool available();

  // Opens, binds (with --src-port) and connects one socket per flow and checks
  // the path MTU carries setup.wire_size. Throws UsageError / std::system_error.
  explicit SendmmsgTx(const TxSetup& setup);

  std::string_view name() const override { return "sendmmsg"; }
  void send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
            std::span<int> outcome) override;
  std::uint16_t src_port(std::uint32_t flow) const override { return socks_.port(flow); }
  BackendStats stats() const override;
  std::string note() const override { return gso_.fallback(); }

private:
  // Fills up to batch message headers from msgs[i..] (one flow, GSO runs of
  // gso_.segments()); returns how many. ends_[k]: the index after message k.
  std::size_t build(std::span<const TxMessage> msgs, std::size_t i);

  FlowSockets socks_;
  std::uint16_t flow_id_base_;
  std::size_t slot_bytes_;
  std::uint32_t batch_;
  GsoCounters gso_;
  std::vector<std::byte> buffers_; // one slot of slot_bytes_ per datagram
  std::vector<iovec> iov_;         // one per datagram
  std::vector<mmsghdr> hdrs_;      // one per message (GSO buffer)
  std::vector<iovec> run_iov_;     // one per message: a run of full-size slots
  std::vector<std::size_t> ends_;
  std::vector<std::byte> cmsgs_; // one UDP_SEGMENT control message per message
};

} // namespace droplab::gen

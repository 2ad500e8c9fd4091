// TxBackend over sendmmsg(2) on one connected UDP socket per flow: the kernel
// builds the headers and picks a distinct ephemeral source port per flow.
#pragma once

#include "gen/flow_sockets.hpp"
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

private:
  FlowSockets socks_;
  std::uint16_t flow_id_base_;
  std::size_t slot_bytes_;
  std::vector<std::byte> buffers_; // batch slots of slot_bytes_, zero past the header
  std::vector<iovec> iov_;
  std::vector<mmsghdr> hdrs_;
};

} // namespace droplab::gen

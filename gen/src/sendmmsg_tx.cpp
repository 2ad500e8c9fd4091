#include "gen/sendmmsg_tx.hpp"

#include "droplab/cli.hpp"
#include "droplab/payload.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace droplab::gen {

bool SendmmsgTx::available() {
  // vlen 0 on an invalid fd: EBADF proves the syscall exists without sending.
  errno = 0;
  int r = ::sendmmsg(-1, nullptr, 0, 0);
  int err = errno;
  return !(r < 0 && (err == ENOSYS || err == EPERM));
}

SendmmsgTx::SendmmsgTx(const TxSetup& setup)
    : socks_(setup), flow_id_base_(setup.flow_id_base), slot_bytes_(udp_payload_for_wire(setup.wire_size)),
      buffers_(slot_bytes_ * setup.batch), iov_(setup.batch), hdrs_(setup.batch) {
  for (std::size_t i = 0; i < hdrs_.size(); ++i) {
    iov_[i] = iovec{.iov_base = buffers_.data() + i * slot_bytes_, .iov_len = slot_bytes_};
    hdrs_[i] = mmsghdr{};
    hdrs_[i].msg_hdr.msg_iov = &iov_[i];
    hdrs_[i].msg_hdr.msg_iovlen = 1;
  }
}

void SendmmsgTx::send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
                      std::span<int> outcome) {
  const std::size_t n = std::min({msgs.size(), outcome.size(), hdrs_.size()});
  std::fill(outcome.begin(), outcome.end(), kTxNotTried);
  for (std::size_t i = 0; i < n; ++i) {
    std::span<std::byte> slot(buffers_.data() + i * slot_bytes_, slot_bytes_);
    encode_payload(PayloadHeader{.flow = static_cast<std::uint16_t>(flow_id_base_ + msgs[i].flow), .seq = msgs[i].seq, .send_ns = send_ns},
                   slot);
    iov_[i].iov_len = std::min<std::size_t>(msgs[i].payload_bytes, slot_bytes_);
  }
  // sendmmsg works on one socket: send each run of same-flow messages.
  std::size_t i = 0;
  while (i < n) {
    std::size_t end = i + 1;
    while (end < n && msgs[end].flow == msgs[i].flow)
      ++end;
    const int fd = socks_.fd(msgs[i].flow);
    while (i < end) {
      // MSG_DONTWAIT: a full socket buffer is a counted EAGAIN, never a stall
      // past the pacing schedule or the run's deadline.
      int r = ::sendmmsg(fd, &hdrs_[i], static_cast<unsigned>(end - i), MSG_DONTWAIT);
      if (r <= 0) {
        // r < n stops at the failing message without its errno; retrying from
        // there (this call) reports it. 0 cannot happen for vlen > 0.
        outcome[i] = r < 0 ? errno : EAGAIN;
        return; // the rest stays kTxNotTried, keeping the sent prefix contiguous
      }
      std::fill_n(outcome.begin() + static_cast<std::ptrdiff_t>(i), r, kTxSent);
      i += static_cast<std::size_t>(r);
    }
  }
}

} // namespace droplab::gen

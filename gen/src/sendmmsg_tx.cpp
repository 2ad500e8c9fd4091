#include "gen/sendmmsg_tx.hpp"

#include "droplab/cli.hpp"
#include "droplab/payload.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace droplab::gen {
namespace {

constexpr std::size_t kCmsgSpace = kUdpSegmentCmsgSpace;

} // namespace

bool SendmmsgTx::available() {
  // vlen 0 on an invalid fd: EBADF proves the syscall exists without sending.
  errno = 0;
  int r = ::sendmmsg(-1, nullptr, 0, 0);
  int err = errno;
  return !(r < 0 && (err == ENOSYS || err == EPERM));
}

SendmmsgTx::SendmmsgTx(const TxSetup& setup)
    : socks_(setup), flow_id_base_(setup.flow_id_base),
      slot_bytes_(udp_payload_for_wire(setup.wire_size)), batch_(setup.batch), gso_(setup.gso),
      buffers_(slot_bytes_ * setup.batch * setup.gso), iov_(setup.batch * setup.gso),
      hdrs_(setup.batch), run_iov_(setup.batch), ends_(setup.batch),
      cmsgs_(kCmsgSpace * setup.batch) {}

std::size_t SendmmsgTx::build(std::span<const TxMessage> msgs, std::size_t i) {
  const std::uint32_t segs = gso_.segments();
  const std::uint16_t flow = msgs[i].flow;
  std::size_t k = 0;
  // sendmmsg works on one socket: stop at a flow change.
  while (i < msgs.size() && k < batch_ && msgs[i].flow == flow) {
    const std::size_t end = gso_run_end(msgs, i, segs);
    msghdr& m = hdrs_[k].msg_hdr;
    m = msghdr{};
    const std::size_t len = iov_[i].iov_len;
    if (end - i > 1 && len == slot_bytes_) {
      // Full-size slots are contiguous: one iovec for the whole buffer.
      run_iov_[k] = iovec{.iov_base = iov_[i].iov_base,
                          .iov_len = (end - i - 1) * len + iov_[end - 1].iov_len};
      m.msg_iov = &run_iov_[k];
      m.msg_iovlen = 1;
    } else {
      m.msg_iov = &iov_[i];
      m.msg_iovlen = end - i;
    }
    if (end - i > 1) {
      // Every segment but the last is exactly `len` long (gso_run_end's rule).
      attach_udp_segment(m, cmsgs_.data() + k * kCmsgSpace, static_cast<std::uint16_t>(len));
    }
    ends_[k++] = end;
    i = end;
  }
  return k;
}

void SendmmsgTx::send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
                      std::span<int> outcome) {
  const std::size_t n = std::min({msgs.size(), outcome.size(), iov_.size()});
  std::fill(outcome.begin(), outcome.end(), kTxNotTried);
  msgs = msgs.first(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::byte* slot = buffers_.data() + i * slot_bytes_;
    iov_[i] = iovec{.iov_base = slot,
                    .iov_len = fill_slot(std::span<std::byte>(slot, slot_bytes_), msgs[i], flow_id_base_, send_ns)};
  }
  std::size_t i = 0;
  while (i < n) {
    const std::size_t k = build(msgs, i);
    // MSG_DONTWAIT: a full socket buffer is a counted EAGAIN, never a stall
    // past the pacing schedule or the run's deadline.
    const int r =
        ::sendmmsg(socks_.fd(msgs[i].flow), hdrs_.data(), static_cast<unsigned>(k), MSG_DONTWAIT);
    if (r > 0) {
      const std::size_t done = ends_[static_cast<std::size_t>(r) - 1];
      if (gso_.segments() > 1) gso_.sent(static_cast<std::uint64_t>(r), done - i);
      std::fill(outcome.begin() + static_cast<std::ptrdiff_t>(i),
                outcome.begin() + static_cast<std::ptrdiff_t>(done), kTxSent);
      i = done;
      continue;
    }
    // r < k stops at the failing message without its errno; retrying from
    // there (this loop) reports it. 0 cannot happen for vlen > 0.
    const int err = r < 0 ? errno : EAGAIN;
    const bool multi = ends_[0] - i > 1;
    if (multi) gso_.failed(err);
    if (multi && err == EIO) {
      gso_.fall_back(err, fmt::format("sendmmsg on flow {}", msgs[i].flow));
      continue; // resend the same datagrams one per message
    }
    outcome[i] = err;
    return; // the rest stays kTxNotTried, keeping the sent prefix contiguous
  }
}

BackendStats SendmmsgTx::stats() const {
  BackendStats s;
  gso_.add_to(s);
  return s;
}

} // namespace droplab::gen

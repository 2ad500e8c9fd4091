#include "gen/io_uring_tx.hpp"

#include "droplab/payload.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>

namespace droplab::gen {
namespace {

// From Linux 6.2's uapi io_uring.h; liburing 2.3's header predates them.
constexpr unsigned kSendZcReportUsage = 1U << 3;        // IORING_SEND_ZC_REPORT_USAGE
constexpr std::uint32_t kNotifUsageZcCopied = 1U << 31; // IORING_NOTIF_USAGE_ZC_COPIED

} // namespace

IoUringTx::IoUringTx(const TxSetup& setup)
    : socks_(setup), flow_id_base_(setup.flow_id_base),
      // Room for a whole batch; SEND_ZC posts two CQEs per send.
      ring_(std::bit_ceil(std::max(setup.batch, 8u)), 0), zerocopy_(setup.zerocopy),
      slot_bytes_(udp_payload_for_wire(setup.wire_size)), buffers_(slot_bytes_ * setup.batch) {}

void IoUringTx::send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
                     std::span<int> outcome) {
  std::fill(outcome.begin(), outcome.end(), kTxNotTried);
  const std::size_t n = std::min({msgs.size(), outcome.size(), buffers_.size() / slot_bytes_});
  if (n == 0) return;
  io_uring* r = ring_.get();
  for (std::size_t i = 0; i < n; ++i) {
    std::byte* slot = buffers_.data() + i * slot_bytes_;
    encode_payload(PayloadHeader{.flow = static_cast<std::uint16_t>(flow_id_base_ + msgs[i].flow), .seq = msgs[i].seq, .send_ns = send_ns},
                   std::span<std::byte>(slot, slot_bytes_));
    const std::size_t len = std::min<std::size_t>(msgs[i].payload_bytes, slot_bytes_);
    io_uring_sqe* sqe = ::io_uring_get_sqe(r); // never null: the ring holds a batch
    // MSG_DONTWAIT: a full socket buffer completes -EAGAIN instead of being
    // parked on poll (io_uring marks such requests REQ_F_NOWAIT).
    if (zerocopy_) {
      ::io_uring_prep_send_zc(sqe, socks_.fd(msgs[i].flow), slot, len, MSG_DONTWAIT,
                              kSendZcReportUsage);
    } else {
      ::io_uring_prep_send(sqe, socks_.fd(msgs[i].flow), slot, len, MSG_DONTWAIT);
    }
    ::io_uring_sqe_set_data64(sqe, i);
    if (i + 1 < n) sqe->flags |= IOSQE_IO_LINK;
  }
  // Zero-copy buffers may be reused only after their notification, so wait
  // for those too (their count is known once the results are in).
  std::size_t results = 0, notifs_due = 0;
  int ret = ::io_uring_submit_and_wait(r, static_cast<unsigned>(n));
  ++submits_;
  while (results < n || notifs_due > 0) {
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      // The ring itself failed: nothing completed is knowable; report the
      // messages without a result as this errno.
      for (std::size_t i = 0; i < n; ++i)
        if (outcome[i] == kTxNotTried) outcome[i] = -ret;
      break;
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(r, head, cqe) {
      ++seen;
      const std::size_t i = static_cast<std::size_t>(::io_uring_cqe_get_data64(cqe));
      if (cqe->flags & IORING_CQE_F_NOTIF) {
        ++zc_notifs_;
        if (static_cast<std::uint32_t>(cqe->res) & kNotifUsageZcCopied) ++zc_copied_;
        --notifs_due;
        continue;
      }
      ++results;
      if (cqe->flags & IORING_CQE_F_MORE) ++notifs_due;
      if (i >= n) continue;
      if (cqe->res >= 0) {
        outcome[i] = kTxSent;
      } else if (cqe->res != -ECANCELED) {
        outcome[i] = -cqe->res; // errno of this send; the chain after it is cancelled
      }
    }
    ::io_uring_cq_advance(r, seen);
    if (results < n || notifs_due > 0) {
      ret = ::io_uring_wait_cqe(r, &cqe);
      ++extra_waits_;
    }
  }
}

BackendStats IoUringTx::stats() const {
  BackendStats s{{"submits", submits_}, {"extra_waits", extra_waits_}};
  if (zerocopy_) {
    s["zc_notifications"] = zc_notifs_;
    s["zc_copied"] = zc_copied_;
  }
  return s;
}

} // namespace droplab::gen

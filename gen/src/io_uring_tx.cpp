#include "gen/io_uring_tx.hpp"

#include "droplab/payload.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

namespace droplab::gen {
namespace {

// From Linux 6.2's uapi io_uring.h; liburing 2.3's header predates them.
constexpr unsigned kSendZcReportUsage = 1U << 3;        // IORING_SEND_ZC_REPORT_USAGE
constexpr std::uint32_t kNotifUsageZcCopied = 1U << 31; // IORING_NOTIF_USAGE_ZC_COPIED
constexpr std::size_t kCmsgSpace = kUdpSegmentCmsgSpace;

} // namespace

IoUringTx::IoUringTx(const TxSetup& setup)
    : socks_(setup), flow_id_base_(setup.flow_id_base),
      // Room for a whole batch; SEND_ZC posts two CQEs per send.
      ring_(std::bit_ceil(std::max(setup.batch, 8u)), 0), zerocopy_(setup.zerocopy),
      slot_bytes_(udp_payload_for_wire(setup.wire_size)), batch_(setup.batch), gso_(setup.gso),
      buffers_(slot_bytes_ * setup.batch * setup.gso), lens_(setup.batch * setup.gso),
      dgram_iov_(lens_.size()), ends_(setup.batch), res_(setup.batch), msg_(setup.batch),
      iov_(setup.batch), cmsgs_(kCmsgSpace * setup.batch) {}

std::size_t IoUringTx::queue(std::span<const TxMessage> msgs, std::size_t i) {
  io_uring* r = ring_.get();
  const std::uint32_t segs = gso_.segments();
  std::size_t k = 0;
  io_uring_sqe* last = nullptr;
  while (i < msgs.size() && k < batch_) {
    const std::size_t end = gso_run_end(msgs, i, segs);
    std::byte* slot = buffers_.data() + i * slot_bytes_;
    const int fd = socks_.fd(msgs[i].flow);
    io_uring_sqe* sqe = ::io_uring_get_sqe(r); // never null: the ring holds a batch
    // MSG_DONTWAIT: a full socket buffer completes -EAGAIN instead of being
    // parked on poll (io_uring marks such requests REQ_F_NOWAIT).
    if (end - i > 1) {
      // gso_run_end: all but the last segment are lens_[i] long. Slots are
      // slot_bytes_ apart, so full-size datagrams are one contiguous iovec;
      // shorter ones (--imix) need one iovec each.
      const std::size_t len = lens_[i];
      msg_[k] = msghdr{};
      if (len == slot_bytes_) {
        iov_[k] = iovec{.iov_base = slot, .iov_len = (end - i - 1) * slot_bytes_ + lens_[end - 1]};
        msg_[k].msg_iov = &iov_[k];
        msg_[k].msg_iovlen = 1;
      } else {
        for (std::size_t d = i; d < end; ++d)
          dgram_iov_[d] = iovec{.iov_base = buffers_.data() + d * slot_bytes_, .iov_len = lens_[d]};
        msg_[k].msg_iov = &dgram_iov_[i];
        msg_[k].msg_iovlen = end - i;
      }
      attach_udp_segment(msg_[k], cmsgs_.data() + k * kCmsgSpace, static_cast<std::uint16_t>(len));
      ::io_uring_prep_sendmsg(sqe, fd, &msg_[k], MSG_DONTWAIT);
    } else if (zerocopy_) {
      ::io_uring_prep_send_zc(sqe, fd, slot, lens_[i], MSG_DONTWAIT, kSendZcReportUsage);
    } else {
      ::io_uring_prep_send(sqe, fd, slot, lens_[i], MSG_DONTWAIT);
    }
    ::io_uring_sqe_set_data64(sqe, k);
    sqe->flags |= IOSQE_IO_LINK;
    last = sqe;
    ends_[k++] = end;
    i = end;
  }
  // The chain ends with this submit.
  if (last != nullptr) last->flags = static_cast<__u8>(last->flags & ~IOSQE_IO_LINK);
  return k;
}

void IoUringTx::complete(std::size_t k) {
  io_uring* r = ring_.get();
  std::fill_n(res_.begin(), k, ECANCELED);
  // Zero-copy buffers may be reused only after their notification, so wait
  // for those too (their count is known once the results are in).
  std::size_t results = 0, notifs_due = 0;
  int ret = ::io_uring_submit_and_wait(r, static_cast<unsigned>(k));
  ++submits_;
  while (results < k || notifs_due > 0) {
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      // The ring itself failed: nothing completed is knowable; report the
      // SQEs without a result as this errno.
      for (std::size_t j = 0; j < k; ++j)
        if (res_[j] == ECANCELED) res_[j] = -ret;
      return;
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(r, head, cqe) {
      ++seen;
      const std::size_t j = static_cast<std::size_t>(::io_uring_cqe_get_data64(cqe));
      if (cqe->flags & IORING_CQE_F_NOTIF) {
        ++zc_notifs_;
        if (static_cast<std::uint32_t>(cqe->res) & kNotifUsageZcCopied) ++zc_copied_;
        --notifs_due;
        continue;
      }
      ++results;
      if (cqe->flags & IORING_CQE_F_MORE) ++notifs_due;
      if (j < k) res_[j] = cqe->res >= 0 ? 0 : -cqe->res;
    }
    ::io_uring_cq_advance(r, seen);
    if (results < k || notifs_due > 0) {
      ret = ::io_uring_wait_cqe(r, &cqe);
      ++extra_waits_;
    }
  }
}

void IoUringTx::send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
                     std::span<int> outcome) {
  std::fill(outcome.begin(), outcome.end(), kTxNotTried);
  const std::size_t n = std::min({msgs.size(), outcome.size(), lens_.size()});
  msgs = msgs.first(n);
  for (std::size_t i = 0; i < n; ++i) {
    lens_[i] = fill_slot(std::span<std::byte>(buffers_.data() + i * slot_bytes_, slot_bytes_), msgs[i],
                         flow_id_base_, send_ns);
  }
  std::size_t i = 0;
  while (i < n) {
    const std::size_t k = queue(msgs, i);
    complete(k);
    std::size_t j = 0;
    for (; j < k && res_[j] == 0; ++j) {
      const std::size_t begin = j == 0 ? i : ends_[j - 1];
      if (gso_.segments() > 1) gso_.sent(1, ends_[j] - begin);
      std::fill(outcome.begin() + static_cast<std::ptrdiff_t>(begin),
                outcome.begin() + static_cast<std::ptrdiff_t>(ends_[j]), kTxSent);
    }
    if (j == k) {
      i = ends_[k - 1];
      continue;
    }
    // SQE j failed; the chain after it was cancelled (not tried).
    const std::size_t begin = j == 0 ? i : ends_[j - 1];
    const int err = res_[j];
    const bool multi = ends_[j] - begin > 1;
    if (multi) gso_.failed(err);
    if (multi && err == EIO) {
      gso_.fall_back(err, fmt::format("io_uring SENDMSG on flow {}", msgs[begin].flow));
      i = begin; // resend these datagrams one per SQE
      continue;
    }
    if (err != ECANCELED) outcome[begin] = err;
    return;
  }
}

BackendStats IoUringTx::stats() const {
  BackendStats s{{"submits", submits_}, {"extra_waits", extra_waits_}};
  if (zerocopy_) {
    s["zc_notifications"] = zc_notifs_;
    s["zc_copied"] = zc_copied_;
  }
  gso_.add_to(s);
  return s;
}

} // namespace droplab::gen

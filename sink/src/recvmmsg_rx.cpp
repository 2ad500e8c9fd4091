#include "recvmmsg_rx.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

namespace droplab::sink {

RecvmmsgRx::RecvmmsgRx(int fd, unsigned batch, bool gro)
    : RxBackend(fd), control_(std::size_t{batch} * kControlBytes), iov_(batch), msgs_(batch),
      slot_bytes_(gro ? kGroSlotBytes : kSlotBytes) {
  data_.resize(std::size_t{batch} * slot_bytes_);
  out_.reserve(batch);
  for (unsigned i = 0; i < batch; ++i) {
    iov_[i] = {.iov_base = data_.data() + std::size_t{i} * slot_bytes_, .iov_len = slot_bytes_};
  }
}

std::span<const RxDatagram> RecvmmsgRx::read_batch(std::size_t max) {
  const std::size_t n = std::min(max, msgs_.size());
  for (std::size_t i = 0; i < n; ++i) {
    // The kernel rewrites msg_controllen (and msg_flags) on every call.
    msgs_[i].msg_hdr = msghdr{};
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_control = control_.data() + i * kControlBytes;
    msgs_[i].msg_hdr.msg_controllen = kControlBytes;
    msgs_[i].msg_len = 0;
  }
  // MSG_TRUNC: msg_len is the datagram's real length even when the slot is
  // shorter (udp_recvmsg), so byte counts stay exact.
  int got =
      ::recvmmsg(fd_, msgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT | MSG_TRUNC, nullptr);
  if (got < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return {};
    throw std::system_error(err, std::generic_category(), "recvmmsg");
  }
  out_.clear();
  for (int i = 0; i < got; ++i) {
    msghdr& h = msgs_[i].msg_hdr;
    std::uint64_t rx_ns = 0;
    std::size_t seg = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      parse_rx_cmsg(c, rxq_ovfl_, rx_ns);
      seg = std::max(seg, gro_segment_size(c));
    }
    const std::size_t len = msgs_[i].msg_len;
    split_gro(data_.data() + std::size_t(i) * slot_bytes_, std::min(len, slot_bytes_), len, seg,
              rx_ns, out_, gro_counts_);
  }
  return {out_.data(), out_.size()};
}

} // namespace droplab::sink

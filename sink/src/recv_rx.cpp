#include "recv_rx.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace droplab::sink {

RecvRx::RecvRx(int fd, unsigned batch, bool gro)
    : RxBackend(fd), slot_bytes_(gro ? kGroSlotBytes : kSlotBytes) {
  data_.resize(std::size_t{batch} * slot_bytes_);
  out_.reserve(batch);
}

std::span<const RxDatagram> RecvRx::read_batch(std::size_t max) {
  const std::size_t n = std::min(max, data_.size() / slot_bytes_);
  out_.clear();
  for (std::size_t got = 0; got < n; ++got) {
    std::byte* slot = data_.data() + got * slot_bytes_;
    iovec iov{.iov_base = slot, .iov_len = slot_bytes_};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control_;
    h.msg_controllen = sizeof control_;
    // MSG_TRUNC: the return value is the datagram's full length.
    ssize_t len = ::recvmsg(fd_, &h, MSG_DONTWAIT | MSG_TRUNC);
    if (len < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) break;
      throw std::system_error(err, std::generic_category(), "recvmsg");
    }
    std::uint64_t rx_ns = 0;
    std::size_t seg = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      parse_rx_cmsg(c, rxq_ovfl_, rx_ns);
      seg = std::max(seg, gro_segment_size(c));
    }
    const auto full = static_cast<std::size_t>(len);
    split_gro(slot, std::min(full, slot_bytes_), full, seg, rx_ns, out_, gro_counts_);
  }
  return {out_.data(), out_.size()};
}

} // namespace droplab::sink

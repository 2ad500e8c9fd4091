#include "recv_rx.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace droplab::sink {

RecvRx::RecvRx(int fd, unsigned batch)
    : RxBackend(fd), data_(std::size_t{batch} * kSlotBytes), out_(batch) {}

std::span<const RxDatagram> RecvRx::read_batch(std::size_t max) {
  const std::size_t n = std::min(max, out_.size());
  std::size_t got = 0;
  while (got < n) {
    std::byte* slot = data_.data() + got * kSlotBytes;
    iovec iov{.iov_base = slot, .iov_len = kSlotBytes};
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
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c))
      parse_rx_cmsg(c, rxq_ovfl_, rx_ns);
    auto full = static_cast<std::size_t>(len);
    out_[got++] = {
        .head = {slot, std::min(full, kSlotBytes)}, .length = full, .kernel_rx_ns = rx_ns};
  }
  return {out_.data(), got};
}

} // namespace droplab::sink

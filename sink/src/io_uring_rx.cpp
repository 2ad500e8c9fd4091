#include "io_uring_rx.hpp"

#include "rx_cmsg.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <system_error>

namespace droplab::sink {
namespace {

// Ring buffers: at least twice the batch so the kernel can fill one batch
// while the sink accounts the previous one; a power of two (the ring's mask).
unsigned ring_size(unsigned batch) {
  return std::bit_ceil(std::max(2 * batch, 64U));
}

} // namespace

IoUringRx::IoUringRx(int fd, unsigned batch)
    : RxBackend(fd),
      // Every datagram CQE holds a buffer until it is recycled, so a CQ twice
      // the buffer count cannot overflow (an overflow would end multishot).
      ring_(8, 2 * ring_size(batch)), bufs_(ring_, ring_size(batch), kBufBytes, kGroup) {
  msg_.msg_namelen = 0;
  msg_.msg_controllen = kRxControlBytes;
  out_.reserve(batch);
  held_.reserve(batch);
  arm();
  // A kernel without multishot recvmsg or buffer select fails the request
  // at once with a final CQE: surface that here, not at the first read.
  io_uring_cqe* cqe = nullptr;
  if (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe->res < 0 &&
      !(cqe->flags & IORING_CQE_F_MORE)) {
    int err = -cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    throw std::system_error(err, std::generic_category(), "io_uring multishot recvmsg");
  }
}

IoUringRx::~IoUringRx() {
  // Cancel the multishot request so the kernel stops writing into the
  // buffers before they are unmapped (queue_exit also waits for it).
  if (!armed_) return;
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) return;
  io_uring_prep_cancel_fd(sqe, fd_, 0);
  io_uring_sqe_set_data64(sqe, 1); // the recvmsg is 0
  if (io_uring_submit(ring_.get()) < 0) return;
  // Wait (bounded) for the recvmsg's final completion, the one without F_MORE.
  for (int i = 0; i < 100 && armed_; ++i) {
    __kernel_timespec ts{.tv_sec = 0, .tv_nsec = 1'000'000};
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe_timeout(ring_.get(), &cqe, &ts) != 0) continue;
    if (cqe->user_data == 0 && !(cqe->flags & IORING_CQE_F_MORE)) armed_ = false;
    io_uring_cqe_seen(ring_.get(), cqe);
  }
}

void IoUringRx::arm() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) throw std::runtime_error("io_uring: no free SQE to arm recvmsg");
  // MSG_TRUNC: payloadlen is the datagram's full length even if truncated.
  io_uring_prep_recvmsg_multishot(sqe, fd_, &msg_, MSG_TRUNC);
  io_uring_sqe_set_data64(sqe, 0); // the destructor's cancel request is 1
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kGroup;
  int rc = io_uring_submit(ring_.get());
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_submit(recvmsg)");
  armed_ = true;
}

std::span<const RxDatagram> IoUringRx::read_batch(std::size_t max) {
  // The caller is done with the previous batch: its buffers go back.
  for (std::uint16_t bid : held_)
    bufs_.recycle(bid);
  bufs_.publish();
  held_.clear();
  out_.clear();
  if (!armed_) arm();

  const std::size_t n = std::min({max, out_.capacity(), std::size_t{kMaxBatch}});
  io_uring_cqe* cqes[kMaxBatch];
  unsigned got = io_uring_peek_batch_cqe(ring_.get(), cqes, static_cast<unsigned>(n));
  for (unsigned i = 0; i < got; ++i) {
    const io_uring_cqe* cqe = cqes[i];
    if (!(cqe->flags & IORING_CQE_F_MORE)) armed_ = false; // multishot ended: re-arm next call
    if (cqe->res < 0) {
      if (cqe->res == -ENOBUFS) {
        ++enobufs_;
        continue;
      }
      int err = -cqe->res;
      io_uring_cq_advance(ring_.get(), got);
      throw std::system_error(err, std::generic_category(), "io_uring recvmsg completion");
    }
    if (!(cqe->flags & IORING_CQE_F_BUFFER)) continue;
    auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    held_.push_back(bid);
    auto* o = io_uring_recvmsg_validate(bufs_.buffer(bid), cqe->res, &msg_);
    if (o == nullptr) continue; // shorter than the header: cannot happen for UDP
    std::uint64_t rx_ns = 0;
    for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(o, &msg_); c != nullptr;
         c = io_uring_recvmsg_cmsg_nexthdr(o, &msg_, c))
      parse_rx_cmsg(c, rxq_ovfl_, rx_ns);
    auto* payload = static_cast<const std::byte*>(io_uring_recvmsg_payload(o, &msg_));
    unsigned copied = io_uring_recvmsg_payload_length(o, cqe->res, &msg_);
    out_.push_back({.head = {payload, copied}, .length = o->payloadlen, .kernel_rx_ns = rx_ns});
  }
  io_uring_cq_advance(ring_.get(), got);
  return {out_.data(), out_.size()};
}

void IoUringRx::wait(std::uint64_t timeout_ns) {
  if (!armed_) return; // read_batch re-arms first
  __kernel_timespec ts{.tv_sec = static_cast<long long>(timeout_ns / 1'000'000'000ULL),
                       .tv_nsec = static_cast<long long>(timeout_ns % 1'000'000'000ULL)};
  io_uring_cqe* cqe = nullptr;
  int rc = io_uring_wait_cqe_timeout(ring_.get(), &cqe, &ts);
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN) {
    throw std::system_error(-rc, std::generic_category(), "io_uring_wait_cqe_timeout");
  }
}

} // namespace droplab::sink

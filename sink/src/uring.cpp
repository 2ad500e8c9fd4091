#include "uring.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>

namespace droplab::sink {

IoUring::IoUring(unsigned sq_entries, unsigned cq_entries) {
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = cq_entries;
  int rc = io_uring_queue_init_params(sq_entries, &ring_, &p);
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init_params");
}

IoUring::~IoUring() {
  io_uring_queue_exit(&ring_);
}

void MmapDeleter::operator()(std::byte* p) const {
  if (p != nullptr) ::munmap(p, len);
}

MmapRegion map_anonymous(std::size_t len, const char* what) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), what);
  return MmapRegion(static_cast<std::byte*>(p), MmapDeleter{len});
}

BufRing::BufRing(IoUring& ring, unsigned count, std::size_t buf_bytes, std::uint16_t bgid)
    : ring_(ring), count_(count), buf_bytes_(buf_bytes), bgid_(bgid),
      // The kernel wants the io_uring_buf array page-aligned: mmap gives that.
      ring_mem_(map_anonymous(count * sizeof(io_uring_buf), "mmap(buffer ring)")),
      bufs_(map_anonymous(count * buf_bytes, "mmap(ring buffers)")) {
  br_ = reinterpret_cast<io_uring_buf_ring*>(ring_mem_.get());
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(br_);
  reg.ring_entries = count;
  reg.bgid = bgid;
  // IORING_REGISTER_PBUF_RING: Linux >= 5.19.
  int rc = io_uring_register_buf_ring(ring_.get(), &reg, 0);
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_register_buf_ring");
  for (unsigned i = 0; i < count; ++i)
    recycle(static_cast<std::uint16_t>(i));
  publish();
}

BufRing::~BufRing() {
  io_uring_unregister_buf_ring(ring_.get(), bgid_);
}

void BufRing::recycle(std::uint16_t bid) {
  io_uring_buf_ring_add(br_, buffer(bid), static_cast<unsigned>(buf_bytes_), bid,
                        io_uring_buf_ring_mask(count_), pending_++);
}

void BufRing::publish() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

} // namespace droplab::sink

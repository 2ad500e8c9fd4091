// RAII owners for the io_uring backend's kernel resources: the ring itself
// and a provided-buffer ring (an mmap'd io_uring_buf array plus the buffers,
// registered with IORING_REGISTER_PBUF_RING). liburing 2.3 (Debian 12) has
// io_uring_register_buf_ring but not io_uring_setup_buf_ring (2.4), so the
// mapping and registration are done here. liburing returns -errno: every call
// is converted to std::system_error on its line.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace droplab::sink {

class IoUring {
public:
  // io_uring_queue_init_params with a completion queue of `cq_entries`.
  IoUring(unsigned sq_entries, unsigned cq_entries);
  IoUring(const IoUring&) = delete;
  IoUring& operator=(const IoUring&) = delete;
  ~IoUring();
  io_uring* get() { return &ring_; }

private:
  io_uring ring_{};
};

// munmap on destruction.
struct MmapDeleter {
  std::size_t len = 0;
  void operator()(std::byte* p) const;
};
using MmapRegion = std::unique_ptr<std::byte, MmapDeleter>;
MmapRegion map_anonymous(std::size_t len, const char* what);

// `count` buffers of `buf_bytes` each, registered as buffer group `bgid` of
// `ring` (which must outlive it), all handed to the kernel at construction.
class BufRing {
public:
  BufRing(IoUring& ring, unsigned count, std::size_t buf_bytes, std::uint16_t bgid);
  BufRing(const BufRing&) = delete;
  BufRing& operator=(const BufRing&) = delete;
  ~BufRing();

  std::byte* buffer(std::uint16_t bid) { return bufs_.get() + std::size_t{bid} * buf_bytes_; }
  std::size_t buf_bytes() const { return buf_bytes_; }
  unsigned count() const { return count_; }
  std::uint16_t group() const { return bgid_; }

  // Gives buffer `bid` back to the kernel; visible after publish().
  void recycle(std::uint16_t bid);
  void publish();

private:
  IoUring& ring_;
  unsigned count_;
  std::size_t buf_bytes_;
  std::uint16_t bgid_;
  MmapRegion ring_mem_; // the io_uring_buf array the kernel reads
  MmapRegion bufs_;
  io_uring_buf_ring* br_ = nullptr;
  int pending_ = 0; // recycled since the last publish
};

} // namespace droplab::sink

// Move-only owner of one io_uring instance (liburing), as seastar wraps its
// rings; liburing's -errno returns become std::system_error at once.
#pragma once

#include <liburing.h>

#include <memory>
#include <string>

namespace droplab::gen {

class IoUring {
public:
  // io_uring_queue_init(entries, flags). Throws std::system_error.
  IoUring(unsigned entries, unsigned flags);
  IoUring(IoUring&&) noexcept = default;
  IoUring& operator=(IoUring&&) noexcept = default;
  ~IoUring() = default;

  io_uring* get() const { return ring_.get(); }

  // Creates a one-entry ring and probes IORING_OP_SEND (and SEND_ZC if
  // `zerocopy`): "" if usable here, else the missing feature and why.
  static std::string probe(bool zerocopy);

private:
  struct Exit {
    void operator()(io_uring* r) const {
      ::io_uring_queue_exit(r);
      delete r;
    }
  };
  std::unique_ptr<io_uring, Exit> ring_;
};

} // namespace droplab::gen

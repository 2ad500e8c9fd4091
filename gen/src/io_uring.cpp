#include "gen/io_uring.hpp"

#include <fmt/format.h>

#include <cstring>
#include <system_error>

namespace droplab::gen {

IoUring::IoUring(unsigned entries, unsigned flags) {
  auto r = std::make_unique<io_uring>();
  if (int ret = ::io_uring_queue_init(entries, r.get(), flags); ret < 0) {
    throw std::system_error(-ret, std::generic_category(),
                            fmt::format("io_uring_queue_init({} entries)", entries));
  }
  ring_.reset(r.release());
}

std::string IoUring::probe(bool zerocopy) {
  io_uring r{};
  if (int ret = ::io_uring_queue_init(1, &r, 0); ret < 0) {
    // EPERM also when sysctl kernel.io_uring_disabled forbids it (Linux >= 6.6).
    return fmt::format("io_uring_setup failed: {} (kernel without io_uring, or "
                       "kernel.io_uring_disabled / seccomp forbids it)",
                       std::strerror(-ret));
  }
  std::string why;
  io_uring_probe* p = ::io_uring_get_probe_ring(&r);
  if (p == nullptr) {
    why = "IORING_REGISTER_PROBE failed (Linux < 5.6)";
  } else if (!::io_uring_opcode_supported(p, IORING_OP_SEND)) {
    why = "IORING_OP_SEND not supported (Linux >= 5.6 needed)";
  } else if (zerocopy && !::io_uring_opcode_supported(p, IORING_OP_SEND_ZC)) {
    why = "IORING_OP_SEND_ZC not supported (Linux >= 6.0 needed for --zerocopy)";
  }
  if (p != nullptr) ::io_uring_free_probe(p);
  ::io_uring_queue_exit(&r);
  return why;
}

} // namespace droplab::gen

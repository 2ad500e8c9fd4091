#include "droplab/sink/rx_backend.hpp"

#include "recvmmsg_rx.hpp"

namespace droplab::sink {

BackendSelection make_backend(BackendChoice choice, int fd, unsigned batch) {
  // recvmmsg exists since Linux 2.6.33, so there is nothing to probe; the
  // probing belongs to the io_uring backend when it arrives.
  std::string reason = choice == BackendChoice::Recvmmsg
                           ? "requested with --backend recvmmsg"
                           : "auto: recvmmsg is the only receive backend built so far";
  return {std::make_unique<RecvmmsgRx>(fd, batch), std::move(reason)};
}

} // namespace droplab::sink

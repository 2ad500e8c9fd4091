#include "droplab/sink/rx_backend.hpp"

#include "asio_rx.hpp"
#include "io_uring_rx.hpp"
#include "recv_rx.hpp"
#include "recvmmsg_rx.hpp"

#include "droplab/fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace droplab::sink {

void RxBackend::wait(std::uint64_t timeout_ns) {
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  timespec ts{.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000ULL),
              .tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000ULL)};
  // EINTR: a signal; the caller checks the stop flag.
  if (::ppoll(&p, 1, &ts, nullptr) < 0 && errno != EINTR) {
    throw std::system_error(errno, std::generic_category(), "ppoll(sink socket)");
  }
}

std::string probe_backend(BackendChoice choice) {
  try {
    Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw std::system_error(errno, std::generic_category(), "socket(AF_INET, SOCK_DGRAM)");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
      throw std::system_error(errno, std::generic_category(), "bind 127.0.0.1:0");
    }
    make_backend(choice, fd.get(), 1);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

BackendSelection make_backend(BackendChoice choice, int fd, unsigned batch, bool gro) {
  switch (choice) {
  case BackendChoice::Recvmmsg:
    return {std::make_unique<RecvmmsgRx>(fd, batch, gro), "requested with --backend recvmmsg"};
  case BackendChoice::Recv:
    return {std::make_unique<RecvRx>(fd, batch, gro), "requested with --backend recv"};
  case BackendChoice::Asio: return {make_asio_rx(fd, batch), "requested with --backend asio"};
  case BackendChoice::IoUring:
    return {std::make_unique<IoUringRx>(fd, batch), "requested with --backend io_uring"};
  case BackendChoice::Auto: break;
  }
  // recvmmsg reads exactly what the constraints allow. io_uring's multishot
  // recvmsg moves datagrams out of the socket into its ring ahead of the
  // reader, which shifts where a slow reader's drops appear, so it is only
  // used when asked for.
  return {std::make_unique<RecvmmsgRx>(fd, batch, gro),
          "auto: recvmmsg, the batched reader that takes exactly what the constraints allow "
          "(io_uring reads ahead into its ring; ask for it with --backend io_uring)"};
}

} // namespace droplab::sink

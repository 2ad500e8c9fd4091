#include "channel.hpp"

#include "droplab/clock.hpp"

#include <fmt/format.h>

#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

namespace droplab::agent {
namespace {

constexpr auto kStopPoll = std::chrono::milliseconds(250);

// poll() timeout in ms until `deadline`, rounded up so we never spin; 0 when past.
int poll_ms(Deadline deadline) {
  auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

// Waits for `events` on fd until the deadline. False on timeout or EINTR.
bool wait_fd(int fd, short events, Deadline deadline, const char* what) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int rc = ::poll(&p, 1, poll_ms(deadline));
    if (rc < 0) {
      if (errno == EINTR) return false;
      throw std::system_error(errno, std::generic_category(), what);
    }
    if (rc > 0) return true; // POLLHUP/POLLERR too: the read or write reports it
    if (Clock::now() >= deadline) return false;
  }
}

} // namespace

FdChannel::FdChannel(int in_fd, int out_fd, std::string peer, bool owned)
    : in_(in_fd), out_(out_fd), peer_(std::move(peer)), owned_(owned) {}

FdChannel::~FdChannel() {
  close();
}

ReadResult FdChannel::read(std::span<char> buf, Deadline deadline) {
  if (in_ < 0) throw TransportError("channel to " + peer_ + " is closed");
  if (!wait_fd(in_, POLLIN, deadline, "poll for reading")) return {ReadStatus::timeout, 0};
  ssize_t n = ::read(in_, buf.data(), buf.size());
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return {ReadStatus::timeout, 0};
    if (errno == ECONNRESET) return {ReadStatus::eof, 0};
    throw std::system_error(errno, std::generic_category(), "read from " + peer_);
  }
  if (n == 0) return {ReadStatus::eof, 0};
  return {ReadStatus::data, static_cast<std::size_t>(n)};
}

void FdChannel::write(std::string_view bytes, Deadline deadline) {
  if (out_ < 0) throw TransportError("channel to " + peer_ + " is closed");
  while (!bytes.empty()) {
    if (!wait_fd(out_, POLLOUT, deadline, "poll for writing")) {
      if (Clock::now() >= deadline) {
        throw TransportError(fmt::format("{} did not take {} bytes in time", peer_, bytes.size()));
      }
      continue; // EINTR
    }
    // After POLLOUT a pipe has room for PIPE_BUF bytes and a socket for half
    // its send buffer: a chunk this size does not block.
    std::size_t chunk = std::min<std::size_t>(bytes.size(), PIPE_BUF);
    ssize_t n = -1;
    if (out_is_socket_) {
      n = ::send(out_, bytes.data(), chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == ENOTSOCK) {
        out_is_socket_ = false;
        continue;
      }
    } else {
      n = ::write(out_, bytes.data(), chunk);
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw std::system_error(errno, std::generic_category(), "write to " + peer_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void FdChannel::close() noexcept {
  if (owned_) {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0 && out_ != in_) ::close(out_);
  } else if (in_ >= 0 && in_ == out_) {
    // A borrowed socket: tell the peer we are done without closing the fd.
    ::shutdown(in_, SHUT_RDWR);
  }
  in_ = -1;
  out_ = -1;
}

Incoming MessageStream::read(Deadline deadline, const std::function<bool()>& stop) {
  std::array<char, 64 * 1024> buf;
  for (;;) {
    if (auto msg = decoder_.next()) {
      return {.arrival = Arrival::message, .message = std::move(*msg), .arrived_ns = fed_ns_};
    }
    if (stop && stop()) return {.arrival = Arrival::stopped};
    auto now = Clock::now();
    if (now >= deadline) return {.arrival = Arrival::timeout};
    Deadline slice = stop ? std::min(deadline, now + kStopPoll) : deadline;
    ReadResult r = ch_.read(buf, slice);
    if (r.status == ReadStatus::eof) {
      if (decoder_.pending() > 0) {
        throw ProtocolError(
            decoder_.expected() > 0
                ? fmt::format("connection closed mid-frame ({} of {} bytes)",
                              decoder_.pending() - 4, decoder_.expected())
                : fmt::format("connection closed inside a length prefix ({} of 4 bytes)",
                              decoder_.pending()));
      }
      return {.arrival = Arrival::eof};
    }
    if (r.status == ReadStatus::data) {
      fed_ns_ = real_ns();
      decoder_.feed(std::string_view(buf.data(), r.bytes));
    }
  }
}

void MessageStream::write(const nlohmann::json& msg, Deadline deadline) {
  ch_.write(encode_frame(msg), deadline);
}

} // namespace droplab::agent

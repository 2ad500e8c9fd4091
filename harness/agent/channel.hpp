// A byte channel between controller and agent (stdio, a socketpair, a child's
// pipes, TLS), and MessageStream, which frames messages over one. Every read
// and write has a deadline.
#pragma once

#include "protocol.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace droplab::agent {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// A write that missed its deadline, or a channel used after it failed.
class TransportError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

enum class ReadStatus { data, eof, timeout };
struct ReadResult {
  ReadStatus status = ReadStatus::timeout;
  std::size_t bytes = 0;
};

class Channel {
public:
  virtual ~Channel() = default;
  // Reads at least one byte into `buf`, waiting until `deadline` at most. A
  // signal may end the wait early as a timeout (callers loop). Throws
  // TransportError or std::system_error for a transport failure.
  virtual ReadResult read(std::span<char> buf, Deadline deadline) = 0;
  // Writes all of `bytes` by `deadline`; throws TransportError when it
  // misses it, std::system_error on failure. After a timeout the channel is
  // in an unknown state: close it.
  virtual void write(std::string_view bytes, Deadline deadline) = 0;
  // Ends the connection; bounded, never throws, idempotent.
  virtual void close() noexcept = 0;
  // Who is at the other end, for logs: "stdio", "127.0.0.1:40222".
  virtual std::string peer() const = 0;
};

// A channel over two file descriptors (the same one twice for a socket). It
// uses poll() for deadlines and never blocks past them: writes go in chunks
// of at most PIPE_BUF once poll() reports room. Sockets are written with
// MSG_NOSIGNAL, so a closed peer is an EPIPE error, not SIGPIPE.
class FdChannel : public Channel {
public:
  // Does not take ownership unless `owned` is true (then close() closes them).
  FdChannel(int in_fd, int out_fd, std::string peer, bool owned = false);
  ~FdChannel() override;
  FdChannel(const FdChannel&) = delete;
  FdChannel& operator=(const FdChannel&) = delete;

  ReadResult read(std::span<char> buf, Deadline deadline) override;
  void write(std::string_view bytes, Deadline deadline) override;
  void close() noexcept override;
  std::string peer() const override { return peer_; }

private:
  int in_;
  int out_;
  std::string peer_;
  bool owned_;
  bool out_is_socket_ = true; // until send() says ENOTSOCK
};

// Why MessageStream::read returned.
enum class Arrival { message, eof, timeout, stopped };

struct Incoming {
  Arrival arrival = Arrival::timeout;
  nlohmann::json message;
  std::uint64_t arrived_ns = 0; // CLOCK_REALTIME when the frame's last byte was read
};

// Whole messages over a Channel.
class MessageStream {
public:
  explicit MessageStream(Channel& ch, std::uint32_t max_message = kMaxMessage)
      : ch_(ch), decoder_(max_message) {}

  // The next complete message, waiting until `deadline` for all of it. eof:
  // the peer closed between frames. timeout: no complete message by the
  // deadline. stopped: `stop` (polled at least every 250 ms) returned true.
  // Throws ProtocolError for a bad frame and for EOF inside a frame.
  Incoming read(Deadline deadline, const std::function<bool()>& stop = {});
  // Frames and writes `msg` by `deadline` (TransportError if it misses it).
  void write(const nlohmann::json& msg, Deadline deadline);

  Channel& channel() { return ch_; }

private:
  Channel& ch_;
  FrameDecoder decoder_;
  std::uint64_t fed_ns_ = 0; // CLOCK_REALTIME of the last feed
};

} // namespace droplab::agent

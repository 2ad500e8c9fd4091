// One reader: a socket, a backend, its constraints and its measurements,
// run on a thread of its own (one per --threads, each with an SO_REUSEPORT
// socket). Only the atomics in `Live` are read by other threads while it
// runs; everything else is read after join().
#pragma once

#include "droplab/sink/accounting.hpp"
#include "droplab/sink/config.hpp"
#include "droplab/sink/histogram.hpp"
#include "droplab/sink/rx_backend.hpp"
#include "droplab/sink/rx_socket.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <optional>

namespace droplab::sink {

// Published after every batch for the interval lines (relaxed: a reading a
// batch old is fine).
struct Live {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::int64_t> lost{0};
  std::atomic<bool> stalled{false};
};

struct ReaderResult {
  Accounting acc;
  Histogram latency;              // one-way: read time - sender's timestamp
  Histogram queue;                // read time - kernel receive time (SO_TIMESTAMPNS)
  std::uint64_t no_send_time = 0; // valid datagrams with send time 0: no one-way latency
  std::uint64_t clock_behind = 0; // read time before the send/receive time: clocks disagree
  std::uint64_t drained_at_stop = 0;
  bool drain_complete = true;
  std::optional<std::uint64_t> hung_at_ns; // since start, when --hang-after took effect
};

class Reader {
public:
  Reader(const Config& cfg, unsigned index, RxSocket sock, BackendSelection sel);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The thread body: pins itself (--cpus), reads from `start_ns` until `stop`
  // is set, then drains (unless hung). Never throws: an error is kept in
  // error() and sets `stop` so the others end too.
  void run(std::uint64_t start_ns, std::atomic<bool>& stop);

  const RxSocket& socket() const { return sock_; }
  const RxBackend& backend() const { return *sel_.backend; }
  const std::string& backend_reason() const { return sel_.reason; }
  std::optional<unsigned> cpu() const { return cpu_; }
  const ReaderResult& result() const { return res_; }
  Live& live() { return live_; }
  std::exception_ptr error() const { return error_; }

private:
  void loop(std::uint64_t start_ns, std::atomic<bool>& stop);
  void account(std::span<const RxDatagram> got);

  const Config& cfg_;
  unsigned index_;
  std::optional<unsigned> cpu_;
  RxSocket sock_; // declared before sel_: the backend goes first
  BackendSelection sel_;
  ReaderResult res_;
  Live live_;
  std::exception_ptr error_;
};

} // namespace droplab::sink

// Why a send loop fell short of its schedule, measured from inside it: its CPU
// time, the time it was runnable but waiting for a CPU, the time inside send
// calls, and the time its sends were refused EAGAIN (a full socket send
// buffer) until one was accepted again. The harness turns these into the gen
// stage's note instead of a bare rate error.
#pragma once

#include <cstdint>
#include <optional>

namespace droplab::gen {

struct PaceTotals {
  std::uint64_t loop_ns = 0;    // wall time of the send loop
  std::uint64_t cpu_ns = 0;     // the loop thread's CPU time (user + system)
  std::uint64_t in_send_ns = 0; // inside TxBackend::send
  // From a batch whose send was refused EAGAIN to the next batch with an
  // accepted datagram: the time the socket's send buffer (or ring) was full.
  std::uint64_t send_blocked_ns = 0;
  // Runnable but not running (schedstat run_delay); nullopt: the kernel has
  // no /proc/thread-self/schedstat (CONFIG_SCHED_INFO off).
  std::optional<std::uint64_t> cpu_wait_ns;

  PaceTotals& operator+=(const PaceTotals& o);
};

// One loop thread's meter; call every method from that thread.
class PaceMeter {
public:
  void start(std::uint64_t now_ns);
  // One TxBackend::send between before_ns and after_ns: `accepted` datagrams
  // went out, and `refused_eagain` says the first refused one got EAGAIN.
  void sent(std::uint64_t before_ns, std::uint64_t after_ns, std::uint64_t accepted,
            bool refused_eagain);
  PaceTotals finish(std::uint64_t now_ns);

private:
  std::uint64_t start_ns_ = 0;
  std::uint64_t cpu0_ns_ = 0;
  std::optional<std::uint64_t> wait0_ns_;
  std::optional<std::uint64_t> blocked_since_;
  PaceTotals t_;
};

// schedstat's run_delay of the calling thread (ns), nullopt when unavailable.
std::optional<std::uint64_t> thread_cpu_wait_ns();

} // namespace droplab::gen

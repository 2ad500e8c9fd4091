#include "reader.hpp"

#include "droplab/clock.hpp"
#include "droplab/sink/reader_schedule.hpp"
#include "droplab/sink/report.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <system_error>

namespace droplab::sink {
namespace {

constexpr std::uint64_t kMs = 1'000'000ULL;
// Longest a reader blocks, so a stop request is seen within ~10 ms.
constexpr std::uint64_t kMaxWaitNs = 10 * kMs;
// The final drain stops after this long if a sender keeps the queue full.
constexpr std::uint64_t kDrainBoundNs = 2'000 * kMs;
constexpr std::uint64_t kDrainConfirmNs = 2 * kMs;

void pin_to(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // pthread_* return the error number instead of setting errno.
  int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  if (rc != 0) {
    throw std::system_error(rc, std::generic_category(),
                            fmt::format("pthread_setaffinity_np(CPU {})", cpu));
  }
}

// Burns `ns` of CPU, as an application's per-datagram processing would.
void burn(std::uint64_t ns) {
  const std::uint64_t end = mono_ns() + ns;
  while (mono_ns() < end) {
  }
}

} // namespace

Reader::Reader(const Config& cfg, unsigned index, RxSocket sock, BackendSelection sel)
    : cfg_(cfg), index_(index), sock_(std::move(sock)), sel_(std::move(sel)) {
  if (!cfg.cpus.empty()) cpu_ = cfg.cpus[index % cfg.cpus.size()];
}

void Reader::run(std::uint64_t start_ns, std::atomic<bool>& stop) {
  try {
    if (cpu_) pin_to(*cpu_);
    loop(start_ns, stop);
  } catch (...) {
    error_ = std::current_exception();
    stop.store(true);
  }
}

void Reader::account(std::span<const RxDatagram> got) {
  if (got.empty()) return;
  // One clock read per batch: the time the application got these datagrams.
  const std::uint64_t now = real_ns();
  for (const RxDatagram& d : got) {
    std::optional<PayloadHeader> h = res_.acc.add(d.head, d.length);
    if (d.kernel_rx_ns != 0) {
      if (now >= d.kernel_rx_ns)
        res_.queue.add(now - d.kernel_rx_ns);
      else
        ++res_.clock_behind;
    }
    if (h) {
      if (h->send_ns == 0)
        ++res_.no_send_time;
      else if (now >= h->send_ns)
        res_.latency.add(now - h->send_ns);
      else
        ++res_.clock_behind;
    }
    if (cfg_.work_ns != 0) burn(cfg_.work_ns);
  }
  live_.received.store(res_.acc.received(), std::memory_order_relaxed);
  live_.lost.store(res_.acc.lost(), std::memory_order_relaxed);
}

void Reader::loop(std::uint64_t start_ns, std::atomic<bool>& stop) {
  RxBackend& rx = *sel_.backend;
  ReaderSchedule sched(cfg_.read_rate_pps, cfg_.stall, cfg_.batch, start_ns);
  const std::uint64_t hang_at = cfg_.hang_after_ns ? start_ns + *cfg_.hang_after_ns : UINT64_MAX;

  while (!stop.load(std::memory_order_relaxed)) {
    const std::uint64_t now = mono_ns();
    if (now >= hang_at) {
      // The application is stuck for good: nothing is read from here on,
      // not even at stop, so every later datagram stays in the socket stage.
      res_.hung_at_ns = now - start_ns;
      if (cfg_.json_stream) {
        print_event(stdout, "hang",
                    {{"reader", index_}, {"t_s", static_cast<double>(now - start_ns) / 1e9}});
      } else {
        fmt::print("HUNG reader={} t={:.3f}s: reading stopped for good (--hang-after)\n", index_,
                   static_cast<double>(now - start_ns) / 1e9);
      }
      std::fflush(stdout);
      while (!stop.load(std::memory_order_relaxed))
        sleep_until_mono(mono_ns() + kMaxWaitNs);
      return;
    }
    live_.stalled.store(sched.stalled(now), std::memory_order_relaxed);
    const std::uint64_t wake = std::min(hang_at, now + kMaxWaitNs);
    ReaderSchedule::Grant g = sched.grant(now);
    if (g.reads == 0) { // stalled, or ahead of --read-rate
      sleep_until_mono(std::min(wake, g.retry_ns));
      continue;
    }
    std::span<const RxDatagram> got = rx.read_batch(g.reads);
    account(got);
    sched.consume(got.size());
    if (got.empty()) rx.wait(wake - now);
  }

  // What is already queued was accepted by the kernel: read it all, as fast
  // as possible, so it is counted as received rather than as lost.
  // An empty read is confirmed after a short wait: io_uring may still be
  // moving datagrams from the socket into its ring.
  const std::uint64_t drain_end = mono_ns() + kDrainBoundNs;
  for (bool confirming = false;;) {
    std::span<const RxDatagram> got = rx.read_batch(cfg_.batch);
    if (got.empty()) {
      if (confirming) break;
      confirming = true;
      rx.wait(kDrainConfirmNs);
      continue;
    }
    confirming = false;
    account(got);
    res_.drained_at_stop += got.size();
    if (mono_ns() >= drain_end) {
      res_.drain_complete = false;
      break;
    }
  }
}

} // namespace droplab::sink

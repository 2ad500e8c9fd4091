#include "droplab/sink/run.hpp"

#include "droplab/cli.hpp"
#include "droplab/clock.hpp"
#include "droplab/json_util.hpp"
#include "droplab/signals.hpp"
#include "droplab/sink/accounting.hpp"
#include "droplab/sink/reader_schedule.hpp"
#include "droplab/sink/report.hpp"
#include "droplab/sink/rx_backend.hpp"
#include "droplab/sink/rx_socket.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <system_error>

namespace droplab::sink {
namespace {

constexpr std::uint64_t kMs = 1'000'000ULL;
// Longest the loop blocks, so a stop request is seen within ~10 ms.
constexpr std::uint64_t kMaxWaitNs = 10 * kMs;
// The final drain stops after this long if a sender keeps the queue full.
constexpr std::uint64_t kDrainBoundNs = 2'000 * kMs;

double seconds(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

// Waits until `fd` is readable or `timeout_ns` passes (EINTR: a signal, the
// caller checks the stop flag).
void wait_readable(int fd, std::uint64_t timeout_ns) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  timespec ts{.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000ULL),
              .tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000ULL)};
  if (::ppoll(&p, 1, &ts, nullptr) < 0 && errno != EINTR) {
    throw std::system_error(errno, std::generic_category(), "ppoll(sink socket)");
  }
}

Context make_context(const Config &cfg, const RxSocket &sock, const BackendSelection &sel) {
  Context c{.kernel = kernel_release(),
            .cpus = online_cpus(),
            .backend = std::string(sel.backend->name()),
            .backend_reason = sel.reason,
            .listen = cfg.listen.to_string(),
            .rcvbuf_requested = cfg.rcvbuf,
            .rcvbuf_granted = sock.rcvbuf_granted,
            .rmem_max = read_rmem_max(),
            .read_rate_pps = cfg.read_rate_pps,
            .stall = std::nullopt,
            .batch = cfg.batch,
            .socket_inode = sock.inode,
            .pid = static_cast<std::int64_t>(::getpid())};
  if (cfg.stall) c.stall = StallContext{seconds(cfg.stall->dur_ns), seconds(cfg.stall->every_ns)};
  return c;
}

// Says what SO_RCVBUF really gave: the kernel stores twice the request (half
// is for its own skb overhead), after capping the request at rmem_max, and
// never goes below its minimum (SOCK_MIN_RCVBUF).
void announce_rcvbuf(const Context &c) {
  if (!c.rcvbuf_requested) {
    fmt::print("rcvbuf: kernel default (net.core.rmem_default), granted {} B\n", c.rcvbuf_granted);
    return;
  }
  std::uint64_t req = *c.rcvbuf_requested;
  std::string why = "the kernel doubles SO_RCVBUF for its bookkeeping overhead";
  if (c.rcvbuf_granted < 2 * req) {
    why = fmt::format("capped: the request is limited to net.core.rmem_max ({} B), then doubled",
                      c.rmem_max ? fmt::format("{}", *c.rmem_max) : "unreadable");
  } else if (c.rcvbuf_granted > 2 * req) {
    why = "raised to the kernel's minimum receive buffer";
  }
  fmt::print("rcvbuf: requested {} B, granted {} B ({})\n", req, c.rcvbuf_granted, why);
}

void signal_ready(const Config &cfg, const Context &c) {
  if (!cfg.ready_file.empty()) {
    write_json_file(cfg.ready_file, {{"pid", c.pid},
                                     {"listen", c.listen},
                                     {"rcvbuf_granted", c.rcvbuf_granted},
                                     {"socket_inode", c.socket_inode}});
  }
  fmt::print("READY listen={} rcvbuf_granted={} pid={} socket_inode={}\n", c.listen,
             c.rcvbuf_granted, c.pid, c.socket_inode);
  std::fflush(stdout);
}

// Per-interval deltas from running totals.
class IntervalMeter {
public:
  Interval take(double t_s, double len_s, const Totals &t, std::optional<std::uint64_t> drops,
                bool stalled) {
    Interval i{.t_s = t_s,
               .received = t.received - prev_received_,
               .pps = static_cast<double>(t.received - prev_received_) / len_s,
               .lost = t.lost - prev_lost_,
               .socket_drops = std::nullopt,
               .received_total = t.received,
               .lost_total = t.lost,
               .socket_drops_total = drops,
               .stalled = stalled};
    if (drops) i.socket_drops = *drops - prev_drops_.value_or(0);
    prev_received_ = t.received;
    prev_lost_ = t.lost;
    if (drops) prev_drops_ = drops;
    return i;
  }

private:
  std::uint64_t prev_received_ = 0;
  std::int64_t prev_lost_ = 0;
  std::optional<std::uint64_t> prev_drops_;
};

// SO_MEMINFO is current even while the reader is stalled; SO_RXQ_OVFL only
// moves when something is read, so it is the fallback.
std::optional<std::uint64_t> drops_now(int fd, const RxBackend &rx) {
  auto d = socket_drops_now(fd);
  return d ? d : rx.last_rxq_ovfl();
}

void account(Accounting &acc, std::span<const RxDatagram> got) {
  for (const RxDatagram &d : got)
    acc.add(d.head, d.length);
}

} // namespace

int run(const Config &cfg) {
  install_stop_handlers();
  RxSocket sock = open_rx_socket(cfg.listen, cfg.rcvbuf);
  BackendSelection sel = make_backend(cfg.backend, sock.fd.get(), cfg.batch);
  RxBackend &rx = *sel.backend;
  const int fd = sock.fd.get();

  Report report;
  report.context = make_context(cfg, sock, sel);
  announce_rcvbuf(report.context);
  signal_ready(cfg, report.context);

  Accounting acc;
  IntervalMeter meter;
  const std::uint64_t start = mono_ns();
  const std::uint64_t deadline =
      cfg.duration_ns ? start + *cfg.duration_ns : std::numeric_limits<std::uint64_t>::max();
  ReaderSchedule sched(cfg.read_rate_pps, cfg.stall, cfg.batch, start);
  std::uint64_t next_tick = start + cfg.interval_ns;
  std::uint64_t stop_at = 0;

  for (;;) {
    std::uint64_t now = mono_ns();
    if (stop_requested() || now >= deadline) {
      report.summary.stopped_by = stop_requested() ? "signal" : "duration";
      stop_at = std::min(now, deadline);
      break;
    }
    if (now >= next_tick) {
      Interval i = meter.take(seconds(next_tick - start), seconds(cfg.interval_ns), acc.totals(),
                              drops_now(fd, rx), sched.stalled(now));
      if (!cfg.quiet) print_interval(stdout, i);
      report.intervals.push_back(i);
      next_tick += cfg.interval_ns;
      continue;
    }
    const std::uint64_t wake = std::min({deadline, next_tick, now + kMaxWaitNs});
    ReaderSchedule::Grant g = sched.grant(now);
    if (g.reads == 0) { // stalled, or ahead of --read-rate
      sleep_until_mono(std::min(wake, g.retry_ns));
      continue;
    }
    std::span<const RxDatagram> got = rx.read_batch(g.reads);
    account(acc, got);
    sched.consume(got.size());
    if (got.empty()) wait_readable(fd, wake - now);
  }

  // What is already queued was accepted by the kernel: read it all, as fast
  // as possible, so it is counted as received rather than as lost.
  const std::uint64_t drain_end = mono_ns() + kDrainBoundNs;
  for (;;) {
    std::span<const RxDatagram> got = rx.read_batch(cfg.batch);
    if (got.empty()) break;
    account(acc, got);
    report.summary.drained_at_stop += got.size();
    if (mono_ns() >= drain_end) {
      report.summary.drain_complete = false;
      break;
    }
  }

  Summary &s = report.summary;
  fill_counts(acc, s, report.flows);
  s.socket_drops_rxq_ovfl = rx.last_rxq_ovfl();
  s.socket_drops_meminfo = socket_drops_now(fd);
  s.duration_s = seconds(stop_at - start);

  print_summary(stdout, report);
  if (!cfg.json_file.empty()) write_json_file(cfg.json_file, report);
  return kExitOk;
}

} // namespace droplab::sink

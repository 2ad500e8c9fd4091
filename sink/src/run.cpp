#include "droplab/sink/run.hpp"

#include "droplab/cli.hpp"
#include "droplab/clock.hpp"
#include "droplab/json_util.hpp"
#include "droplab/signals.hpp"
#include "droplab/sink/report.hpp"
#include "droplab/sink/rx_socket.hpp"
#include "droplab/units.hpp"
#include "io_uring_rx.hpp"
#include "reader.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

namespace droplab::sink {
namespace {

constexpr std::uint64_t kMs = 1'000'000ULL;
// Longest the main thread sleeps, so a stop request is seen within ~10 ms.
constexpr std::uint64_t kMaxWaitNs = 10 * kMs;

double seconds(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

using Readers = std::vector<std::unique_ptr<Reader>>;

// One socket and backend per reader; with several, SO_REUSEPORT spreads the
// flows over them by 4-tuple hash.
Readers open_readers(const Config& cfg) {
  Readers readers;
  const RxSocketOptions opts{.rcvbuf = cfg.rcvbuf,
                             .rcvbuf_force = cfg.rcvbuf_force,
                             .reuseport = cfg.threads > 1,
                             .gro = cfg.gro};
  for (unsigned i = 0; i < cfg.threads; ++i) {
    RxSocket sock = open_rx_socket(cfg.listen, opts);
    BackendSelection sel = make_backend(cfg.backend, sock.fd.get(), cfg.batch, cfg.gro);
    readers.push_back(std::make_unique<Reader>(cfg, i, std::move(sock), std::move(sel)));
  }
  return readers;
}

Context make_context(const Config& cfg, const Readers& readers) {
  const Reader& first = *readers.front();
  Context c{.kernel = kernel_release(),
            .cpus = online_cpus(),
            .backend = std::string(first.backend().name()),
            .backend_reason = first.backend_reason(),
            .listen = cfg.listen.to_string(),
            .rcvbuf_requested = cfg.rcvbuf,
            .rcvbuf_granted = first.socket().rcvbuf_granted,
            .rmem_max = read_rmem_max(),
            .read_rate_pps = cfg.read_rate_pps,
            .stall = std::nullopt,
            .batch = cfg.batch,
            .socket_inode = first.socket().inode,
            .pid = static_cast<std::int64_t>(::getpid())};
  if (cfg.stall) c.stall = StallContext{seconds(cfg.stall->dur_ns), seconds(cfg.stall->every_ns)};
  c.rcvbuf_force = cfg.rcvbuf_force;
  c.work_ns = cfg.work_ns;
  if (cfg.hang_after_ns) c.hang_after_s = seconds(*cfg.hang_after_ns);
  c.threads = cfg.threads;
  c.pin_cpus = cfg.cpus;
  c.kernel_timestamps = first.backend().has_kernel_timestamps();
  c.gro = cfg.gro;
  if (auto* u = dynamic_cast<const IoUringRx*>(&first.backend())) {
    c.backend_ring_buffers = u->ring_buffers();
  }
  for (const auto& r : readers) {
    const unsigned i = static_cast<unsigned>(c.readers.size());
    c.socket_inodes.push_back(r->socket().inode);
    c.readers.push_back({.index = i,
                         .socket_inode = r->socket().inode,
                         .rcvbuf_granted = r->socket().rcvbuf_granted,
                         .cpu = r->cpu()});
  }
  return c;
}

// Says what SO_RCVBUF really gave: the kernel stores twice the request (half
// is for its own skb overhead), after capping the request at rmem_max (not
// with SO_RCVBUFFORCE), and never goes below its minimum (SOCK_MIN_RCVBUF).
std::string rcvbuf_line(const Context& c) {
  if (!c.rcvbuf_requested) {
    return fmt::format("rcvbuf: kernel default (net.core.rmem_default), granted {} B",
                       c.rcvbuf_granted);
  }
  std::uint64_t req = *c.rcvbuf_requested;
  std::string why = "the kernel doubles SO_RCVBUF for its bookkeeping overhead";
  if (c.rcvbuf_granted < 2 * req) {
    why = fmt::format("capped: the request is limited to net.core.rmem_max ({} B), then doubled",
                      c.rmem_max ? fmt::format("{}", *c.rmem_max) : "unreadable");
  } else if (c.rcvbuf_granted > 2 * req) {
    why = "raised to the kernel's minimum receive buffer";
  } else if (c.rcvbuf_force) {
    why = "SO_RCVBUFFORCE: not capped by net.core.rmem_max, doubled";
  }
  return fmt::format("rcvbuf: requested {} B{}, granted {} B ({})", req,
                     c.rcvbuf_force ? " (forced)" : "", c.rcvbuf_granted, why);
}

void signal_ready(const Config& cfg, const Context& c) {
  if (!cfg.ready_file.empty()) {
    write_json_file(cfg.ready_file, {{"pid", c.pid},
                                     {"listen", c.listen},
                                     {"rcvbuf_granted", c.rcvbuf_granted},
                                     {"socket_inode", c.socket_inode},
                                     {"socket_inodes", c.socket_inodes},
                                     {"backend", c.backend},
                                     {"threads", c.threads}});
  }
  if (cfg.json_stream) {
    print_event(stdout, "start", {{"context", c}});
    return;
  }
  fmt::print("{}\n", rcvbuf_line(c));
  fmt::print("READY listen={} rcvbuf_granted={} pid={} socket_inode={} backend={} threads={}\n",
             c.listen, c.rcvbuf_granted, c.pid, c.socket_inode, c.backend, c.threads);
  std::fflush(stdout);
}

// The socket drops of all readers now (SO_MEMINFO, current even while a
// reader is stalled); nullopt if any socket's count is unavailable.
std::optional<std::uint64_t> drops_now(const Readers& readers) {
  std::uint64_t sum = 0;
  for (const auto& r : readers) {
    auto d = socket_drops_now(r->socket().fd.get());
    if (!d) return std::nullopt;
    sum += *d;
  }
  return sum;
}

// Per-interval deltas from running totals.
class IntervalMeter {
public:
  Interval take(double t_s, double len_s, std::uint64_t received, std::int64_t lost,
                std::optional<std::uint64_t> drops, bool stalled) {
    Interval i{.t_s = t_s,
               .received = received - prev_received_,
               .pps = static_cast<double>(received - prev_received_) / len_s,
               .lost = lost - prev_lost_,
               .socket_drops = std::nullopt,
               .received_total = received,
               .lost_total = lost,
               .socket_drops_total = drops,
               .stalled = stalled};
    if (drops) i.socket_drops = *drops - prev_drops_.value_or(0);
    prev_received_ = received;
    prev_lost_ = lost;
    if (drops) prev_drops_ = drops;
    return i;
  }

private:
  std::uint64_t prev_received_ = 0;
  std::int64_t prev_lost_ = 0;
  std::optional<std::uint64_t> prev_drops_;
};

Interval take_interval(IntervalMeter& meter, const Config& cfg, const Readers& readers,
                       double t_s) {
  std::uint64_t received = 0;
  std::int64_t lost = 0;
  bool stalled = false;
  for (const auto& r : readers) {
    received += r->live().received.load(std::memory_order_relaxed);
    lost += r->live().lost.load(std::memory_order_relaxed);
    stalled = stalled || r->live().stalled.load(std::memory_order_relaxed);
  }
  return meter.take(t_s, seconds(cfg.interval_ns), received, lost, drops_now(readers), stalled);
}

void summarize_readers(const Readers& readers, Report& report) {
  Summary& s = report.summary;
  std::vector<const Accounting*> accs;
  Histogram latency, queue;
  // The total is the sum of the rows, read once per socket, so the two agree;
  // one socket that cannot be read makes the total unavailable.
  bool meminfo_complete = true;
  for (const auto& r : readers) {
    const ReaderResult& res = r->result();
    accs.push_back(&res.acc);
    latency.merge(res.latency);
    queue.merge(res.queue);
    s.latency_no_send_time += res.no_send_time;
    s.clock_behind += res.clock_behind;
    s.drained_at_stop += res.drained_at_stop;
    s.drain_complete = s.drain_complete && res.drain_complete;
    s.gro_buffers += r->backend().gro().buffers;
    s.gro_datagrams += r->backend().gro().datagrams;
    if (res.hung_at_ns) {
      s.hung = true;
      s.hung_at_s = std::max(s.hung_at_s.value_or(0), seconds(*res.hung_at_ns));
    }
    auto ovfl = r->backend().last_rxq_ovfl();
    if (ovfl) s.socket_drops_rxq_ovfl = s.socket_drops_rxq_ovfl.value_or(0) + *ovfl;
    Totals t = res.acc.totals();
    s.readers.push_back({.index = static_cast<unsigned>(s.readers.size()),
                         .socket_inode = r->socket().inode,
                         .received = t.received,
                         .lost = t.lost,
                         .socket_drops_rxq_ovfl = ovfl,
                         .socket_drops_meminfo = socket_drops_now(r->socket().fd.get()),
                         .drained_at_stop = res.drained_at_stop});
    if (auto d = s.readers.back().socket_drops_meminfo) {
      s.socket_drops_meminfo = s.socket_drops_meminfo.value_or(0) + *d;
    } else {
      meminfo_complete = false;
    }
  }
  if (!meminfo_complete) s.socket_drops_meminfo.reset();
  fill_counts(accs, s, report.flows);
  s.latency_ns = summarize(latency);
  s.queue_ns = summarize(queue);
}

} // namespace

int run(const Config& cfg) {
  install_stop_handlers();
  Readers readers = open_readers(cfg);

  Report report;
  report.context = make_context(cfg, readers);
  signal_ready(cfg, report.context);

  const std::uint64_t start = mono_ns();
  const std::uint64_t deadline =
      cfg.duration_ns ? start + *cfg.duration_ns : std::numeric_limits<std::uint64_t>::max();
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (auto& r : readers)
    threads.emplace_back([&r, start, &stop] { r->run(start, stop); });

  IntervalMeter meter;
  std::uint64_t next_tick = start + cfg.interval_ns;
  std::uint64_t stop_at = 0;
  for (;;) {
    const std::uint64_t now = mono_ns();
    if (stop_requested() || now >= deadline || stop.load()) {
      report.summary.stopped_by = stop_requested() ? "signal" : stop.load() ? "error" : "duration";
      stop_at = std::min(now, deadline);
      break;
    }
    if (now >= next_tick) {
      Interval i = take_interval(meter, cfg, readers, seconds(next_tick - start));
      if (cfg.json_stream) {
        print_event(stdout, "interval", i);
      } else if (!cfg.quiet) {
        print_interval(stdout, i);
      }
      report.intervals.push_back(i);
      next_tick += cfg.interval_ns;
      continue;
    }
    sleep_until_mono(std::min({deadline, next_tick, now + kMaxWaitNs}));
  }
  stop.store(true);
  for (auto& t : threads)
    t.join();
  for (const auto& r : readers) {
    if (r->error()) std::rethrow_exception(r->error());
  }

  summarize_readers(readers, report);
  report.summary.duration_s = seconds(stop_at - start);

  if (cfg.json_stream) {
    print_event(stdout, "end", {{"summary", report.summary}, {"flows", report.flows}});
  } else {
    print_summary(stdout, report);
  }
  if (!cfg.json_file.empty()) write_json_file(cfg.json_file, report);
  return kExitOk;
}

} // namespace droplab::sink

#include "gen/run.hpp"

#include "droplab/cli.hpp"
#include "droplab/clock.hpp"
#include "droplab/json_util.hpp"
#include "droplab/signals.hpp"
#include "gen/af_packet_tx.hpp"
#include "gen/gso.hpp"
#include "gen/link.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>

namespace droplab::gen {
namespace {

constexpr std::uint64_t kSecNs = 1'000'000'000ULL;
// Threads start together this long after setup, so none has a head start.
constexpr std::uint64_t kStartDelayNs = 2'000'000ULL;
// Frames still in a TX ring after the loop get this long to leave.
constexpr std::uint64_t kFlushNs = 1'000'000'000ULL;
// Per-ms counts are kept for the first hour of a run (4 bytes per ms).
constexpr std::uint64_t kMaxSpreadMs = 3'600'000ULL;

// One sending thread's share of the run.
struct Worker {
  std::uint32_t index = 0;
  std::optional<int> cpu;
  TxSetup setup;
  std::unique_ptr<TxBackend> tx;
  std::unique_ptr<FlowSchedule> schedule;
  LoopParams params;
  std::vector<Interval> intervals;
  RunTotals totals;
  std::atomic<std::uint64_t> live{0};
};

// The device the route to --dst leaves from, best effort: a missing speed or
// an unresolvable device only skips the line-rate check.
std::optional<LinkInfo> route_link(const Config& cfg) {
  try {
    return resolve_link(cfg.dst.addr, cfg.dev);
  } catch (const std::exception&) {
    if (!cfg.dev.empty()) throw;
    return std::nullopt;
  }
}

Context make_context(const Config& cfg, BackendKind kind, const std::string& reason,
                     const std::vector<std::unique_ptr<Worker>>& workers,
                     const std::optional<LinkInfo>& link) {
  Context c;
  c.kernel = kernel_release();
  c.cpus = online_cpus();
  c.backend = backend_name(kind);
  c.backend_reason = reason;
  c.dst = cfg.dst.to_string();
  c.size = cfg.size;
  c.flows = cfg.flows;
  c.batch = cfg.batch;
  c.rate_requested = cfg.rate.to_string();
  if (!cfg.rate.is_max()) c.requested_pps = cfg.requested_pps();
  c.duration_limit_s = static_cast<double>(cfg.time_limit_ns) / 1e9;
  c.count_limit = cfg.count;
  c.threads = cfg.threads;
  for (const auto& w : workers)
    if (w->cpu) c.pinned_cpus.push_back(*w->cpu);
  c.shape = cfg.shape.to_string();
  c.imix = cfg.imix.to_string();
  c.qdisc_bypass = cfg.qdisc_bypass;
  c.zerocopy = cfg.zerocopy;
  if (auto* af = dynamic_cast<const AfPacketTx*>(workers.front()->tx.get())) {
    c.dev = af->link().dev;
    c.dst_mac = mac_to_string(af->dst_mac());
    c.dst_mac_source = af->mac_source();
  } else if (link) {
    c.dev = link->dev;
  }
  if (link) c.link_speed_mbps = link->speed_mbps;
  return c;
}

void pin(std::thread& t, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int err = ::pthread_setaffinity_np(t.native_handle(), sizeof set, &set); err != 0) {
    throw std::system_error(err, std::generic_category(), fmt::format("pin thread to CPU {}", cpu));
  }
}

// Per-second lines for a multi-thread run, from the threads' live counters.
void print_live(const std::vector<std::unique_ptr<Worker>>& workers, std::uint64_t start,
                std::uint64_t deadline, const std::atomic<int>& running) {
  std::uint64_t last = 0, tick = start + kSecNs, prev_ns = start;
  while (running.load() > 0) {
    sleep_until_mono(std::min(tick, deadline + kFlushNs));
    const std::uint64_t now = mono_ns();
    if (now < tick) continue;
    std::uint64_t sum = 0;
    for (const auto& w : workers)
      sum += w->live.load(std::memory_order_relaxed);
    const double len_s = static_cast<double>(now - prev_ns) / 1e9;
    fmt::print("[{:8.3f} s] sent {:>9}  {:>13}  ({} threads)\n",
               static_cast<double>(now - start) / 1e9, sum - last,
               format_pps(len_s > 0 ? static_cast<double>(sum - last) / len_s : 0), workers.size());
    std::fflush(stdout);
    last = sum;
    prev_ns = now;
    tick += kSecNs;
    if (now > deadline + kFlushNs) break;
  }
}

// Interval i of the run = the sum of every thread's interval i.
std::vector<Interval> merge_intervals(const std::vector<std::unique_ptr<Worker>>& workers) {
  std::vector<Interval> out;
  for (const auto& w : workers) {
    for (std::size_t i = 0; i < w->intervals.size(); ++i) {
      if (out.size() <= i) out.push_back(Interval{.t_s = w->intervals[i].t_s});
      Interval& o = out[i];
      o.t_s = std::max(o.t_s, w->intervals[i].t_s);
      o.sent += w->intervals[i].sent;
      o.pps += w->intervals[i].pps;
      for (const auto& [name, n] : w->intervals[i].errors)
        o.errors[name] += n;
    }
  }
  return out;
}

RunTotals merge_totals(const std::vector<std::unique_ptr<Worker>>& workers) {
  RunTotals t;
  t.stopped_by = workers.front()->totals.stopped_by;
  for (const auto& w : workers) {
    const RunTotals& x = w->totals;
    if (x.sent > 0) {
      if (t.sent == 0 || x.first_send_ns < t.first_send_ns) {
        t.first_send_ns = x.first_send_ns;
      }
      t.last_send_ns = std::max(t.last_send_ns, x.last_send_ns);
      t.first_batch_sent += x.first_batch_sent;
    }
    t.sent += x.sent;
    t.failed += x.failed;
    t.wire_bytes += x.wire_bytes;
    if (&w == &workers.front()) {
      t.pace = x.pace;
    } else {
      t.pace += x.pace;
    }
    for (const auto& [err, n] : x.errors)
      t.errors[err] += n;
    if (x.stopped_by == "signal") t.stopped_by = "signal";
  }
  return t;
}

} // namespace

int run(const Config& cfg) {
  install_stop_handlers();
  // The default 50 us timer slack would blur a 10 us packet spacing.
  if (::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0) {
    throw std::system_error(errno, std::generic_category(), "prctl(PR_SET_TIMERSLACK, 1)");
  }
  const std::optional<LinkInfo> link = route_link(cfg);
  if (link && link->speed_mbps) {
    check_rate_fits_link(cfg.requested_pps(), cfg.mean_size(), *link->speed_mbps, link->dev,
                         cfg.rate.to_string());
  }
  TxSetup base{.dst = cfg.dst,
               .flows = cfg.flows,
               .src_port = cfg.src_port,
               .wire_size = cfg.max_size(),
               .batch = cfg.batch,
               .flow_id_base = cfg.flow_id_base,
               .dst_range = cfg.dst_range,
               .src_range = cfg.src_range,
               .dev = cfg.dev,
               .dst_mac = cfg.dst_mac,
               .qdisc_bypass = cfg.qdisc_bypass,
               .zerocopy = cfg.zerocopy,
               .bad_udp_checksum = cfg.fault_udp_csum};
  if (cfg.fault_udp_csum && cfg.backend != BackendKind::AfPacket) {
    throw UsageError("--fault udp-csum: needs --backend af_packet (the kernel writes a socket's checksums)");
  }
  if (cfg.src_range && cfg.backend != BackendKind::AfPacket) {
    throw UsageError(fmt::format("--src-range {}: needs --backend af_packet (sockets send from "
                                 "their own address)",
                                 cfg.src_range->to_string()));
  }
  std::string reason;
  // Tells auto to prefer the socket backends; the plan below sets the count.
  base.gso = cfg.gso.automatic || cfg.gso.segments > 1 ? cfg.gso.segments : 1;
  const BackendKind kind = choose_backend(cfg.backend, base, reason);
  const GsoPlan gso =
      plan_gso(cfg.gso, kind, cfg.requested_pps() / cfg.threads, cfg.shape, cfg.max_size(),
               cfg.zerocopy, base.gso > 1 ? probe_udp_gso() : std::string());
  base.gso = gso.segments;

  // Thread i owns a contiguous block of flows and its share of rate and count.
  std::vector<std::unique_ptr<Worker>> workers;
  std::uint32_t next_flow = 0;
  std::uint64_t size_offset = 0;
  for (std::uint32_t i = 0; i < cfg.threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    if (!cfg.cpus.empty()) w->cpu = cfg.cpus[i % cfg.cpus.size()];
    const std::uint32_t share = cfg.flows / cfg.threads + (i < cfg.flows % cfg.threads ? 1 : 0);
    w->setup = base;
    w->setup.first_flow = next_flow;
    w->setup.flows = share;
    next_flow += share;
    w->tx = make_backend(kind, w->setup);
    // One ARP (or neighbour lookup) is enough for every thread.
    if (auto* af = dynamic_cast<AfPacketTx*>(w->tx.get()); af && !base.dst_mac) {
      base.dst_mac = af->dst_mac();
    }
    w->schedule = std::make_unique<FlowSchedule>(share, w->setup.first_flow);
    w->params.pps = cfg.requested_pps() / cfg.threads;
    if (cfg.count)
      w->params.count = *cfg.count / cfg.threads + (i < *cfg.count % cfg.threads ? 1 : 0);
    w->params.seed = cfg.shape.seed + i;
    w->params.size_offset = size_offset;
    size_offset += cfg.imix.empty() ? 0 : 7919; // threads start at different IMIX phases
    w->params.print_intervals = !cfg.quiet && cfg.threads == 1;
    w->params.live_sent = &w->live;
    w->params.gso = gso.segments;
    workers.push_back(std::move(w));
  }

  Report report;
  report.context = make_context(cfg, kind, reason, workers, link);
  report.context.gso_requested = cfg.gso.to_string();
  report.context.gso_segments = gso.segments;
  report.context.gso_reason = gso.reason;
  const std::uint64_t start = mono_ns() + kStartDelayNs;
  std::vector<MsCounter> per_ms(
      workers.size(), MsCounter(start, std::min<std::uint64_t>(
                                           kMaxSpreadMs, cfg.time_limit_ns / 1'000'000ULL + 1)));
  std::atomic<bool> abort{false};
  std::atomic<int> running{static_cast<int>(workers.size())};
  std::vector<std::thread> threads;
  std::exception_ptr setup_error;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    Worker& w = *workers[i];
    w.params.start_ns = start;
    w.params.abort = &abort;
    w.params.per_ms = &per_ms[i];
    threads.emplace_back([&cfg, &w, &running] {
      w.totals = send_loop(cfg, w.params, *w.tx, *w.schedule, w.intervals);
      w.tx->flush(mono_ns() + kFlushNs);
      running.fetch_sub(1);
    });
    try {
      if (w.cpu) pin(threads.back(), *w.cpu);
    } catch (...) {
      setup_error = std::current_exception();
      abort = true;
    }
  }
  if (!cfg.quiet && cfg.threads > 1) print_live(workers, start, start + cfg.time_limit_ns, running);
  for (auto& t : threads)
    t.join();
  if (setup_error) std::rethrow_exception(setup_error);

  const RunTotals totals = merge_totals(workers);
  report.intervals = merge_intervals(workers);
  report.summary = summarize(totals, cfg.requested_pps(), cfg.size);
  for (std::size_t i = 1; i < per_ms.size(); ++i)
    per_ms[0].merge(per_ms[i]);
  const std::uint64_t end_ms =
      totals.last_send_ns > start ? (totals.last_send_ns - start) / 1'000'000ULL : 0;
  report.summary.per_ms = spread_of(per_ms[0].buckets(), end_ms);
  report.flows.reserve(cfg.flows);
  for (const auto& w : workers) {
    const Summary ts = summarize(w->totals, w->params.pps, cfg.size);
    ThreadReport tr{.thread = w->index,
                    .cpu = w->cpu,
                    .first_flow = w->setup.first_flow,
                    .flows = w->setup.flows,
                    .sent = ts.sent,
                    .attempted = ts.attempted,
                    .send_errors_total = ts.send_errors_total,
                    .send_errors = ts.send_errors,
                    .achieved_pps = ts.achieved_pps,
                    .backend_stats = w->tx->stats()};
    for (const auto& [k, v] : tr.backend_stats)
      report.summary.backend_stats[k] += v;
    if (std::string note = w->tx->note(); !note.empty()) {
      if (!report.summary.backend_note.empty()) report.summary.backend_note += "; ";
      report.summary.backend_note += fmt::format("thread {}: {}", w->index, note);
    }
    report.threads.push_back(std::move(tr));
    for (std::uint32_t f = 0; f < w->setup.flows; ++f) {
      const std::uint32_t flow = w->setup.first_flow + f;
      report.flows.push_back(FlowReport{.flow = cfg.flow_id_base + flow,
                                        .src_port = w->tx->src_port(flow),
                                        .sent = w->schedule->next_seq(f),
                                        .next_seq = w->schedule->next_seq(f)});
    }
  }
  print_summary(stdout, report);
  if (!cfg.json_path.empty()) write_json_file(cfg.json_path, report);
  return kExitOk;
}

} // namespace droplab::gen

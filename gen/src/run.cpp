#include "gen/run.hpp"

#include "droplab/cli.hpp"
#include "droplab/clock.hpp"
#include "droplab/json_util.hpp"
#include "droplab/pacer.hpp"
#include "droplab/payload.hpp"
#include "droplab/signals.hpp"

#include <fmt/format.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace droplab::gen {
namespace {

constexpr std::uint64_t kSecNs = 1'000'000'000ULL;

// Counts of the current one-second interval; folded into the totals when it closes.
class IntervalMeter {
public:
  IntervalMeter(std::uint64_t start_ns, bool quiet)
      : start_(start_ns), begin_(start_ns), quiet_(quiet) {}

  ErrnoCounts &errors() { return errors_; }
  void add_sent(std::uint64_t n) { sent_ += n; }
  bool empty() const { return sent_ == 0 && errors_.empty(); }

  void close(std::uint64_t now_ns, RunTotals &totals, std::vector<Interval> &out) {
    const double len_s = static_cast<double>(now_ns - begin_) / 1e9;
    Interval i{.t_s = static_cast<double>(now_ns - start_) / 1e9,
               .sent = sent_,
               .pps = len_s > 0 ? static_cast<double>(sent_) / len_s : 0,
               .errors = name_errors(errors_)};
    for (const auto &[err, n] : errors_)
      totals.errors[err] += n;
    if (!quiet_) {
      fmt::print("{}\n", format_interval(i));
      std::fflush(stdout);
    }
    out.push_back(std::move(i));
    begin_ = now_ns;
    sent_ = 0;
    errors_.clear();
  }

private:
  std::uint64_t start_;
  std::uint64_t begin_;
  bool quiet_;
  std::uint64_t sent_ = 0;
  ErrnoCounts errors_;
};

Context make_context(const Config &cfg, const BackendChoice &choice) {
  Context c;
  c.kernel = kernel_release();
  c.cpus = online_cpus();
  c.backend = std::string(choice.backend->name());
  c.backend_reason = choice.reason;
  c.dst = cfg.dst.to_string();
  c.size = cfg.size;
  c.flows = cfg.flows;
  c.batch = cfg.batch;
  c.rate_requested = cfg.rate.to_string();
  if (!cfg.rate.is_max()) c.requested_pps = cfg.requested_pps();
  c.duration_limit_s = static_cast<double>(cfg.time_limit_ns) / 1e9;
  c.count_limit = cfg.count;
  return c;
}

} // namespace

RunTotals send_loop(const Config &cfg, TxBackend &tx, FlowSchedule &schedule,
                    std::vector<Interval> &intervals) {
  const auto payload = static_cast<std::uint32_t>(udp_payload_for_wire(cfg.size));
  std::vector<TxMessage> msgs(cfg.batch);
  std::vector<int> outcome(cfg.batch);
  RunTotals t;

  const std::uint64_t start = mono_ns();
  const std::uint64_t deadline = start + cfg.time_limit_ns;
  Pacer pacer(cfg.requested_pps(), start);
  IntervalMeter meter(start, cfg.quiet);
  std::uint64_t next_tick = start + kSecNs;
  std::uint64_t now = start;

  for (;;) {
    now = mono_ns();
    if (now >= next_tick) {
      meter.close(now, t, intervals);
      while (next_tick <= now)
        next_tick += kSecNs;
    }
    if (stop_requested()) {
      t.stopped_by = "signal";
      break;
    }
    if (cfg.count && t.sent >= *cfg.count) {
      t.stopped_by = "count";
      break;
    }
    if (now >= deadline) {
      t.stopped_by = "duration";
      break;
    }
    const std::uint64_t due = pacer.due(now);
    if (due == 0) {
      // TIMER_ABSTIME against the schedule, so oversleeping once does not
      // shift every later packet; EINTR (a stop signal) just loops.
      sleep_until_mono(std::min({pacer.next_due_ns(), next_tick, deadline}));
      continue;
    }
    // At most one batch per wake-up: a late wake-up catches up batch by batch
    // instead of sending a backlog in one burst.
    std::uint64_t n = std::min<std::uint64_t>(due, cfg.batch);
    if (cfg.count) n = std::min(n, *cfg.count - t.sent);
    auto batch = schedule.plan(n, payload, msgs);
    auto out = std::span<int>(outcome).first(batch.size());
    tx.send(batch, real_ns(), out);
    const BatchTally bt = tally(out, meter.errors());
    schedule.commit(bt.accepted);
    // The whole batch's slots are used up even if the kernel refused some:
    // an ENOBUFS storm must not turn into a catch-up burst afterwards.
    pacer.consume(batch.size());
    if (bt.accepted > 0) {
      if (t.sent == 0) {
        t.first_send_ns = now;
        t.first_batch_sent = bt.accepted;
      }
      t.last_send_ns = now;
    }
    t.sent += bt.accepted;
    t.failed += bt.failed;
    meter.add_sent(bt.accepted);
  }
  if (!meter.empty()) meter.close(now, t, intervals);
  return t;
}

int run(const Config &cfg) {
  install_stop_handlers();
  // The default 50 us timer slack would blur a 10 us packet spacing.
  if (::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0) {
    throw std::system_error(errno, std::generic_category(), "prctl(PR_SET_TIMERSLACK, 1)");
  }
  const TxSetup setup{.dst = cfg.dst,
                      .flows = cfg.flows,
                      .src_port = cfg.src_port,
                      .wire_size = cfg.size,
                      .batch = cfg.batch};
  BackendChoice choice = open_backend(cfg.backend, setup);

  Report report;
  report.context = make_context(cfg, choice);
  FlowSchedule schedule(cfg.flows);
  RunTotals totals = send_loop(cfg, *choice.backend, schedule, report.intervals);

  report.summary = summarize(totals, cfg.requested_pps(), cfg.size);
  report.flows.reserve(cfg.flows);
  for (std::uint32_t f = 0; f < cfg.flows; ++f) {
    report.flows.push_back(FlowReport{.flow = f,
                                      .src_port = choice.backend->src_port(f),
                                      .sent = schedule.next_seq(f),
                                      .next_seq = schedule.next_seq(f)});
  }
  print_summary(stdout, report);
  if (!cfg.json_path.empty()) write_json_file(cfg.json_path, report);
  return kExitOk;
}

} // namespace droplab::gen

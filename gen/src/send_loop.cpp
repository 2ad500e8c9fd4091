#include "droplab/clock.hpp"
#include "droplab/payload.hpp"
#include "droplab/signals.hpp"
#include "gen/pace.hpp"
#include "gen/run.hpp"
#include "gen/shape.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace droplab::gen {
namespace {

constexpr std::uint64_t kSecNs = 1'000'000'000ULL;

// Counts of the current one-second interval; folded into the totals when it closes.
class IntervalMeter {
public:
  IntervalMeter(std::uint64_t start_ns, bool print)
      : start_(start_ns), begin_(start_ns), print_(print) {}

  ErrnoCounts& errors() { return errors_; }
  void add_sent(std::uint64_t n) { sent_ += n; }
  bool empty() const { return sent_ == 0 && errors_.empty(); }

  void close(std::uint64_t now_ns, RunTotals& totals, std::vector<Interval>& out) {
    const double len_s = static_cast<double>(now_ns - begin_) / 1e9;
    Interval i{.t_s = static_cast<double>(now_ns - start_) / 1e9,
               .sent = sent_,
               .pps = len_s > 0 ? static_cast<double>(sent_) / len_s : 0,
               .errors = name_errors(errors_)};
    for (const auto& [err, n] : errors_)
      totals.errors[err] += n;
    if (print_) {
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
  bool print_;
  std::uint64_t sent_ = 0;
  ErrnoCounts errors_;
};

} // namespace

RunTotals send_loop(const Config& cfg, const LoopParams& p, TxBackend& tx, FlowSchedule& schedule,
                    std::vector<Interval>& intervals) {
  const auto fixed_payload = static_cast<std::uint32_t>(udp_payload_for_wire(cfg.size));
  // With GSO a call carries batch buffers of up to gso datagrams each.
  const std::uint64_t per_call = static_cast<std::uint64_t>(cfg.batch) * std::max(1u, p.gso);
  std::vector<TxMessage> msgs(per_call);
  std::vector<int> outcome(per_call);
  RunTotals t;

  const std::uint64_t start = p.start_ns;
  const std::uint64_t deadline = start + cfg.time_limit_ns;
  ShapeSpec shape = cfg.shape;
  shape.seed = p.seed;
  ShapePacer pacer(shape, p.pps, start);
  IntervalMeter meter(start, p.print_intervals);
  std::uint64_t next_tick = start + kSecNs;
  std::uint64_t now = start;
  sleep_until_mono(start); // threads start together
  PaceMeter pace;
  pace.start(mono_ns());

  for (;;) {
    now = mono_ns();
    if (now >= next_tick) {
      meter.close(now, t, intervals);
      while (next_tick <= now)
        next_tick += kSecNs;
    }
    if (stop_requested() || (p.abort != nullptr && p.abort->load(std::memory_order_relaxed))) {
      t.stopped_by = "signal";
      break;
    }
    if (p.count && t.sent >= *p.count) {
      t.stopped_by = "count";
      break;
    }
    if (now >= deadline) {
      t.stopped_by = "duration";
      break;
    }
    // At most one batch per wake-up: a late wake-up catches up batch by batch
    // instead of sending a backlog in one burst.
    std::uint64_t n = pacer.due(now, per_call);
    if (n == 0) {
      // TIMER_ABSTIME against the schedule, so oversleeping once does not
      // shift every later packet; EINTR (a stop signal) just loops. No
      // spinning: a spinning SCHED_FIFO thread (chrt -f, the way to smooth
      // traffic on a busy machine) would be throttled by sched_rt_runtime_us.
      sleep_until_mono(std::min({pacer.next_due_ns(), next_tick, deadline}));
      continue;
    }
    if (p.count) n = std::min(n, *p.count - t.sent);
    auto batch = schedule.plan(n, fixed_payload, msgs);
    if (!cfg.imix.empty()) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i].payload_bytes = static_cast<std::uint32_t>(
            udp_payload_for_wire(cfg.imix.at(p.size_offset + t.sent + i)));
      }
    }
    auto out = std::span<int>(outcome).first(batch.size());
    const std::uint64_t before = mono_ns();
    tx.send(batch, real_ns(), out);
    const BatchTally bt = tally(out, meter.errors());
    pace.sent(before, mono_ns(), bt.accepted,
              bt.accepted < out.size() && out[bt.accepted] == EAGAIN);
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
      for (std::size_t i = 0; i < bt.accepted; ++i)
        t.wire_bytes += batch[i].payload_bytes + kWireOverheadBytes;
      if (p.per_ms != nullptr) p.per_ms->add(now, bt.accepted);
      if (p.live_sent != nullptr) p.live_sent->fetch_add(bt.accepted, std::memory_order_relaxed);
    }
    t.sent += bt.accepted;
    t.failed += bt.failed;
    meter.add_sent(bt.accepted);
  }
  if (!meter.empty()) meter.close(now, t, intervals);
  t.pace = pace.finish(mono_ns());
  return t;
}

RunTotals send_loop(const Config& cfg, TxBackend& tx, FlowSchedule& schedule,
                    std::vector<Interval>& intervals) {
  LoopParams p{.pps = cfg.requested_pps(),
               .count = cfg.count,
               .start_ns = mono_ns(),
               .seed = cfg.shape.seed,
               .print_intervals = !cfg.quiet};
  return send_loop(cfg, p, tx, schedule, intervals);
}

} // namespace droplab::gen

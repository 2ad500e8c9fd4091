#include "droplab/sink/report.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <map>
#include <utility>

namespace droplab::sink {
namespace {

// nlohmann 3.11 has no std::optional support: nullopt becomes JSON null,
// never an omitted key.
template <typename T> nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

template <typename T> std::string opt_str(const std::optional<T>& v, std::string_view none) {
  return v ? fmt::format("{}", *v) : std::string(none);
}

} // namespace

void to_json(nlohmann::json& j, const StallContext& s) {
  j = {{"dur_s", s.dur_s}, {"every_s", s.every_s}};
}

void to_json(nlohmann::json& j, const ReaderContext& r) {
  j = {{"index", r.index},
       {"socket_inode", r.socket_inode},
       {"rcvbuf_granted", r.rcvbuf_granted},
       {"cpu", opt(r.cpu)}};
}

void to_json(nlohmann::json& j, const ReaderRow& r) {
  j = {{"index", r.index},
       {"socket_inode", r.socket_inode},
       {"received", r.received},
       {"lost", r.lost},
       {"socket_drops_rxq_ovfl", opt(r.socket_drops_rxq_ovfl)},
       {"socket_drops_meminfo", opt(r.socket_drops_meminfo)},
       {"drained_at_stop", r.drained_at_stop}};
}

void to_json(nlohmann::json& j, const LatencySummary& l) {
  j = {{"count", l.count},     {"p50", opt(l.p50)}, {"p90", opt(l.p90)},  {"p99", opt(l.p99)},
       {"p99_9", opt(l.p999)}, {"max", opt(l.max)}, {"mean", opt(l.mean)}};
}

void to_json(nlohmann::json& j, const Context& c) {
  j = {{"kernel", c.kernel},
       {"cpus", c.cpus},
       {"backend", c.backend},
       {"backend_reason", c.backend_reason},
       {"listen", c.listen},
       {"rcvbuf_requested", opt(c.rcvbuf_requested)},
       {"rcvbuf_granted", c.rcvbuf_granted},
       {"rmem_max", opt(c.rmem_max)},
       {"read_rate_pps", opt(c.read_rate_pps)},
       {"stall", opt(c.stall)},
       {"batch", c.batch},
       {"socket_inode", c.socket_inode},
       {"pid", c.pid},
       {"rcvbuf_force", c.rcvbuf_force},
       {"work_ns", c.work_ns},
       {"hang_after_s", opt(c.hang_after_s)},
       {"threads", c.threads},
       {"pin_cpus", c.pin_cpus},
       {"socket_inodes", c.socket_inodes},
       {"readers", c.readers},
       {"backend_ring_buffers", opt(c.backend_ring_buffers)},
       {"kernel_timestamps", c.kernel_timestamps},
       {"gro", c.gro}};
}

void to_json(nlohmann::json& j, const Interval& i) {
  j = {{"t_s", i.t_s},
       {"received", i.received},
       {"pps", i.pps},
       {"lost", i.lost},
       {"socket_drops", opt(i.socket_drops)},
       {"received_total", i.received_total},
       {"lost_total", i.lost_total},
       {"socket_drops_total", opt(i.socket_drops_total)},
       {"stalled", i.stalled}};
}

void to_json(nlohmann::json& j, const Summary& s) {
  j = {{"received", s.received},
       {"valid", s.valid},
       {"invalid", s.invalid},
       {"lost", s.lost},
       {"duplicates", s.duplicates},
       {"reordered", s.reordered},
       {"stale", s.stale},
       {"bytes", s.bytes},
       {"socket_drops_rxq_ovfl", opt(s.socket_drops_rxq_ovfl)},
       {"socket_drops_meminfo", opt(s.socket_drops_meminfo)},
       {"duration_s", s.duration_s},
       {"stopped_by", s.stopped_by},
       {"drained_at_stop", s.drained_at_stop},
       {"drain_complete", s.drain_complete},
       {"latency_ns", s.latency_ns},
       {"queue_ns", s.queue_ns},
       {"latency_no_send_time", s.latency_no_send_time},
       {"clock_behind", s.clock_behind},
       {"hung", s.hung},
       {"hung_at_s", opt(s.hung_at_s)},
       {"readers", s.readers},
       {"gro_buffers", s.gro_buffers},
       {"gro_datagrams", s.gro_datagrams}};
}

void to_json(nlohmann::json& j, const FlowRow& f) {
  j = {{"flow", f.flow},
       {"received", f.received},
       {"lost", f.lost},
       {"duplicates", f.duplicates},
       {"reordered", f.reordered},
       {"stale", f.stale},
       {"highest_seq", opt(f.highest_seq)}};
}

void to_json(nlohmann::json& j, const Report& r) {
  j = {{"schema_version", kSchemaVersion}, {"tool", "droplab-sink"}, {"context", r.context},
       {"intervals", r.intervals},         {"summary", r.summary},   {"flows", r.flows}};
}

void fill_counts(const Accounting& acc, Summary& s, std::vector<FlowRow>& flows) {
  Totals t = acc.totals();
  s.received = t.received;
  s.valid = t.valid;
  s.invalid = t.invalid;
  s.bytes = t.bytes;
  s.lost = t.lost;
  s.duplicates = t.duplicates;
  s.reordered = t.reordered;
  s.stale = t.stale;
  flows.clear();
  for (const auto& [id, tracker] : acc.flows()) {
    const FlowCounts& c = tracker.counts();
    flows.push_back({.flow = id,
                     .received = c.received,
                     .lost = c.lost,
                     .duplicates = c.duplicates,
                     .reordered = c.reordered,
                     .stale = c.stale,
                     .highest_seq = c.highest_seq});
  }
}

void fill_counts(const std::vector<const Accounting*>& accs, Summary& s,
                 std::vector<FlowRow>& flows) {
  std::map<std::uint16_t, FlowRow> merged;
  s.received = s.valid = s.invalid = s.bytes = s.duplicates = s.reordered = s.stale = 0;
  s.lost = 0;
  for (const Accounting* acc : accs) {
    Summary one;
    std::vector<FlowRow> rows;
    fill_counts(*acc, one, rows);
    s.received += one.received;
    s.valid += one.valid;
    s.invalid += one.invalid;
    s.bytes += one.bytes;
    s.lost += one.lost;
    s.duplicates += one.duplicates;
    s.reordered += one.reordered;
    s.stale += one.stale;
    for (const FlowRow& r : rows) {
      auto [it, fresh] = merged.try_emplace(r.flow, r);
      if (fresh) continue;
      FlowRow& m = it->second;
      m.received += r.received;
      m.lost += r.lost;
      m.duplicates += r.duplicates;
      m.reordered += r.reordered;
      m.stale += r.stale;
      if (r.highest_seq && (!m.highest_seq || *r.highest_seq > *m.highest_seq))
        m.highest_seq = r.highest_seq;
    }
  }
  flows.clear();
  for (auto& [id, row] : merged)
    flows.push_back(row);
}

void print_event(std::FILE* out, std::string_view event, const nlohmann::json& body) {
  nlohmann::json j = {{"event", event}};
  for (auto it = body.begin(); it != body.end(); ++it)
    j[it.key()] = it.value();
  fmt::print(out, "{}\n", j.dump());
  std::fflush(out);
}

void print_interval(std::FILE* out, const Interval& i) {
  fmt::print(out, "[{:8.3f} s] received {:>9} {:>13}  lost {:>7}  socket drops {:>7}{}\n", i.t_s,
             i.received, format_pps(i.pps), i.lost, opt_str(i.socket_drops, "n/a"),
             i.stalled ? "  (stalled)" : "");
  std::fflush(out);
}

void print_summary(std::FILE* out, const Report& r) {
  const Summary& s = r.summary;
  const Context& c = r.context;
  fmt::print(out, "droplab-sink summary: {} on {} ({} backend), stopped by {}\n",
             format_duration(static_cast<std::uint64_t>(s.duration_s * 1e9)), c.listen, c.backend,
             s.stopped_by);
  fmt::print(out, "  received {} datagrams ({} valid, {} invalid), {}\n", s.received, s.valid,
             s.invalid, format_bytes(s.bytes));
  fmt::print(out, "  lost {}  duplicates {}  reordered {}  stale {}\n", s.lost, s.duplicates,
             s.reordered, s.stale);
  fmt::print(out, "  socket drops: SO_MEMINFO {} (now), SO_RXQ_OVFL {} (as of the last read)\n",
             opt_str(s.socket_drops_meminfo, "unavailable"),
             opt_str(s.socket_drops_rxq_ovfl, "never reported"));
  fmt::print(out, "  drained at stop: {} datagrams{}\n", s.drained_at_stop,
             s.drain_complete ? "" : " (drain stopped at its time bound; data still arriving)");
  auto ns = [](const std::optional<std::uint64_t>& v) {
    return v ? format_duration(*v) : std::string("n/a");
  };
  for (auto [label, l] :
       {std::pair{"one-way latency", &s.latency_ns}, std::pair{"queued in socket", &s.queue_ns}}) {
    fmt::print(out, "  {}: {} samples  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n", label, l->count,
               ns(l->p50), ns(l->p90), ns(l->p99), ns(l->p999), ns(l->max));
  }
  if (c.gro) {
    fmt::print(out, "  udp gro: {} coalesced reads carried {} of the datagrams\n", s.gro_buffers,
               s.gro_datagrams);
  }
  if (s.hung)
    fmt::print(out, "  hung at {:.3f} s (--hang-after): nothing read after that\n",
               s.hung_at_s.value_or(0));
  if (s.readers.size() > 1) {
    for (const ReaderRow& rr : s.readers) {
      fmt::print(out, "  reader {} (socket {}): received {}  lost {}  socket drops {}\n", rr.index,
                 rr.socket_inode, rr.received, rr.lost,
                 opt_str(rr.socket_drops_meminfo, "unavailable"));
    }
  }
  for (const FlowRow& f : r.flows) {
    fmt::print(out,
               "  flow {:>5}: received {}  lost {}  duplicates {}  reordered {}  stale {}  "
               "highest_seq {}\n",
               f.flow, f.received, f.lost, f.duplicates, f.reordered, f.stale,
               opt_str(f.highest_seq, "none"));
  }
  std::fflush(out);
}

} // namespace droplab::sink

#include "gen/report.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <cstring>

namespace droplab::gen {
namespace {

// nlohmann 3.11.2 (Debian 12) has no std::optional support: null <-> nullopt.
template <typename T> nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
template <typename T> void get_opt(const nlohmann::json& j, const char* key, std::optional<T>& v) {
  const auto& x = j.at(key);
  v = x.is_null() ? std::nullopt : std::optional<T>(x.get<T>());
}

std::string format_errors(const ErrorCounts& e) {
  std::string out;
  for (const auto& [name, n] : e) {
    if (n > 0) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
  }
  return out.empty() ? "none" : out;
}

} // namespace

void to_json(nlohmann::json& j, const Context& c) {
  j = {{"kernel", c.kernel},
       {"cpus", c.cpus},
       {"backend", c.backend},
       {"backend_reason", c.backend_reason},
       {"dst", c.dst},
       {"size", c.size},
       {"flows", c.flows},
       {"batch", c.batch},
       {"rate_requested", c.rate_requested},
       {"requested_pps", opt(c.requested_pps)},
       {"duration_limit_s", c.duration_limit_s},
       {"count_limit", opt(c.count_limit)},
       {"threads", c.threads},
       {"pinned_cpus", c.pinned_cpus},
       {"shape", c.shape},
       {"imix", c.imix},
       {"qdisc_bypass", c.qdisc_bypass},
       {"zerocopy", c.zerocopy},
       {"dev", c.dev},
       {"dst_mac", c.dst_mac},
       {"dst_mac_source", c.dst_mac_source},
       {"link_speed_mbps", opt(c.link_speed_mbps)},
       {"gso_requested", c.gso_requested},
       {"gso_segments", c.gso_segments},
       {"gso_reason", c.gso_reason}};
}

void from_json(const nlohmann::json& j, Context& c) {
  j.at("kernel").get_to(c.kernel);
  j.at("cpus").get_to(c.cpus);
  j.at("backend").get_to(c.backend);
  j.at("backend_reason").get_to(c.backend_reason);
  j.at("dst").get_to(c.dst);
  j.at("size").get_to(c.size);
  j.at("flows").get_to(c.flows);
  j.at("batch").get_to(c.batch);
  j.at("rate_requested").get_to(c.rate_requested);
  get_opt(j, "requested_pps", c.requested_pps);
  j.at("duration_limit_s").get_to(c.duration_limit_s);
  get_opt(j, "count_limit", c.count_limit);
  // Reports written before threads and shapes existed lack these.
  if (!j.contains("threads")) return;
  j.at("threads").get_to(c.threads);
  j.at("pinned_cpus").get_to(c.pinned_cpus);
  j.at("shape").get_to(c.shape);
  j.at("imix").get_to(c.imix);
  j.at("qdisc_bypass").get_to(c.qdisc_bypass);
  j.at("zerocopy").get_to(c.zerocopy);
  j.at("dev").get_to(c.dev);
  j.at("dst_mac").get_to(c.dst_mac);
  j.at("dst_mac_source").get_to(c.dst_mac_source);
  get_opt(j, "link_speed_mbps", c.link_speed_mbps);
  if (!j.contains("gso_segments")) return; // written before UDP GSO
  j.at("gso_requested").get_to(c.gso_requested);
  j.at("gso_segments").get_to(c.gso_segments);
  j.at("gso_reason").get_to(c.gso_reason);
}

void to_json(nlohmann::json& j, const ThreadReport& t) {
  j = {{"thread", t.thread},
       {"cpu", opt(t.cpu)},
       {"first_flow", t.first_flow},
       {"flows", t.flows},
       {"sent", t.sent},
       {"attempted", t.attempted},
       {"send_errors_total", t.send_errors_total},
       {"send_errors", t.send_errors},
       {"achieved_pps", t.achieved_pps},
       {"backend_stats", t.backend_stats}};
}

void from_json(const nlohmann::json& j, ThreadReport& t) {
  j.at("thread").get_to(t.thread);
  get_opt(j, "cpu", t.cpu);
  j.at("first_flow").get_to(t.first_flow);
  j.at("flows").get_to(t.flows);
  j.at("sent").get_to(t.sent);
  j.at("attempted").get_to(t.attempted);
  j.at("send_errors_total").get_to(t.send_errors_total);
  j.at("send_errors").get_to(t.send_errors);
  j.at("achieved_pps").get_to(t.achieved_pps);
  j.at("backend_stats").get_to(t.backend_stats);
}

void to_json(nlohmann::json& j, const Pace& p) {
  j = {{"loop_s", p.loop_s},
       {"cpu_s", p.cpu_s},
       {"in_send_s", p.in_send_s},
       {"send_blocked_s", p.send_blocked_s},
       {"cpu_wait_s", opt(p.cpu_wait_s)}};
}

void from_json(const nlohmann::json& j, Pace& p) {
  j.at("loop_s").get_to(p.loop_s);
  j.at("cpu_s").get_to(p.cpu_s);
  j.at("in_send_s").get_to(p.in_send_s);
  j.at("send_blocked_s").get_to(p.send_blocked_s);
  get_opt(j, "cpu_wait_s", p.cpu_wait_s);
}

void to_json(nlohmann::json& j, const Summary& s) {
  j = {{"sent", s.sent},
       {"attempted", s.attempted},
       {"send_errors", s.send_errors},
       {"send_errors_total", s.send_errors_total},
       {"duration_s", s.duration_s},
       {"achieved_pps", s.achieved_pps},
       {"requested_pps", opt(s.requested_pps)},
       {"rate_error", opt(s.rate_error)},
       {"wire_bytes", s.wire_bytes},
       {"stopped_by", s.stopped_by},
       {"per_ms", s.per_ms},
       {"backend_stats", s.backend_stats},
       {"pace", s.pace},
       {"backend_note", s.backend_note}};
}

void from_json(const nlohmann::json& j, Summary& s) {
  j.at("sent").get_to(s.sent);
  j.at("attempted").get_to(s.attempted);
  j.at("send_errors").get_to(s.send_errors);
  j.at("send_errors_total").get_to(s.send_errors_total);
  j.at("duration_s").get_to(s.duration_s);
  j.at("achieved_pps").get_to(s.achieved_pps);
  get_opt(j, "requested_pps", s.requested_pps);
  get_opt(j, "rate_error", s.rate_error);
  j.at("wire_bytes").get_to(s.wire_bytes);
  j.at("stopped_by").get_to(s.stopped_by);
  if (j.contains("per_ms")) j.at("per_ms").get_to(s.per_ms);
  if (j.contains("backend_stats")) j.at("backend_stats").get_to(s.backend_stats);
  if (j.contains("pace")) j.at("pace").get_to(s.pace); // reports before pace lack it
  if (j.contains("backend_note")) j.at("backend_note").get_to(s.backend_note);
}

void to_json(nlohmann::json& j, const Report& r) {
  j = {{"schema_version", r.schema_version},
       {"tool", r.tool},
       {"context", r.context},
       {"intervals", r.intervals},
       {"summary", r.summary},
       {"flows", r.flows},
       {"threads", r.threads}};
}

void from_json(const nlohmann::json& j, Report& r) {
  j.at("schema_version").get_to(r.schema_version);
  j.at("tool").get_to(r.tool);
  j.at("context").get_to(r.context);
  j.at("intervals").get_to(r.intervals);
  j.at("summary").get_to(r.summary);
  j.at("flows").get_to(r.flows);
  if (j.contains("threads")) j.at("threads").get_to(r.threads);
}

std::string errno_name(int err) {
  const char* name = ::strerrorname_np(err); // glibc >= 2.32
  return name != nullptr ? name : fmt::format("errno {}", err);
}

ErrorCounts name_errors(const ErrnoCounts& by_errno) {
  // The errors a healthy path can still produce are always present, as 0 when
  // none happened, so readers need not tell "absent" from "zero".
  ErrorCounts out{{"EAGAIN", 0}, {"ENOBUFS", 0}};
  for (const auto& [err, n] : by_errno)
    out[errno_name(err)] += n;
  return out;
}

Summary summarize(const RunTotals& t, double requested_pps, std::size_t wire_size) {
  Summary s;
  s.sent = t.sent;
  s.attempted = t.sent + t.failed;
  s.send_errors = name_errors(t.errors);
  s.send_errors_total = t.failed;
  const std::uint64_t span_ns = t.last_send_ns - t.first_send_ns;
  s.duration_s = static_cast<double>(span_ns) / 1e9;
  if (span_ns > 0) {
    s.achieved_pps = static_cast<double>(t.sent - t.first_batch_sent) / s.duration_s;
  }
  if (requested_pps > 0) {
    s.requested_pps = requested_pps;
    s.rate_error = (s.achieved_pps - requested_pps) / requested_pps;
  }
  s.wire_bytes = t.wire_bytes > 0 ? t.wire_bytes : t.sent * wire_size;
  s.stopped_by = t.stopped_by;
  const auto secs = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e9; };
  s.pace = Pace{.loop_s = secs(t.pace.loop_ns),
                .cpu_s = secs(t.pace.cpu_ns),
                .in_send_s = secs(t.pace.in_send_ns),
                .send_blocked_s = secs(t.pace.send_blocked_ns),
                .cpu_wait_s =
                    t.pace.cpu_wait_ns ? std::optional(secs(*t.pace.cpu_wait_ns)) : std::nullopt};
  return s;
}

std::string format_interval(const Interval& i) {
  return fmt::format("[{:8.3f} s] sent {:>9}  {:>13}  errors: {}", i.t_s, i.sent, format_pps(i.pps),
                     format_errors(i.errors));
}

void print_summary(std::FILE* out, const Report& r) {
  const Summary& s = r.summary;
  const Context& c = r.context;
  fmt::print(
      out, "droplab-gen: {} -> {}, {} frames, {} flow(s), batch {}, {} thread(s), shape {}\n",
      c.rate_requested, c.dst, c.imix.empty() ? fmt::format("{} B", c.size) : "IMIX " + c.imix,
      c.flows, c.batch, c.threads, c.shape);
  fmt::print(out, "  backend    {} ({})\n", c.backend, c.backend_reason);
  if (c.gso_requested != "1")
    fmt::print(out, "  gso        --gso {}: {}\n", c.gso_requested, c.gso_reason);
  fmt::print(out, "  sent       {} datagrams ({} attempted), {} on the wire\n", s.sent, s.attempted,
             format_bytes(s.wire_bytes));
  fmt::print(out, "  errors     {} ({})\n", s.send_errors_total, format_errors(s.send_errors));
  fmt::print(out, "  duration   {:.6f} s (first to last send), stopped by {}\n", s.duration_s,
             s.stopped_by);
  if (s.requested_pps) {
    fmt::print(out, "  rate       {} achieved ({:.1f} pps), {} requested, error {:+.3f}%\n",
               format_pps(s.achieved_pps), s.achieved_pps, format_pps(*s.requested_pps),
               *s.rate_error * 100);
  } else {
    fmt::print(out, "  rate       {} achieved ({:.1f} pps), unpaced (--rate max)\n",
               format_pps(s.achieved_pps), s.achieved_pps);
  }
  const Pace& p = s.pace;
  fmt::print(out,
             "  pace       loop {:.3f} s: CPU {:.3f} s, in send calls {:.3f} s, "
             "send buffer full {:.3f} s, waiting for a CPU {}\n",
             p.loop_s, p.cpu_s, p.in_send_s, p.send_blocked_s,
             p.cpu_wait_s ? fmt::format("{:.3f} s", *p.cpu_wait_s) : "unavailable");
  fmt::print(out, "  per ms     mean {:.2f}, stddev {:.2f}, CV {:.4f}, min {}, max {} over {} ms\n",
             s.per_ms.mean, s.per_ms.stddev, s.per_ms.cv, s.per_ms.min, s.per_ms.max, s.per_ms.ms);
  if (auto n = s.backend_stats.find("zc_notifications"); n != s.backend_stats.end()) {
    const std::uint64_t copied = s.backend_stats.at("zc_copied");
    // Linux >= 6.2 flags each notification whose data was copied after all.
    fmt::print(
        out, "  zerocopy   {} of {} sends were copied by the kernel: {}\n", copied, n->second,
        n->second == 0 ? "nothing sent"
        : copied == n->second
            ? "zero-copy did not pay on this path (a copy anyway, plus a notification per send)"
        : copied == 0 ? "zero-copy held for every send"
                      : "zero-copy held for some sends");
  }
  if (auto b = s.backend_stats.find("gso_buffers"); b != s.backend_stats.end()) {
    const std::uint64_t d = s.backend_stats.at("gso_datagrams");
    fmt::print(out, "  gso        {} buffers carried {} datagrams ({:.1f} per buffer)\n", b->second,
               d, b->second > 0 ? static_cast<double>(d) / static_cast<double>(b->second) : 0.0);
  }
  if (!s.backend_note.empty()) fmt::print(out, "  note       {}\n", s.backend_note);
  for (const auto& t : r.threads) {
    std::string stats;
    for (const auto& [k, v] : t.backend_stats)
      stats += fmt::format(" {}={}", k, v);
    fmt::print(out, "  thread {:<3} cpu {:>3}  flows {}..{}  sent {}  {}  errors {}{}\n", t.thread,
               t.cpu ? std::to_string(*t.cpu) : "-", t.first_flow, t.first_flow + t.flows - 1,
               t.sent, format_pps(t.achieved_pps), t.send_errors_total, stats);
  }
  std::fflush(out);
}

} // namespace droplab::gen

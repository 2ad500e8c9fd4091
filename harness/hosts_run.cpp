#include "hosts_run.hpp"

#include "children.hpp"
#include "hints.hpp"
#include "report.hpp"
#include "waterfall.hpp"

#include "client.hpp"
#include "clock_offset.hpp"

#include "droplab/clock.hpp"
#include "droplab/json_util.hpp"
#include "droplab/signals.hpp"
#include "droplab/units.hpp"
#include "droplab/counters/snapshot_json.hpp"

#include <sys/utsname.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

using nlohmann::json;
using namespace std::chrono_literals;

namespace droplab::harness {
namespace {

struct Host {
  std::string role;  // "rx", "tx0", "tx1", …
  HostSpec spec;
  agent::AgentClient client;
  agent::ClockOffset clock; // over the run: the two estimates combined
  agent::ClockOffset clock_start, clock_end;
  std::uint64_t last_ns = 0; // when we last heard from it

  json call(const std::string& op, const json& args = json::object(), std::chrono::milliseconds timeout = 10s) {
    json r = client.call(op, args, timeout);
    last_ns = mono_ns();
    return r;
  }
};

// An agent that hears nothing for its idle timeout stops and restores, as
// it should when its controller died: while one host is busy, the others
// are pinged every second.
void keepalive(std::vector<Host>& hosts) {
  for (auto& h : hosts) {
    if (mono_ns() - h.last_ns < 1'000'000'000ULL) continue;
    h.client.ping();
    h.last_ns = mono_ns();
  }
}

// An agent's restore after bye stops the generator and the sink (3 s each
// at most) and undoes its journal: wait for it rather than kill it halfway.
agent::ClientOptions client_options() {
  agent::ClientOptions o;
  o.close_timeout = 15s;
  return o;
}

// Starts or dials the agent a host names.
agent::AgentClient connect(const std::string& url, const RunOptions& opt) {
  if (url == "local") {
    // The same code path as a remote host: our own binary as an agent on
    // this host, over a pipe.
    return agent::AgentClient::connect_exec({std::filesystem::read_symlink("/proc/self/exe").string(), "agent", "--stdio"},
                                            client_options());
  }
  std::smatch m;
  static const std::regex ssh(R"(^ssh://(([A-Za-z0-9][A-Za-z0-9._-]*@)?[A-Za-z0-9][A-Za-z0-9._-]*)(:([0-9]{1,5}))?(/[A-Za-z0-9._/-]+)?$)");
  if (std::regex_match(url, m, ssh)) {
    // OpenSSH does the authentication and the encryption, with the keys the
    // user already has for the host; BatchMode: never a password prompt.
    std::vector<std::string> argv{"ssh", "-T", "-o", "BatchMode=yes"};
    if (!opt.ssh_config.empty()) argv.insert(argv.end(), {"-F", opt.ssh_config});
    if (m[4].matched) argv.insert(argv.end(), {"-p", m[4].str()});
    // "--": the destination can never be read as an option.
    argv.insert(argv.end(), {"--", m[1].str()});
    argv.insert(argv.end(), {m[5].matched ? m[5].str() : "droplab", "agent", "--stdio"});
    return agent::AgentClient::connect_exec(argv, client_options());
  }
  static const std::regex tls(R"(^tls://([A-Za-z0-9][A-Za-z0-9._-]*):([0-9]{1,5})$)");
  if (std::regex_match(url, m, tls)) {
    if (opt.tls_cert.empty() || opt.tls_key.empty() || opt.tls_ca.empty()) {
      throw UsageError(fmt::format("{}: a TLS agent needs --tls-cert, --tls-key and --tls-ca", url));
    }
    return agent::AgentClient::connect_tls(m[1].str(), static_cast<std::uint16_t>(std::stoul(m[2].str())),
                                           agent::TlsFiles{opt.tls_cert, opt.tls_key, opt.tls_ca}, client_options());
  }
  throw UsageError(fmt::format("{}: not an agent address", url));
}

counters::Snapshot snapshot(Host& h, const json& args) { return h.call("snapshot", args, 15s).get<counters::Snapshot>(); }

// Keys of `from` added to `into`.
void merge(counters::Delta& into, const counters::Delta& from) {
  for (const auto& [k, c] : from.counters) into.counters[k] = c;
}

// The senders' deltas summed per key; a key unavailable on any sender (or
// missing from one) is unavailable in the sum, with the reason.
counters::Delta sum_senders(const std::vector<counters::Delta>& ds) {
  counters::Delta out;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    for (const auto& [k, c] : ds[i].counters) {
      auto [it, fresh] = out.counters.try_emplace(k, c);
      counters::Counter& sum = it->second;
      if (fresh) {
        sum.source = fmt::format("sum over {} senders", ds.size());
        if (i > 0) {
          sum.value.reset();
          sum.unavailable_reason = "not collected on every sender";
        }
        continue;
      }
      if (sum.value && c.value) {
        *sum.value += *c.value;
      } else if (sum.value) {
        sum.value.reset();
        sum.unavailable_reason = fmt::format("unavailable on sender {}: {}", i, c.unavailable_reason);
      }
    }
  }
  for (auto& [k, c] : out.counters) {
    for (const auto& d : ds) {
      if (!d.find(k) && c.value) {
        c.value.reset();
        c.unavailable_reason = "not collected on every sender";
      }
    }
  }
  return out;
}

bool is_sender_stage(const std::string& name) { return name == "gen" || name == "qdisc" || name == "tx_device"; }

std::string self_host() {
  utsname u{};
  ::uname(&u);
  return u.nodename;
}

} // namespace

HostsWaterfall hosts_waterfall(const std::vector<SenderInput>& senders, const counters::Delta& rx,
                               const json& sink_report, const KnobValues& knobs) {
  HostsWaterfall out;
  json merged_gen{{"summary", {{"sent", 0}, {"send_errors_total", 0}}}, {"flows", json::array()}};
  std::vector<counters::Delta> tx_deltas;
  for (const auto& s : senders) {
    const json& g = s.gen_report;
    merged_gen["summary"]["sent"] = merged_gen["summary"]["sent"].get<std::uint64_t>() + g.at("summary").at("sent").get<std::uint64_t>();
    merged_gen["summary"]["send_errors_total"] = merged_gen["summary"]["send_errors_total"].get<std::uint64_t>() +
                                                 g.at("summary").at("send_errors_total").get<std::uint64_t>();
    for (const auto& f : g.at("flows")) merged_gen["flows"].push_back(f);
    tx_deltas.push_back(s.delta);
  }
  out.all = sum_senders(tx_deltas);
  merge(out.all, rx);
  const LabFacts facts{.separate_hosts = true};
  out.total = build_waterfall(out.all, outcome_from_reports(merged_gen, sink_report), knobs, facts);
  Waterfall& w = out.w;
  for (const auto& sender : senders) {
    counters::Delta d = sender.delta;
    merge(d, rx);
    Waterfall one = build_waterfall(d, outcome_from_reports(sender.gen_report, sink_report), knobs, facts);
    for (Stage s : one.stages) {
      if (!is_sender_stage(s.name)) continue;
      s.label = fmt::format("{}: {}", sender.label, s.label);
      w.stages.push_back(std::move(s));
    }
  }
  for (const Stage& s : out.total.stages) {
    if (!is_sender_stage(s.name)) w.stages.push_back(s);
  }
  w.accounting = out.total.accounting;
  w.accounting.dropped = 0;
  for (const auto& s : w.stages) w.accounting.dropped += s.dropped;
  w.accounting.unexplained = static_cast<std::int64_t>(w.accounting.sent) -
                             static_cast<std::int64_t>(w.accounting.delivered) -
                             static_cast<std::int64_t>(w.accounting.dropped);
  // The receive stages start with what the senders' devices passed on.
  std::uint64_t senders_out = 0;
  for (const auto& s : w.stages) {
    if (s.name == "tx_device") senders_out += s.out();
  }
  for (auto& s : w.stages) {
    if (is_sender_stage(s.name)) continue;
    if (s.in != senders_out) {
      s.notes.push_back(fmt::format("the senders' devices passed on {}, the summed counters {}",
                                    format_count(senders_out), format_count(s.in)));
    }
    break;
  }
  add_hints(w, out.all, knobs);
  return out;
}

agent::ClockOffset combine_offsets(const agent::ClockOffset& start, const agent::ClockOffset& end) {
  agent::ClockOffset c = start;
  const std::int64_t drift = end.offset_ns - start.offset_ns;
  c.offset_ns = start.offset_ns + drift / 2;
  c.error_bound_ns = std::max(start.error_bound_ns, end.error_bound_ns) + (drift >= 0 ? drift : -drift) / 2 + 1;
  c.samples = start.samples + end.samples;
  c.used = start.used + end.used;
  return c;
}

OneWayCorrection one_way_correction(const agent::ClockOffset& rx, const std::vector<agent::ClockOffset>& tx) {
  // The sink measures (receiver clock at arrival) - (sender clock at send).
  // With offsets o = host clock - controller clock, that is the true latency
  // + (o_rx - o_tx): the correction is o_tx - o_rx, within both bounds.
  std::int64_t lo = INT64_MAX, hi = INT64_MIN, err = 0;
  for (const auto& t : tx) {
    std::int64_t corr = t.offset_ns - rx.offset_ns;
    lo = std::min(lo, corr);
    hi = std::max(hi, corr);
    err = std::max(err, t.error_bound_ns + rx.error_bound_ns);
  }
  if (tx.empty()) return {};
  // Senders whose corrections differ share one histogram: the midpoint, and
  // half the spread added to the bound.
  return {.correction_ns = lo + (hi - lo) / 2, .error_bound_ns = err + (hi - lo + 1) / 2};
}

RunResult run_hosts(const Profile& prof, const RunOptions& opt) {
  const HostsSpec& hs = *prof.hosts;
  install_stop_handlers();
  const std::string started_at = iso_now();

  // Connect every agent first: nothing changes anywhere until all answered.
  std::vector<Host> hosts;
  auto add = [&](std::string role, const HostSpec& spec) {
    throw_if_stopped("while connecting to the agents");
    keepalive(hosts);
    // The agent's hello names its host and kernel.
    Host h{.role = std::move(role), .spec = spec, .client = connect(spec.agent, opt), .clock = {}};
    h.clock = h.clock_start = agent::estimate_clock_offset(h.client, 8);
    if (opt.print) {
      fmt::print("  {} {}: {} ({}, Linux {}), clock offset {:+.1f} µs ± {:.1f} µs\n", h.role, spec.agent,
                 h.client.hello().value("host", "?"), h.client.peer(), h.client.hello().value("kernel", "?"),
                 static_cast<double>(h.clock.offset_ns) / 1e3, static_cast<double>(h.clock.error_bound_ns) / 1e3);
    }
    hosts.push_back(std::move(h));
  };
  if (opt.print) fmt::print("droplab: profile {} — {} (hosts: 1 receiver, {} sender(s))\n", prof.name, prof.description, hs.tx.size());
  add("rx", hs.rx);
  for (std::size_t i = 0; i < hs.tx.size(); ++i) add(fmt::format("tx{}", i), hs.tx[i]);
  Host& rx = hosts[0];

  // If anything below throws, every client's destructor says bye and each
  // agent restores its host (as it does when this process dies).
  json settings = json::array();
  for (const auto* m : {&prof.settings.sysctls, &prof.settings.rx_sysctls}) {
    for (const auto& [k, v] : *m) {
      json r = rx.call("set_sysctl", {{"key", k}, {"value", v}});
      r["host"] = "rx";
      if (opt.print) fmt::print("  set {} on rx: {} -> {}\n", k, r["old"].get<std::string>(), r["applied"].get<std::string>());
      settings.push_back(std::move(r));
    }
  }
  if (prof.settings.rps_cpus) {
    json r = rx.call("set_rps", {{"dev", hs.rx.dev}, {"mask", *prof.settings.rps_cpus}});
    r["host"] = "rx";
    settings.push_back(std::move(r));
  }

  const std::string listen = fmt::format("{}:{}", *hs.rx.addr, prof.sink.port);
  const std::string dst = fmt::format("{}:{}", *hs.rx.addr, prof.gen.port.value_or(prof.sink.port));
  const std::uint64_t gen_bound = gen_bound_s(prof.gen);
  json ready = rx.call("sink_start", {{"listen", listen}, {"sink", prof.sink_doc},
                                             {"bound_s", gen_bound + prof.drain_timeout_ns / 1'000'000'000ULL + 60}},
                              15s);
  keepalive(hosts);
  const std::uint64_t inode = ready.value("socket_inode", std::uint64_t{0});
  const json rx_args{{"role", "rx"}, {"dev", hs.rx.dev}, {"udp_port", prof.sink.port}, {"inode", inode}};

  std::vector<counters::Snapshot> tx_before;
  counters::Snapshot rx_before = snapshot(rx, rx_args);
  for (std::size_t i = 1; i < hosts.size(); ++i) {
    tx_before.push_back(snapshot(hosts[i], {{"role", "tx"}, {"dev", hosts[i].spec.dev}}));
  }
  keepalive(hosts);
  throw_if_stopped("before the senders started");
  for (std::size_t i = 1; i < hosts.size(); ++i) {
    // Each sender its own flow ids, so the sink keeps their sequences apart.
    hosts[i].call("gen_start", {{"dst", dst}, {"gen", prof.gen_doc}, {"flow_id_base", (i - 1) * prof.gen.flows}});
  }
  std::vector<json> gen_reports(hosts.size() - 1);
  const std::uint64_t deadline = mono_ns() + (gen_bound + 30) * 1'000'000'000ULL;
  for (std::size_t done = 0; done < gen_reports.size();) {
    done = 0;
    for (std::size_t i = 1; i < hosts.size(); ++i) {
      if (!gen_reports[i - 1].is_null()) {
        ++done;
        continue;
      }
      json st = hosts[i].call("gen_status", {{"wait_ms", 100}});
      if (st["running"].get<bool>()) continue;
      if (!st.contains("report")) {
        throw std::runtime_error(fmt::format("the generator on {} failed ({}):\n{}", hosts[i].role,
                                             st.value("exit", "?"), st.value("log_tail", "")));
      }
      gen_reports[i - 1] = st["report"];
      gen_reports[i - 1]["cpu_s"] = st["cpu_s"];
      ++done;
    }
    throw_if_stopped("while the generators ran");
    keepalive(hosts);
    if (mono_ns() > deadline) throw std::runtime_error("the generators did not stop within their bound");
  }

  // Drained: the socket queue empty and IP's counters still.
  counters::Snapshot rx_after;
  {
    const std::uint64_t drain_deadline = mono_ns() + prof.drain_timeout_ns;
    std::optional<std::uint64_t> last_in;
    for (int stable = 0; stable < 2;) {
      rx_after = snapshot(rx, rx_args);
      auto queue = rx_after.get("rx.sock.rx_queue");
      auto in = rx_after.get("rx.snmp.Ip.InReceives");
      stable = (queue && *queue == 0 && in && last_in && *in == *last_in) ? stable + 1 : 0;
      last_in = in;
      if (mono_ns() >= drain_deadline) break;
      keepalive(hosts);
      std::this_thread::sleep_for(20ms);
    }
  }
  // The offsets again, now the traffic has stopped: a clock that drifted
  // during the run widens the bound by as much.
  for (auto& h : hosts) {
    h.clock_end = agent::estimate_clock_offset(h.client, 4);
    h.last_ns = mono_ns();
    h.clock = combine_offsets(h.clock_start, h.clock_end);
  }
  std::vector<counters::Delta> tx_deltas;
  for (std::size_t i = 1; i < hosts.size(); ++i) {
    tx_deltas.push_back(counters::diff(tx_before[i - 1], snapshot(hosts[i], {{"role", "tx"}, {"dev", hosts[i].spec.dev}})));
  }
  keepalive(hosts);
  json knob_values = rx.call("read_sysctls", {{"keys", {"net.core.rmem_max", "net.core.rmem_default",
                                                               "net.core.netdev_max_backlog", "net.ipv4.udp_mem"}}});
  json sink_out = rx.call("sink_stop", json::object(), 40s);
  keepalive(hosts);
  const json& sink_report = sink_out["report"];

  // Put every host back, and say what was undone.
  std::vector<std::string> restored;
  for (auto& h : hosts) {
    const json undone = h.call("restore", json::object(), 30s);
    for (const auto& line : undone.at("restored")) {
      restored.push_back(h.role + ": " + line.get<std::string>());
    }
  }

  // The waterfall: receive stages once from the senders' summed counters and
  // the receiver's; each sender's own stages from its counters.
  counters::Delta rx_delta = counters::diff(rx_before, rx_after);
  KnobValues knobs{{"socket", "SO_RCVBUF granted to the sink",
                    ready.contains("rcvbuf_granted") ? ready["rcvbuf_granted"].dump() : "unavailable"}};
  for (const auto& [k, v] : knob_values.items()) {
    knobs.push_back({k == "net.core.netdev_max_backlog" ? "backlog" : k == "net.ipv4.udp_mem" ? "udp" : "socket", k,
                     v.get<std::string>()});
  }
  std::vector<SenderInput> senders;
  for (std::size_t i = 0; i < tx_deltas.size(); ++i) {
    senders.push_back({fmt::format("{} {}", hosts[i + 1].role, hosts[i + 1].spec.agent), tx_deltas[i], gen_reports[i]});
  }
  HostsWaterfall hw = hosts_waterfall(senders, rx_delta, sink_report, knobs);
  Waterfall& w = hw.w;
  const Waterfall& total = hw.total;
  const counters::Delta& all = hw.all;
  // Against the expectation the senders' stages count summed: "drops_at qdisc"
  // means at any sender's qdisc.
  ExpectVerdict verdict = evaluate_expect(prof.expect, total, all);

  // One-way latency: the sink measured its clock minus the sender's; the
  // control channel's offsets (agent - controller) correct it, within the
  // sum of their error bounds.
  json clock = json::array();
  std::vector<agent::ClockOffset> tx_clocks;
  for (const auto& h : hosts) {
    clock.push_back({{"host", h.role}, {"agent", h.spec.agent}, {"offset_ns", h.clock.offset_ns},
                     {"error_bound_ns", h.clock.error_bound_ns}, {"rtt_ns", h.clock.rtt_ns},
                     {"offset_start_ns", h.clock_start.offset_ns}, {"offset_end_ns", h.clock_end.offset_ns}});
    if (h.role != "rx") tx_clocks.push_back(h.clock);
  }
  const OneWayCorrection one_way = one_way_correction(rx.clock, tx_clocks);
  const std::int64_t corr_mid = one_way.correction_ns, bound = one_way.error_bound_ns;
  json latency{{"correction_ns", corr_mid}, {"error_bound_ns", bound}, {"percentiles", json::object()},
               // Datagrams that arrived "before" they were sent by the receiver's
               // clock are not in the sink's histogram (a clock behind by more
               // than the path's latency): the percentiles are of the rest.
               {"clock_behind", sink_report["summary"].value("clock_behind", json(nullptr))}};
  const json lat = sink_report["summary"].value("latency_ns", json::object());
  if (lat.value("count", std::uint64_t{0}) > 0) {
    for (const char* p : {"p50", "p90", "p99", "p99_9", "max"}) {
      if (!lat.contains(p) || lat[p].is_null()) continue;
      auto measured = lat[p].get<std::int64_t>();
      latency["percentiles"][p] = {{"measured_ns", measured}, {"one_way_ns", measured + corr_mid}};
    }
  }

  if (opt.print) {
    fmt::print("\n{}", render_waterfall(w));
    if (latency["percentiles"].contains("p99")) {
      fmt::print("one-way latency: p50 {} µs, p99 {} µs (± {:.1f} µs: clock offsets over the control channel)\n",
                 latency["percentiles"]["p50"]["one_way_ns"].get<std::int64_t>() / 1000,
                 latency["percentiles"]["p99"]["one_way_ns"].get<std::int64_t>() / 1000,
                 static_cast<double>(bound) / 1e3);
    }
    if (verdict.present) {
      fmt::print("expect: {} — {}\n", verdict.passed ? "PASSED" : "FAILED", fmt::join(verdict.reasons, "; "));
    }
    fmt::print("hosts restored: {} change(s) undone\n", restored.size());
  }

  json host_list = json::array();
  for (const auto& h : hosts) {
    host_list.push_back({{"role", h.role}, {"agent", h.spec.agent}, {"dev", h.spec.dev}, {"peer", h.client.peer()},
                         {"host", h.client.hello().value("host", "")}, {"kernel", h.client.hello().value("kernel", "")}});
  }
  json stages = json::array();
  for (std::size_t i = 0; i < w.stages.size(); ++i) {
    json s = w.stages[i];
    // Sender stages say which sender; the receive stages are the receiver's.
    std::size_t per = 3;
    s["host"] = i < per * tx_deltas.size() ? hosts[i / per + 1].role : "rx";
    stages.push_back(std::move(s));
  }
  json expect = nullptr;
  if (verdict.present) expect = {{"passed", verdict.passed}, {"reasons", verdict.reasons}};
  RunResult result;
  result.exit_code = verdict.passed ? 0 : kExitExpectationFailed;
  result.report = {{"schema_version", kReportSchemaVersion},
                   {"tool", "droplab"},
                   {"context", {{"started_at", started_at}, {"controller", self_host()},
                                {"profile", {{"name", prof.name}, {"path", prof.path}, {"description", prof.description}}},
                                {"hosts", host_list}, {"clock", clock}, {"settings", settings}, {"restored", restored}}},
                   {"stages", stages},
                   {"accounting", w.accounting},
                   {"expect", expect},
                   {"latency", latency},
                   {"counters", all},
                   {"gen", gen_reports},
                   {"sink", sink_report}};
  if (!opt.json_path.empty()) {
    write_json_file(opt.json_path, result.report);
    if (opt.print) fmt::print("report: {}\n", opt.json_path);
  }
  for (auto& h : hosts) h.client.close();
  return result;
}

} // namespace droplab::harness

#include "run.hpp"

#include "children.hpp"
#include "command.hpp"
#include "hints.hpp"
#include "host_guard.hpp"
#include "hosts_run.hpp"
#include "html.hpp"
#include "journal.hpp"
#include "lab.hpp"
#include "profile.hpp"
#include "reasons.hpp"
#include "report.hpp"
#include "settings.hpp"
#include "sysctl.hpp"
#include "timeline.hpp"
#include "waterfall.hpp"

#include "droplab/clock.hpp"
#include "droplab/fd.hpp"
#include "droplab/counters/collector.hpp"
#include "droplab/counters/conntrack.hpp"
#include "droplab/counters/ethtool_stats.hpp"
#include "droplab/counters/link_stats.hpp"
#include "droplab/counters/nft_counters.hpp"
#include "droplab/counters/qdisc.hpp"
#include "droplab/json_util.hpp"
#include "droplab/signals.hpp"
#include "droplab/units.hpp"

#include <signal.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace droplab::harness {

void throw_if_stopped(const char* during) {
  if (stop_requested()) {
    throw Interrupted(fmt::format("interrupted by signal {} {}", stop_signal(), during));
  }
}

std::string iso_now() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// CPU time (user + system) of this process, all threads.
double self_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return cpu_seconds(ru);
}

// The knobs that govern each stage, read while the run's settings are in
// force; a knob that cannot be read says so.
KnobValues read_knobs(const Profile& p, const Lab& lab, const std::string& rcvbuf_granted) {
  auto host = [](const std::string& key) {
    try {
      return read_sysctl(key);
    } catch (const std::exception& e) {
      return std::string("unavailable (") + e.what() + ")";
    }
  };
  auto in_rx = [&](const std::string& key) {
    try {
      return read_sysctl(key, lab.rx_ns);
    } catch (const std::exception& e) {
      return std::string("unavailable (") + e.what() + ")";
    }
  };
  return KnobValues{
      {"socket", "SO_RCVBUF granted to the sink", rcvbuf_granted},
      {"socket", "net.core.rmem_max", host("net.core.rmem_max")},
      {"socket", "net.core.rmem_default", host("net.core.rmem_default")},
      {"socket", "sink read rate", p.sink.read_rate.value_or("unlimited")},
      {"socket", "sink stall", p.sink.stall.value_or("none")},
      {"udp", "net.ipv4.udp_mem", host("net.ipv4.udp_mem")},
      {"backlog", "net.core.netdev_max_backlog", host("net.core.netdev_max_backlog")},
      {"backlog", "rps_cpus", p.settings.rps_cpus.value_or("0 (RPS off)")},
      {"backlog", "net.core.flow_limit_cpu_bitmap", host("net.core.flow_limit_cpu_bitmap")},
      {"backlog", "net.core.flow_limit_table_len", host("net.core.flow_limit_table_len")},
      {"ip", "rp_filter all", in_rx("net.ipv4.conf.all.rp_filter")},
      {"ip", "rp_filter dev", in_rx(fmt::format("net.ipv4.conf.{}.rp_filter", lab.rx_dev))},
      {"netfilter", "net.netfilter.nf_conntrack_max", host("net.netfilter.nf_conntrack_max")},
      {"qdisc", "tx qdisc", p.settings.tx_qdisc.value_or("noqueue (veth default)")},
  };
}

// Every counter source of the lab: device stats over netlink, driver stats
// through the ethtool ioctl, qdiscs over netlink, SNMP per namespace, softnet
// per CPU, the sink's socket, conntrack, and the lab's nftables rules.
std::vector<std::unique_ptr<counters::Collector>> make_collectors(const Profile& p, const Lab& lab,
                                                                  std::uint64_t inode) {
  std::vector<std::unique_ptr<counters::Collector>> c;
  c.push_back(std::make_unique<counters::LinkStatsCollector>("tx", lab.tx_ns, lab.tx_dev));
  c.push_back(std::make_unique<counters::LinkStatsCollector>("rx", lab.rx_ns, lab.rx_dev));
  c.push_back(std::make_unique<counters::QdiscCollector>("tx", lab.tx_ns, lab.tx_dev));
  c.push_back(std::make_unique<counters::EthtoolStatsCollector>("rx", lab.rx_ns, lab.rx_dev));
  c.push_back(std::make_unique<counters::SnmpCollector>("tx", lab.tx_ns));
  c.push_back(std::make_unique<counters::SnmpCollector>("rx", lab.rx_ns));
  c.push_back(std::make_unique<counters::SoftnetCollector>("host"));
  c.push_back(std::make_unique<counters::UdpSocketCollector>("rx", lab.rx_ns, p.sink.port, inode));
  if (uses_conntrack(p)) c.push_back(std::make_unique<counters::ConntrackStatCollector>("rx", lab.rx_ns));
  if (!p.settings.rx_nft_rules.empty()) {
    c.push_back(std::make_unique<counters::NftCounterCollector>("rx", lab.rx_ns, kNftFamily, kNftTable));
  }
  return c;
}

Fd lock_host() {
  std::error_code ec;
  fs::create_directories(journal_dir(), ec);
  std::string path = journal_dir() + "/host.lock";
  Fd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + path);
  bool said = false;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) throw std::system_error(errno, std::generic_category(), "flock " + path);
    if (!said) {
      fmt::print("droplab: another droplab run is changing this host; waiting for it to finish\n");
      std::fflush(stdout);
      said = true;
    }
    throw_if_stopped("while waiting for another run");
    std::this_thread::sleep_for(100ms);
  }
  return fd;
}

constexpr const char* kTracefs = "/sys/kernel/tracing";

bool tracefs_mounted() {
  struct statfs st {};
  return ::statfs(kTracefs, &st) == 0 && st.f_type == 0x74726163; // TRACEFS_MAGIC
}

// Starts counting drop reasons for the lab's namespaces: BPF first, else the
// tracefs text buffer (mounting tracefs if it is not, journaled like every
// host change), else unavailable — the report says which and why.
std::unique_ptr<dropreason::DropReasonCounter> start_drop_reasons(const RunOptions& opt, const Lab& lab,
                                                                  Journal& journal, std::string& why_not,
                                                                  std::string& bpf_reason) {
  if (!opt.drop_reasons) {
    why_not = "drop reasons not counted (--no-drop-reasons)";
    return nullptr;
  }
  dropreason::DropReasonCounter::Options o{.netns_names = {lab.tx_ns, lab.rx_ns},
                                           .allow_bpf = opt.allow_bpf,
                                           .allow_tracefs = false};
  auto journal_instance = [&](const std::string& path) {
    journal.record({{"op", "tracefs_instance"}, {"path", path}});
  };
  std::unique_ptr<dropreason::DropReasonCounter> c;
  if (opt.allow_bpf) {
    c = dropreason::DropReasonCounter::start(o, journal_instance);
    if (c->mode() != dropreason::Mode::Unavailable) return c;
    bpf_reason = c->mode_reason();
  }
  if (!tracefs_mounted()) {
    journal.record({{"op", "mount"}, {"target", kTracefs}, {"fstype", "tracefs"}});
    if (::mount("tracefs", kTracefs, "tracefs", 0, nullptr) != 0) {
      why_not = fmt::format("{}; tracefs could not be mounted: {}", bpf_reason, std::strerror(errno));
      return nullptr;
    }
    journal.record({{"op", "mounted"}, {"target", kTracefs}, {"mnt_id", top_mount_id(kTracefs)}});
  }
  o.allow_bpf = false;
  o.allow_tracefs = true;
  c = dropreason::DropReasonCounter::start(o, journal_instance);
  if (c->mode() == dropreason::Mode::Unavailable) {
    why_not = c->mode_reason();
    return nullptr;
  }
  return c;
}

// `fallback_from`: why BPF was not used, when the counter is the tracefs fallback.
DropReasons collect_reasons(dropreason::DropReasonCounter* c, const std::string& why_not,
                            const std::string& fallback_from) {
  DropReasons r;
  if (!c) {
    r.mode_reason = "drop reasons unavailable: " + why_not;
    return r;
  }
  c->stop(); // records the final counts; read() then returns them without a second walk
  r.counts = c->read();
  r.lost_events = c->lost_events();
  r.mode = dropreason::to_string(c->mode());
  r.mode_reason = c->mode_reason();
  if (!fallback_from.empty()) r.mode_reason += "; BPF was tried first: " + fallback_from;
  return r;
}

// After the generator stops, packets may still sit in the backlog or the
// socket. Waits until the socket queue is empty and IP's counters hold still,
// or the profile's drain timeout.
bool wait_drained(const Lab& lab, std::uint16_t port, std::uint64_t inode, std::uint64_t timeout_ns) {
  std::vector<std::unique_ptr<counters::Collector>> cs;
  cs.push_back(std::make_unique<counters::UdpSocketCollector>("rx", lab.rx_ns, port, inode));
  cs.push_back(std::make_unique<counters::SnmpCollector>("rx", lab.rx_ns));
  std::uint64_t deadline = mono_ns() + timeout_ns;
  std::optional<std::uint64_t> last_in;
  int stable = 0;
  for (;;) {
    counters::Snapshot s = counters::take_snapshot(cs);
    auto queue = s.get("rx.sock.rx_queue");
    auto in = s.get("rx.snmp.Ip.InReceives");
    bool still = in && last_in && *in == *last_in;
    stable = (queue && *queue == 0 && still) ? stable + 1 : 0;
    if (stable >= 2) return true;
    last_in = in;
    if (mono_ns() >= deadline) return false;
    throw_if_stopped("while the sink drained");
    std::this_thread::sleep_for(20ms);
  }
}

} // namespace

int run_experiment(const RunOptions& opt) {
  Profile prof = load_profile(opt.profile_path); // before anything changes
  RunResult r = run_profile(prof, opt);
  if (!opt.html_path.empty()) {
    write_html_file(opt.html_path, r.report);
    if (opt.print) fmt::print("html: {}\n", opt.html_path);
  }
  return r.exit_code;
}

RunResult run_profile(const Profile& prof, const RunOptions& opt) {
  if (prof.hosts) return run_hosts(prof, opt); // the agents change their hosts, not we
  if (::geteuid() != 0) {
    throw std::runtime_error("droplab run needs root: it creates network namespaces and veth links");
  }
  const std::string gen_bin = find_sibling_binary("droplab-gen");
  const std::string sink_bin = find_sibling_binary("droplab-sink");
  check_profile_on_host(prof);
  install_stop_handlers();

  // One run at a time changes the host: two runs saving and restoring the same
  // global sysctl in an interleaved order would leave the host changed. Held
  // until this function returns, after the host is restored.
  Fd host_lock = lock_host();

  std::vector<std::string> recover_failures;
  for (const auto& line : recover_journals(false, &recover_failures)) {
    fmt::print("recovered what an earlier run left: {}\n", line);
  }
  for (const auto& f : recover_failures) fmt::print(stderr, "droplab: recovery failed: {}\n", f);

  const std::string started_at = iso_now();
  const std::uint64_t wall0 = mono_ns();
  const double cpu0 = self_cpu_s();
  const Lab lab = Lab::for_pid(::getpid());
  Journal journal = Journal::create(lab.id, false);
  HostGuard guard(journal); // declared before the children: they stop first
  RunDir dir;

  if (opt.print) fmt::print("droplab: profile {} — {}\n", prof.name, prof.description);
  throw_if_stopped("before the lab came up");
  lab_up(lab, journal);
  std::vector<SettingRecord> settings = apply_settings(prof, lab, journal);
  for (const auto& s : settings) {
    if (opt.print) fmt::print("  set {} ({}): {} -> {}\n", s.key, s.scope, s.old_value, s.applied_value);
  }
  throw_if_stopped("after the lab came up");

  // The generator's own bound plus the drain, with margin: the sink never
  // outlives a run even if nothing stops it.
  const std::uint64_t gen_bound = gen_bound_s(prof.gen);
  std::uint64_t sink_bound_s = gen_bound + prof.drain_timeout_ns / 1'000'000'000ULL + 30;

  LogTail sink_log(dir.file("sink.log"), "sink");
  Child sink = Child::spawn(sink_argv(sink_bin, prof.sink, fmt::format("{}:{}", lab.rx_addr, prof.sink.port), dir,
                                      sink_bound_s),
                            lab.rx_ns, dir.file("sink.log"), prof.sink.cpu);
  json ready = wait_ready(sink, sink_log, dir.file("sink.ready"), [] { throw_if_stopped("while waiting for the sink"); });
  const std::uint64_t inode = ready.value("socket_inode", std::uint64_t{0});
  const std::string rcvbuf_granted = ready.contains("rcvbuf_granted") ? ready["rcvbuf_granted"].dump() : "unavailable";

  std::vector<std::unique_ptr<counters::Collector>> collectors = make_collectors(prof, lab, inode);
  std::string reasons_unavailable, bpf_unavailable;
  auto reason_counter = start_drop_reasons(opt, lab, journal, reasons_unavailable, bpf_unavailable);
  counters::Snapshot before = counters::take_snapshot(collectors);

  LogTail gen_log(dir.file("gen.log"), "gen ");
  Child gen = Child::spawn(
      gen_argv(gen_bin, prof.gen, fmt::format("{}:{}", lab.rx_addr, prof.gen.port.value_or(prof.sink.port)), dir),
      lab.tx_ns, dir.file("gen.log"), prof.gen.cpu);
  std::vector<counters::Snapshot> samples{before};
  // The generator bounds itself; this bounds the wait on it too.
  const std::uint64_t gen_deadline = mono_ns() + (gen_bound + 30) * 1'000'000'000ULL;
  // The cost of sampling alone: CPU while the generator runs and every
  // counter is read every interval (setup, BPF load and kallsyms excluded).
  const double sampling_cpu0 = self_cpu_s();
  const std::uint64_t sampling_wall0 = mono_ns();
  for (;;) {
    gen_log.pump(!opt.quiet);
    sink_log.pump(!opt.quiet);
    if (gen.poll()) break;
    if (mono_ns() > gen_deadline) {
      gen.stop(3000ms);
      throw std::runtime_error(fmt::format("the generator did not stop within its bound ({} s + 30 s):\n{}",
                                           gen_bound, gen_log.tail()));
    }
    if (mono_ns() >= samples.back().taken_mono_ns + opt.interval_ns) {
      samples.push_back(counters::take_snapshot(collectors));
    }
    if (stop_requested()) {
      gen.stop(3000ms);
      throw_if_stopped("while the generator ran");
    }
    std::uint64_t next = samples.back().taken_mono_ns + opt.interval_ns;
    std::uint64_t now = mono_ns();
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<std::uint64_t>(next > now ? next - now : 0, 20'000'000)));
  }
  gen_log.pump(!opt.quiet);
  const double sampling_cpu_s = self_cpu_s() - sampling_cpu0;
  const double sampling_wall_s = static_cast<double>(mono_ns() - sampling_wall0) / 1e9;
  int gen_status = *gen.poll();
  if (!WIFEXITED(gen_status) || WEXITSTATUS(gen_status) != 0) {
    throw std::runtime_error(fmt::format("the generator failed ({}):\n{}", gen.describe_exit(), gen_log.tail()));
  }

  bool drained = wait_drained(lab, prof.sink.port, inode, prof.drain_timeout_ns);
  counters::Snapshot after = counters::take_snapshot(collectors);
  samples.push_back(after);
  DropReasons reasons = collect_reasons(reason_counter.get(), reasons_unavailable, bpf_unavailable);

  // The knobs that govern the socket stage, while they are still in force.
  KnobValues knobs = read_knobs(prof, lab, rcvbuf_granted);

  int sink_status = sink.stop(30000ms);
  sink_log.pump(!opt.quiet);
  if (!WIFEXITED(sink_status) || WEXITSTATUS(sink_status) != 0) {
    throw std::runtime_error(fmt::format("the sink failed ({}):\n{}", sink.describe_exit(), sink_log.tail()));
  }
  json gen_report = read_json_file(dir.file("gen.json"));
  json sink_report = read_json_file(dir.file("sink.json"));

  counters::Delta delta = counters::diff(before, after);
  const LabFacts facts{.nft_rules = !prof.settings.rx_nft_rules.empty(), .conntrack = uses_conntrack(prof)};
  Waterfall w = build_waterfall(delta, outcome_from_reports(gen_report, sink_report), knobs, facts, &reasons);
  add_hints(w, delta, knobs);
  Timeline timeline = build_timeline(samples, facts, &reasons);
  if (!drained) {
    w.stages.back().notes.push_back("the socket had not drained when the drain timeout ended");
  }
  ExpectVerdict verdict = evaluate_expect(prof.expect, w, delta);
  // The harness's own cost (sampling, collectors, BPF map reads), children excluded.
  const double harness_cpu_s = self_cpu_s() - cpu0;
  const double harness_wall_s = static_cast<double>(mono_ns() - wall0) / 1e9;

  // Put the host back before reporting, and say what was undone.
  std::vector<std::string> restored = guard.restore();
  if (!guard.failures().empty()) {
    throw std::runtime_error(fmt::format("{} change(s) could not be undone (see above)", guard.failures().size()));
  }

  if (opt.print) {
    fmt::print("\n{}", render_waterfall(w));
    fmt::print("\n{}", render_reasons(reasons));
    if (std::string t = render_timeline(timeline); !t.empty()) fmt::print("\n{}", t);
    if (verdict.present) {
      fmt::print("expect: {} — {}\n", verdict.passed ? "PASSED" : "FAILED", fmt::join(verdict.reasons, "; "));
    }
    fmt::print("host restored: {} change(s) undone\n", restored.size());
  }

  RunResult result;
  result.exit_code = verdict.passed ? 0 : kExitExpectationFailed;
  result.report = build_report({.profile = prof, .lab = lab, .settings = settings, .waterfall = w,
                                .verdict = verdict, .delta = delta, .gen = gen_report,
                                .sink = sink_report, .started_at = started_at, .restored = restored,
                                .timeline = timeline, .interval_ns = opt.interval_ns,
                                .reasons = reasons, .harness_cpu_s = harness_cpu_s,
                                .harness_wall_s = harness_wall_s, .sampling_cpu_s = sampling_cpu_s,
                                .sampling_wall_s = sampling_wall_s});
  // What the experiment cost in CPU: the generator, the sink and the harness.
  // A child's time is read when it is reaped; one that was not is unavailable.
  json cost{{"harness_cpu_s", harness_cpu_s}, {"gen_cpu_s", nullptr}, {"sink_cpu_s", nullptr}, {"cpu_s", nullptr}};
  if (gen.cpu_s()) cost["gen_cpu_s"] = *gen.cpu_s();
  if (sink.cpu_s()) cost["sink_cpu_s"] = *sink.cpu_s();
  if (gen.cpu_s() && sink.cpu_s()) cost["cpu_s"] = harness_cpu_s + *gen.cpu_s() + *sink.cpu_s();
  result.report["cost"] = std::move(cost);
  if (!opt.json_path.empty()) {
    write_json_file(opt.json_path, result.report);
    if (opt.print) fmt::print("report: {}\n", opt.json_path);
  }
  return result;
}

} // namespace droplab::harness

#include "run.hpp"

#include "command.hpp"
#include "host_guard.hpp"
#include "journal.hpp"
#include "lab.hpp"
#include "profile.hpp"
#include "report.hpp"
#include "sysctl.hpp"
#include "waterfall.hpp"

#include "droplab/clock.hpp"
#include "droplab/counters/collector.hpp"
#include "droplab/json_util.hpp"
#include "droplab/signals.hpp"
#include "droplab/units.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace droplab::harness {
namespace {

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

// A private scratch directory for the children's logs and reports.
class RunDir {
public:
  RunDir() {
    std::string tmpl = (fs::temp_directory_path() / "droplab-run.XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = tmpl;
  }
  ~RunDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  fs::path path_;
};

// Prints whole new lines a child appended to its log, prefixed with its name.
class LogTail {
public:
  LogTail(std::string path, std::string prefix) : path_(std::move(path)), prefix_(std::move(prefix)) {}
  void pump(bool print) {
    std::ifstream in(path_);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break; // partial line: wait for its newline
      offset_ += line.size() + 1;
      if (print) fmt::print("  {} | {}\n", prefix_, line);
    }
    std::fflush(stdout);
  }
  std::string tail(std::size_t max_bytes = 2000) const {
    std::ifstream in(path_);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
  }

private:
  std::string path_, prefix_;
  std::size_t offset_ = 0;
};

std::vector<SettingRecord> apply_settings(const Profile& p, const Lab& lab, Journal& journal) {
  std::vector<SettingRecord> out;
  auto apply_sysctl = [&](const std::string& key, const std::string& value, const std::string& ns) {
    std::string old = read_sysctl(key, ns);
    json entry{{"op", "sysctl"}, {"key", key}, {"old", old}, {"new", value}};
    if (!ns.empty()) entry["netns"] = ns;
    journal.record(entry);
    write_sysctl(key, value, ns);
    std::string applied = read_sysctl(key, ns);
    std::string wanted = value;
    std::replace(wanted.begin(), wanted.end(), '\t', ' ');
    if (applied != wanted) {
      // Nothing is silently clamped: if the kernel stored something else, say so and stop.
      throw std::runtime_error(fmt::format("{}: wrote \"{}\" but the kernel holds \"{}\"", key, value, applied));
    }
    out.push_back({key, ns.empty() ? "host" : "netns " + ns, old, applied});
  };
  for (const auto& [k, v] : p.settings.sysctls) apply_sysctl(k, v, "");
  for (const auto& [k, v] : p.settings.rx_sysctls) apply_sysctl(k, v, lab.rx_ns);
  if (p.settings.rps_cpus) {
    std::string path = fmt::format("/sys/class/net/{}/queues/rx-0/rps_cpus", lab.rx_dev);
    std::string old = read_sysfs(path, lab.rx_ns);
    journal.record({{"op", "sysfs"}, {"path", path}, {"old", old}, {"new", *p.settings.rps_cpus},
                    {"netns", lab.rx_ns}});
    write_sysfs(path, *p.settings.rps_cpus, lab.rx_ns);
    out.push_back({path, "sysfs in netns " + lab.rx_ns, old, read_sysfs(path, lab.rx_ns)});
  }
  return out;
}

std::vector<std::string> sink_argv(const std::string& bin, const Profile& p, const Lab& lab,
                                   const RunDir& dir, std::uint64_t bound_s) {
  std::vector<std::string> a{bin,          "--listen", fmt::format("{}:{}", lab.rx_addr, p.sink.port),
                             "--ready-file", dir.file("sink.ready"), "--json", dir.file("sink.json"),
                             "--batch",    std::to_string(p.sink.batch),
                             // A bound in time even if the harness could not stop it.
                             "--duration", fmt::format("{}s", bound_s)};
  if (p.sink.rcvbuf) a.insert(a.end(), {"--rcvbuf", *p.sink.rcvbuf});
  if (p.sink.read_rate) a.insert(a.end(), {"--read-rate", *p.sink.read_rate});
  if (p.sink.stall) a.insert(a.end(), {"--stall", *p.sink.stall});
  return a;
}

std::vector<std::string> gen_argv(const std::string& bin, const Profile& p, const Lab& lab,
                                  const RunDir& dir) {
  std::vector<std::string> a{bin,      "--dst",   fmt::format("{}:{}", lab.rx_addr, p.sink.port),
                             "--rate", p.gen.rate, "--size", std::to_string(p.gen.size),
                             "--flows", std::to_string(p.gen.flows), "--batch", std::to_string(p.gen.batch),
                             "--json", dir.file("gen.json")};
  if (p.gen.duration) a.insert(a.end(), {"--duration", *p.gen.duration});
  if (p.gen.count) a.insert(a.end(), {"--count", std::to_string(*p.gen.count)});
  return a;
}

json wait_ready(Child& sink, LogTail& log, const std::string& ready_file) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!fs::exists(ready_file)) {
    throw_if_stopped("while waiting for the sink");
    if (sink.poll()) {
      throw std::runtime_error(fmt::format("the sink stopped before it was ready ({}):\n{}",
                                           sink.describe_exit(), log.tail()));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the sink did not signal readiness within 10 s:\n" + log.tail());
    }
    std::this_thread::sleep_for(5ms);
  }
  return read_json_file(ready_file);
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
  if (::geteuid() != 0) {
    throw std::runtime_error("droplab run needs root: it creates network namespaces and veth links");
  }
  const std::string gen_bin = find_sibling_binary("droplab-gen");
  const std::string sink_bin = find_sibling_binary("droplab-sink");
  for (const auto& [k, v] : prof.settings.sysctls) {
    try {
      read_sysctl(k);
    } catch (const std::system_error& e) {
      throw ProfileError(fmt::format("{}: /settings/sysctls/{}: this kernel has no such sysctl ({})",
                                     prof.path, k, e.code().message()));
    }
  }
  install_stop_handlers();

  std::vector<std::string> recover_failures;
  for (const auto& line : recover_journals(false, &recover_failures)) {
    fmt::print("recovered what an earlier run left: {}\n", line);
  }
  for (const auto& f : recover_failures) fmt::print(stderr, "droplab: recovery failed: {}\n", f);

  const std::string started_at = iso_now();
  const Lab lab = Lab::for_pid(::getpid());
  Journal journal = Journal::create(lab.id, false);
  HostGuard guard(journal); // declared before the children: they stop first
  RunDir dir;

  fmt::print("droplab: profile {} — {}\n", prof.name, prof.description);
  throw_if_stopped("before the lab came up");
  lab_up(lab, journal);
  std::vector<SettingRecord> settings = apply_settings(prof, lab, journal);
  for (const auto& s : settings) fmt::print("  set {} ({}): {} -> {}\n", s.key, s.scope, s.old_value, s.applied_value);
  throw_if_stopped("after the lab came up");

  // The generator's own bound plus the drain, with margin: the sink never
  // outlives a run even if nothing stops it.
  std::uint64_t gen_bound_s = prof.gen.duration ? parse_duration_ns(*prof.gen.duration) / 1'000'000'000ULL + 1 : 3600;
  std::uint64_t sink_bound_s = gen_bound_s + prof.drain_timeout_ns / 1'000'000'000ULL + 30;

  LogTail sink_log(dir.file("sink.log"), "sink");
  Child sink = Child::spawn(sink_argv(sink_bin, prof, lab, dir, sink_bound_s), lab.rx_ns, dir.file("sink.log"));
  json ready = wait_ready(sink, sink_log, dir.file("sink.ready"));
  const std::uint64_t inode = ready.value("socket_inode", std::uint64_t{0});
  const std::string rcvbuf_granted = ready.contains("rcvbuf_granted") ? ready["rcvbuf_granted"].dump() : "unavailable";

  std::vector<std::unique_ptr<counters::Collector>> collectors;
  collectors.push_back(std::make_unique<counters::NetDevCollector>("tx", lab.tx_ns, lab.tx_dev));
  collectors.push_back(std::make_unique<counters::NetDevCollector>("rx", lab.rx_ns, lab.rx_dev));
  collectors.push_back(std::make_unique<counters::SnmpCollector>("tx", lab.tx_ns));
  collectors.push_back(std::make_unique<counters::SnmpCollector>("rx", lab.rx_ns));
  collectors.push_back(std::make_unique<counters::SoftnetCollector>("host"));
  collectors.push_back(std::make_unique<counters::UdpSocketCollector>("rx", lab.rx_ns, prof.sink.port, inode));
  counters::Snapshot before = counters::take_snapshot(collectors);

  LogTail gen_log(dir.file("gen.log"), "gen ");
  Child gen = Child::spawn(gen_argv(gen_bin, prof, lab, dir), lab.tx_ns, dir.file("gen.log"));
  for (;;) {
    gen_log.pump(!opt.quiet);
    sink_log.pump(!opt.quiet);
    if (gen.poll()) break;
    if (stop_requested()) {
      gen.stop(3000ms);
      throw_if_stopped("while the generator ran");
    }
    std::this_thread::sleep_for(20ms);
  }
  gen_log.pump(!opt.quiet);
  int gen_status = *gen.poll();
  if (!WIFEXITED(gen_status) || WEXITSTATUS(gen_status) != 0) {
    throw std::runtime_error(fmt::format("the generator failed ({}):\n{}", gen.describe_exit(), gen_log.tail()));
  }

  bool drained = wait_drained(lab, prof.sink.port, inode, prof.drain_timeout_ns);
  counters::Snapshot after = counters::take_snapshot(collectors);

  // The knobs that govern the socket stage, while they are still in force.
  KnobValues knobs{{"socket", "SO_RCVBUF granted to the sink", rcvbuf_granted},
                   {"socket", "net.core.rmem_max", read_sysctl("net.core.rmem_max")},
                   {"socket", "net.core.rmem_default", read_sysctl("net.core.rmem_default")},
                   {"socket", "sink read rate", prof.sink.read_rate.value_or("unlimited")},
                   {"udp", "net.ipv4.udp_mem", read_sysctl("net.ipv4.udp_mem")},
                   {"backlog", "net.core.netdev_max_backlog", read_sysctl("net.core.netdev_max_backlog")}};

  int sink_status = sink.stop(30000ms);
  sink_log.pump(!opt.quiet);
  if (!WIFEXITED(sink_status) || WEXITSTATUS(sink_status) != 0) {
    throw std::runtime_error(fmt::format("the sink failed ({}):\n{}", sink.describe_exit(), sink_log.tail()));
  }
  json gen_report = read_json_file(dir.file("gen.json"));
  json sink_report = read_json_file(dir.file("sink.json"));

  counters::Delta delta = counters::diff(before, after);
  Waterfall w = build_waterfall(delta, outcome_from_reports(gen_report, sink_report), knobs);
  if (!drained) {
    w.stages.back().notes.push_back("the socket had not drained when the drain timeout ended");
  }
  ExpectVerdict verdict = evaluate_expect(prof.expect, w);

  // Put the host back before reporting, and say what was undone.
  std::vector<std::string> restored = guard.restore();
  if (!guard.failures().empty()) {
    throw std::runtime_error(fmt::format("{} change(s) could not be undone (see above)", guard.failures().size()));
  }

  fmt::print("\n{}", render_waterfall(w));
  if (verdict.present) {
    fmt::print("expect: {} — {}\n", verdict.passed ? "PASSED" : "FAILED", fmt::join(verdict.reasons, "; "));
  }
  fmt::print("host restored: {} change(s) undone\n", restored.size());

  if (!opt.json_path.empty()) {
    write_json_file(opt.json_path,
                    build_report({.profile = prof, .lab = lab, .settings = settings, .waterfall = w,
                                  .verdict = verdict, .delta = delta, .gen = gen_report,
                                  .sink = sink_report, .started_at = started_at, .restored = restored}));
    fmt::print("report: {}\n", opt.json_path);
  }
  return verdict.passed ? 0 : kExitExpectationFailed;
}

} // namespace droplab::harness

#include "e2e_support.hpp"

#include "command.hpp"
#include "journal.hpp"
#include "lab.hpp"
#include "preflight.hpp"
#include "sysctl.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace droplab::e2e {

Result run_droplab(const std::vector<std::string>& args) {
  std::vector<std::string> argv{DROPLAB_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = harness::run_command(argv);
  return Result{r.exit_code, r.output};
}

std::string profile(const std::string& name) { return std::string(DROPLAB_PROFILES_DIR) + "/" + name; }

std::string why_cannot_run(const std::string& path) {
  try {
    harness::check_profile_on_host(harness::load_profile(path));
    return "";
  } catch (const harness::ProfileError& e) {
    return e.what();
  }
}

std::optional<std::string> unavailable(const std::string& feature_id) {
  static const doctor::HostReport report = doctor::probe_host({.all = true, .needs = {}});
  const doctor::Feature* f = report.find(feature_id);
  if (!f) return "droplab doctor does not probe " + feature_id;
  if (f->available) return std::nullopt;
  return f->title + " unavailable on this kernel: " + f->detail;
}

std::string temp_path(const std::string& suffix) {
  static int n = 0;
  return (fs::temp_directory_path() /
          ("droplab-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + suffix))
      .string();
}

std::string temp_profile(const nlohmann::json& doc) {
  std::string path = temp_path(".json");
  std::ofstream(path) << doc.dump(2);
  return path;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

nlohmann::json stage(const nlohmann::json& report, const std::string& name) {
  for (const auto& s : report.at("stages")) {
    if (s.at("name") == name) return s;
  }
  return nlohmann::json::object();
}

long long evidence(const nlohmann::json& stage, const std::string& counter) {
  for (const auto& e : stage.value("evidence", nlohmann::json::array())) {
    if (e.at("counter") == counter && !e.at("delta").is_null()) return e.at("delta").get<long long>();
  }
  return -1;
}

std::vector<std::string> all_netns() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator("/run/netns", ec)) out.push_back(de.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> host_links() {
  std::vector<std::string> out;
  for (const auto& de : fs::directory_iterator("/sys/class/net")) out.push_back(de.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// A generator or sink that outlived the harness that started it is an
// orphan: its parent died and it was reparented to init. (Other droplab
// processes on the machine, with live parents, are not ours to judge.)
// Tracefs instances, plus a marker for whether tracefs is mounted at all.
std::vector<std::string> tracefs_state() {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists("/sys/kernel/tracing/instances", ec)) return {"(tracefs not mounted)"};
  for (const auto& de : fs::directory_iterator("/sys/kernel/tracing/instances", ec)) out.push_back(de.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

bool process_named_running(const std::string& comm) {
  for (const auto& de : fs::directory_iterator("/proc")) {
    std::ifstream in(de.path() / "comm");
    std::string c;
    if (!in || !std::getline(in, c) || c != comm) continue;
    std::ifstream status(de.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("PPid:", 0) == 0 && std::stoi(line.substr(5)) == 1) return true;
    }
  }
  return false;
}

const std::vector<std::string>& HostFixture::watched_sysctls() {
  // Every host sysctl a test or a shipped profile changes.
  static const std::vector<std::string> keys{"net.core.netdev_budget",        "net.core.rmem_max",
                                             "net.core.rmem_default",         "net.core.netdev_max_backlog",
                                             "net.ipv4.udp_mem",              "net.core.flow_limit_cpu_bitmap",
                                             "net.netfilter.nf_conntrack_max"};
  return keys;
}

namespace {

constexpr const char* kAbsent = "(this kernel has no such sysctl)";

std::string sysctl_or_absent(const std::string& key) {
  std::error_code ec;
  if (!fs::is_regular_file(harness::sysctl_path(key), ec)) return kAbsent;
  return harness::read_sysctl(key);
}

bool pid_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// Lab namespaces ("dl<pid>-tx"/"-rx") whose run is over: a live run's lab,
// perhaps another user's on a shared machine, is not a leftover.
std::vector<std::string> leftover_lab_netns() {
  std::vector<std::string> out;
  for (const auto& ns : harness::list_lab_netns()) {
    long pid = std::strtol(ns.c_str() + 2, nullptr, 10);
    if (!pid_alive(pid)) out.push_back(ns);
  }
  return out;
}

std::vector<std::string> leftover_journals() {
  std::vector<std::string> out;
  for (const auto& path : harness::list_journals()) {
    harness::Journal j = harness::Journal::open(path);
    if (!j.owner_alive()) out.push_back(path);
  }
  return out;
}

} // namespace

void HostFixture::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) to build the lab";
  auto probe = harness::run_command({"ip", "netns", "add", "dlprobe" + std::to_string(::getpid())});
  if (probe.exit_code != 0) GTEST_SKIP() << "network namespaces unavailable: " << probe.output;
  harness::run_command({"ip", "netns", "delete", "dlprobe" + std::to_string(::getpid())});
  // A sysctl this kernel lacks (flow limit without CONFIG_NET_FLOW_LIMIT) is
  // watched as absent: it must still be absent after.
  for (const auto& k : watched_sysctls()) sysctls_before_[k] = sysctl_or_absent(k);
  // droplab's own lab namespaces ("dl<pid>-tx"/"-rx"): other namespaces on
  // the machine are not ours to judge.
  netns_before_ = leftover_lab_netns();
  journals_before_ = leftover_journals();
  links_before_ = host_links();
  tracefs_before_ = tracefs_state();
}

void HostFixture::TearDown() {
  if (::geteuid() != 0 || sysctls_before_.empty()) return;
  EXPECT_EQ(leftover_lab_netns(), netns_before_) << "a lab namespace was left behind";
  EXPECT_EQ(leftover_journals(), journals_before_) << "a journal was left behind";
  EXPECT_EQ(host_links(), links_before_) << "a link was left behind in the host namespace";
  EXPECT_EQ(tracefs_state(), tracefs_before_) << "tracefs (an instance, or the mount) was not put back";
  for (const auto& [k, v] : sysctls_before_) {
    std::string now = sysctl_or_absent(k);
    EXPECT_EQ(now, v) << k << " was not restored";
    // Put it back anyway, so one failure does not leak into the host.
    if (now != v && v != kAbsent) harness::write_sysctl(k, v);
  }
  // Clean up after a failure the way a user would: undo what finished runs
  // left (never a live run's lab).
  harness::recover_journals(false);
  EXPECT_FALSE(process_named_running("droplab-gen")) << "a generator outlived its run";
  EXPECT_FALSE(process_named_running("droplab-sink")) << "a sink outlived its run";
}

} // namespace droplab::e2e

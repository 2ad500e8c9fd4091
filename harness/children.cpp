#include "children.hpp"

#include "journal.hpp"

#include "droplab/json_util.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <system_error>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace droplab::harness {

namespace {
constexpr const char* kRunDirPrefix = "droplab-run.";
}

RunDir::RunDir() {
  std::string tmpl = (fs::temp_directory_path() / (std::string(kRunDirPrefix) + "XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  path_ = tmpl;
  // Who owns it: a SIGKILLed owner cannot remove it; the next run does.
  pid_t pid = ::getpid();
  std::ofstream(path_ / "owner") << pid << ' ' << process_start_time(pid) << '\n';
}

std::vector<std::string> remove_orphan_run_dirs() {
  std::vector<std::string> done;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = de.path().filename().string();
    if (name.rfind(kRunDirPrefix, 0) != 0 || !de.is_directory(ec)) continue;
    pid_t pid = 0;
    unsigned long long start = 0;
    std::ifstream owner(de.path() / "owner");
    if (!(owner >> pid >> start)) {
      // No owner recorded (yet, or by an older droplab): only once it is old.
      auto age = fs::file_time_type::clock::now() - fs::last_write_time(de.path(), ec);
      if (ec || age < std::chrono::minutes(10)) continue;
    } else if (pid > 0 && start != 0 && process_start_time(pid) == start) {
      continue; // its run is alive
    }
    fs::remove_all(de.path(), ec);
    if (!ec) done.push_back(fmt::format("scratch folder {}: removed (its run was killed)", de.path().string()));
  }
  return done;
}

RunDir::~RunDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void LogTail::pump(bool print) {
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

std::string LogTail::tail(std::size_t max_bytes) const {
  std::ifstream in(path_);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

std::vector<std::string> sink_argv(const std::string& bin, const SinkSpec& s, const std::string& listen,
                                   const RunDir& dir, std::uint64_t bound_s) {
  std::vector<std::string> a{bin,          "--listen", listen,
                             "--ready-file", dir.file("sink.ready"), "--json", dir.file("sink.json"),
                             "--batch",    std::to_string(s.batch),
                             // A bound in time even if the harness could not stop it.
                             "--duration", fmt::format("{}s", bound_s)};
  if (s.rcvbuf) a.insert(a.end(), {"--rcvbuf", *s.rcvbuf});
  if (s.read_rate) a.insert(a.end(), {"--read-rate", *s.read_rate});
  if (s.stall) a.insert(a.end(), {"--stall", *s.stall});
  if (s.backend) a.insert(a.end(), {"--backend", *s.backend});
  if (s.threads) a.insert(a.end(), {"--threads", std::to_string(*s.threads)});
  if (s.cpus) a.insert(a.end(), {"--cpus", *s.cpus});
  if (s.rcvbuf_force) a.insert(a.end(), {"--rcvbuf-force", *s.rcvbuf_force});
  if (s.work) a.insert(a.end(), {"--work", *s.work});
  if (s.hang_after) a.insert(a.end(), {"--hang-after", *s.hang_after});
  if (s.gro) a.push_back("--gro");
  return a;
}

std::vector<std::string> gen_argv(const std::string& bin, const GenSpec& g, const std::string& dst,
                                  const RunDir& dir, std::uint16_t flow_id_base) {
  std::vector<std::string> a{bin,      "--dst",   dst,
                             "--rate", g.rate, "--size", std::to_string(g.size),
                             "--flows", std::to_string(g.flows), "--batch", std::to_string(g.batch),
                             "--json", dir.file("gen.json")};
  a.insert(a.end(), {"--backend", g.backend});
  if (flow_id_base) a.insert(a.end(), {"--flow-id-base", std::to_string(flow_id_base)});
  if (g.src_range) a.insert(a.end(), {"--src-range", *g.src_range});
  if (g.fault) a.insert(a.end(), {"--fault", *g.fault});
  if (g.burst) a.insert(a.end(), {"--burst", std::to_string(*g.burst)});
  if (g.duration) a.insert(a.end(), {"--duration", *g.duration});
  if (g.count) a.insert(a.end(), {"--count", std::to_string(*g.count)});
  return a;
}

std::uint64_t gen_bound_s(const GenSpec& g) {
  return g.duration ? parse_duration_ns(*g.duration) / 1'000'000'000ULL + 1 : 3600;
}

nlohmann::json wait_ready(Child& sink, const LogTail& log, const std::string& ready_file,
                          const std::function<void()>& check) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!fs::exists(ready_file)) {
    check();
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

} // namespace droplab::harness

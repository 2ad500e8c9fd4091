// The generator and the sink as child processes: their command lines from a
// profile's specs, a scratch folder for their logs and reports, and the
// sink's readiness. Shared by `droplab run` and `droplab agent`.
#pragma once

#include "command.hpp"
#include "profile.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace droplab::harness {

// A private scratch directory for the children's logs and reports, removed
// with everything in it. It records its owner (pid and start time), so one a
// SIGKILLed run left is removed by the next (remove_orphan_run_dirs).
class RunDir {
public:
  RunDir();
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

// Removes the scratch folders of runs that are gone; what it removed, a line each.
std::vector<std::string> remove_orphan_run_dirs();

// Prints whole new lines a child appended to its log, prefixed with its name.
class LogTail {
public:
  LogTail(std::string path, std::string prefix) : path_(std::move(path)), prefix_(std::move(prefix)) {}
  void pump(bool print);
  std::string tail(std::size_t max_bytes = 2000) const;

private:
  std::string path_, prefix_;
  std::size_t offset_ = 0;
};

// droplab-sink listening on `listen` ("ADDR:PORT"), writing its ready file
// and report into `dir`, bounded to `bound_s` seconds whatever happens.
std::vector<std::string> sink_argv(const std::string& bin, const SinkSpec& s, const std::string& listen,
                                   const RunDir& dir, std::uint64_t bound_s);

// droplab-gen sending to `dst` ("ADDR:PORT"), its report into `dir`.
std::vector<std::string> gen_argv(const std::string& bin, const GenSpec& g, const std::string& dst,
                                  const RunDir& dir, std::uint16_t flow_id_base = 0);

// A bound on the generator's run time in seconds: its duration (+1), or an
// hour for a count-bounded one (droplab-gen bounds itself the same way).
std::uint64_t gen_bound_s(const GenSpec& g);

// Waits up to 10 s for the sink's ready file and returns it; `check` runs
// every few ms (it throws to abandon the wait, e.g. on Ctrl-C).
nlohmann::json wait_ready(Child& sink, const LogTail& log, const std::string& ready_file,
                          const std::function<void()>& check);

} // namespace droplab::harness

// `droplab run PROFILE`: one experiment in the local lab, from bringing it up
// to the drop waterfall, with the host put back on every exit path.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace droplab::harness {

inline constexpr int kExitExpectationFailed = 3;
inline constexpr int kExitInterrupted = 130;

// Thrown when SIGINT/SIGTERM asks a run to stop; the run restores the host on
// the way out and main exits kExitInterrupted.
class Interrupted : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct RunOptions {
  std::string profile_path;
  std::string json_path; // "" = no JSON report
  bool quiet = false;    // no live generator lines
  std::uint64_t interval_ns = 100'000'000; // counter sampling period for the timeline
  bool allow_bpf = true;     // --no-bpf: count drop reasons from the tracefs text buffer
  bool drop_reasons = true;  // --no-drop-reasons: do not count them at all
};

// Returns the exit code: 0, or kExitExpectationFailed. Throws ProfileError
// (usage, exit 2), Interrupted, or std::exception for a failed run.
int run_experiment(const RunOptions& opt);

} // namespace droplab::harness

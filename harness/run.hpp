// `droplab run PROFILE`: one experiment in the local lab, from bringing it up
// to the drop waterfall, with the host put back on every exit path.
#pragma once

#include "preflight.hpp"
#include "profile.hpp"

#include <nlohmann/json.hpp>

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

// Throws Interrupted when SIGINT/SIGTERM asked to stop, saying `during` what.
void throw_if_stopped(const char* during);
// Now, as ISO 8601 UTC ("2026-11-24T09:57:37Z"), for reports.
std::string iso_now();

struct RunOptions {
  std::string profile_path;
  std::string json_path; // "" = no JSON report
  bool quiet = false;    // no live generator lines
  std::uint64_t interval_ns = 100'000'000; // counter sampling period for the timeline
  bool allow_bpf = true;     // --no-bpf: count drop reasons from the tracefs text buffer
  bool drop_reasons = true;  // --no-drop-reasons: do not count them at all
  std::string html_path;     // "" = no HTML report
  bool print = true;         // false: no waterfall or settings on stdout (compare, sweep)
  // Reaching the agents of a profile with "hosts".
  std::string ssh_config;                 // ssh -F FILE ("" = the user's own)
  std::string tls_cert, tls_key, tls_ca;  // the controller's certificate, key, and the agents' CA
};

struct RunResult {
  int exit_code = 0;     // 0, or kExitExpectationFailed
  nlohmann::json report; // the --json document (README "Report format")
};

// Returns the exit code: 0, or kExitExpectationFailed. Throws ProfileError
// (usage, exit 2), Interrupted, or std::exception for a failed run.
int run_experiment(const RunOptions& opt);

// check_profile_on_host (preflight.hpp): what the kernel must offer, refused
// with exit 2 before anything changes.

// One experiment with an already loaded (and possibly modified) profile; the
// report is returned whether or not opt.json_path asks for a file.
RunResult run_profile(const Profile& prof, const RunOptions& opt);

} // namespace droplab::harness

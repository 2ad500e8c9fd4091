// Many runs of one profile: `droplab compare` (an A/B verdict on a tuning
// change, with statistics) and `droplab sweep` (loss against a knob, and the
// highest zero-loss rate). Each run is a whole `droplab run`, host restored
// in between.
#pragma once

#include "run.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace droplab::harness {

struct CompareOptions {
  std::string profile_path;
  std::vector<std::string> baseline;  // SETTINGS items; empty = the profile as is
  std::vector<std::string> candidate; // SETTINGS items
  unsigned repeat = 5;
  double alpha = 0.05;
  std::string json_path, html_path;
  RunOptions run; // bpf, drop reasons, interval
};

// Exit code: 0, or kExitExpectationFailed when the candidate regressed.
int compare_command(const CompareOptions& opt);

struct SweepOptions {
  std::string profile_path;
  std::vector<std::string> vary; // "KEY=V1,V2,..."
  bool throughput = false;       // RFC 2544 throughput: binary search on gen.rate
  std::string min_rate, max_rate, resolution; // "" = defaults
  double loss_tolerance = 0;     // fraction of sent that may be lost and still pass
  std::string json_path, html_path;
  RunOptions run;
};

int sweep_command(const SweepOptions& opt);

// RFC 2544 throughput search over [lo, hi] pps: `trial(rate)` says whether
// the rate passed. Bisects until the bracket is at most `resolution` wide;
// the result is the highest passing rate tried (nullopt: even lo failed).
// Exposed for tests.
struct SearchStep {
  double rate_pps;
  bool passed;
};
std::optional<double> throughput_search(double lo, double hi, double resolution,
                                        const std::function<bool(double)>& trial,
                                        std::vector<SearchStep>* steps = nullptr);

} // namespace droplab::harness

// `droplab compare` reduced to numbers: each run's report boiled down to what
// the comparison needs, the per-metric statistics and verdicts as a JSON
// document (a contract the HTML report is written against: see README), and
// the terminal table. No I/O: the command runs the experiments.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace droplab::harness {

inline constexpr int kCompareSchemaVersion = 1;

struct CompareRun {
  int index = 0;     // 1-based within its arm
  int order = 0;     // 1-based position in the interleaved sequence
  int exit_code = 0; // of the `droplab run`: 0, or kExitExpectationFailed
  std::uint64_t sent = 0, delivered = 0, dropped = 0;
  std::int64_t unexplained = 0;
  std::map<std::string, std::uint64_t> stage_dropped;
  std::optional<double> cpu_s;          // generator + sink + harness; nullopt: not measured
  std::optional<double> latency_p99_ns; // nullopt: nothing delivered, or no latency measured
};

// One `droplab run` report (README "Report format"). Throws
// std::runtime_error naming the JSON path of a missing or mistyped field.
// Everything that did not arrive, explained or not: (sent - delivered) /
// sent; nullopt when nothing was sent.
std::optional<double> loss_fraction(const CompareRun& r);
// {"index", "order", "exit_code", "sent", "delivered", "dropped",
//  "unexplained", "loss_fraction", "stages", "cpu_s", "latency_p99_ns"}
nlohmann::json compare_run_json(const CompareRun& r);

CompareRun compare_run_from_report(const nlohmann::json& report, int index, int order,
                                   int exit_code);

struct CompareArm {
  std::string name;                  // "baseline" or "candidate"
  std::vector<std::string> settings; // SETTINGS items as given; empty = the profile as is
  std::vector<CompareRun> runs;
};

// The comparison document. Metrics are loss fractions (dropped / sent): the
// total, then each stage that dropped in any run, in stage order; the cost
// side is CPU seconds and latency p99. Every metric is tested with Welch's
// two-sided t-test of candidate - baseline; lower is better for all of
// them. A value that was not measured is null, never 0, and why is in
// "notes". The overall verdict is the total loss's.
nlohmann::json summarize_compare(const CompareArm& baseline, const CompareArm& candidate,
                                 double alpha, const nlohmann::json& profile_info);

// The terminal text for a summarize_compare() document: one row per metric
// (mean ± 95% CI half-width per arm, the difference with its CI, p, verdict),
// the verdict line, and the notes.
std::string render_compare(const nlohmann::json& summary);

} // namespace droplab::harness

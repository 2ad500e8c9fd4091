// The run report: expectation verdict, JSON document (a contract scripts rely
// on: see README "Report format"), and extraction of the generator's and
// sink's own reports.
#pragma once

#include "lab.hpp"
#include "profile.hpp"
#include "reasons.hpp"
#include "settings.hpp"
#include "timeline.hpp"
#include "waterfall.hpp"

#include "droplab/counters/snapshot.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace droplab::harness {

inline constexpr int kReportSchemaVersion = 1;

struct ExpectVerdict {
  bool present = false;
  bool passed = true;
  std::vector<std::string> reasons; // why it failed, or what held
};

ExpectVerdict evaluate_expect(const std::optional<Expect>& expect, const Waterfall& w,
                              const counters::Delta& delta = {});

// Reads the fields attribution needs from droplab-gen's and droplab-sink's
// --json reports. Throws std::runtime_error naming the missing field.
RunOutcome outcome_from_reports(const nlohmann::json& gen, const nlohmann::json& sink);

struct ReportInputs {
  const Profile& profile;
  const Lab& lab;
  const std::vector<SettingRecord>& settings;
  const Waterfall& waterfall;
  const ExpectVerdict& verdict;
  const counters::Delta& delta;
  const nlohmann::json& gen;
  const nlohmann::json& sink;
  std::string started_at; // ISO 8601 UTC
  std::vector<std::string> restored;
  const Timeline& timeline;
  std::uint64_t interval_ns = 0;
  const DropReasons& reasons;
  double harness_cpu_s = 0;
  double harness_wall_s = 0;
  double sampling_cpu_s = 0;  // while the generator ran (sampling only)
  double sampling_wall_s = 0;
};

nlohmann::json build_report(const ReportInputs& in);

} // namespace droplab::harness

// Drops over time: counters sampled every --interval during a run, turned
// into per-stage drops per interval with the same attribution as the whole
// run, so a burst or a stall shows as a spike at the moment it happened.
#pragma once

#include "waterfall.hpp"

#include "droplab/counters/snapshot.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace droplab::harness {

struct TimelinePoint {
  double t_s = 0; // end of the interval, seconds since the first sample
  std::map<std::string, std::uint64_t> dropped; // stage -> drops in this interval
};

struct Timeline {
  std::vector<TimelinePoint> points;
};

// Consecutive samples (oldest first) -> one point per interval.
// `reasons` (the run's totals) places drops only the socket counted, as the
// run's own waterfall does.
Timeline build_timeline(const std::vector<counters::Snapshot>& samples, const LabFacts& facts,
                        const DropReasons* reasons = nullptr);

// One line per stage that dropped: a sparkline over the run and its peak.
std::string render_timeline(const Timeline& t);

void to_json(nlohmann::json& j, const Timeline& t);

} // namespace droplab::harness

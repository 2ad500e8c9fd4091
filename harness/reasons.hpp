// The kernel's drop reasons for one run, and which waterfall stage each
// reason belongs to (receive-path.md's table).
#pragma once

#include "droplab/dropreason/counter.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace droplab::harness {

struct DropReasons {
  std::string mode = "unavailable"; // "bpf", "tracefs", "unavailable"
  std::string mode_reason = "drop reasons unavailable";
  std::uint64_t lost_events = 0;
  std::vector<dropreason::ReasonCount> counts;

  // Counts limited to the lab's namespaces (BPF), so they can be compared
  // with the lab's counters one for one.
  bool lab_only() const { return mode == "bpf"; }
  // Drops (not frees at socket close) of `reason`, lab-only or host-wide.
  std::uint64_t drops_of(const std::string& reason) const;
};

// The stage a drop reason proves, or "" when no stage of the lab's path
// matches (reported under "other").
std::string stage_of_reason(const std::string& reason);

void to_json(nlohmann::json& j, const DropReasons& r);

// "drop reasons (BPF, …):" then one line per reason and location.
std::string render_reasons(const DropReasons& r);

} // namespace droplab::harness

// JSON form of snapshots and deltas for reports. An unavailable counter is written
// as "value": null plus its reason; zero values are written, never omitted.
#pragma once

#include "droplab/counters/snapshot.hpp"

#include <nlohmann/json_fwd.hpp>

namespace droplab::counters {

// {"key", "source", "kind": "counter"|"gauge", "wrap_bits"? (when not 64), "sum_of"?,
//  "value": n|null, "unavailable_reason"? (when null)}
void to_json(nlohmann::json &j, const Counter &c);
// {"taken_mono_ns", "counters": {key: Counter…}}
void to_json(nlohmann::json &j, const Snapshot &s);
// {"from_mono_ns", "to_mono_ns", "counters": {key: Counter…}}
void to_json(nlohmann::json &j, const Delta &d);

// The inverse, for snapshots that crossed the agent protocol: strict (a
// missing field, a wrong type or an unavailable counter without its reason
// throws nlohmann::json::exception or std::invalid_argument).
void from_json(const nlohmann::json &j, Counter &c);
void from_json(const nlohmann::json &j, Snapshot &s);

} // namespace droplab::counters

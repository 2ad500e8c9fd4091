#include "droplab/counters/snapshot_json.hpp"

#include <nlohmann/json.hpp>

namespace droplab::counters {

void to_json(nlohmann::json &j, const Counter &c) {
  j = nlohmann::json{
      {"key", c.key}, {"source", c.source}, {"kind", c.kind == Kind::Gauge ? "gauge" : "counter"}};
  if (c.wrap_bits != 64) j["wrap_bits"] = c.wrap_bits;
  if (!c.sum_of.empty()) j["sum_of"] = c.sum_of;
  if (c.value) {
    j["value"] = *c.value;
  } else {
    j["value"] = nullptr;
    j["unavailable_reason"] = c.unavailable_reason;
  }
}

void to_json(nlohmann::json &j, const Snapshot &s) {
  j = nlohmann::json{{"taken_mono_ns", s.taken_mono_ns}, {"counters", s.counters}};
}

void to_json(nlohmann::json &j, const Delta &d) {
  j = nlohmann::json{
      {"from_mono_ns", d.from_mono_ns}, {"to_mono_ns", d.to_mono_ns}, {"counters", d.counters}};
}

} // namespace droplab::counters

#include "droplab/counters/snapshot_json.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

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

void from_json(const nlohmann::json &j, Counter &c) {
  c = Counter{};
  c.key = j.at("key").get<std::string>();
  c.source = j.at("source").get<std::string>();
  const std::string kind = j.at("kind").get<std::string>();
  if (kind != "counter" && kind != "gauge") {
    throw std::invalid_argument("counter " + c.key + ": kind \"" + kind + "\" is neither counter nor gauge");
  }
  c.kind = kind == "gauge" ? Kind::Gauge : Kind::Counter;
  c.wrap_bits = j.value("wrap_bits", 64U);
  if (c.wrap_bits == 0 || c.wrap_bits > 64) throw std::invalid_argument("counter " + c.key + ": wrap_bits out of range");
  if (j.contains("sum_of")) c.sum_of = j.at("sum_of").get<std::vector<std::string>>();
  if (j.at("value").is_null()) {
    c.unavailable_reason = j.at("unavailable_reason").get<std::string>();
    if (c.unavailable_reason.empty()) throw std::invalid_argument("counter " + c.key + ": unavailable without a reason");
  } else {
    c.value = j.at("value").get<std::uint64_t>();
  }
}

void from_json(const nlohmann::json &j, Snapshot &s) {
  s = Snapshot{};
  s.taken_mono_ns = j.at("taken_mono_ns").get<std::uint64_t>();
  for (const auto &[key, c] : j.at("counters").items()) {
    Counter counter = c.get<Counter>();
    if (counter.key != key) throw std::invalid_argument("counter filed under " + key + " is named " + counter.key);
    s.counters.emplace(key, std::move(counter));
  }
}

} // namespace droplab::counters

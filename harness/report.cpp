#include "report.hpp"

#include "droplab/counters/snapshot_json.hpp"
#include "droplab/json_util.hpp"

#include <fmt/format.h>

#include <cmath>

using nlohmann::json;

namespace droplab::harness {
namespace {

const json& field(const json& doc, const char* tool, std::initializer_list<const char*> path) {
  const json* cur = &doc;
  std::string where;
  for (const char* p : path) {
    where += "/";
    where += p;
    if (!cur->is_object() || !cur->contains(p)) {
      throw std::runtime_error(fmt::format("{} report has no {}", tool, where));
    }
    cur = &(*cur)[p];
  }
  return *cur;
}

std::optional<std::uint64_t> opt_u64(const json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<std::uint64_t>();
}

ExpectVerdict verdict_of(const std::optional<Expect>& expect, const Waterfall& w, const counters::Delta& delta) {
  ExpectVerdict v;
  if (!expect) return v;
  v.present = true;
  for (const auto& key : expect->counters_moved) {
    const counters::Counter* c = delta.find(key);
    if (!c || !c->value) {
      v.passed = false;
      v.reasons.push_back(fmt::format("{} was expected to move but is {}", key,
                                      c ? "unavailable (" + c->unavailable_reason + ")" : "not collected"));
    } else if (*c->value == 0) {
      v.passed = false;
      v.reasons.push_back(fmt::format("{} was expected to move but did not", key));
    } else {
      v.reasons.push_back(fmt::format("{} moved by {}", key, *c->value));
    }
  }
  const Accounting& a = w.accounting;
  std::uint64_t abs_unexplained = static_cast<std::uint64_t>(std::llabs(a.unexplained));
  if (abs_unexplained > expect->max_unexplained) {
    v.passed = false;
    v.reasons.push_back(fmt::format("unexplained is {} (allowed: at most {})", a.unexplained,
                                    expect->max_unexplained));
  }
  std::uint64_t lost = a.sent >= a.delivered ? a.sent - a.delivered : 0;
  if (expect->no_loss) {
    if (lost > 0 || a.dropped > 0) {
      v.passed = false;
      v.reasons.push_back(fmt::format("expected no loss, but {} of {} were lost ({} dropped at named stages)",
                                      lost, a.sent, a.dropped));
    } else {
      v.reasons.push_back(fmt::format("no loss: {} sent, {} delivered", a.sent, a.delivered));
    }
    if (a.sent == 0) {
      v.passed = false;
      v.reasons.push_back("the generator sent nothing");
    }
    return v;
  }
  const Stage* s = w.find(expect->drops_at);
  std::uint64_t at = s ? s->dropped : 0;
  if (lost == 0) {
    v.passed = false;
    v.reasons.push_back(fmt::format("expected drops at {}, but nothing was lost", expect->drops_at));
    return v;
  }
  double fraction = static_cast<double>(at) / static_cast<double>(lost);
  if (fraction + 1e-12 < expect->min_fraction) {
    v.passed = false;
    v.reasons.push_back(fmt::format("{} holds {} of {} lost packets ({:.1f}%), expected at least {:.1f}%",
                                    expect->drops_at, at, lost, fraction * 100, expect->min_fraction * 100));
  } else {
    v.reasons.push_back(fmt::format("{} holds {} of {} lost packets ({:.1f}%, at least {:.1f}% expected)",
                                    expect->drops_at, at, lost, fraction * 100, expect->min_fraction * 100));
  }
  return v;
}

} // namespace

ExpectVerdict evaluate_expect(const std::optional<Expect>& expect, const Waterfall& w,
                              const counters::Delta& delta) {
  ExpectVerdict v = verdict_of(expect, w, delta);
  // A failed expectation with a generator that fell short is most often
  // explained by that: say so next to the failure, not only in the gen stage.
  if (const Stage* gen = w.find("gen"); !v.passed && gen != nullptr) {
    for (const auto& n : gen->notes) {
      if (n.starts_with(kGenShortNote)) v.reasons.push_back(n);
    }
  }
  return v;
}

RunOutcome outcome_from_reports(const json& gen, const json& sink) {
  RunOutcome o;
  o.gen_sent = field(gen, "droplab-gen", {"summary", "sent"}).get<std::uint64_t>();
  o.gen_send_errors = field(gen, "droplab-gen", {"summary", "send_errors_total"}).get<std::uint64_t>();
  o.gen_pace = gen_pace_from_report(gen);
  o.sink_valid = field(sink, "droplab-sink", {"summary", "valid"}).get<std::uint64_t>();
  o.sink_invalid = field(sink, "droplab-sink", {"summary", "invalid"}).get<std::uint64_t>();
  o.sink_duplicates = field(sink, "droplab-sink", {"summary", "duplicates"}).get<std::uint64_t>();
  o.sink_hung = sink.at("summary").value("hung", false);
  o.sink_rxq_ovfl = opt_u64(field(sink, "droplab-sink", {"summary", "socket_drops_rxq_ovfl"}));
  o.sink_meminfo_drops = opt_u64(field(sink, "droplab-sink", {"summary", "socket_drops_meminfo"}));

  std::map<std::uint16_t, FlowCounts> flows;
  for (const auto& f : field(gen, "droplab-gen", {"flows"})) {
    auto id = f.at("flow").get<std::uint16_t>();
    flows[id].flow = id;
    flows[id].gen_sent = f.at("next_seq").get<std::uint64_t>();
  }
  for (const auto& f : field(sink, "droplab-sink", {"flows"})) {
    auto id = f.at("flow").get<std::uint16_t>();
    flows[id].flow = id;
    flows[id].sink_highest = opt_u64(f.at("highest_seq"));
    flows[id].sink_lost = f.at("lost").get<std::uint64_t>();
  }
  for (auto& [id, fc] : flows) o.flows.push_back(fc);
  return o;
}

json build_report(const ReportInputs& in) {
  json settings = json::array();
  for (const auto& s : in.settings) {
    settings.push_back({{"key", s.key}, {"scope", s.scope}, {"old", s.old_value}, {"applied", s.applied_value}});
  }
  json expect = nullptr;
  if (in.verdict.present) {
    expect = {{"passed", in.verdict.passed}, {"reasons", in.verdict.reasons}};
    const Expect& e = *in.profile.expect;
    if (e.no_loss) {
      expect["no_loss"] = true;
    } else {
      expect["drops_at"] = e.drops_at;
      expect["min_fraction"] = e.min_fraction;
    }
    expect["max_unexplained"] = e.max_unexplained;
  }
  return json{
      {"schema_version", kReportSchemaVersion},
      {"tool", "droplab"},
      {"context",
       {{"kernel", kernel_release()},
        {"cpus", online_cpus()},
        {"started_at", in.started_at},
        {"profile", {{"name", in.profile.name}, {"path", in.profile.path}, {"description", in.profile.description}}},
        {"lab", in.lab},
        {"settings", settings},
        {"restored", in.restored},
        {"harness", {{"cpu_s", in.harness_cpu_s}, {"wall_s", in.harness_wall_s},
                     {"cpu_percent", in.harness_wall_s > 0 ? 100.0 * in.harness_cpu_s / in.harness_wall_s : 0.0},
                     {"sampling_cpu_s", in.sampling_cpu_s}, {"sampling_wall_s", in.sampling_wall_s},
                     {"sampling_cpu_percent",
                      in.sampling_wall_s > 0 ? 100.0 * in.sampling_cpu_s / in.sampling_wall_s : 0.0}}}}},
      {"stages", in.waterfall.stages},
      {"accounting", in.waterfall.accounting},
      {"expect", expect},
      {"drop_reasons", in.reasons},
      {"counters", in.delta},
      {"timeline", {{"interval_s", static_cast<double>(in.interval_ns) / 1e9}, {"points", in.timeline}}},
      {"gen", in.gen},
      {"sink", in.sink},
  };
}

} // namespace droplab::harness

#include "compare_summary.hpp"

#include "profile.hpp"
#include "run.hpp"
#include "stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>

using nlohmann::json;

namespace droplab::harness {
namespace {

constexpr const char* kTestName = "Welch's t-test, two-sided";
// Total loss is everything that did not arrive, explained or not (as sweep
// and the progress lines count it); a stage's loss is what it dropped.
constexpr const char* kTotalWhat = "loss fraction ((sent - delivered)/sent)";
constexpr const char* kLossWhat = "loss fraction (dropped/sent)";

std::uint64_t lost(const CompareRun& r) { return r.sent > r.delivered ? r.sent - r.delivered : 0; }

// The value under `path` ({"accounting", "sent"}), or nullptr when any
// part of it is missing.
const json* find(const json& doc, std::initializer_list<const char*> path) {
  const json* cur = &doc;
  for (const char* p : path) {
    if (!cur->is_object() || !cur->contains(p)) return nullptr;
    cur = &(*cur)[p];
  }
  return cur;
}

std::string where(std::initializer_list<const char*> path) {
  std::string w;
  for (const char* p : path)
    w += fmt::format("/{}", p);
  return w;
}

std::uint64_t to_u64(const json& j, const std::string& at) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) return j.get<std::uint64_t>();
  throw std::runtime_error(fmt::format("run report: {}: {} is not a count", at, j.dump()));
}

const json& require(const json& doc, std::initializer_list<const char*> path) {
  const json* j = find(doc, path);
  if (!j) throw std::runtime_error(fmt::format("run report has no {}", where(path)));
  return *j;
}

std::uint64_t require_u64(const json& doc, std::initializer_list<const char*> path) {
  return to_u64(require(doc, path), where(path));
}

// A number, or nullopt for null; anything else is an error.
std::optional<double> opt_number(const json* j, const std::string& at) {
  if (!j || j->is_null()) return std::nullopt;
  if (!j->is_number())
    throw std::runtime_error(fmt::format("run report: {}: {} is not a number", at, j->dump()));
  return j->get<double>();
}

json number_or_null(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

std::string arm_run(const std::string& arm, const CompareRun& r) {
  return fmt::format("{} run {} (#{} in sequence)", arm, r.index, r.order);
}

} // namespace

std::optional<double> loss_fraction(const CompareRun& r) {
  if (r.sent == 0) return std::nullopt;
  return static_cast<double>(lost(r)) / static_cast<double>(r.sent);
}

json compare_run_json(const CompareRun& r) {
  std::optional<double> loss = loss_fraction(r);
  return json{{"index", r.index},
              {"order", r.order},
              {"exit_code", r.exit_code},
              {"sent", r.sent},
              {"delivered", r.delivered},
              {"dropped", r.dropped},
              {"unexplained", r.unexplained},
              {"loss_fraction", number_or_null(loss)},
              {"stages", r.stage_dropped},
              {"cpu_s", number_or_null(r.cpu_s)},
              {"latency_p99_ns", number_or_null(r.latency_p99_ns)}};
}

namespace {

json summary_json(const stats::Summary& s) {
  return json{{"n", s.n},
              {"mean", number_or_null(s.n > 0 ? std::optional(s.mean) : std::nullopt)},
              {"stddev", number_or_null(s.stddev)},
              {"ci95_low", number_or_null(s.ci95_low)},
              {"ci95_high", number_or_null(s.ci95_high)}};
}

// One metric: what a run contributes (nullopt: left out, and the caller has
// said why in the notes).
struct MetricSpec {
  std::string name;
  std::string what;
  std::function<std::optional<double>(const CompareRun&)> value;
};

struct Collector {
  double alpha;
  std::size_t fewest_runs; // of either arm
  std::vector<std::string>& notes;
  std::vector<std::string> untested; // metrics without a test although --repeat >= 2
  bool repeat_too_small = false;

  json metric(const MetricSpec& m, const CompareArm& base, const CompareArm& cand) {
    std::vector<double> a, b;
    for (const auto& r : base.runs) {
      if (auto v = m.value(r)) a.push_back(*v);
    }
    for (const auto& r : cand.runs) {
      if (auto v = m.value(r)) b.push_back(*v);
    }
    stats::Summary sa = stats::summarize(a), sb = stats::summarize(b);
    auto w = stats::welch_t_test(a, b);
    json diff{{"mean", nullptr}, {"ci95_low", nullptr}, {"ci95_high", nullptr}};
    if (sa.n > 0 && sb.n > 0) diff["mean"] = number_or_null(sb.mean - sa.mean);
    json test{{"name", kTestName}, {"t", nullptr}, {"df", nullptr}, {"p", nullptr}};
    std::string verdict = "no significant difference";
    if (w) {
      diff["ci95_low"] = number_or_null(w->ci95_low);
      diff["ci95_high"] = number_or_null(w->ci95_high);
      test["t"] = number_or_null(w->t);
      test["df"] = number_or_null(w->df);
      test["p"] = number_or_null(w->p);
      if (w->p < alpha && w->diff_mean < 0) verdict = "improved";
      if (w->p < alpha && w->diff_mean > 0) verdict = "regressed";
      if (std::isnan(w->df)) {
        notes.push_back(
            w->p == 0 ? fmt::format("{}: every run in each arm gave the same value (no variance) "
                                    "and the arms differ: p = 0; t (infinite) and df "
                                    "(undefined) are null",
                                    m.name)
                      : fmt::format("{}: every run in both arms gave the same value (no "
                                    "variance): p = 1; df (undefined) is null",
                                    m.name));
      }
    } else if (fewest_runs < 2) {
      repeat_too_small = true;
    } else {
      untested.push_back(fmt::format("{} (baseline {}, candidate {})", m.name, sa.n, sb.n));
    }
    return json{{"name", m.name},
                {"what", m.what},
                {"baseline", summary_json(sa)},
                {"candidate", summary_json(sb)},
                {"difference", diff},
                {"test", test},
                {"verdict", verdict}};
  }
};

// Stages that dropped in any run, in the waterfall's order; names this
// version does not know (a newer report) follow in name order.
std::vector<std::string> dropping_stages(const CompareArm& base, const CompareArm& cand) {
  std::set<std::string> dropped;
  for (const CompareArm* arm : {&base, &cand}) {
    for (const auto& r : arm->runs) {
      for (const auto& [stage, n] : r.stage_dropped) {
        if (n > 0) dropped.insert(stage);
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& s : stage_names()) {
    if (dropped.erase(s)) out.push_back(s);
  }
  out.insert(out.end(), dropped.begin(), dropped.end());
  return out;
}

// What about a run is worth a note: left out of a metric, or suspect.
void note_runs(const CompareArm& arm, std::vector<std::string>& notes) {
  for (const auto& r : arm.runs) {
    std::string who = arm_run(arm.name, r);
    if (r.exit_code != 0 && r.exit_code != kExitExpectationFailed) {
      notes.push_back(
          fmt::format("{}: suspect: exit code {} (a run that completes exits 0, or {} when the "
                      "profile's expectation failed)",
                      who, r.exit_code, kExitExpectationFailed));
    }
    if (r.unexplained != 0) {
      notes.push_back(
          fmt::format("{}: suspect: {} packets unexplained (sent - delivered - dropped): its loss "
                      "at named stages does not add up to what was lost",
                      who, r.unexplained));
    }
    if (r.sent == 0)
      notes.push_back(fmt::format("{}: sent 0 packets; left out of the loss metrics", who));
    if (!r.cpu_s)
      notes.push_back(fmt::format("{}: its report has no CPU cost; left out of cpu_s", who));
    if (!r.latency_p99_ns) {
      notes.push_back(fmt::format("{}: no latency in its report{}; left out of latency_p99_ns", who,
                                  r.delivered == 0 ? " (nothing delivered)" : ""));
    }
  }
}

} // namespace

CompareRun compare_run_from_report(const json& report, int index, int order, int exit_code) {
  CompareRun r;
  r.index = index;
  r.order = order;
  r.exit_code = exit_code;
  r.sent = require_u64(report, {"accounting", "sent"});
  r.delivered = require_u64(report, {"accounting", "delivered"});
  r.dropped = require_u64(report, {"accounting", "dropped"});
  const json& unexplained = require(report, {"accounting", "unexplained"});
  if (!unexplained.is_number_integer()) {
    throw std::runtime_error(fmt::format(
        "run report: /accounting/unexplained: {} is not an integer", unexplained.dump()));
  }
  r.unexplained = unexplained.get<std::int64_t>();
  const json& stages = require(report, {"stages"});
  if (!stages.is_array()) throw std::runtime_error("run report: /stages is not an array");
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const json& s = stages[i];
    std::string at = fmt::format("/stages/{}", i);
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string()) {
      throw std::runtime_error(fmt::format("run report has no {}/name", at));
    }
    if (!s.contains("dropped"))
      throw std::runtime_error(fmt::format("run report has no {}/dropped", at));
    // An incomplete stage (a drop counter unavailable) has no value.
    if (s.value("dropped_complete", true)) {
      r.stage_dropped[s["name"].get<std::string>()] = to_u64(s["dropped"], at + "/dropped");
    }
  }
  if (const json* lat = find(report, {"sink", "summary", "latency_ns"}); lat && lat->is_object()) {
    const json* count = find(*lat, {"count"});
    bool none = count && to_u64(*count, "/sink/summary/latency_ns/count") == 0;
    if (!none) r.latency_p99_ns = opt_number(find(*lat, {"p99"}), "/sink/summary/latency_ns/p99");
  }
  r.cpu_s = opt_number(find(report, {"cost", "cpu_s"}), "/cost/cpu_s");
  return r;
}

json summarize_compare(const CompareArm& baseline, const CompareArm& candidate, double alpha,
                       const json& profile_info) {
  std::vector<std::string> notes;
  note_runs(baseline, notes);
  note_runs(candidate, notes);
  const std::size_t nb = baseline.runs.size(), nc = candidate.runs.size();
  if (nb != nc) {
    notes.push_back(
        fmt::format("the arms have different numbers of runs: baseline {}, candidate {}", nb, nc));
  }

  auto loss = [](std::function<std::optional<std::uint64_t>(const CompareRun&)> dropped) {
    return [dropped](const CompareRun& r) -> std::optional<double> {
      std::optional<std::uint64_t> n = dropped(r);
      if (r.sent == 0 || !n) return std::nullopt;
      return static_cast<double>(*n) / static_cast<double>(r.sent);
    };
  };
  Collector c{alpha, std::min(nb, nc), notes};
  json metrics = json::array();
  metrics.push_back(
      c.metric({"total", kTotalWhat, loss([](const CompareRun& r) { return std::optional(lost(r)); })}, baseline,
               candidate));
  for (const auto& stage : dropping_stages(baseline, candidate)) {
    // A stage a run does not report, or reports incomplete (a drop counter
    // was unavailable), has no value for that run: never a 0.
    auto at_stage = [stage](const CompareRun& r) -> std::optional<std::uint64_t> {
      auto it = r.stage_dropped.find(stage);
      if (it == r.stage_dropped.end()) return std::nullopt;
      return it->second;
    };
    metrics.push_back(c.metric({stage, kLossWhat, loss(at_stage)}, baseline, candidate));
    for (const CompareArm* arm : {&baseline, &candidate}) {
      for (const auto& r : arm->runs) {
        if (!at_stage(r)) {
          notes.push_back(fmt::format("{}: {} left out of {}: a drop counter of that stage was unavailable",
                                      stage, arm_run(arm->name, r), stage));
        }
      }
    }
  }
  json cost = json::array();
  cost.push_back(c.metric({"cpu_s", "CPU seconds (generator + sink + harness)",
                           [](const CompareRun& r) { return r.cpu_s; }},
                          baseline, candidate));
  cost.push_back(c.metric(
      {"latency_p99_ns", "latency p99 (ns)", [](const CompareRun& r) { return r.latency_p99_ns; }},
      baseline, candidate));
  if (c.repeat_too_small) {
    notes.push_back(
        "needs --repeat ≥ 2: with fewer than 2 runs in an arm there is no variance, so no "
        "confidence interval and no test");
  }
  for (const auto& u : c.untested) {
    notes.push_back(fmt::format("{}: fewer than 2 runs measured it in an arm, so no test", u));
  }

  json arms = json::array();
  for (const CompareArm* arm : {&baseline, &candidate}) {
    json runs = json::array();
    for (const auto& r : arm->runs)
      runs.push_back(compare_run_json(r));
    arms.push_back({{"name", arm->name}, {"settings", arm->settings}, {"runs", runs}});
  }
  const json& total = metrics.front();
  return json{{"schema_version", kCompareSchemaVersion},
              {"tool", "droplab"},
              {"kind", "compare"},
              {"profile", profile_info},
              {"repeat", std::max(nb, nc)},
              {"alpha", alpha},
              {"arms", arms},
              {"metrics", metrics},
              {"cost", cost},
              {"verdict",
               {{"result", total["verdict"]},
                {"metric", "total"},
                {"test", kTestName},
                {"p", total["test"]["p"]},
                {"alpha", alpha}}},
              {"notes", notes}};
}

namespace {

// How one row's numbers are printed: a common unit and enough decimals that
// the smallest mean or difference in the row shows two significant digits.
struct Scale {
  double factor = 1;
  const char* suffix = "";
  int decimals = 2;
};

std::optional<double> opt(const json& j) {
  if (!j.is_number()) return std::nullopt;
  return j.get<double>();
}

int decimals_for(const std::vector<double>& scaled, int lo, int hi) {
  double smallest = std::numeric_limits<double>::infinity();
  for (double v : scaled) {
    if (v != 0 && std::isfinite(v)) smallest = std::min(smallest, std::fabs(v));
  }
  if (!std::isfinite(smallest)) return lo;
  return std::clamp(1 - static_cast<int>(std::floor(std::log10(smallest))), lo, hi);
}

Scale scale_for(const json& metric) {
  std::vector<double> raw;
  for (const char* side : {"baseline", "candidate", "difference"}) {
    if (auto v = opt(metric.at(side).at("mean"))) raw.push_back(*v);
  }
  const std::string name = metric.at("name").get<std::string>();
  Scale s;
  int lo = 2, hi = 6;
  if (name == "cpu_s") {
    s.suffix = " s";
    lo = 3;
  } else if (name == "latency_p99_ns") {
    double largest = 0;
    for (double v : raw)
      largest = std::max(largest, std::fabs(v));
    if (largest < 1e3) {
      s.suffix = " ns";
    } else if (largest < 1e6) {
      s = {1e-3, " µs", 0};
    } else if (largest < 1e9) {
      s = {1e-6, " ms", 0};
    } else {
      s = {1e-9, " s", 0};
    }
    lo = 1;
    hi = 3;
  } else {
    s = {100, "%", 0};
  }
  for (double& v : raw)
    v *= s.factor;
  s.decimals = decimals_for(raw, lo, hi);
  return s;
}

std::string value(double v, const Scale& s, bool sign = false) {
  if (sign) return fmt::format("{:+.{}f}{}", v * s.factor, s.decimals, s.suffix);
  return fmt::format("{:.{}f}{}", v * s.factor, s.decimals, s.suffix);
}

// "79.99% ± 0.02%" (mean ± 95% CI half-width), "79.99%" without a CI.
std::string arm_cell(const json& side, const Scale& s) {
  auto mean = opt(side.at("mean"));
  if (!mean) return "n/a";
  auto lo = opt(side.at("ci95_low")), hi = opt(side.at("ci95_high"));
  if (!lo || !hi) return value(*mean, s);
  return value(*mean, s) + " ± " + value((*hi - *lo) / 2, s);
}

std::string diff_cell(const json& d, const Scale& s) {
  auto mean = opt(d.at("mean"));
  if (!mean) return "n/a";
  auto lo = opt(d.at("ci95_low")), hi = opt(d.at("ci95_high"));
  if (!lo || !hi) return value(*mean, s, true);
  return fmt::format("{} [{}, {}]", value(*mean, s, true), value(*lo, s, true),
                     value(*hi, s, true));
}

std::string p_cell(const json& p) {
  auto v = opt(p);
  if (!v) return "n/a";
  if (*v < 1e-4) return "<0.0001";
  return fmt::format("{:.4f}", *v);
}

std::string label(const std::string& name) {
  if (name == "total") return "total loss";
  if (name == "latency_p99_ns") return "latency p99";
  return name;
}

// Columns are padded by code points: "±" and "µ" are one column wide but
// two bytes, which byte-counting padding would get wrong.
std::size_t columns(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, std::size_t width) {
  return s + std::string(width > columns(s) ? width - columns(s) : 0, ' ');
}

std::string settings_text(const json& arm) {
  if (arm.at("settings").empty()) return "(profile as is)";
  std::string out;
  for (const auto& s : arm.at("settings"))
    out += (out.empty() ? "" : " ") + s.get<std::string>();
  return out;
}

} // namespace

std::string render_compare(const json& summary) {
  const json& base = summary.at("arms").at(0);
  const json& cand = summary.at("arms").at(1);
  const std::size_t nb = base.at("runs").size(), nc = cand.at("runs").size();
  std::vector<std::pair<int, std::string>> sequence;
  for (const json* arm : {&base, &cand}) {
    for (const auto& r : arm->at("runs")) {
      sequence.emplace_back(r.at("order").get<int>(), arm->at("name"));
    }
  }
  std::sort(sequence.begin(), sequence.end());
  std::string seq;
  for (std::size_t i = 0; i < sequence.size() && i < 3; ++i) {
    seq += (i ? ", " : "") + sequence[i].second;
  }
  if (sequence.size() > 3) seq += ", …";

  std::string out =
      fmt::format("compare {}: {}, interleaved ({})\n", summary.at("profile").value("name", "?"),
                  nb == nc ? fmt::format("{} run{} each", nb, nb == 1 ? "" : "s")
                           : fmt::format("{} baseline and {} candidate runs", nb, nc),
                  seq);
  out +=
      fmt::format("  baseline:  {}\n  candidate: {}\n", settings_text(base), settings_text(cand));
  out += "  (mean ± 95% CI half-width; difference = candidate − baseline [95% CI])\n";

  std::vector<std::vector<std::string>> rows{
      {"", "baseline", "candidate", "difference", "p", "verdict"}};
  for (const char* group : {"metrics", "cost"}) {
    for (const auto& m : summary.at(group)) {
      Scale s = scale_for(m);
      rows.push_back({label(m.at("name")), arm_cell(m.at("baseline"), s),
                      arm_cell(m.at("candidate"), s), diff_cell(m.at("difference"), s),
                      p_cell(m.at("test").at("p")), m.at("verdict")});
    }
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], columns(row[i]));
    }
  }
  for (const auto& row : rows) {
    std::string line = "  ";
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      line += pad(row[i], width[i] + 3);
    }
    out += line + row.back() + "\n";
  }

  const json& total = summary.at("metrics").at(0);
  Scale s = scale_for(total);
  auto mean_text = [&](const json& side) {
    auto v = opt(side.at("mean"));
    return v ? value(*v, s) : std::string("n/a");
  };
  const json& v = summary.at("verdict");
  std::string test;
  if (auto p = opt(v.at("p"))) {
    double alpha = v.at("alpha").get<double>();
    test = fmt::format("{}, p = {:.2g} {} {:g}", v.at("test").get<std::string>(), *p,
                       *p < alpha ? "<" : "≥", alpha);
  } else {
    test = "no test: needs at least 2 measured runs in each arm";
  }
  out += fmt::format("verdict: {} — total loss {} → {} ({})\n", v.at("result").get<std::string>(),
                     mean_text(total.at("baseline")), mean_text(total.at("candidate")), test);
  if (summary.contains("notes") && !summary.at("notes").empty()) {
    out += "notes:\n";
    for (const auto& n : summary.at("notes"))
      out += fmt::format("  - {}\n", n.get<std::string>());
  }
  return out;
}

} // namespace droplab::harness

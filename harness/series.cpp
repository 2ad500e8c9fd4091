#include "series.hpp"

#include "compare_summary.hpp"
#include "html.hpp"
#include "overrides.hpp"
#include "profile.hpp"

#include "droplab/clock.hpp"
#include "droplab/json_util.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

using nlohmann::json;

namespace droplab::harness {
namespace {

// "1:05" — minutes and seconds.
std::string clock_text(double s) {
  auto t = static_cast<long>(std::lround(std::max(0.0, s)));
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

// Where a long series is: run i of N, elapsed, and an estimate of what is
// left from the mean duration of the runs so far.
class Progress {
public:
  explicit Progress(std::size_t total) : total_(total), t0_(mono_ns()) {}
  void done(const std::string& what) {
    ++done_;
    double elapsed = static_cast<double>(mono_ns() - t0_) / 1e9;
    std::string left = "";
    if (done_ < total_) {
      left = fmt::format(", about {} left", clock_text(elapsed / static_cast<double>(done_) *
                                                       static_cast<double>(total_ - done_)));
    } else {
      left = ", done";
    }
    fmt::print("[run {}/{}, {} elapsed{}] {}\n", done_, total_, clock_text(elapsed), left, what);
    std::fflush(stdout);
  }

private:
  std::size_t total_, done_ = 0;
  std::uint64_t t0_;
};

// A changed profile, validated as a whole and against this host; errors
// name what changed it.
Profile profile_with(const json& doc, const std::string& path, const std::string& because) {
  try {
    Profile p = parse_profile(doc, path);
    if (!p.hosts) check_profile_on_host(p); // with hosts, the agents check theirs
    return p;
  } catch (const ProfileError& e) {
    throw ProfileError(fmt::format("{}: {}", because, e.what()));
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", because, e.what()));
  }
}

RunResult run_quiet(const Profile& p, const RunOptions& base) {
  RunOptions o = base;
  o.print = false;
  o.quiet = true;
  o.json_path.clear();
  o.html_path.clear();
  return run_profile(p, o);
}

std::string loss_text(const CompareRun& r) {
  std::optional<double> loss = loss_fraction(r);
  return fmt::format("sent {}, delivered {}, loss {}, unexplained {}", format_count(r.sent), format_count(r.delivered),
                     loss ? fmt::format("{:.3f}%", 100 * *loss) : std::string("-"), r.unexplained);
}

json profile_info(const Profile& p) {
  return {{"name", p.name}, {"path", p.path}, {"description", p.description}};
}

void write_outputs(const std::string& json_path, const std::string& html_path, const json& doc) {
  if (!json_path.empty()) {
    write_json_file(json_path, doc);
    fmt::print("report: {}\n", json_path);
  }
  if (!html_path.empty()) {
    write_html_file(html_path, doc);
    fmt::print("html: {}\n", html_path);
  }
}


bool lossy(const json& point, double tolerance) {
  return point["loss_fraction"].is_null() || point["loss_fraction"].get<double>() > tolerance;
}

std::string values_text(const json& values) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : values.items()) parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  return fmt::format("{}", fmt::join(parts, " "));
}

// With one varied key: the first point whose loss state (above the
// tolerance or not) differs from the first point's — where the curve bends.
json find_knee(const json& points, double tolerance) {
  if (points.size() < 2) return nullptr;
  bool first = lossy(points[0], tolerance);
  for (std::size_t i = 1; i < points.size(); ++i) {
    if (lossy(points[i], tolerance) == first) continue;
    const json& before = points[i - 1];
    const json& at = points[i];
    auto pct = [](const json& p) {
      return p["loss_fraction"].is_null() ? std::string("unknown")
                                          : fmt::format("{:.3f}%", 100 * p["loss_fraction"].get<double>());
    };
    return {{"index", at["index"]},
            {"values", at["values"]},
            {"loss_fraction", at["loss_fraction"]},
            {"why", fmt::format("loss {} at {}, {} at {}", pct(before), values_text(before["values"]), pct(at),
                                values_text(at["values"]))}};
  }
  return nullptr;
}

std::string render_sweep(const json& doc) {
  std::string out;
  const json& points = doc["points"];
  if (!points.empty()) {
    std::vector<std::string> stages;
    for (const auto& p : points) {
      for (const auto& [name, n] : p["stages"].items()) {
        if (n.get<std::uint64_t>() > 0 && std::find(stages.begin(), stages.end(), name) == stages.end()) {
          stages.push_back(name);
        }
      }
    }
    // Stage columns in path order.
    std::vector<std::string> ordered;
    for (const auto& s : stage_names()) {
      if (std::find(stages.begin(), stages.end(), s) != stages.end()) ordered.push_back(s);
    }
    out += fmt::format("{:<40} {:>12} {:>12} {:>9}", "point", "sent", "delivered", "loss");
    for (const auto& s : ordered) out += fmt::format(" {:>11}", s);
    out += fmt::format(" {:>11}\n", "unexplained");
    for (const auto& p : points) {
      std::string loss = p["loss_fraction"].is_null() ? "-" : fmt::format("{:.3f}%", 100 * p["loss_fraction"].get<double>());
      out += fmt::format("{:<40} {:>12} {:>12} {:>9}", values_text(p["values"]),
                         format_count(p["sent"].get<std::uint64_t>()), format_count(p["delivered"].get<std::uint64_t>()), loss);
      for (const auto& s : ordered) {
        // A stage whose drop counter was unavailable in that run has no value.
        out += fmt::format(" {:>11}", p["stages"].contains(s) ? format_count(p["stages"][s].get<std::uint64_t>()) : "?");
      }
      out += fmt::format(" {:>11}\n", p["unexplained"].get<std::int64_t>());
    }
    if (!doc["knee"].is_null()) out += fmt::format("knee: {}\n", doc["knee"]["why"].get<std::string>());
    else if (doc["vary"].size() == 1) out += "knee: none — every point is on the same side of the loss tolerance\n";
  }
  if (!doc["throughput"].is_null()) {
    const json& t = doc["throughput"];
    for (const auto& trial : t["trials"]) {
      std::string loss = trial["loss_fraction"].is_null() ? "-" : fmt::format("{:.3f}%", 100 * trial["loss_fraction"].get<double>());
      out += fmt::format("  trial {:>14}: {} (sent {}, loss {})\n", format_pps(trial["rate_pps"].get<double>()),
                         trial["passed"].get<bool>() ? "pass" : "FAIL", format_count(trial["sent"].get<std::uint64_t>()),
                         loss);
    }
    if (t["max_zero_loss_pps"].is_null()) {
      out += fmt::format("throughput: no rate down to {} passed\n", format_pps(t["min_pps"].get<double>()));
    } else {
      out += fmt::format("throughput: {} is the highest rate with loss ≤ {:.3f}% (resolution {}{})\n",
                         format_pps(t["max_zero_loss_pps"].get<double>()), 100 * t["loss_tolerance"].get<double>(),
                         format_pps(t["resolution_pps"].get<double>()),
                         t["at_upper_bound"].get<bool>() ? "; it is the upper bound: raise --max" : "");
    }
  }
  return out;
}

double rate_pps(const std::string& flag, const std::string& text) {
  Rate r;
  try {
    r = parse_rate(text);
  } catch (const UnitError& e) {
    throw UsageError(fmt::format("{} {}: {}", flag, text, e.what()));
  }
  if (r.kind != Rate::Kind::Pps || r.value <= 0) {
    throw UsageError(fmt::format("{} {}: must be a packet rate above 0 (e.g. 50kpps)", flag, text));
  }
  return r.value;
}

} // namespace

std::optional<double> throughput_search(double lo, double hi, double resolution,
                                        const std::function<bool(double)>& trial,
                                        std::vector<SearchStep>* steps) {
  auto run = [&](double rate) {
    bool ok = trial(rate);
    if (steps) steps->push_back({rate, ok});
    return ok;
  };
  if (run(hi)) return hi;
  if (!run(lo)) return std::nullopt;
  double good = lo, bad = hi;
  while (bad - good > resolution) {
    double mid = std::round((good + bad) / 2);
    if (mid <= good || mid >= bad) break; // the bracket cannot narrow any more in whole pps
    if (run(mid)) {
      good = mid;
    } else {
      bad = mid;
    }
  }
  return good;
}

int compare_command(const CompareOptions& opt) {
  const json doc = load_profile_json(opt.profile_path);
  parse_profile(doc, opt.profile_path); // the profile itself first
  Patch pa = parse_settings("--baseline", opt.baseline);
  Patch pb = parse_settings("--candidate", opt.candidate);
  // Each arm whole; when it fails, the first item that fails alone is named
  // (items may only be valid together: rcvbuf=null with rcvbuf_force=…).
  auto validated_arm = [&](const char* flag, const Patch& patch) {
    try {
      return profile_with(apply_patch(doc, patch), opt.profile_path, flag);
    } catch (const UsageError&) {
      for (const auto& item : patch.items) {
        profile_with(apply_patch(doc, parse_settings(flag, {item})), opt.profile_path,
                     fmt::format("{} \"{}\"", flag, item));
      }
      throw;
    }
  };
  const Profile base = validated_arm("--baseline", pa);
  const Profile cand = validated_arm("--candidate", pb);
  if (opt.repeat < 2 || opt.repeat > 1000) {
    throw UsageError(fmt::format("--repeat {}: must be 2..1000 (a confidence interval needs two runs per side)",
                                 opt.repeat));
  }
  if (!(opt.alpha > 0 && opt.alpha < 0.5)) throw UsageError(fmt::format("--alpha {}: must be in (0, 0.5)", opt.alpha));

  fmt::print("droplab compare: {} — {} runs of each, interleaved\n  baseline:  {}\n  candidate: {}\n", base.name,
             opt.repeat, pa.items.empty() ? "(the profile as is)" : fmt::format("{}", fmt::join(pa.items, " ")),
             pb.items.empty() ? "(the profile as is)" : fmt::format("{}", fmt::join(pb.items, " ")));
  std::fflush(stdout);
  CompareArm a{.name = "baseline", .settings = pa.items, .runs = {}};
  CompareArm b{.name = "candidate", .settings = pb.items, .runs = {}};
  Progress progress(2 * opt.repeat);
  int order = 0;
  for (unsigned i = 0; i < opt.repeat; ++i) {
    // ABBA: the pair's order alternates, so a drift in the machine's load
    // over the series weighs on both arms alike.
    std::vector<CompareArm*> pair = i % 2 == 0 ? std::vector<CompareArm*>{&a, &b} : std::vector<CompareArm*>{&b, &a};
    for (CompareArm* arm : pair) {
      const Profile& p = arm == &a ? base : cand;
      RunResult r = run_quiet(p, opt.run);
      ++order;
      arm->runs.push_back(compare_run_from_report(r.report, static_cast<int>(i) + 1, order, r.exit_code));
      progress.done(fmt::format("{} #{}: {}", arm->name, i + 1, loss_text(arm->runs.back())));
    }
  }
  json summary = summarize_compare(a, b, opt.alpha, profile_info(base));
  write_outputs(opt.json_path, opt.html_path, summary);
  fmt::print("\n{}", render_compare(summary));
  return summary["verdict"]["result"] == "regressed" ? kExitExpectationFailed : 0;
}

int sweep_command(const SweepOptions& opt) {
  if (opt.throughput == !opt.vary.empty()) {
    throw UsageError("droplab sweep needs either --vary KEY=V1,V2,... or --throughput (not both)");
  }
  if (!(opt.loss_tolerance >= 0 && opt.loss_tolerance < 1)) {
    throw UsageError(fmt::format("--loss-tolerance {}: must be a fraction in [0, 1)", opt.loss_tolerance));
  }
  const json doc = load_profile_json(opt.profile_path);
  const Profile prof = parse_profile(doc, opt.profile_path);
  json out{{"schema_version", 1}, {"tool", "droplab"}, {"kind", "sweep"}, {"profile", profile_info(prof)},
           {"vary", json::array()}, {"points", json::array()}, {"knee", nullptr}, {"throughput", nullptr}};

  if (!opt.throughput) {
    // The grid, first --vary outermost; every point validated before any run.
    if (!opt.min_rate.empty() || !opt.max_rate.empty() || !opt.resolution.empty()) {
      throw UsageError("--min, --max and --resolution belong to --throughput");
    }
    std::vector<std::vector<Override>> axes;
    for (const auto& v : opt.vary) {
      axes.push_back(parse_vary(v));
      for (std::size_t i = 0; i + 1 < axes.size(); ++i) {
        if (axes[i].front().key() == axes.back().front().key()) {
          throw UsageError(fmt::format("--vary {}: {} is already varied", v, axes.back().front().key()));
        }
      }
      json values = json::array();
      for (const auto& o : axes.back()) values.push_back(o.value_text());
      out["vary"].push_back({{"key", axes.back().front().key()}, {"values", values}});
    }
    std::vector<std::vector<const Override*>> grid{{}};
    for (const auto& axis : axes) {
      std::vector<std::vector<const Override*>> next;
      for (const auto& g : grid) {
        for (const auto& o : axis) {
          next.push_back(g);
          next.back().push_back(&o);
        }
      }
      grid = std::move(next);
    }
    std::vector<Profile> profiles;
    for (const auto& point : grid) {
      json d = doc;
      std::vector<std::string> texts;
      for (const Override* o : point) {
        d = apply_override(std::move(d), *o);
        texts.push_back(o->text);
      }
      profiles.push_back(profile_with(d, opt.profile_path, fmt::format("--vary {}", fmt::join(texts, " "))));
    }
    fmt::print("droplab sweep: {} — {} point(s)\n", prof.name, grid.size());
    std::fflush(stdout);
    Progress progress(grid.size());
    for (std::size_t i = 0; i < grid.size(); ++i) {
      RunResult r = run_quiet(profiles[i], opt.run);
      const CompareRun run = compare_run_from_report(r.report, static_cast<int>(i), static_cast<int>(i) + 1, r.exit_code);
      json point = compare_run_json(run);
      json values = json::object();
      for (const Override* o : grid[i]) values[o->key()] = o->value_text();
      point["values"] = values;
      progress.done(fmt::format("{}: {}", values_text(values), loss_text(run)));
      out["points"].push_back(std::move(point));
    }
    if (axes.size() == 1) out["knee"] = find_knee(out["points"], opt.loss_tolerance);
  } else {
    Rate profile_rate = parse_rate(prof.gen.rate);
    double hi = 0;
    if (!opt.max_rate.empty()) {
      hi = rate_pps("--max", opt.max_rate);
    } else if (profile_rate.kind == Rate::Kind::Pps) {
      hi = profile_rate.value;
    } else {
      throw UsageError(fmt::format("--throughput: the profile's gen.rate \"{}\" is not a packet rate; give --max",
                                   prof.gen.rate));
    }
    double resolution = opt.resolution.empty() ? std::max(1.0, std::round(hi / 100)) : rate_pps("--resolution", opt.resolution);
    double lo = opt.min_rate.empty() ? resolution : rate_pps("--min", opt.min_rate);
    if (lo >= hi) {
      throw UsageError(fmt::format("--min {} must be below --max {}", format_pps(lo), format_pps(hi)));
    }
    auto with_rate = [&](double pps) {
      Override o = parse_override("--throughput", fmt::format("gen.rate={:.0f}pps", pps));
      return profile_with(apply_override(doc, o), opt.profile_path, "--throughput");
    };
    with_rate(hi); // validated before the first trial
    // Trials: 2 brackets + log2((hi - lo) / resolution) bisections.
    std::size_t planned = 2 + static_cast<std::size_t>(std::ceil(std::log2(std::max(1.0, (hi - lo) / resolution))));
    fmt::print("droplab sweep: {} — throughput search {}..{}, resolution {}, loss tolerance {:.3f}% (≤ {} trials)\n",
               prof.name, format_pps(lo), format_pps(hi), format_pps(resolution), 100 * opt.loss_tolerance, planned);
    std::fflush(stdout);
    Progress progress(planned);
    json trials = json::array();
    auto trial = [&](double pps) {
      RunResult r = run_quiet(with_rate(pps), opt.run);
      const int n = static_cast<int>(trials.size());
      const CompareRun run = compare_run_from_report(r.report, n, n + 1, r.exit_code);
      json t = compare_run_json(run);
      bool passed = !lossy(t, opt.loss_tolerance);
      t["rate_pps"] = pps;
      t["passed"] = passed;
      progress.done(fmt::format("{}: {} — {}", format_pps(pps), loss_text(run), passed ? "pass" : "FAIL"));
      trials.push_back(std::move(t));
      return passed;
    };
    std::optional<double> best = throughput_search(lo, hi, resolution, trial);
    out["vary"].push_back({{"key", "gen.rate"}, {"values", json::array()}});
    for (const auto& t : trials) out["vary"][0]["values"].push_back(fmt::format("{:.0f}pps", t["rate_pps"].get<double>()));
    out["throughput"] = {{"key", "gen.rate"},
                         {"min_pps", lo},
                         {"max_pps", hi},
                         {"resolution_pps", resolution},
                         {"loss_tolerance", opt.loss_tolerance},
                         {"max_zero_loss_pps", best ? json(*best) : json(nullptr)},
                         {"at_upper_bound", best && *best == hi},
                         {"trials", trials}};
  }
  write_outputs(opt.json_path, opt.html_path, out); // first: nothing measured is lost to a rendering error
  fmt::print("\n{}", render_sweep(out));
  return 0;
}

} // namespace droplab::harness

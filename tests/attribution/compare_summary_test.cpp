// `droplab compare`'s summary on synthetic runs whose statistics are worked
// out by hand in the comments, and on a real run report.
#include "compare_summary.hpp"

#include "droplab/json_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

using namespace droplab::harness;
using nlohmann::json;

namespace {

const json kProfile{{"name", "socket-rcvbuf"},
                    {"path", "profiles/socket-rcvbuf.json"},
                    {"description", "a slow reader with a small receive buffer"}};

// A run that dropped `stages` of 100,000 sent (or of `sent`) and lost
// nothing else. Baseline run i is #2i-1 in the interleaved sequence,
// candidate run i #2i.
CompareRun make_run(int index, int order, std::map<std::string, std::uint64_t> stages,
                    std::optional<double> cpu_s, std::optional<double> p99_ns,
                    std::uint64_t sent = 100000) {
  CompareRun r;
  r.index = index;
  r.order = order;
  r.sent = sent;
  r.dropped = std::accumulate(stages.begin(), stages.end(), std::uint64_t{0},
                              [](std::uint64_t s, const auto& kv) { return s + kv.second; });
  r.delivered = sent - r.dropped;
  r.stage_dropped = std::move(stages);
  r.cpu_s = cpu_s;
  r.latency_p99_ns = p99_ns;
  return r;
}

CompareArm make_arm(const std::string& name, std::vector<std::string> settings,
                    const std::vector<std::uint64_t>& socket_drops, const std::vector<double>& cpu,
                    const std::vector<double>& p99) {
  CompareArm arm{name, std::move(settings), {}};
  const int first = name == "baseline" ? 1 : 2;
  for (std::size_t i = 0; i < socket_drops.size(); ++i) {
    int index = static_cast<int>(i) + 1;
    arm.runs.push_back(make_run(index, 2 * index - 2 + first,
                                {{"qdisc", 0}, {"socket", socket_drops[i]}}, cpu[i], p99[i]));
  }
  return arm;
}

// The socket-rcvbuf fix: socket drops 79,995.6 -> 0.6 per 100,000 on
// average; CPU 1.00 -> 1.20 s; p99 latency 901 µs -> 150 µs.
CompareArm rcvbuf_baseline() {
  return make_arm("baseline", {}, {79995, 80010, 79980, 80003, 79990},
                  {1.00, 1.02, 0.98, 1.01, 0.99}, {901119, 905215, 897023, 903167, 899071});
}
CompareArm rcvbuf_candidate() {
  return make_arm("candidate", {"sink.rcvbuf=4MiB"}, {0, 0, 2, 0, 1},
                  {1.20, 1.22, 1.18, 1.21, 1.19}, {150000, 152000, 148000, 151000, 149000});
}

const json& metric(const json& doc, const char* group, const std::string& name) {
  for (const auto& m : doc.at(group)) {
    if (m.at("name") == name) return m;
  }
  throw std::runtime_error("no metric " + name);
}

bool has_note(const json& doc, const std::vector<std::string>& parts) {
  for (const auto& n : doc.at("notes")) {
    const std::string s = n.get<std::string>();
    if (std::all_of(parts.begin(), parts.end(),
                    [&](const auto& p) { return s.find(p) != std::string::npos; })) {
      return true;
    }
  }
  return false;
}

void expect_keys(const json& j, const std::vector<const char*>& keys, const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_TRUE(j.is_object());
  for (const char* k : keys)
    EXPECT_TRUE(j.contains(k)) << "missing " << k;
  EXPECT_EQ(j.size(), keys.size()) << j.dump();
}

TEST(CompareSummary, RemovingSocketDropsIsAnImprovement) {
  json doc = summarize_compare(rcvbuf_baseline(), rcvbuf_candidate(), 0.05, kProfile);
  const json& total = metric(doc, "metrics", "total");
  // Baseline: 79,995.6 per 100,000; deviations -0.6 14.4 -15.6 7.4 -5.6,
  // sum of squares 537.2, s = sqrt(134.3) / 1e5. Candidate: 0.6 per 100,000,
  // sum of squares 3.2, s = sqrt(0.8) / 1e5.
  EXPECT_EQ(total["baseline"]["n"], 5);
  EXPECT_NEAR(total["baseline"]["mean"].get<double>(), 0.799956, 1e-12);
  EXPECT_NEAR(total["baseline"]["stddev"].get<double>(), 1.1588787684654509e-4, 1e-15);
  EXPECT_NEAR(total["candidate"]["mean"].get<double>(), 0.000006, 1e-12);
  EXPECT_NEAR(total["candidate"]["stddev"].get<double>(), 8.944271909999158e-6, 1e-15);
  EXPECT_NEAR(total["difference"]["mean"].get<double>(), -0.79995, 1e-12);
  EXPECT_LT(total["difference"]["ci95_high"].get<double>(), -0.7998);
  EXPECT_GT(total["difference"]["ci95_low"].get<double>(), -0.8001);
  EXPECT_LT(total["test"]["p"].get<double>(), 1e-6);
  EXPECT_LT(total["test"]["t"].get<double>(), 0);
  EXPECT_EQ(total["verdict"], "improved");
  EXPECT_EQ(metric(doc, "metrics", "socket")["verdict"], "improved");
  // The cost side: more CPU (1.00 -> 1.20 s, s = 0.0158 each) is worse,
  // lower latency is better.
  const json& cpu = metric(doc, "cost", "cpu_s");
  EXPECT_NEAR(cpu["difference"]["mean"].get<double>(), 0.2, 1e-12);
  EXPECT_EQ(cpu["verdict"], "regressed");
  EXPECT_EQ(metric(doc, "cost", "latency_p99_ns")["verdict"], "improved");
  EXPECT_EQ(doc["verdict"]["result"], "improved");
  EXPECT_EQ(doc["verdict"]["p"], total["test"]["p"]);
  EXPECT_TRUE(doc["notes"].empty()) << doc["notes"].dump();
}

TEST(CompareSummary, ReversedArmsAreARegression) {
  CompareArm base = rcvbuf_candidate(), cand = rcvbuf_baseline();
  base.name = "baseline";
  cand.name = "candidate";
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  EXPECT_EQ(metric(doc, "metrics", "total")["verdict"], "regressed");
  EXPECT_EQ(metric(doc, "metrics", "socket")["verdict"], "regressed");
  EXPECT_EQ(metric(doc, "cost", "cpu_s")["verdict"], "improved");
  EXPECT_EQ(metric(doc, "cost", "latency_p99_ns")["verdict"], "regressed");
  EXPECT_EQ(doc["verdict"]["result"], "regressed");
}

TEST(CompareSummary, NoiseAloneIsNoSignificantDifference) {
  // Socket drops per 100,000: baseline mean 1000, sum of squares 25,000
  // (var 6250); candidate mean 1004, sum of squares 10,720 (var 2680).
  // se² = 6250/5 + 2680/5 = 1786, t = 4 / sqrt(1786) = 0.0946.
  const std::vector<double> cpu(5, 1.0), p99(5, 500000);
  CompareArm base = make_arm("baseline", {}, {1000, 1100, 900, 1050, 950}, cpu, p99);
  CompareArm cand =
      make_arm("candidate", {"sink.readers=2"}, {990, 1030, 1070, 930, 1000}, cpu, p99);
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  const json& total = metric(doc, "metrics", "total");
  EXPECT_NEAR(total["test"]["t"].get<double>(), 4 / std::sqrt(1786.0), 1e-9);
  EXPECT_GT(total["test"]["p"].get<double>(), 0.9);
  EXPECT_LT(total["difference"]["ci95_low"].get<double>(), 0);
  EXPECT_GT(total["difference"]["ci95_high"].get<double>(), 0);
  EXPECT_EQ(total["verdict"], "no significant difference");
  EXPECT_EQ(doc["verdict"]["result"], "no significant difference");
  // Identical constant cost: no variance, equal means -> p = 1.
  const json& cpu_m = metric(doc, "cost", "cpu_s");
  EXPECT_EQ(cpu_m["test"]["p"], 1.0);
  EXPECT_TRUE(cpu_m["test"]["df"].is_null());
  EXPECT_EQ(cpu_m["verdict"], "no significant difference");
}

TEST(CompareSummary, ConstantButDifferentIsDecidedByDirection) {
  // Every baseline run loses exactly half, every candidate run a quarter.
  const std::vector<double> cpu(3, 1.0), p99(3, 500000);
  CompareArm base = make_arm("baseline", {}, {50000, 50000, 50000}, cpu, p99);
  CompareArm cand = make_arm("candidate", {"sink.rcvbuf=1MiB"}, {25000, 25000, 25000}, cpu, p99);
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  const json& total = metric(doc, "metrics", "total");
  EXPECT_EQ(total["test"]["p"], 0.0);
  EXPECT_TRUE(total["test"]["t"].is_null()); // -inf has no JSON number
  EXPECT_EQ(total["difference"]["mean"], -0.25);
  EXPECT_EQ(total["baseline"]["stddev"], 0.0);
  EXPECT_EQ(total["verdict"], "improved");
  EXPECT_TRUE(has_note(doc, {"total", "no variance"}));
  json rev = summarize_compare(CompareArm{"baseline", {}, cand.runs},
                               CompareArm{"candidate", {}, base.runs}, 0.05, kProfile);
  EXPECT_EQ(metric(rev, "metrics", "total")["verdict"], "regressed");
}

TEST(CompareSummary, OneRunEachHasNoTest) {
  CompareArm base = make_arm("baseline", {}, {79995}, {1.0}, {901119});
  CompareArm cand = make_arm("candidate", {"sink.rcvbuf=4MiB"}, {0}, {1.2}, {150000});
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  const json& total = metric(doc, "metrics", "total");
  EXPECT_EQ(total["baseline"]["n"], 1);
  EXPECT_NEAR(total["baseline"]["mean"].get<double>(), 0.79995, 1e-12);
  for (const char* k : {"stddev", "ci95_low", "ci95_high"})
    EXPECT_TRUE(total["baseline"][k].is_null()) << k;
  EXPECT_NEAR(total["difference"]["mean"].get<double>(), -0.79995, 1e-12);
  EXPECT_TRUE(total["difference"]["ci95_low"].is_null());
  for (const char* k : {"t", "df", "p"})
    EXPECT_TRUE(total["test"][k].is_null()) << k;
  EXPECT_EQ(total["verdict"], "no significant difference");
  EXPECT_TRUE(doc["verdict"]["p"].is_null());
  EXPECT_EQ(doc["repeat"], 1);
  EXPECT_TRUE(has_note(doc, {"needs --repeat ≥ 2"}));
}

TEST(CompareSummary, RunsWithoutAValueAreLeftOutNotZero) {
  CompareArm base = rcvbuf_baseline();
  CompareArm cand = rcvbuf_candidate();
  // Baseline run 3 sent nothing (so no latency either); candidate run 2 has
  // no latency and run 4 no CPU figure.
  base.runs[2] = make_run(3, 5, {{"socket", 0}}, 1.0, std::nullopt, 0);
  cand.runs[1].latency_p99_ns = std::nullopt;
  cand.runs[3].cpu_s = std::nullopt;
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  const json& total = metric(doc, "metrics", "total");
  EXPECT_EQ(total["baseline"]["n"], 4);
  EXPECT_EQ(total["candidate"]["n"], 5);
  // Without run 3 (79,980): (79995 + 80010 + 80003 + 79990) / 4 per 100,000.
  EXPECT_NEAR(total["baseline"]["mean"].get<double>(), 0.7999950, 1e-12);
  EXPECT_EQ(metric(doc, "cost", "latency_p99_ns")["baseline"]["n"], 4);
  EXPECT_EQ(metric(doc, "cost", "latency_p99_ns")["candidate"]["n"], 4);
  EXPECT_EQ(metric(doc, "cost", "cpu_s")["candidate"]["n"], 4);
  const json& run3 = doc["arms"][0]["runs"][2];
  EXPECT_EQ(run3["sent"], 0);
  EXPECT_TRUE(run3["loss_fraction"].is_null());
  EXPECT_TRUE(run3["latency_p99_ns"].is_null());
  EXPECT_TRUE(doc["arms"][1]["runs"][3]["cpu_s"].is_null());
  EXPECT_TRUE(has_note(doc, {"baseline run 3", "sent 0", "loss"}));
  EXPECT_TRUE(has_note(doc, {"baseline run 3", "latency", "nothing delivered"}));
  EXPECT_TRUE(has_note(doc, {"candidate run 2", "latency_p99_ns"}));
  EXPECT_TRUE(has_note(doc, {"candidate run 4", "cpu_s"}));
  EXPECT_EQ(doc["verdict"]["result"], "improved");
}

TEST(CompareSummary, AnIncompleteStageIsLeftOutNotZero) {
  CompareArm base = rcvbuf_baseline();
  CompareArm cand = rcvbuf_candidate();
  // Baseline run 2's socket stage was incomplete (a drop counter
  // unavailable): its report's stage is left out of the socket metric.
  base.runs[1].stage_dropped.erase("socket");
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  EXPECT_EQ(metric(doc, "metrics", "socket")["baseline"]["n"], 4);
  EXPECT_EQ(metric(doc, "metrics", "socket")["candidate"]["n"], 5);
  EXPECT_TRUE(has_note(doc, {"socket", "baseline run 2", "unavailable"}));
}

TEST(CompareSummary, SuspectRunsAreNoted) {
  CompareArm base = rcvbuf_baseline();
  CompareArm cand = rcvbuf_candidate();
  base.runs[0].exit_code = 3; // the expectation failed: a normal outcome here
  cand.runs[1].exit_code = 1;
  cand.runs[4].unexplained = 7;
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  EXPECT_FALSE(has_note(doc, {"baseline run 1"}));
  EXPECT_TRUE(has_note(doc, {"candidate run 2", "suspect", "exit code 1"}));
  EXPECT_TRUE(has_note(doc, {"candidate run 5", "suspect", "7", "unexplained"}));
  EXPECT_EQ(doc["arms"][1]["runs"][1]["exit_code"], 1);
  EXPECT_EQ(doc["arms"][1]["runs"][4]["unexplained"], 7);
}

TEST(CompareSummary, StagesFollowTheWaterfallOrder) {
  // Names sort backlog < qdisc < socket; the waterfall has qdisc first.
  auto stages = [](std::uint64_t q, std::uint64_t b, std::uint64_t s) {
    return std::map<std::string, std::uint64_t>{{"gen", 0}, {"qdisc", q},  {"backlog", b},
                                                {"ip", 0},  {"socket", s}, {"app", 0}};
  };
  CompareArm base{
      "baseline",
      {},
      {make_run(1, 1, stages(10, 0, 5), 1.0, 1e6), make_run(2, 3, stages(12, 0, 6), 1.0, 1e6)}};
  CompareArm cand{
      "candidate",
      {"x=1"},
      {make_run(1, 2, stages(0, 3, 0), 1.0, 1e6), make_run(2, 4, stages(0, 4, 0), 1.0, 1e6)}};
  json doc = summarize_compare(base, cand, 0.05, kProfile);
  std::vector<std::string> names;
  for (const auto& m : doc["metrics"])
    names.push_back(m["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"total", "qdisc", "backlog", "socket"}));
  std::vector<std::string> cost;
  for (const auto& m : doc["cost"])
    cost.push_back(m["name"]);
  EXPECT_EQ(cost, (std::vector<std::string>{"cpu_s", "latency_p99_ns"}));
  // Per-stage loss is that stage's drops over the run's sent.
  EXPECT_NEAR(metric(doc, "metrics", "qdisc")["baseline"]["mean"].get<double>(), 11e-5, 1e-15);
  EXPECT_NEAR(metric(doc, "metrics", "backlog")["candidate"]["mean"].get<double>(), 3.5e-5, 1e-15);
}

TEST(CompareSummary, DocumentHasEverySchemaField) {
  json doc = summarize_compare(rcvbuf_baseline(), rcvbuf_candidate(), 0.05, kProfile);
  expect_keys(doc,
              {"schema_version", "tool", "kind", "profile", "repeat", "alpha", "arms", "metrics",
               "cost", "verdict", "notes"},
              "top level");
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["tool"], "droplab");
  EXPECT_EQ(doc["kind"], "compare");
  EXPECT_EQ(doc["profile"], kProfile);
  EXPECT_EQ(doc["repeat"], 5);
  EXPECT_EQ(doc["alpha"], 0.05);
  ASSERT_EQ(doc["arms"].size(), 2u);
  EXPECT_EQ(doc["arms"][0]["name"], "baseline");
  EXPECT_EQ(doc["arms"][0]["settings"], json::array());
  EXPECT_EQ(doc["arms"][1]["name"], "candidate");
  EXPECT_EQ(doc["arms"][1]["settings"], json::array({"sink.rcvbuf=4MiB"}));
  for (const auto& arm : doc["arms"]) {
    expect_keys(arm, {"name", "settings", "runs"}, "arm");
    ASSERT_EQ(arm["runs"].size(), 5u);
    for (const auto& r : arm["runs"]) {
      expect_keys(r,
                  {"index", "order", "exit_code", "sent", "delivered", "dropped", "unexplained",
                   "loss_fraction", "stages", "cpu_s", "latency_p99_ns"},
                  "run");
    }
  }
  const json& run2 = doc["arms"][1]["runs"][1];
  EXPECT_EQ(run2["index"], 2);
  EXPECT_EQ(run2["order"], 4);
  EXPECT_EQ(run2["stages"], json({{"qdisc", 0}, {"socket", 0}}));
  EXPECT_EQ(doc["arms"][0]["runs"][0]["loss_fraction"], 0.79995);
  for (const char* group : {"metrics", "cost"}) {
    for (const auto& m : doc[group]) {
      std::string where = std::string(group) + " " + m.value("name", "?");
      expect_keys(m, {"name", "what", "baseline", "candidate", "difference", "test", "verdict"},
                  where);
      for (const char* side : {"baseline", "candidate"}) {
        expect_keys(m[side], {"n", "mean", "stddev", "ci95_low", "ci95_high"}, where + " " + side);
      }
      expect_keys(m["difference"], {"mean", "ci95_low", "ci95_high"}, where + " difference");
      expect_keys(m["test"], {"name", "t", "df", "p"}, where + " test");
      EXPECT_EQ(m["test"]["name"], "Welch's t-test, two-sided");
    }
  }
  EXPECT_EQ(metric(doc, "metrics", "total")["what"], "loss fraction ((sent - delivered)/sent)");
  expect_keys(doc["verdict"], {"result", "metric", "test", "p", "alpha"}, "verdict");
  EXPECT_EQ(doc["verdict"]["metric"], "total");
  EXPECT_EQ(doc["verdict"]["test"], "Welch's t-test, two-sided");
  EXPECT_EQ(doc["verdict"]["alpha"], 0.05);
}

TEST(CompareRunFromReport, ReadsARealRunReport) {
  json report =
      droplab::read_json_file(std::string(DROPLAB_TEST_DATA) + "/report.socket-rcvbuf.json");
  CompareRun r = compare_run_from_report(report, 2, 3, 3);
  EXPECT_EQ(r.index, 2);
  EXPECT_EQ(r.order, 3);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.sent, 100000u);
  EXPECT_EQ(r.delivered, 20005u);
  EXPECT_EQ(r.dropped, 79995u);
  EXPECT_EQ(r.unexplained, 0);
  EXPECT_EQ(r.stage_dropped.size(), 10u);
  EXPECT_EQ(r.stage_dropped.at("socket"), 79995u);
  EXPECT_EQ(r.stage_dropped.at("backlog"), 0u);
  ASSERT_TRUE(r.latency_p99_ns.has_value());
  EXPECT_EQ(*r.latency_p99_ns, 901119.0);
  EXPECT_FALSE(r.cpu_s.has_value()); // this report predates "cost"

  report["cost"] = {
      {"harness_cpu_s", 0.18}, {"gen_cpu_s", 1.0}, {"sink_cpu_s", 0.5}, {"cpu_s", 1.68}};
  EXPECT_EQ(compare_run_from_report(report, 1, 1, 0).cpu_s, 1.68);
  report["cost"]["cpu_s"] = nullptr; // a child's CPU time was not measured
  EXPECT_FALSE(compare_run_from_report(report, 1, 1, 0).cpu_s.has_value());

  report["sink"]["summary"]["latency_ns"]["count"] = 0;
  EXPECT_FALSE(compare_run_from_report(report, 1, 1, 0).latency_p99_ns.has_value());
  report["sink"]["summary"].erase("latency_ns");
  EXPECT_FALSE(compare_run_from_report(report, 1, 1, 0).latency_p99_ns.has_value());
}

TEST(CompareRunFromReport, NamesAMissingField) {
  json report =
      droplab::read_json_file(std::string(DROPLAB_TEST_DATA) + "/report.socket-rcvbuf.json");
  auto message = [](const json& doc) -> std::string {
    try {
      compare_run_from_report(doc, 1, 1, 0);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "(no error)";
  };
  json no_sent = report;
  no_sent["accounting"].erase("sent");
  EXPECT_NE(message(no_sent).find("/accounting/sent"), std::string::npos) << message(no_sent);
  json no_stages = report;
  no_stages.erase("stages");
  EXPECT_NE(message(no_stages).find("/stages"), std::string::npos) << message(no_stages);
  json bad_drop = report;
  bad_drop["stages"][8]["dropped"] = -1;
  EXPECT_NE(message(bad_drop).find("/stages/8/dropped"), std::string::npos) << message(bad_drop);
}

// Code points, not bytes: "±" and "µ" are one column.
std::size_t column_of(const std::string& line, const std::string& what) {
  std::size_t byte = line.find(what);
  if (byte == std::string::npos) return std::string::npos;
  return static_cast<std::size_t>(
      std::count_if(line.begin(), line.begin() + static_cast<long>(byte),
                    [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

TEST(CompareRender, ShowsArmsTableAndVerdict) {
  json doc = summarize_compare(rcvbuf_baseline(), rcvbuf_candidate(), 0.05, kProfile);
  std::string text = render_compare(doc);
  std::vector<std::string> lines;
  for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    lines.push_back(text.substr(pos, nl - pos));
  }
  ASSERT_GE(lines.size(), 10u) << text;
  EXPECT_EQ(lines[0],
            "compare socket-rcvbuf: 5 runs each, interleaved (baseline, candidate, baseline, …)");
  EXPECT_EQ(lines[1], "  baseline:  (profile as is)");
  EXPECT_EQ(lines[2], "  candidate: sink.rcvbuf=4MiB");
  // Means 79.9956% and 0.0006%: five decimals show the smaller one.
  EXPECT_NE(text.find("79.99560% ± "), std::string::npos) << text;
  EXPECT_NE(text.find("-79.99500% ["), std::string::npos) << text;
  EXPECT_NE(text.find("901.1 µs"), std::string::npos) << text;
  EXPECT_NE(text.find("+0.200 s"), std::string::npos) << text;
  EXPECT_NE(text.find("<0.0001"), std::string::npos) << text;
  // One column for the verdicts, whatever the multi-byte characters before it.
  std::size_t header = 0;
  while (header < lines.size() && column_of(lines[header], "verdict") == std::string::npos)
    ++header;
  ASSERT_LT(header, lines.size());
  std::size_t col = column_of(lines[header], "verdict");
  for (const char* row : {"  total loss", "  socket", "  cpu_s", "  latency p99"}) {
    auto it = std::find_if(lines.begin(), lines.end(),
                           [&](const std::string& l) { return l.rfind(row, 0) == 0; });
    ASSERT_NE(it, lines.end()) << row << "\n" << text;
    std::size_t at = std::min(column_of(*it, "improved"), column_of(*it, "regressed"));
    EXPECT_EQ(at, col) << *it;
  }
  EXPECT_EQ(
      lines.back().rfind(
          "verdict: improved — total loss 79.99560% → 0.00060% (Welch's t-test, two-sided, p = ",
          0),
      0u)
      << lines.back();
  EXPECT_NE(lines.back().find(" < 0.05)"), std::string::npos) << lines.back();
}

TEST(CompareRender, WithoutATestSaysSo) {
  CompareArm base = make_arm("baseline", {}, {79990}, {1.0}, {901119});
  CompareArm cand = make_arm("candidate", {"sink.rcvbuf=4MiB"}, {0}, {1.2}, {150000});
  std::string text = render_compare(summarize_compare(base, cand, 0.05, kProfile));
  EXPECT_NE(text.find("compare socket-rcvbuf: 1 run each, interleaved (baseline, candidate)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("verdict: no significant difference — total loss 79.99% → 0.00% (no test"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("needs --repeat ≥ 2"), std::string::npos) << text;
}

} // namespace

TEST(CompareRunFromReport, AnIncompleteStageHasNoValue) {
  json report =
      droplab::read_json_file(std::string(DROPLAB_TEST_DATA) + "/report.socket-rcvbuf.json");
  for (auto& s : report["stages"]) {
    if (s["name"] == "socket") s["dropped_complete"] = false;
  }
  CompareRun r = compare_run_from_report(report, 1, 1, 0);
  EXPECT_EQ(r.stage_dropped.count("socket"), 0u);
  EXPECT_EQ(r.stage_dropped.count("qdisc"), 1u);
}

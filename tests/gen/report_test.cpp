#include "gen/report.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>

namespace droplab::gen {
namespace {

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items())
    out.insert(k);
  return out;
}

Report sample() {
  Report r;
  r.context = Context{.kernel = "6.18.0",
                      .cpus = 2,
                      .backend = "sendmmsg",
                      .backend_reason = "auto: only one",
                      .dst = "198.18.0.2:9000",
                      .size = 64,
                      .flows = 2,
                      .batch = 32,
                      .rate_requested = "50.00 kpps",
                      .requested_pps = 50000.0,
                      .duration_limit_s = 10.1,
                      .count_limit = std::nullopt};
  r.intervals.push_back(Interval{.t_s = 1.0, .sent = 0, .pps = 0, .errors = {{"ENOBUFS", 3}}});
  r.summary = Summary{.sent = 0,
                      .attempted = 3,
                      .send_errors = {{"ENOBUFS", 3}},
                      .send_errors_total = 3,
                      .duration_s = 0,
                      .achieved_pps = 0,
                      .requested_pps = std::nullopt,
                      .rate_error = std::nullopt,
                      .wire_bytes = 0,
                      .stopped_by = "signal"};
  r.flows.push_back(FlowReport{.flow = 0, .src_port = 40000, .sent = 0, .next_seq = 0});
  r.flows.push_back(FlowReport{.flow = 1, .src_port = 40001, .sent = 7, .next_seq = 7});
  return r;
}

TEST(GenReport, FieldNamesFollowTheHarnessContract) {
  nlohmann::json j = sample();
  // The harness's fields keep their names; fields added later are listed
  // separately so a rename of an old one still fails here.
  EXPECT_EQ(keys(j), (std::set<std::string>{"schema_version", "tool", "context", "intervals",
                                            "summary", "flows", /* added: */ "threads"}));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["tool"], "droplab-gen");
  EXPECT_EQ(keys(j["context"]), (std::set<std::string>{"kernel",
                                                       "cpus",
                                                       "backend",
                                                       "backend_reason",
                                                       "dst",
                                                       "size",
                                                       "flows",
                                                       "batch",
                                                       "rate_requested",
                                                       "requested_pps",
                                                       "duration_limit_s",
                                                       "count_limit",
                                                       /* added: */ "threads",
                                                       "pinned_cpus",
                                                       "shape",
                                                       "imix",
                                                       "qdisc_bypass",
                                                       "zerocopy",
                                                       "dev",
                                                       "dst_mac",
                                                       "dst_mac_source",
                                                       "link_speed_mbps",
                                                       /* added with UDP GSO: */ "gso_requested",
                                                       "gso_segments",
                                                       "gso_reason"}));
  EXPECT_EQ(keys(j["intervals"][0]), (std::set<std::string>{"t_s", "sent", "pps", "errors"}));
  EXPECT_EQ(
      keys(j["summary"]),
      (std::set<std::string>{"sent", "attempted", "send_errors", "send_errors_total", "duration_s",
                             "achieved_pps", "requested_pps", "rate_error", "wire_bytes",
                             "stopped_by", /* added: */ "per_ms", "backend_stats", "pace",
                             /* added with UDP GSO: */ "backend_note"}));
  EXPECT_EQ(keys(j["summary"]["pace"]), (std::set<std::string>{"loop_s", "cpu_s", "in_send_s",
                                                               "send_blocked_s", "cpu_wait_s"}));
  EXPECT_TRUE(j["summary"]["pace"]["cpu_wait_s"].is_null()); // unavailable, not 0
  EXPECT_EQ(keys(j["flows"][0]), (std::set<std::string>{"flow", "src_port", "sent", "next_seq"}));
  // Zeros are written, absent optionals are null, never omitted.
  EXPECT_EQ(j["summary"]["sent"], 0);
  EXPECT_TRUE(j["summary"]["requested_pps"].is_null());
  EXPECT_TRUE(j["summary"]["rate_error"].is_null());
  EXPECT_TRUE(j["context"]["count_limit"].is_null());
  EXPECT_EQ(j["context"]["requested_pps"], 50000.0);
  EXPECT_EQ(j["summary"]["send_errors"]["ENOBUFS"], 3);
}

TEST(GenReport, RoundTrip) {
  Report r = sample();
  r.context.gso_requested = "auto";
  r.context.gso_segments = 5;
  r.context.gso_reason = "reduced from 64";
  r.summary.backend_note = "thread 0: EIO on a 16-segment UDP GSO buffer";
  nlohmann::json j = r;
  Report back = nlohmann::json::parse(j.dump()).get<Report>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.context.requested_pps, 50000.0);
  EXPECT_FALSE(back.context.count_limit);
  EXPECT_EQ(back.flows.at(1).next_seq, 7u);
  EXPECT_EQ(back.summary.stopped_by, "signal");
  EXPECT_EQ(back.context.gso_segments, 5u);
  EXPECT_EQ(back.summary.backend_note, r.summary.backend_note);
}

TEST(GenReport, SummaryFromTotals) {
  RunTotals t;
  t.sent = 1001;
  t.failed = 2;
  t.errors = {{ENOBUFS, 2}};
  t.first_send_ns = 5'000'000'000ULL;
  t.last_send_ns = 6'000'000'000ULL;
  t.first_batch_sent = 1;
  t.stopped_by = "count";
  Summary s = summarize(t, 1000.0, 64);
  EXPECT_EQ(s.attempted, 1003u);
  EXPECT_DOUBLE_EQ(s.duration_s, 1.0);
  EXPECT_DOUBLE_EQ(s.achieved_pps, 1000.0); // the first batch was due at t=0
  ASSERT_TRUE(s.rate_error);
  EXPECT_DOUBLE_EQ(*s.rate_error, 0.0);
  EXPECT_EQ(s.wire_bytes, 1001u * 64);
  EXPECT_EQ(s.send_errors.at("ENOBUFS"), 2u);
  EXPECT_EQ(s.send_errors.at("EAGAIN"), 0u); // common errors appear as 0
  EXPECT_EQ(s.send_errors_total, 2u);

  EXPECT_EQ(s.pace.loop_s, 0.0);
  EXPECT_FALSE(s.pace.cpu_wait_s);

  t.pace = PaceTotals{.loop_ns = 1'000'000'000ULL,
                      .cpu_ns = 250'000'000ULL,
                      .in_send_ns = 200'000'000ULL,
                      .send_blocked_ns = 600'000'000ULL,
                      .cpu_wait_ns = 0};
  s = summarize(t, 1000.0, 64);
  EXPECT_DOUBLE_EQ(s.pace.loop_s, 1.0);
  EXPECT_DOUBLE_EQ(s.pace.cpu_s, 0.25);
  EXPECT_DOUBLE_EQ(s.pace.in_send_s, 0.2);
  EXPECT_DOUBLE_EQ(s.pace.send_blocked_s, 0.6);
  ASSERT_TRUE(s.pace.cpu_wait_s);
  EXPECT_EQ(*s.pace.cpu_wait_s, 0.0); // measured zero stays a zero
  const Summary back = nlohmann::json::parse(nlohmann::json(s).dump()).get<Summary>();
  EXPECT_DOUBLE_EQ(back.pace.send_blocked_s, 0.6);
  ASSERT_TRUE(back.pace.cpu_wait_s);

  Summary unpaced = summarize(t, 0, 64);
  EXPECT_FALSE(unpaced.requested_pps);
  EXPECT_FALSE(unpaced.rate_error);
}

TEST(GenReport, NothingSentMeansZeroRate) {
  RunTotals t;
  t.stopped_by = "signal";
  Summary s = summarize(t, 1000.0, 64);
  EXPECT_EQ(s.achieved_pps, 0.0);
  EXPECT_DOUBLE_EQ(*s.rate_error, -1.0);
}

TEST(GenReport, ErrnoNames) {
  EXPECT_EQ(errno_name(ENOBUFS), "ENOBUFS");
  EXPECT_EQ(errno_name(EAGAIN), "EAGAIN");
  EXPECT_EQ(errno_name(99999), "errno 99999");
}

TEST(GenReport, ConsoleLine) {
  Interval i{.t_s = 2.0, .sent = 100000, .pps = 100000, .errors = {{"ENOBUFS", 12}, {"EAGAIN", 0}}};
  EXPECT_EQ(format_interval(i), "[   2.000 s] sent    100000    100.00 kpps  errors: ENOBUFS 12");
  i.errors = {{"ENOBUFS", 0}};
  EXPECT_NE(format_interval(i).find("errors: none"), std::string::npos);
}

} // namespace
} // namespace droplab::gen

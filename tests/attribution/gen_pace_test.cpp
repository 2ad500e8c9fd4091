// The gen stage's note when the generator fell short of its requested rate:
// which measured cause it names, from droplab-gen's own report.
#include "gen_pace.hpp"
#include "report.hpp"
#include "waterfall.hpp"

#include <gtest/gtest.h>

using namespace droplab::harness;

namespace {

// The run: 41,958 of 100,000 pps with no send error.
GenPace short_run() {
  return GenPace{.requested_pps = 100'000,
                 .achieved_pps = 41'958,
                 .loop_s = 1.0,
                 .cpu_s = 0.3,
                 .in_send_s = 0.2,
                 .send_blocked_s = 0,
                 .cpu_wait_s = 0.01};
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(GenPace, NoNoteWhenTheRateWasMetOrUnpaced) {
  GenPace p = short_run();
  p.achieved_pps = 96'000; // within 5%
  EXPECT_FALSE(gen_shortfall_note(p));
  p.achieved_pps = 10;
  p.requested_pps = 0; // --rate max
  EXPECT_FALSE(gen_shortfall_note(p));
}

TEST(GenPace, AFullSendBufferIsNamedWithItsDuration) {
  GenPace p = short_run();
  p.eagain = 1234;
  p.send_blocked_s = 0.35;
  auto n = gen_shortfall_note(p);
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->starts_with(kGenShortNote)) << *n;
  EXPECT_TRUE(has(*n, "41.96 kpps of 100.00 kpps requested (-58.0%)")) << *n;
  EXPECT_TRUE(
      has(*n, "send buffer was full for 350 ms of 1,000 ms (sends refused EAGAIN 1,234 times)"))
      << *n;
  EXPECT_FALSE(has(*n, "CPU-bound")) << *n;
}

TEST(GenPace, EnobufsAndWaitingForACpuAreEachNamed) {
  GenPace p = short_run();
  p.enobufs = 17;
  p.cpu_s = 0.1;
  p.cpu_wait_s = 0.25;
  auto n = gen_shortfall_note(p);
  ASSERT_TRUE(n);
  EXPECT_TRUE(has(*n, "17 sends refused ENOBUFS")) << *n;
  EXPECT_TRUE(has(*n, "waited 250 ms of 1,000 ms for a CPU")) << *n;
  EXPECT_FALSE(has(*n, "never idled")) << *n;
}

TEST(GenPace, ALoopThatNeverIdledIsCpuBoundAndSaysWhereTheTimeWent) {
  // Measured with the old qdisc profile under load: 41,930 of 100,000 pps,
  // no send refused, the loop running or waiting for a CPU the whole time,
  // nearly all of it inside sendmmsg.
  GenPace p = short_run();
  p.achieved_pps = 41'930;
  p.loop_s = 0.998;
  p.cpu_s = 0.547;
  p.cpu_wait_s = 0.451;
  p.in_send_s = 0.974;
  auto n = gen_shortfall_note(p);
  ASSERT_TRUE(n);
  EXPECT_TRUE(has(*n,
                  "it never idled: it ran 547 ms and waited 451 ms for a CPU in 998 ms, 974 ms of "
                  "the loop inside send calls"))
      << *n;
  EXPECT_FALSE(has(*n, "send buffer was full")) << *n;
  // Without schedstat only the CPU time can say so.
  p.cpu_wait_s.reset();
  p.cpu_s = 0.95;
  n = gen_shortfall_note(p);
  EXPECT_TRUE(has(*n, "it was CPU-bound: 950 ms of CPU in 998 ms")) << *n;
}

TEST(GenPace, NoMeasuredCauseSaysSoWithTheFigures) {
  GenPace p = short_run();
  p.cpu_wait_s.reset();
  auto n = gen_shortfall_note(p);
  ASSERT_TRUE(n);
  EXPECT_TRUE(has(*n, "no send was refused and the loop was neither CPU-bound nor kept from a CPU"))
      << *n;
  EXPECT_TRUE(has(*n, "waiting for a CPU unavailable")) << *n; // never 0 when unmeasured
}

TEST(GenPace, ReadFromTheGeneratorsReport) {
  nlohmann::json gen = {{"context", {{"threads", 2}}},
                        {"summary",
                         {{"sent", 10},
                          {"send_errors_total", 5},
                          {"requested_pps", 100000.0},
                          {"achieved_pps", 41958.0},
                          {"send_errors", {{"EAGAIN", 3}, {"ENOBUFS", 1}, {"EPERM", 1}}},
                          {"pace",
                           {{"loop_s", 2.0},
                            {"cpu_s", 0.5},
                            {"in_send_s", 0.25},
                            {"send_blocked_s", 0.4},
                            {"cpu_wait_s", nullptr}}}}},
                        {"flows", nlohmann::json::array()}};
  auto p = gen_pace_from_report(gen);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->requested_pps, 100000.0);
  EXPECT_EQ(p->eagain, 3u);
  EXPECT_EQ(p->enobufs, 1u);
  EXPECT_EQ(p->other_errors, 1u);
  EXPECT_EQ(p->threads, 2u);
  EXPECT_EQ(p->send_blocked_s, 0.4);
  EXPECT_FALSE(p->cpu_wait_s);
  gen["summary"]["requested_pps"] = nullptr; // --rate max
  EXPECT_EQ(gen_pace_from_report(gen)->requested_pps, 0.0);
  gen["summary"].erase("pace"); // a report from before pace existed
  EXPECT_FALSE(gen_pace_from_report(gen));
}

TEST(GenPace, TheGenStageAndAFailedExpectationCarryTheNote) {
  RunOutcome o;
  o.gen_sent = 41'958;
  o.sink_valid = 41'958;
  o.gen_pace = short_run();
  Waterfall w = build_waterfall({}, o, {});
  const Stage* gen = w.find("gen");
  ASSERT_NE(gen, nullptr);
  ASSERT_EQ(gen->notes.size(), 1u);
  EXPECT_TRUE(gen->notes[0].starts_with(kGenShortNote));
  // "expected drops at qdisc, but nothing was lost" — and why.
  ExpectVerdict v = evaluate_expect(Expect{.drops_at = "qdisc"}, w);
  EXPECT_FALSE(v.passed);
  ASSERT_EQ(v.reasons.size(), 2u);
  EXPECT_TRUE(has(v.reasons[0], "nothing was lost")) << v.reasons[0];
  EXPECT_EQ(v.reasons[1], gen->notes[0]);
  // A verdict that held is not cluttered with it.
  EXPECT_EQ(evaluate_expect(Expect{.no_loss = true}, w).reasons.size(), 1u);
}

} // namespace

// droplab compare and droplab sweep: many real runs, one verdict or curve.
#include "e2e_support.hpp"

#include <cstdio>

using namespace droplab::e2e;
using nlohmann::json;

namespace {

// An application that pauses 200 ms every second at 20 kpps: about 4,000
// datagrams arrive during each pause. A 64 KiB buffer cannot hold them; a
// 16 MiB one (forced past rmem_max) can. Two pauses per run: the loss
// varies from run to run, 10-20% here, but it is never 0.
json stall_profile() {
  return json::parse(R"({
    "name": "stall-short",
    "description": "a reader pausing 200 ms each second; the buffer decides whether the pause costs packets",
    "gen": {"rate": "20kpps", "duration": "2s", "size": 64, "flows": 2},
    "sink": {"port": 9000, "rcvbuf_force": "64KiB", "stall": "200ms/1s"}
  })");
}

class SeriesE2E : public HostFixture {};

TEST_F(SeriesE2E, ALargerReceiveBufferIsAnImprovement) {
  std::string prof = temp_profile(stall_profile());
  std::string out = temp_path(".json");
  std::string html = temp_path(".html");
  Result r = run_droplab({"compare", prof, "--candidate", "sink.rcvbuf_force=16MiB", "--repeat", "4", "--json",
                          out, "--html", html});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json c = read_json(out);
  std::remove(prof.c_str());
  std::remove(out.c_str());
  EXPECT_EQ(c["kind"], "compare");
  EXPECT_EQ(c["verdict"]["result"], "improved") << r.output;
  EXPECT_LT(c["verdict"]["p"].get<double>(), 0.05);
  ASSERT_EQ(c["arms"].size(), 2u);
  for (const auto& arm : c["arms"]) {
    ASSERT_EQ(arm["runs"].size(), 4u);
    for (const auto& run : arm["runs"]) {
      EXPECT_EQ(run["unexplained"], 0) << run.dump();
      EXPECT_GT(run["sent"].get<long long>(), 25'000);
    }
  }
  // The baseline lost at the socket in every run, the candidate nowhere.
  for (const auto& run : c["arms"][0]["runs"]) EXPECT_GT(run["stages"]["socket"].get<long long>(), 1000);
  for (const auto& run : c["arms"][1]["runs"]) EXPECT_EQ(run["dropped"], 0);
  // The cost side is measured, not left out.
  bool cpu = false;
  for (const auto& m : c["cost"]) {
    if (m["name"] == "cpu_s") cpu = m["baseline"]["mean"].is_number() && m["baseline"]["mean"].get<double>() > 0;
  }
  EXPECT_TRUE(cpu) << c["cost"].dump();
  // The terminal shows progress and the verdict.
  EXPECT_NE(r.output.find("[run 8/8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("improved"), std::string::npos) << r.output;
  std::FILE* f = std::fopen(html.c_str(), "r");
  EXPECT_NE(f, nullptr) << "no HTML written";
  if (f) std::fclose(f);
  std::remove(html.c_str());
}

TEST_F(SeriesE2E, TheSameSettingsOnBothSidesAreNoSignificantDifference) {
  std::string out = temp_path(".json");
  Result r = run_droplab({"compare", profile("clean.json"), "--baseline", "sink.rcvbuf=1MiB", "--candidate",
                          "sink.rcvbuf=1MiB", "--repeat", "2", "--json", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json c = read_json(out);
  std::remove(out.c_str());
  EXPECT_EQ(c["verdict"]["result"], "no significant difference") << r.output;
}

TEST_F(SeriesE2E, SweepFindsTheKneeOfTheReceiveBuffer) {
  std::string prof = temp_profile(stall_profile());
  std::string out = temp_path(".json");
  Result r = run_droplab({"sweep", prof, "--vary", "sink.rcvbuf_force=64KiB,16MiB", "--json", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json s = read_json(out);
  std::remove(prof.c_str());
  std::remove(out.c_str());
  ASSERT_EQ(s["points"].size(), 2u);
  EXPECT_GT(s["points"][0]["stages"]["socket"].get<long long>(), 1000);
  EXPECT_EQ(s["points"][1]["dropped"], 0);
  for (const auto& p : s["points"]) EXPECT_EQ(p["unexplained"], 0);
  ASSERT_FALSE(s["knee"].is_null()) << r.output;
  EXPECT_EQ(s["knee"]["index"], 1);
  EXPECT_EQ(s["knee"]["values"]["sink.rcvbuf_force"], "16MiB");
}

TEST_F(SeriesE2E, ThroughputSearchBracketsAReadRateLimit) {
  // A reader limited to 20 kpps whose buffer absorbs the generator's
  // batches but not a sustained excess: zero loss up to about that rate,
  // loss above it.
  json p = json::parse(R"({
    "name": "read-limit", "description": "a reader limited to 20 kpps",
    "gen": {"rate": "80kpps", "count": 20000, "size": 64},
    "sink": {"port": 9000, "rcvbuf": "256KiB", "read_rate": "20kpps"}
  })");
  std::string prof = temp_profile(p);
  std::string out = temp_path(".json");
  Result r = run_droplab({"sweep", prof, "--throughput", "--min", "10kpps", "--resolution", "5kpps", "--json", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json s = read_json(out);
  std::remove(prof.c_str());
  std::remove(out.c_str());
  const json& t = s["throughput"];
  ASSERT_FALSE(t["max_zero_loss_pps"].is_null()) << r.output;
  double best = t["max_zero_loss_pps"];
  EXPECT_GE(best, 10'000);
  EXPECT_LT(best, 30'000) << r.output; // well over 20 kpps cannot be read
  // The search ended within its resolution: a failing trial less than 5 kpps above.
  bool bracketed = false;
  for (const auto& trial : t["trials"]) {
    double rate = trial["rate_pps"];
    if (!trial["passed"].get<bool>() && rate > best && rate - best <= 5'000) bracketed = true;
  }
  EXPECT_TRUE(bracketed) << r.output;
  EXPECT_FALSE(t["trials"][0]["passed"].get<bool>()); // 80 kpps, tried first, lost
  for (const auto& trial : t["trials"]) {
    EXPECT_EQ(trial["unexplained"], 0) << trial.dump();
    // Every passing trial is at or below the answer, every failing one above.
    if (trial["passed"].get<bool>()) EXPECT_LE(trial["rate_pps"].get<double>(), best);
    else EXPECT_GT(trial["rate_pps"].get<double>(), best);
  }
}

// Validation happens before anything runs: no root needed.
TEST(SeriesUsage, BadSettingsOrKeysExitTwoNamingThem) {
  Result a = run_droplab({"compare", profile("clean.json"), "--candidate", "sink.rcvbuff=4MiB"});
  EXPECT_EQ(a.exit_code, 2) << a.output;
  EXPECT_NE(a.output.find("--candidate \"sink.rcvbuff=4MiB\""), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("/sink/rcvbuff: unknown key"), std::string::npos) << a.output;

  Result b = run_droplab({"compare", profile("clean.json"), "--baseline", "sink.rcvbuf=huge", "--candidate",
                          "sink.rcvbuf=1MiB"});
  EXPECT_EQ(b.exit_code, 2) << b.output;
  EXPECT_NE(b.output.find("--baseline \"sink.rcvbuf=huge\""), std::string::npos) << b.output;

  Result c = run_droplab({"compare", profile("clean.json"), "--candidate", "not-a-setting"});
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("not-a-setting"), std::string::npos) << c.output;

  Result d = run_droplab({"sweep", profile("clean.json"), "--vary", "gen.rat=1kpps,2kpps"});
  EXPECT_EQ(d.exit_code, 2) << d.output;
  EXPECT_NE(d.output.find("/gen/rat: unknown key"), std::string::npos) << d.output;
  EXPECT_NE(d.output.find("--vary gen.rat=1kpps"), std::string::npos) << d.output;

  Result e = run_droplab({"compare", profile("clean.json"), "--candidate", "sink.rcvbuf=1MiB", "--repeat", "1"});
  EXPECT_EQ(e.exit_code, 2) << e.output;
  EXPECT_NE(e.output.find("--repeat 1"), std::string::npos) << e.output;

  Result f = run_droplab({"sweep", profile("clean.json")});
  EXPECT_EQ(f.exit_code, 2) << f.output;
  EXPECT_NE(f.output.find("--vary"), std::string::npos) << f.output;

  Result g = run_droplab({"compare", profile("clean.json"), "--candidate",
                          "settings.sysctls.net.core.no_such_knob=1"});
  EXPECT_EQ(g.exit_code, 2) << g.output;
  EXPECT_NE(g.output.find("--candidate \"settings.sysctls.net.core.no_such_knob=1\""), std::string::npos) << g.output;

  // A path through a value that is not an object, and an empty list.
  Result h = run_droplab({"compare", profile("clean.json"), "--candidate", "gen.rate.x=1"});
  EXPECT_EQ(h.exit_code, 2) << h.output;
  EXPECT_NE(h.output.find("gen.rate.x"), std::string::npos) << h.output;
  Result i = run_droplab({"sweep", profile("clean.json"), "--vary", "sink.rcvbuf=[]"});
  EXPECT_EQ(i.exit_code, 2) << i.output;
  EXPECT_NE(i.output.find("no values"), std::string::npos) << i.output;

  // Items valid only together are one valid arm.
  Result j = run_droplab({"compare", profile("socket-rcvbuf.json"), "--candidate", "sink.rcvbuf=null", "--candidate",
                          "sink.rcvbuf_force=16MiB", "--repeat", "0"});
  EXPECT_EQ(j.exit_code, 2) << j.output;
  EXPECT_NE(j.output.find("--repeat 0"), std::string::npos) << j.output; // got past the arms' validation
}

} // namespace

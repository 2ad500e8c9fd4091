// Profile overrides from the command line (compare's SETTINGS, sweep's
// --vary) and the throughput search, without running anything.
#include "overrides.hpp"
#include "profile.hpp"
#include "series.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using nlohmann::json;
using namespace droplab::harness;

namespace {

const json kProfile = json::parse(R"({"name": "t", "gen": {"rate": "10kpps", "count": 1000},
                                      "sink": {"rcvbuf": "64KiB"},
                                      "settings": {"sysctls": {"net.core.rmem_max": "4194304"}}})");

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const droplab::UsageError& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(Overrides, DottedKeyBecomesAPointerAndTheValueKeepsItsJsonType) {
  Override o = parse_override("--candidate", "sink.rcvbuf=4MiB");
  EXPECT_EQ(o.ptr.to_string(), "/sink/rcvbuf");
  EXPECT_EQ(o.value, json("4MiB"));
  EXPECT_EQ(parse_override("--candidate", "gen.size=1400").value, json(1400));
  EXPECT_EQ(parse_override("--candidate", "sink.cpus=0,1").value, json("0,1"));
  EXPECT_EQ(parse_override("--candidate", "settings.tx_qdisc=pfifo limit 10").value, json("pfifo limit 10"));
  EXPECT_EQ(o.key(), "sink.rcvbuf");
  EXPECT_EQ(o.value_text(), "4MiB");
}

TEST(Overrides, UnderAMapTheRestOfThePathIsOneKey) {
  Override o = parse_override("--vary", "settings.sysctls.net.core.netdev_max_backlog=10000");
  EXPECT_EQ(o.ptr, json::json_pointer("/settings/sysctls/net.core.netdev_max_backlog"));
  Override r = parse_override("--vary", "settings.rx_sysctls.net.ipv4.conf.all.rp_filter=1");
  EXPECT_EQ(r.ptr, json::json_pointer("/settings/rx_sysctls/net.ipv4.conf.all.rp_filter"));
}

TEST(Overrides, AppliedOverridesAreValidatedAsAProfile) {
  json d = apply_override(kProfile, parse_override("--candidate", "sink.rcvbuf=4MiB"));
  EXPECT_EQ(*parse_profile(d, "p.json").sink.rcvbuf, "4MiB");
  // Objects on the way are created.
  json e = apply_override(kProfile, parse_override("--candidate", "settings.rx_sysctls.net.ipv4.conf.all.rp_filter=1"));
  EXPECT_EQ(parse_profile(e, "p.json").settings.rx_sysctls.at("net.ipv4.conf.all.rp_filter"), "1");
  // null removes the key: the profile's default applies.
  json f = apply_override(kProfile, parse_override("--candidate", "sink.rcvbuf=null"));
  EXPECT_FALSE(parse_profile(f, "p.json").sink.rcvbuf.has_value());
}

TEST(Overrides, BadKeysAndValuesAreUsageErrorsNamingThem) {
  EXPECT_NE(usage_error([] { parse_override("--candidate", "sink.rcvbuf"); }).find("expected KEY=VALUE"),
            std::string::npos);
  EXPECT_NE(usage_error([] { parse_override("--candidate", "=4MiB"); }).find("missing KEY"), std::string::npos);
  EXPECT_NE(usage_error([] { parse_override("--candidate", "sink..rcvbuf=1"); }).find("empty path segment"),
            std::string::npos);
  std::string unknown = usage_error([] {
    parse_profile(apply_override(kProfile, parse_override("--candidate", "sink.rcvbuff=4MiB")), "p.json");
  });
  EXPECT_NE(unknown.find("/sink/rcvbuff: unknown key"), std::string::npos) << unknown;
  std::string bad = usage_error([] {
    parse_profile(apply_override(kProfile, parse_override("--candidate", "sink.rcvbuf=lots")), "p.json");
  });
  EXPECT_NE(bad.find("/sink/rcvbuf"), std::string::npos) << bad;
}

TEST(Overrides, VarySplitsOnCommasOrTakesAJsonArray) {
  auto v = parse_vary("sink.rcvbuf=64KiB,1MiB,4MiB");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1].value, json("1MiB"));
  auto a = parse_vary(R"(sink.cpus=["0,1","1"])");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].value, json("0,1"));
  EXPECT_NE(usage_error([] { parse_vary("sink.rcvbuf=64KiB,,1MiB"); }).find("empty value"), std::string::npos);
  EXPECT_NE(usage_error([] { parse_vary("sink.rcvbuf"); }).find("KEY=V1,V2"), std::string::npos);
  EXPECT_NE(usage_error([] { parse_vary("sink.cpus=[1,"); }).find("not a JSON array"), std::string::npos);
}

TEST(Overrides, SettingsTakeKeyValuesInlineJsonAndFiles) {
  std::string path = ::testing::TempDir() + "droplab-settings-test.json";
  {
    std::ofstream(path) << R"({"sink": {"rcvbuf": "1MiB", "read_rate": "20kpps"}})";
  }
  Patch p = parse_settings("--candidate", {path, R"({"gen": {"size": 200}})", "sink.rcvbuf=2MiB"});
  json d = apply_patch(kProfile, p);
  Profile prof = parse_profile(d, "p.json");
  EXPECT_EQ(*prof.sink.rcvbuf, "2MiB"); // KEY=VALUE after the merge patches
  EXPECT_EQ(*prof.sink.read_rate, "20kpps");
  EXPECT_EQ(prof.gen.size, 200u);
  std::remove(path.c_str());
  EXPECT_NE(usage_error([] { parse_settings("--baseline", {"{not json"}); }).find("--baseline \"{not json\""),
            std::string::npos);
  EXPECT_NE(usage_error([] { parse_settings("--baseline", {"/nonexistent/settings"}); }).find("KEY=VALUE"),
            std::string::npos);
}

TEST(ThroughputSearch, FindsTheHighestPassingRateWithinTheResolution) {
  // A device that loses everything above 37,300 pps.
  auto trial = [](double pps) { return pps <= 37'300; };
  std::vector<SearchStep> steps;
  auto r = throughput_search(1'000, 100'000, 500, trial, &steps);
  ASSERT_TRUE(r.has_value());
  EXPECT_LE(*r, 37'300);
  EXPECT_GT(*r, 37'300 - 500);
  EXPECT_FALSE(steps.front().passed); // the upper bound is tried first
  EXPECT_EQ(steps.front().rate_pps, 100'000);
  EXPECT_LE(steps.size(), 2u + 8u); // log2(99,000 / 500) < 8 bisections
}

TEST(ThroughputSearch, BoundsAreReportedAsSuch) {
  std::vector<SearchStep> steps;
  EXPECT_EQ(throughput_search(1'000, 50'000, 100, [](double) { return true; }, &steps), 50'000);
  EXPECT_EQ(steps.size(), 1u);
  EXPECT_FALSE(throughput_search(1'000, 50'000, 100, [](double) { return false; }).has_value());
}

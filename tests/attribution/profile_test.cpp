#include "profile.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace droplab::harness;
using nlohmann::json;

namespace {

std::string error_of(const json& doc) {
  try {
    parse_profile(doc, "profiles/x.json");
  } catch (const ProfileError& e) {
    return e.what();
  }
  return "";
}

json minimal() { return json{{"name", "t"}}; }

TEST(Profile, ShippedProfilesLoad) {
  for (const char* name : {"clean.json", "socket-rcvbuf.json"}) {
    Profile p = load_profile(std::string(DROPLAB_PROFILES_DIR) + "/" + name);
    EXPECT_FALSE(p.name.empty()) << name;
    EXPECT_FALSE(p.description.empty()) << name;
    ASSERT_TRUE(p.expect) << name;
  }
  Profile s = load_profile(std::string(DROPLAB_PROFILES_DIR) + "/socket-rcvbuf.json");
  EXPECT_EQ(s.expect->drops_at, "socket");
  EXPECT_EQ(s.sink.rcvbuf, "4KiB");
}

TEST(Profile, DefaultsAreBoundedInTime) {
  Profile p = parse_profile(minimal(), "x.json");
  ASSERT_TRUE(p.gen.duration);
  EXPECT_EQ(*p.gen.duration, "2s");
  EXPECT_EQ(p.gen.size, 64u);
  EXPECT_FALSE(p.expect);
}

struct BadCase {
  const char* what;
  json doc;
  std::string must_contain[3];
};

TEST(Profile, BadInputNamesFileKeyAndWhatIsAllowed) {
  const BadCase cases[] = {
      {.what = "unknown top-level key",
       .doc = json{{"name", "t"}, {"speed", 1}},
       .must_contain = {"profiles/x.json", "/speed", "unknown key (allowed: name,"}},
      {.what = "unknown nested key",
       .doc = json{{"name", "t"}, {"gen", {{"rat", "1kpps"}}}},
       .must_contain = {"profiles/x.json", "/gen/rat", "allowed: rate, duration"}},
      {.what = "rate fast",
       .doc = json{{"name", "t"}, {"gen", {{"rate", "fast"}}}},
       .must_contain = {"/gen/rate", "\"fast\" is not a rate", "kpps"}},
      {.what = "negative rate string",
       .doc = json{{"name", "t"}, {"gen", {{"rate", "-5kpps"}}}},
       .must_contain = {"/gen/rate", "-5kpps", "greater than 0"}},
      {.what = "negative rate number",
       .doc = json{{"name", "t"}, {"gen", {{"rate", -5}}}},
       .must_contain = {"/gen/rate", "-5", "greater than 0"}},
      {.what = "size out of range",
       .doc = json{{"name", "t"}, {"gen", {{"size", 20}}}},
       .must_contain = {"/gen/size", "20", "64..9000"}},
      {.what = "size wrong type",
       .doc = json{{"name", "t"}, {"gen", {{"size", "big"}}}},
       .must_contain = {"/gen/size", "expected an integer", "\"big\""}},
      {.what = "negative count",
       .doc = json{{"name", "t"}, {"gen", {{"count", -1}}}},
       .must_contain = {"/gen/count", "-1", "out of range"}},
      {.what = "read rate in bits",
       .doc = json{{"name", "t"}, {"sink", {{"read_rate", "1Mbit/s"}}}},
       .must_contain = {"/sink/read_rate", "packets per second", "1Mbit/s"}},
      {.what = "stall not DUR/EVERY",
       .doc = json{{"name", "t"}, {"sink", {{"stall", "200ms"}}}},
       .must_contain = {"/sink/stall", "DUR/EVERY", "200ms"}},
      {.what = "stall longer than its period",
       .doc = json{{"name", "t"}, {"sink", {{"stall", "2s/1s"}}}},
       .must_contain = {"/sink/stall", "shorter than EVERY", "2s/1s"}},
      {.what = "rcvbuf not a size",
       .doc = json{{"name", "t"}, {"sink", {{"rcvbuf", "lots"}}}},
       .must_contain = {"/sink/rcvbuf", "\"lots\" is not a size", "KiB"}},
      {.what = "non-network sysctl",
       .doc = json{{"name", "t"}, {"settings", {{"sysctls", {{"kernel.panic", 1}}}}}},
       .must_contain = {"/settings/sysctls/kernel.panic", "not a network sysctl", "net."}},
      {.what = "rps mask not hex",
       .doc = json{{"name", "t"}, {"settings", {{"rps_cpus", "cpu1"}}}},
       .must_contain = {"/settings/rps_cpus", "hex CPU mask", "cpu1"}},
      {.what = "unknown stage",
       .doc = json{{"name", "t"}, {"expect", {{"drops_at", "nic"}}}},
       .must_contain = {"/expect/drops_at", "\"nic\" is not a stage", "socket"}},
      {.what = "expect with neither",
       .doc = json{{"name", "t"}, {"expect", json::object()}},
       .must_contain = {"/expect", "no_loss", "drops_at"}},
      {.what = "fraction above 1",
       .doc = json{{"name", "t"}, {"expect", {{"drops_at", "socket"}, {"min_fraction", 1.5}}}},
       .must_contain = {"/expect/min_fraction", "1.5", "0..1"}},
      {.what = "missing name",
       .doc = json::object(),
       .must_contain = {"profiles/x.json", "/name", "missing"}},
      {.what = "not an object",
       .doc = json::array(),
       .must_contain = {"profiles/x.json", "/", "expected an object"}},
  };
  for (const auto& c : cases) {
    std::string err = error_of(c.doc);
    ASSERT_FALSE(err.empty()) << c.what << ": accepted";
    for (const auto& needle : c.must_contain) {
      EXPECT_NE(err.find(needle), std::string::npos) << c.what << ": \"" << err << "\" lacks \"" << needle << "\"";
    }
  }
}

TEST(Profile, NftRuleCopiesExpand) {
  Profile p = parse_profile(json{{"name", "t"},
                                 {"settings", {{"rx_nft_rules", {"udp dport 9 counter drop",
                                                                 {{"rule", "meta l4proto udp counter"}, {"copies", 3}}}}}}},
                            "x.json");
  ASSERT_EQ(p.settings.rx_nft_rules.size(), 4u);
  EXPECT_EQ(p.settings.rx_nft_rules[3], "meta l4proto udp counter");
  EXPECT_NE(error_of(json{{"name", "t"}, {"settings", {{"rx_nft_rules", {{{"rule", "x counter"}, {"copies", 0}}}}}}})
                .find("/settings/rx_nft_rules/0/copies"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"name", "t"}, {"settings", {{"rx_nft_rules", {"udp dport 9 drop"}}}}})
                .find("needs a counter"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"name", "t"}, {"gen", {{"fault", "udp-csum"}}}}).find("needs \"backend\": \"af_packet\""),
            std::string::npos);
}

TEST(Profile, UnreadableOrMalformedFilesAreProfileErrors) {
  EXPECT_THROW(load_profile("/nonexistent/p.json"), ProfileError);
  char path[] = "/tmp/droplab-profile-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "{\"name\": ", 9), 9);
  ::close(fd);
  try {
    load_profile(path);
    ADD_FAILURE() << "accepted truncated JSON";
  } catch (const ProfileError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  ::unlink(path);
}

} // namespace

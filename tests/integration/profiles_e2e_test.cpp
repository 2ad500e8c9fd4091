// One end-to-end run per shipped profile: its expectation holds (the drops
// land where it says, unexplained 0) and the host is left as found.
#include "e2e_support.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

using namespace droplab::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> shipped_profiles() {
  std::vector<std::string> out;
  for (const auto& de : fs::directory_iterator(DROPLAB_PROFILES_DIR)) {
    if (de.path().extension() == ".json") out.push_back(de.path().stem());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ProfileE2E : public HostFixture, public ::testing::WithParamInterface<std::string> {};

TEST_P(ProfileE2E, ExpectationHoldsWithNothingUnexplained) {
  if (std::string why = why_cannot_run(profile(GetParam() + ".json")); !why.empty()) GTEST_SKIP() << why;
  std::string out = temp_path(".json");
  Result r = run_droplab({"run", profile(GetParam() + ".json"), "--json", out, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json rep = read_json(out);
  std::remove(out.c_str());
  EXPECT_EQ(rep["accounting"]["unexplained"], 0) << r.output;
  ASSERT_FALSE(rep["expect"].is_null()) << "every shipped profile states an expectation";
  EXPECT_EQ(rep["expect"]["passed"], true) << r.output;
  EXPECT_FALSE(rep["context"]["profile"]["description"].get<std::string>().empty());
  if (auto why = unavailable("kfree_skb_reason")) {
    GTEST_SKIP() << "the expectation held; drop reasons could not be cross-checked: " << *why;
  }
  EXPECT_EQ(rep["drop_reasons"]["mode"], "bpf") << rep["drop_reasons"]["mode_reason"];
  // Where the drops landed, the kernel's own drop reasons agree with the counters.
  for (const auto& s : rep["stages"]) {
    for (const auto& c : s["checks"]) {
      if (c["what"] == "kernel drop reasons for this stage = dropped") {
        EXPECT_EQ(c["difference"], 0) << s["name"] << ": " << c.dump();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, ProfileE2E, ::testing::ValuesIn(shipped_profiles()),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

class FallbackE2E : public HostFixture {};

TEST_F(FallbackE2E, WithoutBpfTheTracefsBufferIsUsedAndReported) {
  if (auto why = unavailable("tracefs")) GTEST_SKIP() << *why;
  std::string out = temp_path(".json");
  Result r = run_droplab({"run", profile("socket-rcvbuf.json"), "--no-bpf", "--json", out, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json rep = read_json(out);
  std::remove(out.c_str());
  EXPECT_EQ(rep["drop_reasons"]["mode"], "tracefs") << rep["drop_reasons"]["mode_reason"];
  EXPECT_NE(rep["drop_reasons"]["mode_reason"].get<std::string>().find("host-wide"), std::string::npos);
  EXPECT_NE(r.output.find("drop reasons (tracefs)"), std::string::npos) << r.output;
  // Host-wide counts are evidence, never a check against the lab's counters.
  long long socket_dropped = stage(rep, "socket")["dropped"];
  EXPECT_GE(evidence(stage(rep, "socket"), "kfree_skb SOCKET_RCVBUFF"), socket_dropped);
  EXPECT_EQ(rep["accounting"]["unexplained"], 0);
  // TearDown: no tracefs instance left (and tracefs unmounted if it was).
}

TEST_F(FallbackE2E, WithoutDropReasonsTheReportSaysUnavailable) {
  std::string out = temp_path(".json");
  Result r = run_droplab({"run", profile("clean.json"), "--no-drop-reasons", "--json", out, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json rep = read_json(out);
  std::remove(out.c_str());
  EXPECT_EQ(rep["drop_reasons"]["mode"], "unavailable");
  EXPECT_NE(rep["drop_reasons"]["mode_reason"].get<std::string>().find("drop reasons unavailable"), std::string::npos);
}

} // namespace

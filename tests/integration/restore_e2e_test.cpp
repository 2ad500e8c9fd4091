// The host is put back however a run ends: Ctrl-C, SIGKILL (recovered by the
// next command), bad input (nothing touched at all).
#include "e2e_support.hpp"

#include "command.hpp"
#include "journal.hpp"
#include "lab.hpp"
#include "sysctl.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace droplab::e2e;
using namespace std::chrono_literals;
using nlohmann::json;
namespace harness = droplab::harness;

namespace {

class RestoreE2E : public HostFixture {
protected:
  // A long run that changes a host sysctl, so an interrupted run has
  // something to restore.
  std::string long_profile() {
    std::string bumped = std::to_string(std::stoi(sysctls_before_.at("net.core.netdev_budget")) + 3);
    return temp_profile({{"name", "long"},
                         {"gen", {{"rate", "5kpps"}, {"duration", "30s"}}},
                         {"settings", {{"sysctls", {{"net.core.netdev_budget", bumped}}}}}});
  }

  // Starts droplab run in the background and waits until the generator's
  // first per-second line: the run is half-way, with everything set up.
  harness::Child start_and_wait_for_traffic(const std::string& profile_path, const std::string& log) {
    harness::Child c = harness::Child::spawn({DROPLAB_BIN, "run", profile_path}, "", log);
    auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      std::ifstream in(log);
      std::stringstream ss;
      ss << in.rdbuf();
      if (ss.str().find("gen  | [") != std::string::npos) break;
      if (c.poll()) ADD_FAILURE() << "droplab exited early:\n" << ss.str();
      if (c.poll() || std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "no traffic within 20 s:\n" << ss.str();
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    return c;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

TEST_F(RestoreE2E, SigintHalfWayRestoresEverything) {
  std::string prof = long_profile();
  std::string log = temp_path(".log");
  harness::Child run = start_and_wait_for_traffic(prof, log);
  // Mid-run the change is in force and the lab exists.
  EXPECT_NE(harness::read_sysctl("net.core.netdev_budget"), sysctls_before_.at("net.core.netdev_budget"));
  EXPECT_FALSE(harness::list_lab_netns().empty());
  run.signal(SIGINT);
  auto status = run.wait_for(20s);
  ASSERT_TRUE(status) << "droplab did not stop after SIGINT";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 130) << slurp(log);
  EXPECT_NE(slurp(log).find("the host was restored"), std::string::npos) << slurp(log);
  std::remove(prof.c_str());
  std::remove(log.c_str());
  // TearDown: no namespace, journal, changed sysctl, generator or sink remains.
}

// Scratch folders (/tmp/droplab-run.*) whose owner file names `pid`.
std::vector<std::string> run_dirs_of(pid_t pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& de : std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
    if (de.path().filename().string().rfind("droplab-run.", 0) != 0) continue;
    std::ifstream owner(de.path() / "owner");
    pid_t p = 0;
    if (owner >> p && p == pid) out.push_back(de.path().string());
  }
  return out;
}

TEST_F(RestoreE2E, SigkillIsRecoveredByLabDownRecover) {
  std::string prof = long_profile();
  std::string log = temp_path(".log");
  harness::Child run = start_and_wait_for_traffic(prof, log);
  run.signal(SIGKILL);
  ASSERT_TRUE(run.wait_for(5s));
  // A killed run cannot clean up: its journal and lab are still there...
  EXPECT_FALSE(harness::list_lab_netns().empty());
  EXPECT_GT(harness::list_journals().size(), journals_before_.size());
  // ...but its generator and sink died with it (PR_SET_PDEATHSIG).
  for (int i = 0; i < 100 && (process_named_running("droplab-gen") || process_named_running("droplab-sink")); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(process_named_running("droplab-gen"));
  // ...and its BPF program went with it: links are never pinned, so the
  // kernel detached it when the process died.
  auto progs = harness::run_command({"bpftool", "prog", "show"});
  if (progs.exit_code == 0) {
    EXPECT_EQ(progs.output.find("droplab_kfree"), std::string::npos) << progs.output;
  } else {
    ADD_FAILURE() << "bpftool prog show failed: " << progs.output;
  }
  // Its scratch folder (the children's logs and reports) is still there too.
  EXPECT_EQ(run_dirs_of(run.pid()).size(), 1u);
  Result r = run_droplab({"lab", "down", "--recover"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("restored to"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("deleted"), std::string::npos) << r.output;
  EXPECT_TRUE(run_dirs_of(run.pid()).empty()) << r.output;
  std::remove(prof.c_str());
  std::remove(log.c_str());
  // TearDown checks the sysctl and the namespaces are back as found.
}

TEST_F(RestoreE2E, NextRunRecoversWhatAKilledRunLeft) {
  std::string prof = long_profile();
  std::string log = temp_path(".log");
  harness::Child run = start_and_wait_for_traffic(prof, log);
  run.signal(SIGKILL);
  ASSERT_TRUE(run.wait_for(5s));
  Result r = run_droplab({"run", profile("clean.json"), "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("recovered what an earlier run left"), std::string::npos) << r.output;
  std::remove(prof.c_str());
  std::remove(log.c_str());
}

TEST_F(RestoreE2E, LabUpStatusDown) {
  Result up = run_droplab({"lab", "up"});
  ASSERT_EQ(up.exit_code, 0) << up.output;
  // "lab dl<pid> is up": its two namespaces exist until `lab down`.
  auto at = up.output.find("lab dl");
  ASSERT_NE(at, std::string::npos) << up.output;
  std::string id = up.output.substr(at + 4, up.output.find(' ', at + 4) - (at + 4));
  auto has = [](const std::string& ns) {
    auto all = harness::list_lab_netns();
    return std::find(all.begin(), all.end(), ns) != all.end();
  };
  EXPECT_TRUE(has(id + "-tx") && has(id + "-rx")) << id;
  Result status = run_droplab({"lab", "status"});
  EXPECT_NE(status.output.find("lab made by `lab up`"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find(id + "-rx"), std::string::npos) << status.output;
  Result down = run_droplab({"lab", "down"});
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_FALSE(has(id + "-tx") || has(id + "-rx"));
}

struct BadProfile {
  const char* what;
  json doc;
  const char* key_path;
};

TEST(BadInput, ProfilesFailWithExit2NamingTheKeyAndTouchNothing) {
  // No root needed: validation happens before anything on the host changes.
  const BadProfile cases[] = {
      {.what = "unknown key", .doc = {{"name", "x"}, {"gen", {{"rate", "1kpps"}, {"colour", "red"}}}},
       .key_path = "/gen/colour: unknown key"},
      {.what = "negative rate", .doc = {{"name", "x"}, {"gen", {{"rate", "-10kpps"}}}},
       .key_path = "/gen/rate: \"-10kpps\": a rate must be greater than 0"},
      {.what = "rate fast", .doc = {{"name", "x"}, {"gen", {{"rate", "fast"}}}},
       .key_path = "/gen/rate: \"fast\" is not a rate"},
  };
  auto ns_before = all_netns();
  for (const auto& c : cases) {
    std::string path = temp_profile(c.doc);
    Result r = run_droplab({"run", path});
    EXPECT_EQ(r.exit_code, 2) << c.what << ": " << r.output;
    EXPECT_NE(r.output.find(path), std::string::npos) << c.what << ": " << r.output;
    EXPECT_NE(r.output.find(c.key_path), std::string::npos) << c.what << ": " << r.output;
    std::remove(path.c_str());
  }
  EXPECT_EQ(all_netns(), ns_before);
  Result usage = run_droplab({"run"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  Result unknown = run_droplab({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
}

} // namespace

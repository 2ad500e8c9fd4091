// Shared pieces of the end-to-end tests: running droplab, reading its JSON,
// and a fixture that checks the host is left as found.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace droplab::e2e {

struct Result {
  int exit_code = -1;
  std::string output;
};

// Runs the droplab binary with `args`.
Result run_droplab(const std::vector<std::string>& args);

std::string profile(const std::string& name); // path of profiles/NAME
// Why this kernel cannot run the profile at `path` (droplab run's own
// preflight: it would exit 2), or "" when it can.
std::string why_cannot_run(const std::string& path);
// Why a feature `droplab doctor` probes (by id: "kfree_skb_reason", "tracefs",
// ...) is unavailable on this kernel, or nullopt when it works. Probed once.
std::optional<std::string> unavailable(const std::string& feature_id);
// Writes `doc` to a fresh temporary file and returns its path.
std::string temp_profile(const nlohmann::json& doc);
nlohmann::json read_json(const std::string& path);
std::string temp_path(const std::string& suffix);

// The stage named `name` in a report, or an empty object.
nlohmann::json stage(const nlohmann::json& report, const std::string& name);
// The delta of `counter` in a stage's evidence; -1 if absent or unavailable.
long long evidence(const nlohmann::json& stage, const std::string& counter);

// Skips unless root and namespaces work; snapshots the host state the runs
// may touch and checks, after every test, that it is unchanged.
class HostFixture : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  // Host sysctls the tests change; compared before and after.
  static const std::vector<std::string>& watched_sysctls();
  std::map<std::string, std::string> sysctls_before_;
  std::vector<std::string> netns_before_;
  std::vector<std::string> journals_before_;
  std::vector<std::string> links_before_;
  std::vector<std::string> tracefs_before_; // instances, and whether tracefs is mounted
};

std::vector<std::string> all_netns();
// Network devices of the host's own namespace.
std::vector<std::string> host_links();
// True if a process named `comm` runs orphaned (its parent died).
bool process_named_running(const std::string& comm);

} // namespace droplab::e2e

// Fixture for end-to-end sink tests: a namespace of its own (deleted on
// every exit path), the real droplab-sink started in it, its ready file and
// JSON report. Needs root; skips visibly otherwise.
#pragma once

#include "sink_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sinktest {

inline constexpr const char* kLabAddr = "198.18.0.1"; // RFC 2544 benchmarking range
inline constexpr std::uint16_t kLabPort = 9000;

// Files for one test, removed afterwards.
struct LabFiles {
  std::string dir;
  LabFiles();
  ~LabFiles();
  std::string ready() const { return dir + "/ready.json"; }
  std::string report() const { return dir + "/report.json"; }
  std::string out() const { return dir + "/out.txt"; }
};

class SinkLab : public ::testing::Test {
protected:
  void SetUp() override;

  // Starts the sink in the namespace with `extra` flags and waits for its
  // ready file.
  std::unique_ptr<ChildProcess> start_sink(const std::vector<std::string>& extra);
  // SIGTERM, wait for exit 0, parse the report.
  nlohmann::json stop_and_report(ChildProcess& sink);
  // Waits (bounded) for the sink to exit by itself (--duration), parses the report.
  nlohmann::json wait_and_report(ChildProcess& sink);
  nlohmann::json ready() const;

  std::optional<NetnsGuard> ns_;
  LabFiles files_;
};

} // namespace sinktest

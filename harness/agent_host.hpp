// What `droplab agent` does on its host for a controller — only these
// operations, each with its arguments validated: start and stop the sink or
// the generator, snapshot counters, set an allow-listed sysctl or RPS mask,
// and put everything back. Never a shell command. Every change is journaled
// before it is made (/run/droplab), so a killed agent is recovered by the
// next one.
#pragma once

#include "children.hpp"
#include "command.hpp"
#include "journal.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace droplab::harness {

class AgentHost {
public:
  using Op = std::function<nlohmann::json(const nlohmann::json& args)>;

  AgentHost();
  ~AgentHost(); // restores
  AgentHost(const AgentHost&) = delete;
  AgentHost& operator=(const AgentHost&) = delete;

  // The operations by name: set_sysctl, set_rps, read_sysctls,
  // sink_start, sink_stop, gen_start, gen_status, gen_stop, snapshot, restore.
  std::map<std::string, Op> ops();

  // Stops the generator and the sink and undoes every change; returns what
  // was undone. Safe to call more than once.
  std::vector<std::string> restore();

private:
  nlohmann::json set_sysctl(const nlohmann::json& a);
  nlohmann::json set_rps(const nlohmann::json& a);
  nlohmann::json read_sysctls(const nlohmann::json& a);
  nlohmann::json sink_start(const nlohmann::json& a);
  nlohmann::json sink_stop(const nlohmann::json& a);
  nlohmann::json gen_start(const nlohmann::json& a);
  nlohmann::json gen_status(const nlohmann::json& a);
  nlohmann::json gen_stop(const nlohmann::json& a);
  nlohmann::json snapshot(const nlohmann::json& a);

  Journal& journal(); // created on the first change
  std::optional<Journal> journal_;
  unsigned journals_ = 0;
  std::unique_ptr<RunDir> sink_dir_, gen_dir_; // one each: neither removes the other's files
  Child sink_, gen_;
  bool sink_running_ = false, gen_started_ = false;
};

} // namespace droplab::harness

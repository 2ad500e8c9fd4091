#include "agent_host.hpp"

#include "profile.hpp"
#include "settings.hpp"
#include "sysctl.hpp"

#include "droplab/addr.hpp"
#include "droplab/json_util.hpp"
#include "droplab/counters/collector.hpp"
#include "droplab/counters/ethtool_stats.hpp"
#include "droplab/counters/link_stats.hpp"
#include "droplab/counters/qdisc.hpp"
#include "droplab/counters/snapshot_json.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <regex>

using nlohmann::json;
using namespace std::chrono_literals;

namespace droplab::harness {
namespace {

// An argument of a request: present, of the right type, or a clear error.
const json& arg(const json& a, const char* name) {
  if (!a.is_object() || !a.contains(name)) throw std::invalid_argument(fmt::format("missing argument \"{}\"", name));
  return a.at(name);
}

std::string str_arg(const json& a, const char* name) {
  const json& v = arg(a, name);
  if (!v.is_string()) throw std::invalid_argument(fmt::format("argument \"{}\" must be a string, got {}", name, v.dump()));
  return v.get<std::string>();
}

void only_keys(const json& a, std::initializer_list<const char*> allowed) {
  if (a.is_null()) return;
  if (!a.is_object()) throw std::invalid_argument("arguments must be an object");
  for (const auto& [k, v] : a.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* x) { return k == x; })) {
      throw std::invalid_argument(fmt::format("unknown argument \"{}\"", k));
    }
  }
}

// A device name as the kernel allows it (no '/', no "..", at most 15 bytes).
std::string dev_arg(const json& a, const char* name) {
  std::string d = str_arg(a, name);
  static const std::regex ok("[A-Za-z0-9_.:@-]{1,15}");
  if (!std::regex_match(d, ok) || d == "." || d == "..") {
    throw std::invalid_argument(fmt::format("argument \"{}\": \"{}\" is not a device name", name, d));
  }
  return d;
}

// "ADDR:PORT" inside 198.18.0.0/15: the only traffic an agent takes part in.
std::string endpoint_arg(const json& a, const char* name) {
  std::string text = str_arg(a, name);
  Endpoint e = parse_endpoint(text);
  if (!in_benchmark_range(e.addr)) {
    throw std::invalid_argument(fmt::format("argument \"{}\": {} is outside 198.18.0.0/15, where droplab sends", name, text));
  }
  return text;
}

// A profile's "gen" or "sink" object, validated by the profile's own rules.
Profile spec_profile(const char* which, const json& spec) {
  return parse_profile(json{{"name", "agent"}, {which, spec}}, std::string("the controller's ") + which + " spec");
}

json status_json(const Child& c, int status) {
  return {{"exit", c.describe_exit()},
          {"exit_code", WIFEXITED(status) ? WEXITSTATUS(status) : -1},
          {"cpu_s", c.cpu_s() ? json(*c.cpu_s()) : json(nullptr)}};
}

} // namespace

AgentHost::AgentHost() = default;

AgentHost::~AgentHost() {
  try {
    restore();
  } catch (...) {
    // The journal stays behind for the next agent or run to recover.
  }
}

Journal& AgentHost::journal() {
  // A new file per session's changes: one whose undo failed stays behind
  // (under its own name) for recovery, and does not block the next session.
  if (!journal_) journal_.emplace(Journal::create(fmt::format("agent{}-{}", ::getpid(), ++journals_), false));
  return *journal_;
}

std::map<std::string, AgentHost::Op> AgentHost::ops() {
  auto bind = [this](json (AgentHost::*f)(const json&)) { return [this, f](const json& a) { return (this->*f)(a); }; };
  return {{"set_sysctl", bind(&AgentHost::set_sysctl)},
          {"set_rps", bind(&AgentHost::set_rps)},
          {"read_sysctls", bind(&AgentHost::read_sysctls)},
          {"sink_start", bind(&AgentHost::sink_start)},
          {"sink_stop", bind(&AgentHost::sink_stop)},
          {"gen_start", bind(&AgentHost::gen_start)},
          {"gen_status", bind(&AgentHost::gen_status)},
          {"gen_stop", bind(&AgentHost::gen_stop)},
          {"snapshot", bind(&AgentHost::snapshot)},
          {"restore", [this](const json& a) {
             only_keys(a, {});
             return json{{"restored", restore()}};
           }}};
}

std::vector<std::string> AgentHost::restore() {
  if (gen_.running()) gen_.stop(3000ms);
  if (sink_.running()) sink_.stop(3000ms);
  sink_running_ = false;
  std::vector<std::string> lines;
  if (journal_) {
    std::vector<std::string> failures;
    lines = journal_->undo_all(&failures);
    journal_.reset();
    if (!failures.empty()) {
      throw std::runtime_error(fmt::format("could not undo: {}", fmt::join(failures, "; ")));
    }
  }
  return lines;
}

json AgentHost::set_sysctl(const json& a) {
  only_keys(a, {"key", "value"});
  std::string key = str_arg(a, "key");
  if (!agent_sysctl_allowed(key)) {
    throw std::invalid_argument(fmt::format("sysctl {} is not one an agent may change (allowed: {}, "
                                            "net.ipv4.conf.<dev>.rp_filter)",
                                            key, fmt::join(agent_sysctl_allow_list(), ", ")));
  }
  SettingRecord r = apply_sysctl(journal(), key, str_arg(a, "value"), "");
  return {{"key", r.key}, {"scope", r.scope}, {"old", r.old_value}, {"applied", r.applied_value}};
}

json AgentHost::set_rps(const json& a) {
  only_keys(a, {"dev", "queue", "mask"});
  std::string dev = dev_arg(a, "dev");
  unsigned queue = a.value("queue", 0U);
  std::string mask = str_arg(a, "mask");
  static const std::regex hex("[0-9a-fA-F,]{1,64}");
  if (!std::regex_match(mask, hex)) throw std::invalid_argument(fmt::format("mask \"{}\" is not a hex CPU mask", mask));
  SettingRecord r = apply_rps(journal(), dev, queue, mask, "");
  return {{"key", r.key}, {"scope", r.scope}, {"old", r.old_value}, {"applied", r.applied_value}};
}

json AgentHost::read_sysctls(const json& a) {
  only_keys(a, {"keys"});
  json out = json::object();
  for (const auto& k : arg(a, "keys")) {
    std::string key = k.get<std::string>();
    if (!agent_sysctl_allowed(key)) throw std::invalid_argument(fmt::format("sysctl {} is not on the allow-list", key));
    try {
      out[key] = read_sysctl(key);
    } catch (const std::exception& e) {
      out[key] = std::string("unavailable (") + e.what() + ")";
    }
  }
  return out;
}

json AgentHost::sink_start(const json& a) {
  only_keys(a, {"listen", "sink", "bound_s"});
  if (sink_.running()) throw std::runtime_error("a sink is already running");
  std::string listen = endpoint_arg(a, "listen");
  Profile p = spec_profile("sink", arg(a, "sink"));
  std::uint64_t bound = a.value("bound_s", std::uint64_t{120});
  if (bound < 1 || bound > 7200) throw std::invalid_argument("bound_s must be 1..7200");
  sink_dir_ = std::make_unique<RunDir>();
  LogTail log(sink_dir_->file("sink.log"), "sink");
  sink_ = Child::spawn(sink_argv(find_sibling_binary("droplab-sink"), p.sink, listen, *sink_dir_, bound), "",
                       sink_dir_->file("sink.log"), p.sink.cpu);
  json ready = wait_ready(sink_, log, sink_dir_->file("sink.ready"), [] {});
  sink_running_ = true;
  return ready;
}

json AgentHost::sink_stop(const json& a) {
  only_keys(a, {});
  if (!sink_running_) throw std::runtime_error("no sink was started");
  int st = sink_.stop(30000ms);
  sink_running_ = false;
  json out = status_json(sink_, st);
  LogTail log(sink_dir_->file("sink.log"), "sink");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    throw std::runtime_error(fmt::format("the sink failed ({}):\n{}", sink_.describe_exit(), log.tail()));
  }
  out["report"] = read_json_file(sink_dir_->file("sink.json"));
  return out;
}

json AgentHost::gen_start(const json& a) {
  only_keys(a, {"dst", "gen", "flow_id_base"});
  if (gen_.running()) throw std::runtime_error("a generator is already running");
  std::string dst = endpoint_arg(a, "dst");
  Profile p = spec_profile("gen", arg(a, "gen"));
  // Bounded: parse_profile gives a spec with neither a count nor a duration
  // its default duration, and droplab-gen bounds itself in time either way.
  std::uint64_t base = 0;
  if (a.contains("flow_id_base")) {
    const json& b = a.at("flow_id_base");
    if (!b.is_number_unsigned() || b.get<std::uint64_t>() + p.gen.flows > 65535) {
      throw std::invalid_argument(fmt::format("flow_id_base {}: must be an integer 0..{} (65535 - flows)", b.dump(),
                                              65535 - p.gen.flows));
    }
    base = b.get<std::uint64_t>();
  }
  gen_dir_ = std::make_unique<RunDir>();
  gen_ = Child::spawn(gen_argv(find_sibling_binary("droplab-gen"), p.gen, dst, *gen_dir_, static_cast<std::uint16_t>(base)),
                      "", gen_dir_->file("gen.log"), p.gen.cpu);
  gen_started_ = true;
  return {{"pid", gen_.pid()}};
}

json AgentHost::gen_status(const json& a) {
  only_keys(a, {"wait_ms"});
  if (!gen_started_) throw std::runtime_error("no generator was started");
  auto wait = std::chrono::milliseconds(std::min<std::uint64_t>(a.value("wait_ms", std::uint64_t{0}), 5000));
  std::optional<int> st = gen_.wait_for(wait);
  if (!st) return {{"running", true}};
  json out = status_json(gen_, *st);
  out["running"] = false;
  LogTail log(gen_dir_->file("gen.log"), "gen");
  out["log_tail"] = log.tail();
  if (WIFEXITED(*st) && WEXITSTATUS(*st) == 0) out["report"] = read_json_file(gen_dir_->file("gen.json"));
  return out;
}

json AgentHost::gen_stop(const json& a) {
  only_keys(a, {});
  if (!gen_started_) throw std::runtime_error("no generator was started");
  int st = gen_.stop(3000ms);
  return status_json(gen_, st);
}

json AgentHost::snapshot(const json& a) {
  only_keys(a, {"role", "dev", "udp_port", "inode"});
  std::string role = str_arg(a, "role");
  std::string dev = dev_arg(a, "dev");
  std::vector<std::unique_ptr<counters::Collector>> c;
  if (role == "tx") {
    c.push_back(std::make_unique<counters::LinkStatsCollector>("tx", "", dev));
    c.push_back(std::make_unique<counters::QdiscCollector>("tx", "", dev));
    c.push_back(std::make_unique<counters::SnmpCollector>("tx", ""));
  } else if (role == "rx") {
    c.push_back(std::make_unique<counters::LinkStatsCollector>("rx", "", dev));
    c.push_back(std::make_unique<counters::EthtoolStatsCollector>("rx", "", dev));
    c.push_back(std::make_unique<counters::SnmpCollector>("rx", ""));
    c.push_back(std::make_unique<counters::SoftnetCollector>("host"));
    if (a.contains("udp_port")) {
      c.push_back(std::make_unique<counters::UdpSocketCollector>("rx", "", a.at("udp_port").get<std::uint16_t>(),
                                                                 a.value("inode", std::uint64_t{0})));
    }
  } else {
    throw std::invalid_argument(fmt::format("role \"{}\": must be tx or rx", role));
  }
  return counters::take_snapshot(c);
}

} // namespace droplab::harness

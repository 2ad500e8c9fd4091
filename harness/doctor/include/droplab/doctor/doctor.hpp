// What this host's kernel offers droplab, probed for real, and which of a
// profile's needs it cannot meet. `droplab doctor` prints the first; `droplab
// run` refuses a profile with unmet needs (exit 2) before it changes anything;
// tests skip with the same reason.
//
// Probes that must create something (a veth pair, a qdisc, an nft table, an XDP
// attachment) run in a child process inside a fresh, unnamed network and mount
// namespace: when the child exits the kernel destroys all of it, so probing
// leaves the host as it was even when killed.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace droplab::doctor {

// One capability: whether droplab can use it here and what the probe saw.
struct Feature {
  std::string id;    // stable, e.g. "flow_limit", "qdisc:tbf"
  std::string title; // "RPS flow limit"
  bool available = false;
  std::string detail; // what was found, or why it is missing
};

// A sysctl as droplab would use it: in the initial namespace ("host") or
// inside a lab namespace ("netns").
struct SysctlProbe {
  bool exists = false;
  bool writable = false;
  std::string value;  // as read, when it exists
  std::string detail; // why missing or read-only
};

// A counter key an expectation may name (host.* only: the lab's own
// namespaces' counters exist on every kernel droplab runs on).
struct CounterProbe {
  bool available = false;
  std::string detail;
};

// Offloads of a veth device, as `ethtool -k` lists them.
struct OffloadProbe {
  bool exists = false;
  bool fixed = false; // "[fixed]": cannot be changed on this device
};

struct HostReport {
  std::string kernel;  // uname -r
  std::string machine; // uname -m
  unsigned cpus = 0;
  std::vector<Feature> features;
  std::vector<std::string> drop_reason_names; // this kernel's skb_drop_reason names
  std::map<std::string, SysctlProbe> host_sysctls;
  std::map<std::string, SysctlProbe> netns_sysctls;
  std::map<std::string, CounterProbe> counters;
  std::map<std::string, OffloadProbe> veth_offloads;

  const Feature* find(const std::string& id) const;
};

// What one profile asks of the kernel.
struct Needs {
  bool lab = true; // the local two-namespace lab (false: real hosts, probed by their agents)
  std::vector<std::string> host_sysctls;
  std::vector<std::string> netns_sysctls;
  bool rps = false;
  std::optional<std::string> tx_qdisc; // a tc qdisc spec ("tbf rate 20mbit ...")
  bool nftables = false;
  bool conntrack = false;
  std::vector<std::string> offloads; // ethtool feature names on the veth
  std::string gen_backend;           // "sendmmsg", "af_packet", "io_uring", "auto"
  std::optional<std::string> sink_backend;
  std::vector<std::string> counters; // host.* keys an expectation needs to move
};

// A need this host cannot meet: `what` names it as the profile does
// ("/settings/sysctls/net.core.flow_limit_cpu_bitmap"), `reason` says why.
struct Unmet {
  std::string what;
  std::string reason;
};

struct ProbeOptions {
  bool all = true;          // every feature (doctor); false: only what `needs` ask for
  std::vector<Needs> needs; // the sysctls, qdiscs, offloads and counters to probe as well
};

// Runs the probes. Never throws for a missing feature (that is a result); throws
// std::system_error only when the probing itself cannot start (fork, pipe).
HostReport probe_host(const ProbeOptions& options);

// The needs `report` cannot meet, in the profile's order. Pure: tested on
// recorded reports of other kernels.
std::vector<Unmet> unmet(const Needs& needs, const HostReport& report);

// The feature ids `needs` depends on (to probe only those before a run).
std::vector<std::string> feature_ids(const Needs& needs);

// A recorded report, and back (droplab doctor --json; tests/data/doctor/).
void to_json(nlohmann::json& j, const HostReport& r);
void from_json(const nlohmann::json& j, HostReport& r);

} // namespace droplab::doctor

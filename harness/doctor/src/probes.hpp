// Internal to the doctor: what the scratch-namespace child is asked to probe.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace droplab::doctor {

struct ScratchRequest {
  bool all = false; // every feature below
  bool rps = false, xdp = false, af_packet = false, io_uring_gen = false, io_uring_sink = false;
  bool nftables = false, conntrack = false, offloads = false;
  bool tracefs = false;                      // mount a private tracefs and look inside
  std::map<std::string, std::string> qdiscs; // feature id -> tc qdisc spec
  std::vector<std::string> netns_sysctls;
};

// Runs in the scratch namespace (see scratch.hpp): one JSON member per feature
// id ({"available", "detail"}), plus "offloads" and "netns_sysctls".
nlohmann::json scratch_probes(const ScratchRequest& req);

} // namespace droplab::doctor

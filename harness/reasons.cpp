#include "reasons.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <map>

namespace droplab::harness {

std::uint64_t DropReasons::drops_of(const std::string& reason) const {
  std::uint64_t n = 0;
  for (const auto& c : counts) {
    if (c.reason == reason && !c.not_a_drop) n += c.count;
  }
  return n;
}

std::string stage_of_reason(const std::string& reason) {
  static const std::map<std::string, std::string> table{
      {"QDISC_DROP", "qdisc"},           {"QDISC_OVERLIMIT", "qdisc"},   {"TC_EGRESS", "qdisc"},
      {"DEV_READY", "tx_device"},        {"FULL_RING", "tx_device"},
      {"OTHERHOST", "rx_device"},        {"UNHANDLED_PROTO", "rx_device"}, {"XDP", "rx_device"},
      {"CPU_BACKLOG", "backlog"},
      {"IP_CSUM", "ip"},                 {"IP_INHDR", "ip"},             {"IP_INADDRERRORS", "ip"},
      {"IP_INNOROUTES", "ip"},           {"IP_NOPROTO", "ip"},           {"IP_RPFILTER", "ip"},
      {"PKT_TOO_SMALL", "ip"},           {"FRAG_REASM_TIMEOUT", "ip"},   {"IP_LOCAL_SOURCE", "ip"},
      {"IP_INVALID_SOURCE", "ip"},       {"IP_INVALID_DEST", "ip"},      {"IP_LOCALNET", "ip"},
      {"NETFILTER_DROP", "netfilter"},
      {"NO_SOCKET", "udp"},              {"UDP_CSUM", "udp"},            {"PROTO_MEM", "udp"},
      {"SOCKET_RCVBUFF", "socket"},
  };
  auto it = table.find(reason);
  return it == table.end() ? "" : it->second;
}

void to_json(nlohmann::json& j, const DropReasons& r) {
  nlohmann::json counts = nlohmann::json::array();
  for (const auto& c : r.counts) {
    counts.push_back({{"reason", c.reason},
                      {"reason_id", c.reason_id},
                      {"location", c.location},
                      {"count", c.count},
                      {"stage", stage_of_reason(c.reason)},
                      {"not_a_drop", c.not_a_drop},
                      {"host_wide", c.host_wide}});
  }
  j = {{"mode", r.mode}, {"mode_reason", r.mode_reason}, {"lost_events", r.lost_events}, {"counts", counts}};
}

std::string render_reasons(const DropReasons& r) {
  std::string out = fmt::format("drop reasons ({}): {}\n", r.mode, r.mode_reason);
  for (const auto& c : r.counts) {
    std::string stage = stage_of_reason(c.reason);
    out += fmt::format("  {:>12}  {:<18} at {:<40} {}\n", format_count(c.count), c.reason, c.location,
                       c.not_a_drop ? "freed at socket close, not a drop"
                       : stage.empty() ? "(no stage of this path)"
                                       : "-> " + stage + (c.host_wide ? " (host-wide)" : ""));
  }
  if (r.lost_events) out += fmt::format("  {} events could not be counted\n", format_count(r.lost_events));
  return out;
}

} // namespace droplab::harness

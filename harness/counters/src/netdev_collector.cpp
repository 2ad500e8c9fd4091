#include "droplab/counters/collector.hpp"
#include "droplab/counters/netdev.hpp"
#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace droplab::counters {

namespace {

struct Field {
  const char *suffix;
  std::uint64_t NetDevRow::*member;
};

constexpr Field kFields[] = {
    {"rx_packets", &NetDevRow::rx_packets}, {"rx_bytes", &NetDevRow::rx_bytes},
    {"rx_dropped", &NetDevRow::rx_dropped}, {"rx_errors", &NetDevRow::rx_errors},
    {"tx_packets", &NetDevRow::tx_packets}, {"tx_bytes", &NetDevRow::tx_bytes},
    {"tx_dropped", &NetDevRow::tx_dropped}, {"tx_errors", &NetDevRow::tx_errors},
};

} // namespace

NetDevCollector::NetDevCollector(std::string role, std::string netns, std::string ifname)
    : role_(std::move(role)), netns_(std::move(netns)), ifname_(std::move(ifname)) {}

std::string NetDevCollector::name() const {
  return "netdev(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) +
         ", dev " + ifname_ + ")";
}

void NetDevCollector::collect(Snapshot &out) {
  const std::string origin = proc_net_origin(netns_, "dev");
  const std::string source = origin + ", dev " + ifname_;
  auto all_unavailable = [&](const std::string &reason) {
    for (const Field &f : kFields)
      out.add_unavailable(role_ + ".dev." + f.suffix, source, reason);
  };

  FileRead r = try_read_proc_net(netns_, "dev");
  if (!r.text) return all_unavailable(r.error);
  std::vector<NetDevRow> rows;
  try {
    rows = parse_proc_net_dev(*r.text, origin);
  } catch (const ParseError &e) {
    return all_unavailable(e.what());
  }
  auto it = std::find_if(rows.begin(), rows.end(),
                         [&](const NetDevRow &row) { return row.name == ifname_; });
  if (it == rows.end()) return all_unavailable("device " + ifname_ + " not found in " + origin);
  for (const Field &f : kFields)
    out.add(role_ + ".dev." + f.suffix, source, (*it).*f.member);
}

} // namespace droplab::counters

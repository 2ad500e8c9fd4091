#include "droplab/counters/collector.hpp"
#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"
#include "droplab/counters/proc_udp.hpp"

#include <cerrno>
#include <utility>

namespace droplab::counters {

UdpSocketCollector::UdpSocketCollector(std::string role, std::string netns,
                                       std::uint16_t local_port, std::uint64_t inode)
    : role_(std::move(role)), netns_(std::move(netns)), port_(local_port), inode_(inode) {}

std::string UdpSocketCollector::name() const {
  return "udp_socket(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) +
         ", port " + std::to_string(port_) +
         (inode_ ? ", inode " + std::to_string(inode_) : std::string()) + ")";
}

void UdpSocketCollector::collect(Snapshot &out) {
  const std::string prefix = role_ + ".sock.";
  auto all_unavailable = [&](const std::string &source, const std::string &reason) {
    out.add_unavailable(prefix + "drops", source, reason);
    out.add_unavailable(prefix + "rx_queue", source, reason, Kind::Gauge);
    out.add_unavailable(prefix + "inode", source, reason, Kind::Gauge);
  };

  const char *const names[2] = {"udp", "udp6"};
  FileRead files[2];
  in_netns(netns_, [&] {
    for (int i = 0; i < 2; ++i)
      files[i] = try_read_file(std::string("/proc/thread-self/net/") + names[i]);
  });
  const std::string udp_origin = proc_net_origin(netns_, "udp");
  if (!files[0].text) return all_unavailable(udp_origin, files[0].error);

  struct Match {
    std::string origin;
    UdpSocketRow row;
  };
  std::vector<Match> matches;
  std::string problems; // why a file could not be searched
  for (int i = 0; i < 2; ++i) {
    const std::string origin = proc_net_origin(netns_, names[i]);
    if (!files[i].text) {
      if (files[i].err != ENOENT) problems += "; " + files[i].error; // no udp6 without IPv6
      continue;
    }
    try {
      for (auto &row : find_udp_sockets(parse_proc_udp(*files[i].text, origin), port_, inode_))
        matches.push_back(Match{.origin = origin, .row = std::move(row)});
    } catch (const ParseError &e) {
      problems += "; " + std::string(e.what());
    }
  }

  if (matches.empty())
    return all_unavailable(udp_origin, "socket not found in /proc/net/udp" + problems);
  if (matches.size() > 1)
    return all_unavailable(udp_origin, std::to_string(matches.size()) + " sockets bound to port " +
                                           std::to_string(port_) +
                                           " (udp and udp6); pass the inode");
  const Match &m = matches.front();
  const std::string source =
      m.origin + ", port " + std::to_string(port_) + ", inode " + std::to_string(m.row.inode);
  out.add(prefix + "drops", source, m.row.drops);
  out.add(prefix + "rx_queue", source, m.row.rx_queue, Kind::Gauge);
  out.add(prefix + "inode", source, m.row.inode, Kind::Gauge);
}

} // namespace droplab::counters

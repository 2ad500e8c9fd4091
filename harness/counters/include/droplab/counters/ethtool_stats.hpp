// Driver statistics through the ethtool ioctl: SIOCETHTOOL ETHTOOL_GSSET_INFO,
// ETHTOOL_GSTRINGS(ETH_SS_STATS) and ETHTOOL_GSTATS on a socket in the namespace.
//
// Keys: <role>.ethtool.<name> for every statistic the driver names (veth:
// peer_ifindex, rx_queue_0_xdp_drops, …). A driver without statistics, or any ioctl
// failure, gives the single unavailable key <role>.ethtool with the reason.
// peer_ifindex is a gauge; everything else is a counter.
#pragma once

#include "droplab/counters/collector.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace droplab::counters {

// The names in an ETHTOOL_GSTRINGS data area: `count` NUL-padded fields of
// ETH_GSTRING_LEN (32) bytes. Throws ParseError(origin) when `data` is too short.
std::vector<std::string> decode_ethtool_strings(std::span<const char> data, std::size_t count,
                                                const std::string& origin);

// Adds <role>.ethtool.<name> (pure). Throws std::invalid_argument on a size mismatch.
void add_ethtool_counters(Snapshot& out, const std::string& role,
                          const std::vector<std::string>& names,
                          const std::vector<std::uint64_t>& values, const std::string& source);

class EthtoolStatsCollector final : public Collector {
public:
  EthtoolStatsCollector(std::string role, std::string netns, std::string ifname);
  std::string name() const override;
  void collect(Snapshot& out) override;

private:
  std::string role_, netns_, ifname_;
};

} // namespace droplab::counters

// Device statistics over rtnetlink: RTM_GETLINK, attribute IFLA_STATS64
// (struct rtnl_link_stats64). Unlike /proc/net/dev it carries rx_otherhost_dropped
// (frames for another MAC, Linux 5.19) and rx_nohandler (Linux 4.6).
//
// Keys: <role>.link.<field> for every field of rtnl_link_stats64, in kernel order
// (link_stats64_fields()). A kernel older than a field sends a shorter attribute: the
// fields past its end are unavailable ("... Linux 5.19"), never 0.
#pragma once

#include "droplab/counters/collector.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace droplab::counters {

struct LinkStatsField {
  const char* name;  // "rx_otherhost_dropped"
  const char* since; // "" for fields as old as IFLA_STATS64, else "Linux 5.19"
};

// rtnl_link_stats64 in the order of include/uapi/linux/if_link.h (8 bytes each).
std::span<const LinkStatsField> link_stats64_fields();

// What one RTM_NEWLINK message says about a device.
struct LinkMessage {
  int ifindex = 0;
  std::string ifname;                            // IFLA_IFNAME, "" when absent
  std::optional<std::vector<std::byte>> stats64; // IFLA_STATS64 payload as sent
};

// Decodes one whole netlink message (nlmsghdr + ifinfomsg + attributes). Throws
// ParseError(origin) when it is not an RTM_NEWLINK or is truncated.
LinkMessage decode_link_message(std::span<const std::byte> msg, const std::string& origin);

// Adds <role>.link.<field> from an IFLA_STATS64 payload (pure). No payload, or one
// too short for a field, makes those keys unavailable with the reason.
void add_link_counters(Snapshot& out, const std::string& role,
                       const std::optional<std::vector<std::byte>>& stats64,
                       const std::string& source);

// RTM_GETLINK for `ifname` on a netlink socket opened inside `netns` ("" = caller's).
class LinkStatsCollector final : public Collector {
public:
  LinkStatsCollector(std::string role, std::string netns, std::string ifname);
  std::string name() const override;
  void collect(Snapshot& out) override;

private:
  std::string role_, netns_, ifname_;
};

} // namespace droplab::counters

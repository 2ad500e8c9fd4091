// What the af_packet backend must know about the link it writes frames onto:
// the device (from the route to the destination, or --dev), its MAC, IPv4
// address, MTU and speed, and the next hop's MAC (neighbour table, or an ARP
// request of our own when the table has no complete entry).
#pragma once

#include <netinet/in.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace droplab::gen {

using Mac = std::array<std::uint8_t, 6>;

struct LinkInfo {
  std::string dev;
  int ifindex = 0;
  Mac mac{};
  in_addr addr{}; // the device's (first) IPv4 address: the frames' source
  int mtu = 0;
  std::optional<std::uint64_t> speed_mbps; // /sys/class/net/DEV/speed; unset when unknown
  in_addr next_hop{};                      // dst itself, or the route's gateway
};

// Resolves the device towards `dst` (or `dev` if not empty) and its addresses.
// Throws std::system_error / std::runtime_error naming what failed.
LinkInfo resolve_link(in_addr dst, const std::string& dev);

// The complete neighbour entry for `ip` on `dev` from /proc/net/arp (this
// network namespace), if any.
std::optional<Mac> neighbour_mac(in_addr ip, const std::string& dev);

// Asks `ip` for its MAC with ARP requests on the device (3 tries within
// `timeout`). nullopt if nobody answered.
std::optional<Mac> arp_resolve(const LinkInfo& link, in_addr ip, std::chrono::milliseconds timeout);

// Throws UsageError when `pps` frames of mean_size bytes (plus the 20 bytes
// of preamble and inter-frame gap each takes on the wire) exceed the link's
// speed; names the rate as typed, the device and the most it can carry.
void check_rate_fits_link(double pps, double mean_size, std::uint64_t speed_mbps,
                          const std::string& dev, const std::string& rate_text);

// "02:00:5e:00:00:02"
std::string mac_to_string(const Mac& m);

// Parses /proc/net/arp text: the MAC of a complete (ATF_COM) entry for
// ip on dev. Exposed for tests on captured files.
std::optional<Mac> parse_proc_arp(std::string_view text, in_addr ip, const std::string& dev);

} // namespace droplab::gen

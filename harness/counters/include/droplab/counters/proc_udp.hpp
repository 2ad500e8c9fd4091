// Parser for /proc/net/udp and /proc/net/udp6 (per network namespace): one row per
// socket, the only place that gives one socket's drop count without sock_diag.
//   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout
//   inode ref pointer drops
// Addresses and ports are hex; queues are hex bytes (rx_queue = sk_rmem_alloc, which
// includes skb overhead); the rest is decimal. "drops" (sk_drops) has been the last
// column since 2.6.27.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::counters {

struct UdpSocketRow {
  std::string local_addr_hex; // as printed: 8 hex digits (udp) or 32 (udp6)
  std::uint16_t local_port = 0;
  std::string rem_addr_hex;
  std::uint16_t rem_port = 0;
  unsigned state = 0;         // 07 = TCP_CLOSE, the state of an unconnected UDP socket
  std::uint64_t tx_queue = 0; // bytes
  std::uint64_t rx_queue = 0; // bytes
  unsigned uid = 0;
  std::uint64_t inode = 0;
  unsigned ref = 0;
  std::uint64_t drops = 0;
};

// Skips the header line. Throws ParseError naming `origin` and the line for a row
// with fewer than 13 columns or a malformed field.
std::vector<UdpSocketRow> parse_proc_udp(std::string_view text, std::string_view origin);

// The rows matching `local_port` (0 = any port) and `inode` (0 = any inode).
// Several sockets may share a port (SO_REUSEPORT, or one per address).
std::vector<UdpSocketRow> find_udp_sockets(const std::vector<UdpSocketRow> &rows,
                                           std::uint16_t local_port, std::uint64_t inode);

} // namespace droplab::counters

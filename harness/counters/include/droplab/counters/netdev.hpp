// Parser for /proc/net/dev (per network namespace): two header lines, then
//   "  name: 8 receive columns  8 transmit columns"
// all decimal 64-bit. Netlink IFLA_STATS64 has more (rx_otherhost_dropped); this is the
// source that needs no socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::counters {

struct NetDevRow {
  std::string name;
  std::uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0, rx_fifo = 0,
                rx_frame = 0, rx_compressed = 0, rx_multicast = 0;
  std::uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0, tx_fifo = 0,
                tx_colls = 0, tx_carrier = 0, tx_compressed = 0;
};

// Throws ParseError naming `origin` and the line for a row without "name:" or with
// other than 16 numbers.
std::vector<NetDevRow> parse_proc_net_dev(std::string_view text, std::string_view origin);

} // namespace droplab::counters

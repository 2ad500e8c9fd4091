#include "droplab/counters/netdev.hpp"

#include "parse_util.hpp"

namespace droplab::counters {

std::vector<NetDevRow> parse_proc_net_dev(std::string_view text, std::string_view origin) {
  std::vector<NetDevRow> rows;
  std::size_t lineno = 0;
  for (std::string_view line : detail::split_lines(text)) {
    ++lineno;
    if (lineno <= 2) continue; // "Inter-|   Receive …" and " face |bytes …"
    if (detail::trim(line).empty()) continue;
    // Device names cannot contain ':' (dev_valid_name), so the first one ends the
    // name. Old kernels printed no space after it when the byte count was wide.
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      throw ParseError(std::string(origin), lineno, "expected \"name: counters…\"");
    std::string_view name = detail::trim(line.substr(0, colon));
    auto tok = detail::split_ws(line.substr(colon + 1));
    if (name.empty() || tok.size() != 16)
      throw ParseError(std::string(origin), lineno,
                       std::to_string(tok.size()) + " numbers for device \"" + std::string(name) +
                           "\", expected 16");

    std::uint64_t v[16];
    for (std::size_t i = 0; i < 16; ++i)
      v[i] = detail::parse_dec(tok[i], origin, lineno,
                               std::string(name) + " column " + std::to_string(i + 1));
    rows.push_back(NetDevRow{.name = std::string(name),
                             .rx_bytes = v[0],
                             .rx_packets = v[1],
                             .rx_errors = v[2],
                             .rx_dropped = v[3],
                             .rx_fifo = v[4],
                             .rx_frame = v[5],
                             .rx_compressed = v[6],
                             .rx_multicast = v[7],
                             .tx_bytes = v[8],
                             .tx_packets = v[9],
                             .tx_errors = v[10],
                             .tx_dropped = v[11],
                             .tx_fifo = v[12],
                             .tx_colls = v[13],
                             .tx_carrier = v[14],
                             .tx_compressed = v[15]});
  }
  return rows;
}

} // namespace droplab::counters

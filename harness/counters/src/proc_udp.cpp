#include "droplab/counters/proc_udp.hpp"

#include "droplab/counters/parse_error.hpp"
#include "parse_util.hpp"

#include <tuple>
#include <utility>

namespace droplab::counters {

namespace {

// "0100007F:1451" -> ("0100007F", 0x1451)
std::pair<std::string, std::uint16_t> split_endpoint(std::string_view tok, std::string_view origin,
                                                     std::size_t line, std::string_view what) {
  auto colon = tok.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw ParseError(std::string(origin), line,
                     std::string(what) + ": \"" + std::string(tok) + "\" is not ADDR:PORT");
  std::string_view addr = tok.substr(0, colon);
  detail::parse_hex(addr, origin, line, what);
  std::uint64_t port = detail::parse_hex(tok.substr(colon + 1), origin, line, what);
  if (port > 0xffff)
    throw ParseError(std::string(origin), line, std::string(what) + ": port out of range");
  return {std::string(addr), static_cast<std::uint16_t>(port)};
}

// "00000000:00001E00" -> (0, 0x1e00)
std::pair<std::uint64_t, std::uint64_t> split_queues(std::string_view tok, std::string_view origin,
                                                     std::size_t line) {
  auto colon = tok.find(':');
  if (colon == std::string_view::npos)
    throw ParseError(std::string(origin), line,
                     "tx_queue:rx_queue: \"" + std::string(tok) + "\" has no ':'");
  return {detail::parse_hex(tok.substr(0, colon), origin, line, "tx_queue"),
          detail::parse_hex(tok.substr(colon + 1), origin, line, "rx_queue")};
}

} // namespace

std::vector<UdpSocketRow> parse_proc_udp(std::string_view text, std::string_view origin) {
  std::vector<UdpSocketRow> rows;
  std::size_t lineno = 0;
  for (std::string_view line : detail::split_lines(text)) {
    ++lineno;
    auto tok = detail::split_ws(line);
    if (tok.empty()) continue;
    if (lineno == 1) {
      if (tok[0] != "sl")
        throw ParseError(std::string(origin), lineno, "expected the \"sl local_address …\" header");
      continue;
    }
    if (tok.size() < 13)
      throw ParseError(std::string(origin), lineno,
                       std::to_string(tok.size()) +
                           " columns, expected 13 (… inode ref pointer drops)");
    if (tok[0].empty() || tok[0].back() != ':')
      throw ParseError(std::string(origin), lineno, "expected \"N:\" slot number first");

    UdpSocketRow r;
    std::tie(r.local_addr_hex, r.local_port) =
        split_endpoint(tok[1], origin, lineno, "local_address");
    std::tie(r.rem_addr_hex, r.rem_port) = split_endpoint(tok[2], origin, lineno, "rem_address");
    r.state = static_cast<unsigned>(detail::parse_hex(tok[3], origin, lineno, "st"));
    std::tie(r.tx_queue, r.rx_queue) = split_queues(tok[4], origin, lineno);
    r.uid = static_cast<unsigned>(detail::parse_dec(tok[7], origin, lineno, "uid"));
    r.inode = detail::parse_dec(tok[9], origin, lineno, "inode");
    r.ref = static_cast<unsigned>(detail::parse_dec(tok[10], origin, lineno, "ref"));
    r.drops = detail::parse_dec(tok[12], origin, lineno, "drops");
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<UdpSocketRow> find_udp_sockets(const std::vector<UdpSocketRow> &rows,
                                           std::uint16_t local_port, std::uint64_t inode) {
  std::vector<UdpSocketRow> out;
  for (const auto &r : rows)
    if ((local_port == 0 || r.local_port == local_port) && (inode == 0 || r.inode == inode))
      out.push_back(r);
  return out;
}

} // namespace droplab::counters

#include "droplab/addr.hpp"

#include "droplab/units.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

namespace droplab {

sockaddr_in Endpoint::sockaddr() const {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = addr;
  sa.sin_port = htons(port);
  return sa;
}

std::string ipv4_to_string(in_addr a) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string Endpoint::to_string() const { return fmt::format("{}:{}", ipv4_to_string(addr), port); }

in_addr parse_ipv4(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) {
    throw UnitError(fmt::format("\"{}\" is not an IPv4 address", text));
  }
  return a;
}

Endpoint parse_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw UnitError(fmt::format("\"{}\" is not ADDR:PORT (e.g. 198.18.0.2:9000)", text));
  }
  Endpoint ep;
  ep.addr = parse_ipv4(text.substr(0, colon));
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || ptr != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    throw UnitError(fmt::format("\"{}\": port must be 1..65535", text));
  }
  ep.port = static_cast<std::uint16_t>(port);
  return ep;
}

bool in_benchmark_range(in_addr a) {
  std::uint32_t h = ntohl(a.s_addr);
  return (h & 0xFFFE0000u) == 0xC6120000u; // 198.18.0.0/15
}

} // namespace droplab

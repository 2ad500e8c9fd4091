// IPv4 ADDR:PORT endpoints and the traffic rule: droplab sends only to the
// benchmarking range 198.18.0.0/15 (RFC 2544).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace droplab {

struct Endpoint {
  in_addr addr{};
  std::uint16_t port = 0;

  sockaddr_in sockaddr() const;
  std::string to_string() const;
};

// Parses "198.18.0.2:9000". Throws UnitError naming the text on failure.
Endpoint parse_endpoint(std::string_view text);
in_addr parse_ipv4(std::string_view text);
std::string ipv4_to_string(in_addr a);

// True for addresses in 198.18.0.0/15.
bool in_benchmark_range(in_addr a);

} // namespace droplab

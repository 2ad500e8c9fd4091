// Parser for /proc/net/snmp and /proc/net/netstat: pairs of lines
//   "Proto: Name1 Name2 …"
//   "Proto: value1 value2 …"
// (snmp: Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite; netstat: TcpExt, IpExt, MPTcpExt…).
// Both files are per network namespace. Fields are added between kernels (Ip
// OutTransmits and Udp MemErrors are recent additions; 6.18 has both), so callers look
// fields up by name, never by position.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::counters {

struct SnmpField {
  std::string proto; // "Udp"
  std::string name;  // "RcvbufErrors"
  // Unavailable for a negative value: Tcp MaxConn prints -1 for "no limit", which
  // is a setting, not a counter.
  std::optional<std::uint64_t> value;
  std::string unavailable_reason;
};

// Fields in file order. Throws ParseError naming `origin` and the line for a header
// without its value line, a value line for another protocol, a count mismatch, or a
// value that is not a (possibly negative) decimal number.
std::vector<SnmpField> parse_snmp(std::string_view text, std::string_view origin);

} // namespace droplab::counters

// One line of the tracefs text buffer for skb:kfree_skb.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace droplab::dropreason {

struct TraceLineEvent {
  std::string location; // "symbol+0xoff", the size suffix of %pS ("/0x4c0") removed
  std::string reason;   // "NO_SOCKET"; empty on kernels whose event has no reason
};

// Parses a trace_pipe line such as
//   "<idle>-0 [001] ..s1. 12.3: kfree_skb: skbaddr=… rx_sk=… protocol=2048
//    location=__udp4_lib_rcv+0x6f4/0xc90 reason: NO_SOCKET"
// (5.17–6.10 print "protocol=… location=… reason: …", 6.11+ add rx_sk, before 5.17 no
// reason). Returns nullopt for lines of other events or without a location (e.g.
// "CPU:1 [LOST 12 EVENTS]").
std::optional<TraceLineEvent> parse_kfree_skb_trace_line(std::string_view line);

} // namespace droplab::dropreason

// The trace_pipe line parser on lines captured on 6.18 and on older layouts.
#include "droplab/dropreason/trace_line.hpp"
#include "test_data.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace droplab::dropreason {
namespace {

TEST(TraceLineTest, ParsesCapturedLines) {
  std::istringstream in(test::read_data("trace_pipe.6.18"));
  std::vector<TraceLineEvent> events;
  for (std::string line; std::getline(in, line);)
    if (auto ev = parse_kfree_skb_trace_line(line)) events.push_back(*ev);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].location, "__udp4_lib_rcv+0x4bc");
  EXPECT_EQ(events[0].reason, "NO_SOCKET");
  EXPECT_EQ(events[2].location, "udp_queue_rcv_one_skb+0x437");
  EXPECT_EQ(events[2].reason, "SOCKET_RCVBUFF");
  EXPECT_EQ(events[4].location, "udp_destruct_common+0xb9");
  EXPECT_EQ(events[4].reason, "NOT_SPECIFIED");
}

TEST(TraceLineTest, OlderLayoutsAndOtherLines) {
  const struct {
    const char* line;
    bool parsed;
    const char* location;
    const char* reason;
  } cases[] = {
      // 5.17–6.10: no rx_sk; location printed with %p on some versions → hex stays hex.
      {.line = "  ping-1 [000] ..s1. 1.0: kfree_skb: skbaddr=0000000012 protocol=2048 "
               "location=0xffffffff81a2b3c4 reason: NO_SOCKET",
       .parsed = true,
       .location = "0xffffffff81a2b3c4",
       .reason = "NO_SOCKET"},
      // before 5.17: no reason
      {.line = "  ping-1 [000] ..s1 1.0: kfree_skb: skbaddr=0000000012 protocol=2048 "
               "location=00000000deadbeef",
       .parsed = true,
       .location = "00000000deadbeef",
       .reason = ""},
      {.line = "  ping-1 [000] ..s1. 1.0: consume_skb: skbaddr=0000000012 "
               "location=icmp_rcv+0x259/0x3c0",
       .parsed = false},
      {.line = "CPU:1 [LOST 12 EVENTS]", .parsed = false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    const auto ev = parse_kfree_skb_trace_line(c.line);
    ASSERT_EQ(ev.has_value(), c.parsed);
    if (!c.parsed) continue;
    EXPECT_EQ(ev->location, c.location);
    EXPECT_EQ(ev->reason, c.reason);
  }
}

} // namespace
} // namespace droplab::dropreason

#include "droplab/counters/parse_error.hpp"
#include "droplab/counters/proc_udp.hpp"

#include "test_data.hpp"

#include <gtest/gtest.h>

using namespace droplab::counters;
using droplab::counters::test::read_data;

namespace {

struct LookupCase {
  const char *name;
  const char *file;
  std::uint16_t port;
  std::uint64_t inode;
  std::size_t matches;
  // First match:
  std::uint64_t want_inode = 0;
  std::uint16_t want_port = 0;
  std::uint64_t want_drops = 0;
  std::uint64_t want_rx_queue = 0;
  const char *want_addr = "";
};

// udp.netns-6.18: 127.0.0.1:5201 (inode 8518, 4 KiB SO_RCVBUF, 44 drops, 0x1e00 bytes
// queued), 0.0.0.0:9000 (inode 8519, one datagram queued), the sender (inode 8521).
// udp6.netns-6.18: [::1]:5201 (inode 8520), the same port as the IPv4 socket.
TEST(ProcUdp, FindsSocketsByInodeAndPort) {
  const LookupCase cases[] = {
      {.name = "by inode",
       .file = "udp.netns-6.18",
       .port = 0,
       .inode = 8518,
       .matches = 1,
       .want_inode = 8518,
       .want_port = 5201,
       .want_drops = 44,
       .want_rx_queue = 0x1e00,
       .want_addr = "0100007F"},
      {.name = "by port",
       .file = "udp.netns-6.18",
       .port = 9000,
       .inode = 0,
       .matches = 1,
       .want_inode = 8519,
       .want_port = 9000,
       .want_drops = 0,
       .want_rx_queue = 0x340,
       .want_addr = "00000000"},
      {.name = "port and inode",
       .file = "udp.netns-6.18",
       .port = 5201,
       .inode = 8518,
       .matches = 1,
       .want_inode = 8518,
       .want_port = 5201,
       .want_drops = 44,
       .want_rx_queue = 0x1e00,
       .want_addr = "0100007F"},
      {.name = "port with another socket's inode",
       .file = "udp.netns-6.18",
       .port = 5201,
       .inode = 8519,
       .matches = 0},
      {.name = "unbound port", .file = "udp.netns-6.18", .port = 9999, .inode = 0, .matches = 0},
      {.name = "any",
       .file = "udp.netns-6.18",
       .port = 0,
       .inode = 0,
       .matches = 3,
       .want_inode = 8519,
       .want_port = 9000,
       .want_drops = 0,
       .want_rx_queue = 0x340,
       .want_addr = "00000000"},
      {.name = "udp6 by port",
       .file = "udp6.netns-6.18",
       .port = 5201,
       .inode = 0,
       .matches = 1,
       .want_inode = 8520,
       .want_port = 5201,
       .want_drops = 0,
       .want_rx_queue = 0,
       .want_addr = "00000000000000000000000001000000"},
  };
  for (const auto &c : cases) {
    auto found = find_udp_sockets(parse_proc_udp(read_data(c.file), c.file), c.port, c.inode);
    ASSERT_EQ(found.size(), c.matches) << c.name;
    if (found.empty()) continue;
    EXPECT_EQ(found[0].inode, c.want_inode) << c.name;
    EXPECT_EQ(found[0].local_port, c.want_port) << c.name;
    EXPECT_EQ(found[0].drops, c.want_drops) << c.name;
    EXPECT_EQ(found[0].rx_queue, c.want_rx_queue) << c.name;
    EXPECT_EQ(found[0].local_addr_hex, c.want_addr) << c.name;
    EXPECT_EQ(found[0].state, 7u) << c.name; // TCP_CLOSE: unconnected UDP
    EXPECT_EQ(found[0].tx_queue, 0u) << c.name;
  }
}

TEST(ProcUdp, HeaderOnlyHasNoRows) {
  EXPECT_TRUE(parse_proc_udp("   sl  local_address rem_address   st tx_queue rx_queue tr "
                             "tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
                             "x")
                  .empty());
}

TEST(ProcUdp, RejectsShortRowNamingFileAndLine) {
  try {
    parse_proc_udp(read_data("udp.bad-row"), "udp.bad-row");
    ADD_FAILURE() << "parsed";
  } catch (const ParseError &e) {
    EXPECT_EQ(e.line(), 2u);
    EXPECT_NE(std::string(e.what()).find("11 columns, expected 13"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_proc_udp("garbage header\n", "x"), ParseError);
}

} // namespace

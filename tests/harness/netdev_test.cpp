#include "droplab/counters/netdev.hpp"
#include "droplab/counters/parse_error.hpp"

#include "test_data.hpp"

#include <gtest/gtest.h>

using namespace droplab::counters;
using droplab::counters::test::read_data;

namespace {

struct DevCase {
  const char *file;
  std::size_t devices;
  const char *name;
  NetDevRow want;
};

TEST(NetDev, ParsesCapturedFiles) {
  const DevCase cases[] = {
      {.file = "dev.6.18",
       .devices = 4,
       .name = "eth0",
       .want = {.name = "eth0",
                .rx_bytes = 18688856,
                .rx_packets = 482,
                .tx_bytes = 25631,
                .tx_packets = 307}},
      {.file = "dev.6.18",
       .devices = 4,
       .name = "lo",
       .want =
           {.name = "lo", .rx_bytes = 3267, .rx_packets = 29, .tx_bytes = 3267, .tx_packets = 29}},
      {.file = "dev.netns-6.18",
       .devices = 1,
       .name = "lo",
       .want = {.name = "lo",
                .rx_bytes = 11524,
                .rx_packets = 53,
                .tx_bytes = 11524,
                .tx_packets = 53}},
  };
  for (const auto &c : cases) {
    auto rows = parse_proc_net_dev(read_data(c.file), c.file);
    EXPECT_EQ(rows.size(), c.devices) << c.file;
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const NetDevRow &r) { return r.name == c.name; });
    ASSERT_NE(it, rows.end()) << c.file << " " << c.name;
    EXPECT_EQ(it->rx_bytes, c.want.rx_bytes);
    EXPECT_EQ(it->rx_packets, c.want.rx_packets);
    EXPECT_EQ(it->rx_dropped, c.want.rx_dropped);
    EXPECT_EQ(it->rx_errors, c.want.rx_errors);
    EXPECT_EQ(it->tx_bytes, c.want.tx_bytes);
    EXPECT_EQ(it->tx_packets, c.want.tx_packets);
    EXPECT_EQ(it->tx_dropped, c.want.tx_dropped);
  }
}

// Each of the 16 columns lands in its own field.
TEST(NetDev, ColumnOrder) {
  auto rows = parse_proc_net_dev("h1\nh2\n  veth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                                 "a-very-long-name:17 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                                 "x");
  ASSERT_EQ(rows.size(), 2u);
  const NetDevRow &r = rows[0];
  EXPECT_EQ(r.rx_bytes, 1u);
  EXPECT_EQ(r.rx_packets, 2u);
  EXPECT_EQ(r.rx_errors, 3u);
  EXPECT_EQ(r.rx_dropped, 4u);
  EXPECT_EQ(r.rx_fifo, 5u);
  EXPECT_EQ(r.rx_frame, 6u);
  EXPECT_EQ(r.rx_compressed, 7u);
  EXPECT_EQ(r.rx_multicast, 8u);
  EXPECT_EQ(r.tx_bytes, 9u);
  EXPECT_EQ(r.tx_packets, 10u);
  EXPECT_EQ(r.tx_errors, 11u);
  EXPECT_EQ(r.tx_dropped, 12u);
  EXPECT_EQ(r.tx_fifo, 13u);
  EXPECT_EQ(r.tx_colls, 14u);
  EXPECT_EQ(r.tx_carrier, 15u);
  EXPECT_EQ(r.tx_compressed, 16u);
  EXPECT_EQ(rows[1].name, "a-very-long-name"); // no space after ':' (wide counters)
  EXPECT_EQ(rows[1].rx_bytes, 17u);
}

TEST(NetDev, RejectsShortRowNamingFileAndLine) {
  try {
    parse_proc_net_dev(read_data("dev.bad-short"), "dev.bad-short");
    ADD_FAILURE() << "parsed";
  } catch (const ParseError &e) {
    EXPECT_EQ(e.line(), 4u);
    EXPECT_NE(std::string(e.what()).find("11 numbers for device \"veth0\""), std::string::npos)
        << e.what();
  }
}

} // namespace

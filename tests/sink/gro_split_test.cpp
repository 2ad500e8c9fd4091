// --gro: one coalesced read split back into datagrams, without a socket.
#include "droplab/sink/rx_gro.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace {

using namespace droplab::sink;

TEST(GroSplit, NotCoalescedIsOneDatagram) {
  std::array<std::byte, 64> buf{};
  std::vector<RxDatagram> out;
  GroCounts c;
  split_gro(buf.data(), 40, 40, 0, 7, out, c);  // no UDP_GRO cmsg
  split_gro(buf.data(), 18, 18, 18, 8, out, c); // cmsg, but one segment
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].length, 40u);
  EXPECT_EQ(out[0].head.size(), 40u);
  EXPECT_EQ(out[0].kernel_rx_ns, 7u);
  EXPECT_EQ(out[1].length, 18u);
  EXPECT_EQ(c.buffers, 0u);
  EXPECT_EQ(c.datagrams, 0u);
}

TEST(GroSplit, SegmentsWithAShorterLastOne) {
  std::array<std::byte, 100> buf{};
  for (std::size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<std::byte>(i);
  std::vector<RxDatagram> out;
  GroCounts c;
  split_gro(buf.data(), 100, 100, 30, 9, out, c); // 30 + 30 + 30 + 10
  ASSERT_EQ(out.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].length, 30u);
    EXPECT_EQ(out[i].head.data(), buf.data() + 30 * i);
    EXPECT_EQ(std::to_integer<int>(out[i].head[0]), static_cast<int>(30 * i));
    EXPECT_EQ(out[i].kernel_rx_ns, 9u);
  }
  EXPECT_EQ(out[3].length, 10u);
  EXPECT_EQ(out[3].head.size(), 10u);
  EXPECT_EQ(c.buffers, 1u);
  EXPECT_EQ(c.datagrams, 4u);
}

TEST(GroSplit, TruncatedReadKeepsLengthsButNoHeadPastTheSlot) {
  std::array<std::byte, 100> buf{};
  std::vector<RxDatagram> out;
  GroCounts c;
  split_gro(buf.data(), 45, 90, 30, 0, out, c); // only 45 of 90 bytes copied
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].head.size(), 30u);
  EXPECT_EQ(out[1].head.size(), 15u);
  EXPECT_EQ(out[2].head.size(), 0u);
  EXPECT_EQ(out[2].length, 30u);
}

} // namespace

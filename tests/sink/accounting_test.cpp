// Accounting on crafted sequences: the running loss used by live intervals
// matches the per-flow totals, and several readers' accountings merge into
// totals.
#include "droplab/payload.hpp"
#include "droplab/sink/accounting.hpp"
#include "droplab/sink/report.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

using namespace droplab::sink;

namespace {

void feed(Accounting& acc, std::uint16_t flow, std::uint32_t seq, std::uint64_t send_ns = 7) {
  std::array<std::byte, 32> buf{};
  droplab::encode_payload({.flow = flow, .seq = seq, .send_ns = send_ns}, buf);
  auto h = acc.add(buf, buf.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->send_ns, send_ns);
}

TEST(Accounting, RunningLossFollowsGapsAndLateArrivals) {
  Accounting acc;
  for (std::uint32_t s : {0u, 1u, 4u, 5u}) // 2 and 3 missing
    feed(acc, 1, s);
  EXPECT_EQ(acc.lost(), 2);
  feed(acc, 1, 3); // late: fills a hole
  EXPECT_EQ(acc.lost(), 1);
  feed(acc, 1, 3); // duplicate: no change
  EXPECT_EQ(acc.lost(), 1);
  feed(acc, 2, 10); // a new flow starting at 10: 0..9 lost
  EXPECT_EQ(acc.lost(), 11);
  EXPECT_EQ(acc.lost(), acc.totals().lost);
  EXPECT_EQ(acc.received(), 7u);
  std::array<std::byte, 8> junk{};
  EXPECT_FALSE(acc.add(junk, junk.size()));
  EXPECT_EQ(acc.totals().invalid, 1u);
}

TEST(Accounting, ReadersMergeIntoTotals) {
  Accounting a, b;
  for (std::uint32_t s = 0; s < 10; ++s)
    feed(a, 1, s);
  for (std::uint32_t s = 0; s < 10; s += 2) // flow 2: every other one
    feed(b, 2, s);
  feed(b, 2, 4); // duplicate
  Summary sum;
  std::vector<FlowRow> flows;
  fill_counts({&a, &b}, sum, flows);
  EXPECT_EQ(sum.received, 16u);
  EXPECT_EQ(sum.lost, 4);
  EXPECT_EQ(sum.duplicates, 1u);
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[0].flow, 1);
  EXPECT_EQ(flows[0].received, 10u);
  EXPECT_EQ(flows[1].flow, 2);
  EXPECT_EQ(flows[1].lost, 4);
  EXPECT_EQ(flows[1].highest_seq, 8u);
}

} // namespace

#include "gen/spread.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace droplab::gen {
namespace {

constexpr std::uint64_t kMs = 1'000'000ULL;

TEST(Spread, EvenStreamHasZeroCv) {
  MsCounter c(1000, 100);
  for (std::uint64_t ms = 0; ms < 50; ++ms)
    c.add(1000 + ms * kMs + 10, 100);
  const Spread s = spread_of(c.buckets(), 50);
  EXPECT_EQ(s.ms, 50u);
  EXPECT_DOUBLE_EQ(s.mean, 100);
  EXPECT_DOUBLE_EQ(s.cv, 0);
  EXPECT_EQ(s.min, 100u);
  EXPECT_EQ(s.max, 100u);
}

TEST(Spread, OneSecondBurstIsAllSpread) {
  // trafgen -b style: a second's quota in the first ms, then idle.
  std::vector<std::uint32_t> b(1000, 0);
  b[0] = 1000;
  const Spread s = spread_of(b, 1000);
  EXPECT_EQ(s.ms, 1000u);
  EXPECT_DOUBLE_EQ(s.mean, 1);
  EXPECT_NEAR(s.cv, std::sqrt(999.0), 1e-9);
}

TEST(Spread, PartialLastMsAndLeadingIdleAreLeftOut) {
  MsCounter c(0, 10);
  c.add(2 * kMs, 5);
  c.add(3 * kMs, 5);
  c.add(4 * kMs, 1);  // the last ms, still running
  c.add(20 * kMs, 1); // beyond max_ms: not counted
  const Spread s = spread_of(c.buckets(), 4);
  EXPECT_EQ(s.ms, 2u);
  EXPECT_DOUBLE_EQ(s.mean, 5);
  MsCounter d(0, 10);
  d.add(3 * kMs, 1);
  c.merge(d);
  EXPECT_EQ(c.buckets()[3], 6u);
}

} // namespace
} // namespace droplab::gen

// Histogram and percentile arithmetic on known values.
#include "droplab/sink/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using droplab::sink::Histogram;
using droplab::sink::summarize;

namespace {

TEST(Histogram, EmptyHasNoPercentiles) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_FALSE(h.percentile(50));
  auto s = summarize(h);
  EXPECT_EQ(s.count, 0u);
  EXPECT_FALSE(s.p50);
  EXPECT_FALSE(s.max);
}

TEST(Histogram, ExactBelow256) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 200; ++v)
    h.add(v);
  // Nearest rank: ceil(p/100 * 200).
  EXPECT_EQ(h.percentile(50), 100u);
  EXPECT_EQ(h.percentile(90), 180u);
  EXPECT_EQ(h.percentile(99), 198u);
  EXPECT_EQ(h.percentile(99.9), 200u); // ceil(199.8)
  EXPECT_EQ(h.percentile(100), 200u);
  EXPECT_EQ(h.max(), 200u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 100.5);
}

TEST(Histogram, RankIsExactInIntegers) {
  // 99.9% of 1000 values is rank 999, not 1000 (floating point would say 999.0000001).
  Histogram h;
  for (std::uint64_t v = 0; v < 1000; ++v)
    h.add(v < 999 ? 10 : 250);
  EXPECT_EQ(h.percentile(99.9), 10u);
  EXPECT_EQ(h.percentile(100), 250u);
}

TEST(Histogram, BucketsCoverEveryValueWithBoundedError) {
  struct Case {
    std::uint64_t v;
  };
  for (Case c : {Case{.v = 0}, Case{.v = 255}, Case{.v = 256}, Case{.v = 257}, Case{.v = 1000},
                 Case{.v = 1'000'000}, Case{.v = 123'456'789}, Case{.v = UINT64_MAX}}) {
    std::size_t i = Histogram::index(c.v);
    ASSERT_LT(i, Histogram::kBuckets) << c.v;
    std::uint64_t ub = Histogram::upper_bound(i);
    EXPECT_GE(ub, c.v);
    EXPECT_LE(static_cast<double>(ub - c.v), static_cast<double>(c.v) / 128.0 + 0.5) << c.v;
    if (i > 0) {
      EXPECT_LT(Histogram::upper_bound(i - 1), c.v) << c.v;
    }
  }
  // Bucket upper bounds increase strictly.
  for (std::size_t i = 1; i < Histogram::kBuckets; ++i)
    ASSERT_LT(Histogram::upper_bound(i - 1), Histogram::upper_bound(i)) << i;
}

TEST(Histogram, PercentilesOfLargeValuesWithin1Percent) {
  // 1 us .. 10 ms, shuffled: percentiles against the sorted truth.
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1; i <= 10'000; ++i)
    v.push_back(i * 1000);
  std::mt19937_64 rng(42);
  std::shuffle(v.begin(), v.end(), rng);
  Histogram h;
  for (auto x : v)
    h.add(x);
  std::sort(v.begin(), v.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto rank = static_cast<std::size_t>(p * 100); // ceil(p/100 * 10000)
    double truth = static_cast<double>(v[rank - 1]);
    auto got = h.percentile(p);
    ASSERT_TRUE(got);
    EXPECT_GE(static_cast<double>(*got), truth) << p;
    EXPECT_LE(static_cast<double>(*got), truth * 1.01) << p;
  }
  EXPECT_EQ(h.max(), 10'000'000u);
  EXPECT_EQ(h.percentile(100), 10'000'000u); // never above max
}

TEST(Histogram, MergeEqualsAddingEverything) {
  Histogram a, b, all;
  for (std::uint64_t i = 0; i < 500; ++i) {
    a.add(i * 37);
    all.add(i * 37);
    b.add(i * 1001 + 5);
    all.add(i * 1001 + 5);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {50.0, 90.0, 99.0, 99.9})
    EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
  auto s = summarize(a);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.p999, a.percentile(99.9));
  EXPECT_EQ(s.max, 499u * 1001 + 5);
}

} // namespace

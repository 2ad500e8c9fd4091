// Shapes as schedules: long-run rate and instantaneous shape from the
// departure times alone (no clock).
#include "gen/shape.hpp"

#include "droplab/units.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace droplab::gen {
namespace {

constexpr std::uint64_t kMs = 1'000'000ULL;

double long_run_pps(const std::vector<std::uint64_t>& d) {
  return static_cast<double>(d.size() - 1) * 1e9 / static_cast<double>(d.back() - d.front());
}

TEST(Shape, ConstantIsEvenlySpaced) {
  const auto d = first_departures(ShapeSpec{}, 100'000, 10'001);
  for (std::size_t i = 1; i < d.size(); ++i)
    ASSERT_NEAR(static_cast<double>(d[i] - d[i - 1]), 10'000.0, 1.0) << i;
  EXPECT_NEAR(long_run_pps(d), 100'000, 1);
}

TEST(Shape, BurstSendsNBackToBackThenTheGapThatKeepsTheRate) {
  const ShapeSpec s{.kind = ShapeKind::Burst, .burst = 32};
  const auto d = first_departures(s, 100'000, 32 * 100);
  for (std::size_t b = 0; b < 100; ++b) {
    for (std::size_t i = 1; i < 32; ++i)
      ASSERT_EQ(d[b * 32 + i], d[b * 32]) << "burst " << b;
    if (b > 0) {
      ASSERT_NEAR(static_cast<double>(d[b * 32] - d[(b - 1) * 32]), 320'000.0, 1.0);
    }
  }
  // 100 bursts of 32 start 320 us apart: 3200 packets in 99 gaps.
  EXPECT_NEAR(static_cast<double>(d[99 * 32]) / 99.0, 320'000.0, 1.0);
}

TEST(Shape, OnOffSendsOnlyInsideOnWindowsAtTheAverageRate) {
  const ShapeSpec s{.kind = ShapeKind::OnOff, .on_ns = 1 * kMs, .off_ns = 9 * kMs};
  const auto d = first_departures(s, 100'000, 100'000); // one second's worth
  std::vector<std::uint64_t> per_window(101, 0);
  for (std::uint64_t t : d) {
    ASSERT_LT(t % (10 * kMs), 1 * kMs + 1) << "departure in an OFF window at " << t;
    ++per_window[t / (10 * kMs)];
  }
  // 100 kpps average = 1000 packets per 10 ms period, all inside its 1 ms ON window.
  for (std::size_t w = 0; w < 100; ++w)
    EXPECT_NEAR(static_cast<double>(per_window[w]), 1000.0, 1.0) << "window " << w;
  // Inside a window: the peak rate, 10x the average (1 us apart).
  EXPECT_NEAR(static_cast<double>(d[1] - d[0]), 1'000.0, 1.0);
}

TEST(Shape, PoissonHasTheRateAndExponentialGaps) {
  const ShapeSpec s{.kind = ShapeKind::Poisson, .seed = 7};
  const auto d = first_departures(s, 50'000, 200'001);
  EXPECT_NEAR(long_run_pps(d), 50'000, 50'000 * 0.01);
  // Exponential gaps: standard deviation equals the mean (CV 1), and about
  // e^-1 of the gaps are longer than the mean.
  double sum = 0, sq = 0;
  std::size_t longer = 0;
  for (std::size_t i = 1; i < d.size(); ++i) {
    const double g = static_cast<double>(d[i] - d[i - 1]);
    sum += g;
    sq += g * g;
    longer += g > 20'000.0 ? 1 : 0;
  }
  const double n = static_cast<double>(d.size() - 1);
  const double mean = sum / n;
  EXPECT_NEAR(std::sqrt(sq / n - mean * mean) / mean, 1.0, 0.02);
  EXPECT_NEAR(static_cast<double>(longer) / n, std::exp(-1.0), 0.01);
  // Reproducible for a seed, different for another.
  EXPECT_EQ(first_departures(s, 50'000, 100), first_departures(s, 50'000, 100));
  EXPECT_NE(first_departures(ShapeSpec{.kind = ShapeKind::Poisson, .seed = 8}, 50'000, 100),
            first_departures(s, 50'000, 100));
}

TEST(ShapePacer, DueFollowsTheScheduleAndTheCap) {
  const ShapeSpec s{.kind = ShapeKind::Burst, .burst = 10};
  ShapePacer p(s, 1000, 5'000); // a burst of 10 every 10 ms from t = 5 us
  EXPECT_EQ(p.due(4'999, 64), 0u);
  EXPECT_EQ(p.due(5'000, 64), 10u);
  EXPECT_EQ(p.due(5'000, 4), 4u);
  p.consume(4);
  EXPECT_EQ(p.due(5'000, 64), 6u);
  p.consume(6);
  EXPECT_EQ(p.due(5'000 + 10 * kMs - 1, 64), 0u);
  EXPECT_EQ(p.next_due_ns(), 5'000 + 10 * kMs);
  EXPECT_EQ(p.due(5'000 + 10 * kMs, 64), 10u);
}

TEST(ShapePacer, UnpacedIsAlwaysDue) {
  ShapePacer p(ShapeSpec{}, 0, 100);
  EXPECT_EQ(p.due(0, 32), 32u);
  p.consume(1'000'000);
  EXPECT_EQ(p.due(0, 32), 32u);
}

TEST(Shape, ParsePattern) {
  EXPECT_EQ(parse_pattern("poisson").kind, ShapeKind::Poisson);
  const ShapeSpec s = parse_pattern("onoff:1ms/9ms");
  EXPECT_EQ(s.kind, ShapeKind::OnOff);
  EXPECT_EQ(s.on_ns, 1 * kMs);
  EXPECT_EQ(s.off_ns, 9 * kMs);
  EXPECT_THROW(parse_pattern("onoff:0ms/9ms"), UnitError);
  EXPECT_THROW(parse_pattern("onoff:1ms"), UnitError);
  EXPECT_THROW(parse_pattern("sine"), UnitError);
}

} // namespace
} // namespace droplab::gen

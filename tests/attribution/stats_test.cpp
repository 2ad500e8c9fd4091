// Expected values come from published sources or are derived by hand, never
// from the code under test:
// - Wikipedia "Welch's t-test", Examples 1-3, and "Student's t-test", Worked
//   examples (t, df, p to 2-4 digits); the p-values to 12+ digits as printed
//   by Rosetta Code's "Welch's t-test" task (which uses these data sets) and
//   ClickHouse's welchTTest tests (0.021378001462867, 0.090773324285671);
// - R's t.test(ts1, ts2) output quoted with the data below (t, df, p, CI);
// - t and df recomputed with exact rational arithmetic (Python fractions);
// - t quantiles from printed tables: t(0.975, 1) = 12.7062, t(0.975, 4) =
//   2.776445, t(0.975, 9) = 2.262157;
// - for df = 4 the t distribution has a closed form: two-sided
//   p = 1 - s(3 - s²)/2 with s = |t| / sqrt(4 + t²).
#include "stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace droplab::harness::stats;

namespace {

struct WelchCase {
  const char* source;
  std::vector<double> a, b;
  double t; // of mean(b) - mean(a)
  double df;
  double p;
  double p_tolerance;
};

const WelchCase kWelchCases[] = {
    {.source = "Wikipedia Welch's t-test, Example 1 (t = -2.46 for A1 - A2, df = 24.99, p = 0.021)",
     .a = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
           21.4},
     .b = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
           24.4},
     .t = 2.4553563983,
     .df = 24.9885292902,
     .p = 0.0213780014628669,
     .p_tolerance = 1e-12},
    {.source = "Wikipedia Welch's t-test, Example 2 (t = -1.57, df = 9.90, p = 0.149)",
     .a = {17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8},
     .b = {21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8,
           20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8},
     .t = 1.5654335236,
     .df = 9.9047412487,
     .p = 0.148841696605328,
     .p_tolerance = 1e-12},
    {.source = "Wikipedia Welch's t-test, Example 3 (t = -2.22, df = 24.50, p = 0.036)",
     .a = {19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0},
     .b = {28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7,
           23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4, 24.0, 13.2},
     .t = 2.2192409158,
     .df = 24.4962231242,
     .p = 0.0359722710297969,
     .p_tolerance = 1e-12},
    {.source = "Wikipedia Student's t-test, worked example (t = 1.959 for A1 - A2, df = 7.031)",
     .a = {30.02, 29.99, 30.11, 29.97, 30.01, 29.99},
     .b = {29.89, 29.93, 29.72, 29.98, 30.02, 29.98},
     .t = -1.9590058081,
     .df = 7.0305599599,
     .p = 0.0907733242856673,
     .p_tolerance = 1e-12},
    // Rosetta Code prints 0.010751534 from Simpson's rule; numeric
    // integration to 1e-10 gives 0.0107515611: the tolerance covers both.
    {.source =
         "Rosetta Code Welch's t-test task, x = {3.0, 4.0, 1.0, 2.1}, y = {490.2, 340.0, 433.9}",
     .a = {3.0, 4.0, 1.0, 2.1},
     .b = {490.2, 340.0, 433.9},
     .t = 9.5594977219,
     .df = 2.0008523489,
     .p = 0.010751,
     .p_tolerance = 1e-6},
};

TEST(StatsWelch, MatchesPublishedExamples) {
  for (const auto& c : kWelchCases) {
    SCOPED_TRACE(c.source);
    auto r = welch_t_test(c.a, c.b);
    ASSERT_TRUE(r.has_value());
    EXPECT_NEAR(r->t, c.t, 1e-9);
    EXPECT_NEAR(r->df, c.df, 1e-9);
    EXPECT_NEAR(r->p, c.p, c.p_tolerance);
  }
}

TEST(StatsWelch, SignFollowsBMinusA) {
  // Wikipedia reports Example 1 as A1 - A2: t = -2.46. Swapping the sides
  // flips t, the difference and its CI, and keeps p.
  const auto& c = kWelchCases[0];
  auto ab = welch_t_test(c.a, c.b);
  auto ba = welch_t_test(c.b, c.a);
  ASSERT_TRUE(ab && ba);
  EXPECT_NEAR(ba->t, -2.4553563983, 1e-9);
  EXPECT_NEAR(ab->diff_mean, 22.98666666667 - 20.82, 1e-9);
  EXPECT_NEAR(ba->diff_mean, 20.82 - 22.98666666667, 1e-9);
  EXPECT_NEAR(ba->ci95_low, -ab->ci95_high, 1e-12);
  EXPECT_NEAR(ba->ci95_high, -ab->ci95_low, 1e-12);
  EXPECT_DOUBLE_EQ(ab->p, ba->p);
}

TEST(StatsWelch, MatchesROutputWithConfidenceInterval) {
  // R: t.test(ts1, ts2) -> t = -1.8325, df = 17.9, p-value = 0.08356,
  // 95 percent confidence interval: -2.1469104 0.1469104 (for ts1 - ts2).
  const std::vector<double> ts1{11, 9, 10, 11, 10, 12, 9, 11, 12, 9};
  const std::vector<double> ts2{11, 13, 10, 13, 12, 9, 11, 12, 12, 11};
  auto r = welch_t_test(ts2, ts1); // b - a = ts1 - ts2, as R reports it
  ASSERT_TRUE(r.has_value());
  EXPECT_NEAR(r->t, -1.8325, 5e-5);
  EXPECT_NEAR(r->df, 17.9003101462, 1e-9);
  EXPECT_NEAR(r->p, 0.08356, 5e-6);
  EXPECT_DOUBLE_EQ(r->diff_mean, -1.0);
  EXPECT_NEAR(r->ci95_low, -2.1469104, 1e-7);
  EXPECT_NEAR(r->ci95_high, 0.1469104, 1e-7);
}

TEST(StatsWelch, OneConstantSideHasClosedForm) {
  // va = 0, so df = (vb/nb)² / ((vb/nb)² / (nb-1)) = nb - 1 = 4 exactly;
  // se = sqrt(2.5/5), t = (3 - 5) / se = -2·sqrt(2), and the CI half-width is
  // t(0.975, 4)·se = 2.776445·0.70710678 = 1.9632431.
  const std::vector<double> a{5, 5, 5}, b{1, 2, 3, 4, 5};
  auto r = welch_t_test(a, b);
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(r->df, 4.0);
  EXPECT_NEAR(r->t, -2 * std::sqrt(2.0), 1e-12);
  double s = 2 * std::sqrt(2.0) / std::sqrt(4 + 8.0);
  EXPECT_NEAR(r->p, 1 - s * (3 - s * s) / 2, 1e-12);
  EXPECT_NEAR(r->p, 0.0474206556, 1e-9);
  EXPECT_NEAR(r->ci95_low, -2 - 1.9632431, 1e-6);
  EXPECT_NEAR(r->ci95_high, -2 + 1.9632431, 1e-6);
}

TEST(StatsWelch, NeedsTwoValuesOnEachSide) {
  const std::vector<double> one{1.0}, two{1.0, 2.0}, none{};
  EXPECT_FALSE(welch_t_test(one, two).has_value());
  EXPECT_FALSE(welch_t_test(two, one).has_value());
  EXPECT_FALSE(welch_t_test(none, two).has_value());
  EXPECT_TRUE(welch_t_test(two, two).has_value());
}

TEST(StatsWelch, IdenticalConstantSamplesAreNoDifference) {
  // 0.1 is not exact in binary: a one-pass variance would leave residue.
  const std::vector<double> a{0.1, 0.1, 0.1}, b{0.1, 0.1};
  auto r = welch_t_test(a, b);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->t, 0.0);
  EXPECT_EQ(r->p, 1.0);
  EXPECT_TRUE(std::isnan(r->df));
  EXPECT_EQ(r->diff_mean, 0.0);
  EXPECT_EQ(r->ci95_low, 0.0);
  EXPECT_EQ(r->ci95_high, 0.0);
}

TEST(StatsWelch, DifferentConstantSamplesAreCertain) {
  const std::vector<double> a{0.5, 0.5, 0.5}, b{0.25, 0.25, 0.25};
  auto down = welch_t_test(a, b);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->p, 0.0);
  EXPECT_TRUE(std::isinf(down->t) && down->t < 0);
  EXPECT_EQ(down->diff_mean, -0.25);
  EXPECT_EQ(down->ci95_low, -0.25);
  EXPECT_EQ(down->ci95_high, -0.25);
  auto up = welch_t_test(b, a);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->p, 0.0);
  EXPECT_TRUE(std::isinf(up->t) && up->t > 0);
}

TEST(StatsSummary, FiveValuesUseTableQuantile) {
  // mean 3, s = sqrt(2.5), half-width t(0.975, 4)·s/√5 = 2.776445·0.70710678.
  const std::vector<double> xs{1, 2, 3, 4, 5};
  Summary s = summarize(xs);
  EXPECT_EQ(s.n, 5u);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  ASSERT_TRUE(s.stddev && s.ci95_low && s.ci95_high);
  EXPECT_NEAR(*s.stddev, 1.5811388300841898, 1e-12);
  EXPECT_NEAR(*s.ci95_low, 3 - 1.9632431, 1e-6);
  EXPECT_NEAR(*s.ci95_high, 3 + 1.9632431, 1e-6);
}

TEST(StatsSummary, TenValuesUseTableQuantile) {
  // Wikipedia Welch Example 3's A1: mean 19.37, s = 1.20374416 (Python
  // statistics.stdev), half-width 2.262157·s/√10 = 0.8611066.
  const std::vector<double> xs{19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0};
  Summary s = summarize(xs);
  EXPECT_EQ(s.n, 10u);
  EXPECT_NEAR(s.mean, 19.37, 1e-12);
  ASSERT_TRUE(s.stddev && s.ci95_low && s.ci95_high);
  EXPECT_NEAR(*s.stddev, 1.2037441588643327, 1e-12);
  EXPECT_NEAR(*s.ci95_low, 19.37 - 0.8611066, 1e-6);
  EXPECT_NEAR(*s.ci95_high, 19.37 + 0.8611066, 1e-6);
}

TEST(StatsSummary, TwoValuesUseOneDegreeOfFreedom) {
  // s = sqrt(2), s/√2 = 1: the half-width is t(0.975, 1) = 12.7062.
  const std::vector<double> xs{1, 3};
  Summary s = summarize(xs);
  ASSERT_TRUE(s.ci95_low && s.ci95_high);
  EXPECT_NEAR(*s.ci95_low, 2 - 12.7062, 1e-4);
  EXPECT_NEAR(*s.ci95_high, 2 + 12.7062, 1e-4);
}

TEST(StatsSummary, OneValueHasNoSpread) {
  const std::vector<double> xs{0.42};
  Summary s = summarize(xs);
  EXPECT_EQ(s.n, 1u);
  EXPECT_EQ(s.mean, 0.42);
  EXPECT_FALSE(s.stddev.has_value());
  EXPECT_FALSE(s.ci95_low.has_value());
  EXPECT_FALSE(s.ci95_high.has_value());
}

TEST(StatsSummary, NoValuesHasNoMean) {
  Summary s = summarize(std::vector<double>{});
  EXPECT_EQ(s.n, 0u);
  EXPECT_TRUE(std::isnan(s.mean));
  EXPECT_FALSE(s.stddev.has_value());
}

TEST(StatsSummary, ConstantSampleIsExact) {
  const std::vector<double> xs{0.1, 0.1, 0.1, 0.1};
  Summary s = summarize(xs);
  EXPECT_EQ(s.mean, 0.1);
  ASSERT_TRUE(s.stddev && s.ci95_low && s.ci95_high);
  EXPECT_EQ(*s.stddev, 0.0);
  EXPECT_EQ(*s.ci95_low, 0.1);
  EXPECT_EQ(*s.ci95_high, 0.1);
}

} // namespace

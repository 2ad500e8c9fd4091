// The statistics behind `droplab compare`: a sample's mean with its 95%
// confidence interval, and Welch's unequal-variance t-test between two arms.
// Plain values in, plain values out; the t distribution is Boost.Math's.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace droplab::harness::stats {

struct Summary {
  std::size_t n = 0;
  double mean = 0;              // NaN when n == 0
  std::optional<double> stddev; // sample standard deviation (n - 1); nullopt when n < 2
  // mean ± t(0.975, n-1)·s/√n; nullopt when n < 2
  std::optional<double> ci95_low, ci95_high;
};

// Mean, sample standard deviation and 95% CI of finite values. A sample
// whose values are all equal has exactly that mean and stddev 0.
Summary summarize(std::span<const double> xs);

struct WelchResult {
  double t = 0;                       // (mean(b) - mean(a)) / se
  double df = 0;                      // Welch–Satterthwaite
  double p = 1;                       // two-sided
  double diff_mean = 0;               // mean(b) - mean(a)
  double ci95_low = 0, ci95_high = 0; // for mean(b) - mean(a), with t(0.975, df)
};

// Welch's two-sided t-test of mean(b) - mean(a) (b is the candidate); nullopt
// when either side has fewer than 2 values. When both variances are 0 there
// is no sampling error to weigh the difference against: equal means give
// t = 0 and p = 1, different means give t = ±inf and p = 0. In both cases
// the CI is [diff, diff] and df is NaN (Welch–Satterthwaite is 0/0 there).
std::optional<WelchResult> welch_t_test(std::span<const double> a, std::span<const double> b);

} // namespace droplab::harness::stats

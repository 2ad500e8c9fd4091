#include "stats.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <cmath>
#include <limits>

namespace droplab::harness::stats {

namespace {

struct Moments {
  std::size_t n = 0;
  double mean = 0;
  double var = 0; // sample variance (n - 1); 0 when n < 2
};

// Two passes, shifted by the first value: equal values then give exactly
// that mean and a variance of exactly 0, which welch_t_test relies on (a
// one-pass sum of squares leaves rounding residue like 1e-34 instead).
Moments moments(std::span<const double> xs) {
  Moments m;
  m.n = xs.size();
  if (m.n == 0) {
    m.mean = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  const double shift = xs.front();
  double sum = 0;
  for (double x : xs)
    sum += x - shift;
  m.mean = shift + sum / static_cast<double>(m.n);
  if (m.n < 2) return m;
  double ss = 0;
  for (double x : xs)
    ss += (x - m.mean) * (x - m.mean);
  m.var = ss / static_cast<double>(m.n - 1);
  return m;
}

double t_quantile_975(double df) {
  return boost::math::quantile(boost::math::students_t(df), 0.975);
}

} // namespace

Summary summarize(std::span<const double> xs) {
  Moments m = moments(xs);
  Summary s;
  s.n = m.n;
  s.mean = m.mean;
  if (m.n < 2) return s;
  s.stddev = std::sqrt(m.var);
  double half = t_quantile_975(static_cast<double>(m.n - 1)) * *s.stddev /
                std::sqrt(static_cast<double>(m.n));
  s.ci95_low = m.mean - half;
  s.ci95_high = m.mean + half;
  return s;
}

std::optional<WelchResult> welch_t_test(std::span<const double> a, std::span<const double> b) {
  Moments ma = moments(a), mb = moments(b);
  if (ma.n < 2 || mb.n < 2) return std::nullopt;
  WelchResult r;
  r.diff_mean = mb.mean - ma.mean;
  const double va = ma.var / static_cast<double>(ma.n); // squared standard errors
  const double vb = mb.var / static_cast<double>(mb.n);
  const double se2 = va + vb;
  if (se2 == 0) {
    r.df = std::numeric_limits<double>::quiet_NaN();
    r.ci95_low = r.ci95_high = r.diff_mean;
    if (r.diff_mean == 0) {
      r.t = 0;
      r.p = 1;
    } else {
      r.t = std::copysign(std::numeric_limits<double>::infinity(), r.diff_mean);
      r.p = 0;
    }
    return r;
  }
  const double se = std::sqrt(se2);
  r.t = r.diff_mean / se;
  r.df = se2 * se2 /
         (va * va / static_cast<double>(ma.n - 1) + vb * vb / static_cast<double>(mb.n - 1));
  boost::math::students_t dist(r.df);
  r.p = 2 * boost::math::cdf(boost::math::complement(dist, std::fabs(r.t)));
  double half = t_quantile_975(r.df) * se;
  r.ci95_low = r.diff_mean - half;
  r.ci95_high = r.diff_mean + half;
  return r;
}

} // namespace droplab::harness::stats

// Latency histogram of nanosecond values: exact below 256 ns, then 128
// sub-buckets per power of two (HdrHistogram's layout), so any percentile is
// within 1/128 (< 0.8%) of the true value, in a fixed 59 KiB with O(1) adds.
// Pure: unit-tested on known values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace droplab::sink {

class Histogram {
public:
  static constexpr unsigned kSubBits = 7; // 128 sub-buckets per power of two
  static constexpr std::uint64_t kSub = 1ULL << kSubBits;
  static constexpr std::size_t kBuckets = 2 * kSub + (64 - kSubBits - 1) * kSub;

  void add(std::uint64_t v);
  void merge(const Histogram& o);

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const;

  // Nearest rank: the smallest recorded value v such that at least p% of
  // values are <= v, reported as its bucket's upper bound (never above max).
  // nullopt when empty. p in (0, 100].
  std::optional<std::uint64_t> percentile(double p) const;

  // Bucket layout, public for the tests.
  static std::size_t index(std::uint64_t v);
  static std::uint64_t upper_bound(std::size_t index); // largest value in the bucket

private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  long double sum_ = 0;
};

// What the report shows of a histogram (all ns; null when count is 0).
struct LatencySummary {
  std::uint64_t count = 0;
  std::optional<std::uint64_t> p50, p90, p99, p999, max;
  std::optional<double> mean;
};

LatencySummary summarize(const Histogram& h);

} // namespace droplab::sink

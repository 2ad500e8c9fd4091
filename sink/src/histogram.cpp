#include "droplab/sink/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace droplab::sink {

std::size_t Histogram::index(std::uint64_t v) {
  if (v < 2 * kSub) return static_cast<std::size_t>(v);
  // v has bit_width(v) > kSubBits + 1 bits; keep its top kSubBits + 1 bits.
  const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - (kSubBits + 1);
  const std::uint64_t top = v >> shift; // in [kSub, 2 * kSub)
  return static_cast<std::size_t>(2 * kSub + (shift - 1) * kSub + (top - kSub));
}

std::uint64_t Histogram::upper_bound(std::size_t i) {
  if (i < 2 * kSub) return i;
  const std::uint64_t shift = (i - 2 * kSub) / kSub + 1;
  const std::uint64_t top = (i - 2 * kSub) % kSub + kSub;
  // Values whose top bits are `top`: [top << shift, ((top + 1) << shift) - 1].
  if (shift + kSubBits + 1 >= 64 && top == 2 * kSub - 1) return UINT64_MAX;
  return ((top + 1) << shift) - 1;
}

void Histogram::add(std::uint64_t v) {
  ++counts_[index(v)];
  ++count_;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
  sum_ += static_cast<long double>(v);
}

void Histogram::merge(const Histogram& o) {
  for (std::size_t i = 0; i < kBuckets; ++i)
    counts_[i] += o.counts_[i];
  count_ += o.count_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
  sum_ += o.sum_;
}

double Histogram::mean() const {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

std::optional<std::uint64_t> Histogram::percentile(double p) const {
  if (count_ == 0) return std::nullopt;
  // Rank of the value, 1-based: ceil(p/100 * n), at least 1, in integers
  // (p to 1/1000 of a percent) so 99.9% of 1000 is rank 999, not 1000.
  const auto milli = static_cast<std::uint64_t>(std::llround(p * 1000.0));
  std::uint64_t rank = (milli * count_ + 99'999) / 100'000;
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(upper_bound(i), max_);
  }
  return max_;
}

LatencySummary summarize(const Histogram& h) {
  LatencySummary s{.count = h.count()};
  if (h.count() == 0) return s;
  s.p50 = h.percentile(50);
  s.p90 = h.percentile(90);
  s.p99 = h.percentile(99);
  s.p999 = h.percentile(99.9);
  s.max = h.max();
  s.mean = h.mean();
  return s;
}

} // namespace droplab::sink

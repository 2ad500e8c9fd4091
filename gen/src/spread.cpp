#include "gen/spread.hpp"

#include <algorithm>
#include <cmath>

namespace droplab::gen {

void MsCounter::add(std::uint64_t now_ns, std::uint64_t packets) {
  if (now_ns < start_ || packets == 0) return;
  const std::uint64_t ms = (now_ns - start_) / 1'000'000ULL;
  if (ms >= max_ms_) return;
  if (buckets_.size() <= ms) buckets_.resize(ms + 1, 0);
  buckets_[ms] += static_cast<std::uint32_t>(packets);
}

void MsCounter::merge(const MsCounter& o) {
  if (buckets_.size() < o.buckets_.size()) buckets_.resize(o.buckets_.size(), 0);
  for (std::size_t i = 0; i < o.buckets_.size(); ++i)
    buckets_[i] += o.buckets_[i];
}

Spread spread_of(std::span<const std::uint32_t> buckets, std::uint64_t end_ms) {
  Spread s;
  std::size_t first = 0;
  while (first < buckets.size() && buckets[first] == 0)
    ++first;
  const std::size_t last = std::min<std::size_t>(buckets.size(), end_ms); // exclusive
  if (first >= last) return s;
  auto range = buckets.subspan(first, last - first);
  s.ms = range.size();
  double sum = 0, sq = 0;
  s.min = range[0];
  for (std::uint32_t b : range) {
    sum += b;
    sq += static_cast<double>(b) * b;
    s.min = std::min<std::uint64_t>(s.min, b);
    s.max = std::max<std::uint64_t>(s.max, b);
  }
  const double n = static_cast<double>(s.ms);
  s.mean = sum / n;
  s.stddev = std::sqrt(std::max(0.0, sq / n - s.mean * s.mean));
  s.cv = s.mean > 0 ? s.stddev / s.mean : 0;
  return s;
}

} // namespace droplab::gen

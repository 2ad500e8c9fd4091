// How smooth the traffic was: packets sent per millisecond, counted as they
// are handed to the kernel, and the spread of those counts (mean, standard
// deviation, coefficient of variation, min, max).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace droplab::gen {

// Per-ms packet counts from a start time, for at most max_ms milliseconds
// (later packets are not counted; Spread::ms says how much was covered).
class MsCounter {
public:
  MsCounter(std::uint64_t start_ns, std::uint64_t max_ms) : start_(start_ns), max_ms_(max_ms) {}
  void add(std::uint64_t now_ns, std::uint64_t packets);
  const std::vector<std::uint32_t>& buckets() const { return buckets_; }
  // Adds another counter with the same start (another thread) bucket by bucket.
  void merge(const MsCounter& o);

private:
  std::uint64_t start_;
  std::uint64_t max_ms_;
  std::vector<std::uint32_t> buckets_;
};

struct Spread {
  std::uint64_t ms = 0; // milliseconds the figures cover
  double mean = 0;      // packets per ms
  double stddev = 0;
  double cv = 0; // stddev / mean; 0 for a perfectly even stream
  std::uint64_t min = 0;
  std::uint64_t max = 0;
};

// Spread of per-ms counts from the first non-empty bucket to the last one
// that ended before `end_ms` (a partial last millisecond would read low).
Spread spread_of(std::span<const std::uint32_t> buckets, std::uint64_t end_ms);

} // namespace droplab::gen

#include "droplab/pacer.hpp"

#include <cmath>
#include <limits>

namespace droplab {

std::uint64_t Pacer::due(std::uint64_t now_ns) const {
  if (rate_ <= 0) return std::numeric_limits<std::uint64_t>::max();
  if (now_ns < start_) return 0;
  // Packet i is due at start + i/rate, so by `now` packets 0..floor(elapsed*rate) are due.
  // long double keeps the product exact well past 2^53 ns*pps.
  long double elapsed = static_cast<long double>(now_ns - start_);
  auto total = static_cast<std::uint64_t>(std::floor(elapsed * rate_ / 1e9L)) + 1;
  return total > consumed_ ? total - consumed_ : 0;
}

std::uint64_t Pacer::next_due_ns() const {
  if (rate_ <= 0) return start_;
  long double offset = std::ceil(static_cast<long double>(consumed_) * 1e9L / rate_);
  return start_ + static_cast<std::uint64_t>(offset);
}

} // namespace droplab

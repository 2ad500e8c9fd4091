// The pacing schedule shared by the generator (send rate) and the sink
// (read rate): packet i is due at start + i / rate. Pure arithmetic on the
// times it is given, so it is unit-tested without a clock.
#pragma once

#include <cstdint>

namespace droplab {

class Pacer {
public:
  // rate_pps > 0 paces; rate_pps == 0 means unpaced (everything is always due).
  Pacer(double rate_pps, std::uint64_t start_ns) : rate_(rate_pps), start_(start_ns) {}

  // Packets due by `now_ns` that have not been consumed yet. The caller sends
  // (or reads) at most its batch of them and then calls consume(); what it
  // left is still due on the next call, so a late wake-up catches up one
  // batch at a time instead of in one burst.
  std::uint64_t due(std::uint64_t now_ns) const;
  void consume(std::uint64_t n) { consumed_ += n; }

  // When the next unconsumed packet becomes due (start_ns when unpaced).
  std::uint64_t next_due_ns() const;
  std::uint64_t consumed() const { return consumed_; }
  double rate() const { return rate_; }

private:
  double rate_;
  std::uint64_t start_;
  std::uint64_t consumed_ = 0;
};

} // namespace droplab

#include "droplab/sink/seq_tracker.hpp"

namespace droplab::sink {

bool SeqTracker::seen(std::uint64_t s) const {
  std::uint64_t i = s % kWindow;
  return (seen_[i / 64] >> (i % 64)) & 1U;
}
void SeqTracker::mark(std::uint64_t s) {
  std::uint64_t i = s % kWindow;
  seen_[i / 64] |= std::uint64_t{1} << (i % 64);
}
void SeqTracker::clear(std::uint64_t s) {
  std::uint64_t i = s % kWindow;
  seen_[i / 64] &= ~(std::uint64_t{1} << (i % 64));
}

std::optional<std::uint64_t> SeqTracker::extend(std::uint32_t seq) const {
  if (!counts_.highest_seq) return seq; // the first packet: the flow started at 0
  std::uint64_t high = *counts_.highest_seq;
  // Signed 32-bit distance from the highest seen: within ±2^31 it is exact.
  auto delta = static_cast<std::int32_t>(seq - static_cast<std::uint32_t>(high));
  if (delta < 0 && static_cast<std::uint64_t>(-static_cast<std::int64_t>(delta)) > high) {
    return std::nullopt; // "before sequence 0": cannot come from a generator starting at 0
  }
  return high + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
}

SeqOutcome SeqTracker::add(std::uint32_t wire_seq) {
  ++counts_.received;
  std::optional<std::uint64_t> ext = extend(wire_seq);
  if (!ext) {
    ++counts_.stale;
    return SeqOutcome::Stale;
  }
  std::uint64_t s = *ext;

  if (s >= expected_) {
    // New highest. Sequences expected_..s enter the window; their bits still
    // describe sequences kWindow older, so clear them (all of them if the
    // jump is wider than the window).
    std::uint64_t gap = s - expected_;
    if (gap + 1 >= kWindow) {
      seen_.fill(0);
    } else {
      for (std::uint64_t x = expected_; x <= s; ++x)
        clear(x);
    }
    mark(s);
    // Provisional: a hole becomes "reordered" if its packet turns up later.
    counts_.lost += static_cast<std::int64_t>(gap);
    expected_ = s + 1;
    counts_.highest_seq = s;
    return gap == 0 ? SeqOutcome::InOrder : SeqOutcome::Gap;
  }

  if (expected_ - s > kWindow) {
    // Counted as lost when the hole was passed; it may be a very late packet
    // or a duplicate of one we saw, and the window no longer says which.
    ++counts_.stale;
    return SeqOutcome::Stale;
  }
  if (seen(s)) {
    ++counts_.duplicates;
    return SeqOutcome::Duplicate;
  }
  mark(s);
  ++counts_.reordered;
  --counts_.lost; // the hole it was counted in is filled
  return SeqOutcome::Reordered;
}

} // namespace droplab::sink

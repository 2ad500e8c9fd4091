// Per-flow sequence accounting. Pure: no clock, no I/O, so every case
// (gaps, duplicates, reordering, wrap-around, stale) is unit-tested directly.
//
// The generator numbers each flow 0, 1, 2, … over the packets the kernel
// accepted from it, so between the first and the highest sequence seen every
// hole is a real loss, unless the packet turns up later (reordered).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace droplab::sink {

enum class SeqOutcome { InOrder, Gap, Reordered, Duplicate, Stale };

struct FlowCounts {
  std::uint64_t received = 0;   // every datagram of the flow, duplicates and stale included
  std::int64_t lost = 0;        // holes below the highest sequence seen (never negative)
  std::uint64_t duplicates = 0; // seen before, within the window
  std::uint64_t reordered = 0;  // arrived after a higher sequence, filling a hole
  std::uint64_t stale = 0;      // older than the window: cannot tell duplicate from late
  std::optional<std::uint64_t> highest_seq; // extended to 64 bits; nullopt until one arrives
};

class SeqTracker {
public:
  // How far below the highest sequence a late packet can still be told apart
  // from a duplicate. A power of two so the bitmap index is a mask.
  static constexpr std::uint64_t kWindow = 1024;

  // Accounts one datagram carrying the 32-bit wire sequence `seq`.
  SeqOutcome add(std::uint32_t seq);

  // Extends a 32-bit wire sequence to 64 bits relative to the highest seen:
  // the nearest value in serial-number arithmetic (RFC 1982), so 0x00000002
  // after 0xFFFFFFF0 is 2^32 + 2. nullopt for a value that would fall below 0.
  std::optional<std::uint64_t> extend(std::uint32_t seq) const;

  const FlowCounts& counts() const { return counts_; }

private:
  bool seen(std::uint64_t s) const;
  void mark(std::uint64_t s);
  void clear(std::uint64_t s);

  FlowCounts counts_;
  std::uint64_t expected_ = 0; // next in-order sequence: highest seen + 1 (0 before any)
  // Bit (s % kWindow) set = sequence s seen, for s in [expected_ - kWindow, expected_).
  std::array<std::uint64_t, kWindow / 64> seen_{};
};

} // namespace droplab::sink

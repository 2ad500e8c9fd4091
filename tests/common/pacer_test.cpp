#include "droplab/pacer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

using droplab::Pacer;

namespace {
constexpr std::uint64_t kSec = 1'000'000'000ULL;

TEST(Pacer, FirstPacketIsDueAtStart) {
  Pacer p(1000, 5 * kSec);
  EXPECT_EQ(p.due(5 * kSec - 1), 0u);
  EXPECT_EQ(p.due(5 * kSec), 1u);
  EXPECT_EQ(p.next_due_ns(), 5 * kSec);
}

TEST(Pacer, ScheduleHoldsTheRateExactly) {
  // 1000 pps: packet i due at i ms. Simulate a sender waking at every due time.
  Pacer p(1000, 0);
  std::uint64_t now = 0;
  for (int i = 0; i < 5000; ++i) {
    now = p.next_due_ns();
    ASSERT_EQ(p.due(now), 1u) << "at packet " << i;
    p.consume(1);
  }
  EXPECT_EQ(now, 4999ULL * 1'000'000ULL);
  EXPECT_EQ(p.consumed(), 5000u);
}

TEST(Pacer, LongRunRateIsExactForNonIntegralIntervals) {
  // 3 pps -> 333,333,333.3 ns apart; after 10 s exactly 31 packets are due (0..30).
  Pacer p(3, 0);
  EXPECT_EQ(p.due(10 * kSec), 31u);
  // 1.5 Mpps over 2 s -> 3,000,001 due at t = 2 s.
  Pacer q(1.5e6, 0);
  EXPECT_EQ(q.due(2 * kSec), 3'000'001u);
}

TEST(Pacer, LateWakeUpCatchesUpInBatchesNotAtOnce) {
  // The caller takes at most `batch` per call; after a 10 ms oversleep at
  // 100 kpps, 1000 packets are owed and are paid back 32 at a time.
  Pacer p(100'000, 0);
  const std::uint64_t batch = 32;
  std::uint64_t now = 10'000'000; // 10 ms late
  EXPECT_EQ(p.due(now), 1001u);
  int calls = 0;
  while (std::uint64_t d = p.due(now)) {
    std::uint64_t n = std::min(d, batch);
    EXPECT_LE(n, batch);
    p.consume(n);
    ++calls;
  }
  EXPECT_EQ(calls, 32); // ceil(1001 / 32)
  EXPECT_EQ(p.next_due_ns(), 10'010'000u);
}

TEST(Pacer, UnpacedIsAlwaysDue) {
  Pacer p(0, 0);
  EXPECT_GT(p.due(0), 1'000'000u);
}

TEST(Pacer, NeverReleasesMoreThanTheScheduleAllows) {
  // Over any window the released count never exceeds elapsed*rate + 1.
  Pacer p(50'000, 0);
  std::uint64_t now = 0;
  for (int step = 0; step < 10000; ++step) {
    now += 37'123; // irregular wake-ups
    std::uint64_t d = p.due(now);
    p.consume(std::min<std::uint64_t>(d, 64));
    ASSERT_LE(p.consumed(), now * 50'000 / kSec + 1);
  }
}

} // namespace

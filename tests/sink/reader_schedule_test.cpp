// The reader schedule as arithmetic on given times: no clock, no sleeps.
#include "droplab/sink/reader_schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>

using namespace droplab::sink;

namespace {

constexpr std::uint64_t kMs = 1'000'000ULL;
constexpr std::uint64_t kSec = 1'000'000'000ULL;

// A reader that always finds data and takes every grant, waking exactly when
// the schedule says. Returns how many datagrams it read in [start, end).
std::uint64_t simulate_busy(ReaderSchedule& s, std::uint64_t start, std::uint64_t end) {
  std::uint64_t now = start, total = 0;
  while (now < end) {
    auto g = s.grant(now);
    if (g.reads == 0) {
      EXPECT_GT(g.retry_ns, now);
      now = g.retry_ns;
      continue;
    }
    s.consume(g.reads);
    total += g.reads;
    now += 1; // reading takes a nanosecond
  }
  return total;
}

TEST(ReaderSchedule, UnconstrainedGrantsAFullBatch) {
  ReaderSchedule s(std::nullopt, std::nullopt, 64, 0);
  for (std::uint64_t t : {std::uint64_t{0}, 5 * kMs, 100 * kSec}) {
    EXPECT_EQ(s.grant(t).reads, 64u);
    s.consume(64);
  }
}

TEST(ReaderSchedule, ReadRateHoldsOverTime) {
  // 1000 pps for 10 s: packets due at 0, 1 ms, …, 9999 ms.
  ReaderSchedule s(1000.0, std::nullopt, 64, 0);
  EXPECT_EQ(simulate_busy(s, 0, 10 * kSec), 10'000u);
}

TEST(ReaderSchedule, AheadOfTheRateWaitsForTheNextSlot) {
  ReaderSchedule s(1000.0, std::nullopt, 64, 0);
  auto g = s.grant(0);
  EXPECT_EQ(g.reads, 1u);
  s.consume(1);
  g = s.grant(0);
  EXPECT_EQ(g.reads, 0u);
  EXPECT_EQ(g.retry_ns, 1 * kMs);
  EXPECT_EQ(s.grant(kMs).reads, 1u);
}

TEST(ReaderSchedule, IdleTimeIsNotBanked) {
  // The socket was empty for 5 s (grants taken, nothing read). A real slow
  // reader then still reads at 1000 pps, not 5000 datagrams at once.
  const unsigned batch = 32;
  ReaderSchedule s(1000.0, std::nullopt, batch, 0);
  for (std::uint64_t t = 0; t < 5 * kSec; t += 10 * kMs)
    s.grant(t); // consume(0)
  const std::uint64_t t0 = 5 * kSec;
  EXPECT_LE(s.grant(t0).reads, batch); // at most one batch of credit survives
  const std::uint64_t in_100ms = simulate_busy(s, t0, t0 + 100 * kMs);
  EXPECT_LE(in_100ms, 100u + batch);
  EXPECT_GE(in_100ms, 100u);
}

TEST(ReaderSchedule, CreditUpToOneBatchIsKept) {
  // Under a batch behind is normal wake-up jitter, paid back in full.
  ReaderSchedule s(1000.0, std::nullopt, 64, 0);
  auto g = s.grant(10 * kMs);
  EXPECT_EQ(g.reads, 11u); // 0..10 ms
}

TEST(ReaderSchedule, StallWindowsRepeat) {
  // 300ms/1s: read for 700 ms, stall 300 ms, from the start.
  ReaderSchedule s(std::nullopt, Stall{.dur_ns = 300 * kMs, .every_ns = kSec}, 8, 0);
  struct Case {
    std::uint64_t t;
    bool stalled;
  };
  const Case cases[] = {
      {.t = 0, .stalled = false},        {.t = 699 * kMs, .stalled = false},
      {.t = 700 * kMs, .stalled = true}, {.t = 999 * kMs, .stalled = true},
      {.t = kSec, .stalled = false},     {.t = 5 * kSec + 750 * kMs, .stalled = true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(s.stalled(c.t), c.stalled) << c.t;
    auto g = s.grant(c.t);
    EXPECT_EQ(g.reads == 0, c.stalled) << c.t;
  }
  auto g = s.grant(750 * kMs);
  EXPECT_EQ(g.retry_ns, kSec); // wakes when the stall ends
}

TEST(ReaderSchedule, StallAndRateTogetherDoNotCatchUp) {
  // 1000 pps with a 500ms/1s stall: 500 reads per second, not 1000 (the
  // stalled half is not made up afterwards).
  ReaderSchedule s(1000.0, Stall{.dur_ns = 500 * kMs, .every_ns = kSec}, 64, 0);
  const std::uint64_t n = simulate_busy(s, 0, 10 * kSec);
  EXPECT_GE(n, 10u * 500);
  EXPECT_LE(n, 10u * (500 + 64)); // at most one batch of credit per stall
}

TEST(ReaderSchedule, NothingBeforeStart) {
  ReaderSchedule s(std::nullopt, std::nullopt, 8, 10 * kSec);
  auto g = s.grant(kSec);
  EXPECT_EQ(g.reads, 0u);
  EXPECT_EQ(g.retry_ns, 10 * kSec);
}

} // namespace

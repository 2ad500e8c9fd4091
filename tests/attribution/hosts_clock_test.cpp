// The one-way latency correction of multi-host runs, on made-up offsets.
#include "hosts_run.hpp"

#include <gtest/gtest.h>

using droplab::agent::ClockOffset;
using namespace droplab::harness;

namespace {
ClockOffset off(std::int64_t offset, std::int64_t bound) {
  ClockOffset c;
  c.offset_ns = offset;
  c.error_bound_ns = bound;
  return c;
}
} // namespace

TEST(OneWayLatency, CorrectionIsSenderOffsetMinusReceiverOffset) {
  // Sender 1 ms ahead of the controller, receiver 2 ms behind: the sink's
  // clock reads 3 ms less than the sender's at the same instant, so its
  // measured latency is 3 ms short.
  OneWayCorrection c = one_way_correction(off(-2'000'000, 40'000), {off(1'000'000, 10'000)});
  EXPECT_EQ(c.correction_ns, 3'000'000);
  EXPECT_EQ(c.error_bound_ns, 50'000);
  // A true latency of 100 µs is measured as 100 µs - 3 ms; the correction gives it back.
  const std::int64_t measured = 100'000 - 3'000'000;
  EXPECT_EQ(measured + c.correction_ns, 100'000);
}

TEST(OneWayLatency, SendersThatDisagreeWidenTheBound) {
  OneWayCorrection c = one_way_correction(off(0, 10), {off(1'000, 10), off(3'000, 20)});
  EXPECT_EQ(c.correction_ns, 2'000);
  EXPECT_EQ(c.error_bound_ns, 30 + 1'000); // worst pair's bounds + half the spread
}

TEST(OneWayLatency, DriftDuringTheRunWidensTheBound) {
  ClockOffset c = combine_offsets(off(1'000, 50), off(3'000, 70));
  EXPECT_EQ(c.offset_ns, 2'000);
  EXPECT_GE(c.error_bound_ns, 70 + 1'000);
  // Both estimates lie within the combined bound.
  EXPECT_LE(std::abs(1'000 - c.offset_ns), c.error_bound_ns);
  EXPECT_LE(std::abs(3'000 - c.offset_ns), c.error_bound_ns);
}

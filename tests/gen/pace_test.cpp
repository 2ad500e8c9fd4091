// The pace meter's arithmetic on given timestamps: how long sends were refused
// EAGAIN, how long was spent inside send calls. No wall-clock assertions.
#include "gen/pace.hpp"

#include <gtest/gtest.h>

namespace droplab::gen {
namespace {

TEST(PaceMeter, SendBufferFullFromTheFirstEagainToTheNextAcceptedSend) {
  PaceMeter m;
  m.start(1'000);
  m.sent(2'000, 2'100, 32, false); // all accepted
  m.sent(3'000, 3'050, 0, true);   // refused EAGAIN: blocked from 3,000
  m.sent(4'000, 4'050, 0, true);   // still refused: the same stretch
  m.sent(5'000, 5'100, 32, false); // accepted again: 2,000 ns blocked
  m.sent(6'000, 6'100, 10, true);  // partly sent, then EAGAIN: blocked again
  const PaceTotals t = m.finish(9'000);
  EXPECT_EQ(t.send_blocked_ns, 2'000u + 3'000u); // the open stretch ends with the loop
  EXPECT_EQ(t.in_send_ns, 100u + 50u + 50u + 100u + 100u);
  EXPECT_EQ(t.loop_ns, 8'000u);
}

TEST(PaceMeter, OtherErrorsAreNotABlockedSendBuffer) {
  PaceMeter m;
  m.start(0);
  m.sent(10, 20, 0, false); // e.g. ENOBUFS: counted as an error, not as blocked
  EXPECT_EQ(m.finish(100).send_blocked_ns, 0u);
}

TEST(PaceTotals, UnavailableCpuWaitStaysUnavailableWhenSummed) {
  PaceTotals a{.loop_ns = 10, .cpu_ns = 5, .in_send_ns = 2, .send_blocked_ns = 1, .cpu_wait_ns = 3};
  PaceTotals b = a;
  a += b;
  EXPECT_EQ(a.loop_ns, 20u);
  EXPECT_EQ(a.send_blocked_ns, 2u);
  ASSERT_TRUE(a.cpu_wait_ns);
  EXPECT_EQ(*a.cpu_wait_ns, 6u);
  b.cpu_wait_ns.reset();
  a += b;
  EXPECT_FALSE(a.cpu_wait_ns);
}

TEST(PaceMeter, MeasuresThisThreadsCpuTime) {
  PaceMeter m;
  m.start(0);
  volatile std::uint64_t x = 0;
  for (int i = 0; i < 2'000'000; ++i)
    x = x + static_cast<std::uint64_t>(i);
  const PaceTotals t = m.finish(1);
  EXPECT_GT(t.cpu_ns, 0u);
  // Where the kernel has schedstat (CONFIG_SCHED_INFO) the wait is measured.
  EXPECT_EQ(t.cpu_wait_ns.has_value(), thread_cpu_wait_ns().has_value());
}

} // namespace
} // namespace droplab::gen

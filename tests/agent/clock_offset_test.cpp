// The four-timestamp arithmetic on known values.
#include "clock_offset.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace droplab::agent {
namespace {

constexpr std::uint64_t kBase = 1'700'000'000'000'000'000ULL; // a realistic CLOCK_REALTIME

struct OffsetCase {
  const char* name;
  std::vector<PingSample> samples;
  std::int64_t offset_ns;
  std::int64_t error_bound_ns;
  std::int64_t rtt_ns;
  std::int64_t delay_ns;
  int used;
};

// A ping with true offset `off`, one-way delays d1 (there) and d2 (back),
// and `proc` ns of processing at the agent, sent at controller time kBase + t.
PingSample ping(std::int64_t t, std::int64_t off, std::int64_t d1, std::int64_t proc,
                std::int64_t d2) {
  auto u = [](std::int64_t v) {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(kBase) + v);
  };
  return {.t1_ns = u(t),
          .t2_ns = u(t + d1 + off),
          .t3_ns = u(t + d1 + proc + off),
          .t4_ns = u(t + d1 + proc + d2)};
}

TEST(ClockOffset, KnownTimestamps) {
  const OffsetCase cases[] = {
      {.name = "symmetric path, agent ahead",
       .samples = {ping(0, 5'000, 100, 20, 100)},
       .offset_ns = 5'000,
       .error_bound_ns = 100,
       .rtt_ns = 220,
       .delay_ns = 200,
       .used = 1},
      {.name = "agent behind",
       .samples = {ping(0, -123'456'789, 50, 10, 50)},
       .offset_ns = -123'456'789,
       .error_bound_ns = 50,
       .rtt_ns = 110,
       .delay_ns = 100,
       .used = 1},
      {.name = "asymmetric path: estimate off by (d1-d2)/2, within the bound",
       .samples = {ping(0, 1'000, 300, 0, 100)},
       .offset_ns = 1'100,
       .error_bound_ns = 200,
       .rtt_ns = 400,
       .delay_ns = 400,
       .used = 1},
      {.name = "minimum delay wins, processing excluded",
       .samples = {ping(0, 7'000, 900, 10, 900), ping(10'000, 7'000, 40, 5'000, 60),
                   ping(20'000, 7'000, 500, 0, 500)},
       .offset_ns = 6'990,
       .error_bound_ns = 50,
       .rtt_ns = 5'100,
       .delay_ns = 100,
       .used = 3},
      {.name = "odd delay rounds the bound up",
       .samples = {ping(0, 0, 2, 0, 1)},
       .offset_ns = 0,
       .error_bound_ns = 2,
       .rtt_ns = 3,
       .delay_ns = 3,
       .used = 1},
      {.name = "a stepped clock (negative delay) is skipped",
       .samples =
           {{.t1_ns = kBase, .t2_ns = kBase + 10, .t3_ns = kBase + 1'000, .t4_ns = kBase + 100},
            ping(0, 42, 10, 1, 10)},
       .offset_ns = 42,
       .error_bound_ns = 10,
       .rtt_ns = 21,
       .delay_ns = 20,
       .used = 1},
  };
  for (const auto& c : cases) {
    ClockOffset o = offset_from_samples(c.samples);
    EXPECT_EQ(o.offset_ns, c.offset_ns) << c.name;
    EXPECT_EQ(o.error_bound_ns, c.error_bound_ns) << c.name;
    EXPECT_EQ(o.rtt_ns, c.rtt_ns) << c.name;
    EXPECT_EQ(o.delay_ns, c.delay_ns) << c.name;
    EXPECT_EQ(o.used, c.used) << c.name;
    EXPECT_EQ(o.samples, static_cast<int>(c.samples.size())) << c.name;
  }
}

TEST(ClockOffset, TrueOffsetAlwaysWithinTheBound) {
  // Every split of the delay between the two directions, odd and even.
  for (std::int64_t d1 = 0; d1 <= 7; ++d1) {
    for (std::int64_t d2 = 0; d2 <= 7; ++d2) {
      for (std::int64_t off : {-3, 0, 1, 1000}) {
        PingSample s[] = {ping(0, off, d1, 3, d2)};
        ClockOffset o = offset_from_samples(s);
        EXPECT_LE(std::abs(o.offset_ns - off), o.error_bound_ns) << d1 << " " << d2 << " " << off;
      }
    }
  }
}

TEST(ClockOffset, NoUsableSampleIsAnError) {
  EXPECT_THROW(offset_from_samples({}), std::invalid_argument);
  PingSample bad[] = {{.t1_ns = kBase, .t2_ns = kBase, .t3_ns = kBase + 10, .t4_ns = kBase + 5}};
  EXPECT_THROW(offset_from_samples(bad), std::invalid_argument);
}

TEST(ClockOffset, Json) {
  nlohmann::json j = ClockOffset{
      .offset_ns = -5, .error_bound_ns = 0, .rtt_ns = 9, .delay_ns = 0, .samples = 8, .used = 8};
  EXPECT_EQ(j.dump(),
            R"({"delay_ns":0,"error_bound_ns":0,"offset_ns":-5,"rtt_ns":9,"samples":8,"used":8})");
}

} // namespace
} // namespace droplab::agent

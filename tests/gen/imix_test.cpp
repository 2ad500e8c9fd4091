#include "gen/imix.hpp"

#include "droplab/units.hpp"

#include <gtest/gtest.h>

#include <map>

namespace droplab::gen {
namespace {

TEST(Imix, WeightsHoldOverEveryPeriodAndAreInterleaved) {
  const Imix m = Imix::parse("64:7,570:4,1518:1", 64, 9000);
  ASSERT_EQ(m.period(), 12u);
  std::map<std::size_t, int> n;
  std::size_t longest_run = 0, run = 0;
  for (std::uint64_t k = 0; k < 1200; ++k) {
    ++n[m.at(k)];
    run = k > 0 && m.at(k) == m.at(k - 1) ? run + 1 : 1;
    longest_run = std::max(longest_run, run);
  }
  EXPECT_EQ(n[64], 700);
  EXPECT_EQ(n[570], 400);
  EXPECT_EQ(n[1518], 100);
  EXPECT_LE(longest_run, 2u); // smooth, not 7 small frames in a row
  EXPECT_EQ(m.max_size(), 1518u);
  EXPECT_NEAR(m.mean_size(), (64.0 * 7 + 570 * 4 + 1518) / 12, 1e-9);
  EXPECT_EQ(m.to_string(), "64:7,570:4,1518:1");
}

TEST(Imix, BadListsNameTheEntry) {
  const char* bad[] = {"",      "64",     "64:",  ":7",     "64:7,", "64:7;570:4",
                       "64:-1", "64:1.5", "63:1", "9001:1", "64:0",  "64:10001"};
  for (const char* b : bad)
    EXPECT_THROW(Imix::parse(b, 64, 9000), UnitError) << b;
}

} // namespace
} // namespace droplab::gen

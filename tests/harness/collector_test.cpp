// Counter keys produced from each kernel's softnet layout (pure, no /proc access).
#include "droplab/counters/collector.hpp"
#include "droplab/counters/softnet.hpp"

#include "test_data.hpp"

#include <gtest/gtest.h>

using namespace droplab::counters;
using droplab::counters::test::read_data;

namespace {

using U64 = std::optional<std::uint64_t>;

struct KeyCase {
  const char *file;
  const char *key;
  U64 value;
  const char *reason_part = ""; // when unavailable
};

TEST(SoftnetKeys, EveryLayout) {
  const KeyCase cases[] = {
      {.file = "softnet_stat.3.10-10col", .key = "host.softnet.cpu1.processed", .value = 0x38e11},
      {.file = "softnet_stat.3.10-10col", .key = "host.softnet.dropped", .value = 3},
      {.file = "softnet_stat.3.10-10col", .key = "host.softnet.received_rps", .value = 0x11},
      // Before 3.11 there is no flow_limit_count: unavailable, never 0, and so is the sum.
      {.file = "softnet_stat.3.10-10col",
       .key = "host.softnet.cpu0.flow_limit_count",
       .value = std::nullopt,
       .reason_part = "before 3.11"},
      {.file = "softnet_stat.3.10-10col",
       .key = "host.softnet.flow_limit_count",
       .value = std::nullopt,
       .reason_part = "before 3.11"},
      {.file = "softnet_stat.4.19-11col", .key = "host.softnet.flow_limit_count", .value = 5},
      // 13 columns, CPU 1 offline: keys follow column 13's CPU id.
      {.file = "softnet_stat.5.15-13col", .key = "host.softnet.cpu3.dropped", .value = 0xffff},
      {.file = "softnet_stat.5.15-13col", .key = "host.softnet.cpu2.time_squeeze", .value = 7},
      {.file = "softnet_stat.5.15-13col", .key = "host.softnet.dropped", .value = 0xffff + 3},
      {.file = "softnet_stat.5.15-13col",
       .key = "host.softnet.processed",
       .value = 0x4d2a1ull + 0x38e11ull + 0xffffffffull}, // the sum exceeds 32 bits
      {.file = "softnet_stat.6.8-15col", .key = "host.softnet.dropped", .value = 1003},
      {.file = "softnet_stat.6.8-15col", .key = "host.softnet.time_squeeze", .value = 0x1c + 7},
  };
  for (const auto &c : cases) {
    Snapshot s;
    add_softnet_counters(s, "host", parse_softnet_stat(read_data(c.file), c.file), c.file);
    const Counter *k = s.find(c.key);
    ASSERT_NE(k, nullptr) << c.file << " " << c.key;
    EXPECT_EQ(k->value, c.value) << c.file << " " << c.key;
    EXPECT_NE(k->unavailable_reason.find(c.reason_part), std::string::npos)
        << c.file << " " << c.key << ": " << k->unavailable_reason;
  }
}

TEST(SoftnetKeys, NoRowForAnOfflineCpu) {
  Snapshot s;
  add_softnet_counters(s, "host", parse_softnet_stat(read_data("softnet_stat.5.15-13col"), "f"),
                       "f");
  EXPECT_EQ(s.find("host.softnet.cpu1.dropped"), nullptr);
  EXPECT_EQ(s.find("host.softnet.dropped")->sum_of,
            (std::vector<std::string>{"host.softnet.cpu0.dropped", "host.softnet.cpu2.dropped",
                                      "host.softnet.cpu3.dropped"}));
}

TEST(SoftnetKeys, EmptyFileMakesSumsUnavailable) {
  Snapshot s;
  add_softnet_counters(s, "host", {}, "f");
  ASSERT_NE(s.find("host.softnet.dropped"), nullptr);
  EXPECT_FALSE(s.get("host.softnet.dropped"));
}

} // namespace

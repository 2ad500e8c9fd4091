// Location resolution against a sample of /proc/kallsyms.
#include "droplab/dropreason/kallsyms.hpp"
#include "droplab/dropreason/parse_error.hpp"
#include "test_data.hpp"

#include <gtest/gtest.h>

namespace droplab::dropreason {
namespace {

TEST(KallsymsTest, ResolvesToNearestSymbolBelow) {
  const auto table =
      Kallsyms::parse(test::read_data("kallsyms.6.18-sample"), "kallsyms.6.18-sample");
  const struct {
    std::uint64_t address;
    const char* expected;
  } cases[] = {
      {.address = 0xffffffff82046290 + 0x4bc, .expected = "__udp4_lib_rcv+0x4bc"},
      {.address = 0xffffffff82044cf0 + 0x437, .expected = "udp_queue_rcv_one_skb+0x437"},
      {.address = 0xffffffff820454c0, .expected = "udp_destruct_common+0x0"},
      {.address = 0xffffffffc0a01000 + 0x10, .expected = "veth_xmit [veth]+0x10"},
      {.address = 0x1000, .expected = "0x1000"}, // below every symbol
      {.address = 0xffffffffc0a01000 + (2u << 20), .expected = "0xffffffffc0c01000"}, // far past
  };
  for (const auto& c : cases)
    EXPECT_EQ(table.resolve(c.address), c.expected);
  EXPECT_EQ(table.symbol_of(0xffffffff820454c0 + 0xb9), "udp_destruct_common");
}

TEST(KallsymsTest, SkipsHiddenAddressesAndRejectsBadLines) {
  const auto table = Kallsyms::parse("0000000000000000 T a\n0000000000000000 T b\n", "hidden");
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.resolve(0xffffffff81000000), "0xffffffff81000000");
  EXPECT_THROW(Kallsyms::parse(test::read_data("kallsyms.bad-address"), "kallsyms.bad-address"),
               ParseError);
}

} // namespace
} // namespace droplab::dropreason

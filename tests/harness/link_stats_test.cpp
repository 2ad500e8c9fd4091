// IFLA_STATS64 decoding on a captured RTM_NEWLINK, including the shorter attribute
// older kernels send (fields past its end are unavailable, never 0).
#include "droplab/counters/link_stats.hpp"
#include "droplab/counters/parse_error.hpp"

#include "netlink_test_util.hpp"

#include <gtest/gtest.h>

using namespace droplab::counters;
using droplab::counters::test::read_hex_messages;

namespace {

using U64 = std::optional<std::uint64_t>;

LinkMessage captured_va() {
  auto msgs = read_hex_messages("rtm_newlink.veth-6.18.hex");
  EXPECT_EQ(msgs.size(), 1u);
  return decode_link_message(msgs.at(0), "rtm_newlink.veth-6.18.hex");
}

TEST(LinkStats, DecodesCapturedMessage) {
  LinkMessage m = captured_va();
  EXPECT_EQ(m.ifname, "va");
  EXPECT_EQ(m.ifindex, 2);
  ASSERT_TRUE(m.stats64);
  EXPECT_EQ(m.stats64->size(), 25u * 8);
  EXPECT_EQ(link_stats64_fields().size(), 25u);
}

struct FieldCase {
  std::size_t payload_bytes; // IFLA_STATS64 size the "kernel" sent
  const char* key;
  U64 value;
  const char* reason_part = "";
};

TEST(LinkStats, FieldsByAttributeLength) {
  const FieldCase cases[] = {
      {.payload_bytes = 200, .key = "tx.link.tx_packets", .value = 11},
      {.payload_bytes = 200, .key = "tx.link.tx_bytes", .value = 1462},
      {.payload_bytes = 200, .key = "tx.link.rx_packets", .value = 7},
      {.payload_bytes = 200, .key = "tx.link.rx_bytes", .value = 1062},
      {.payload_bytes = 200, .key = "tx.link.tx_dropped", .value = 0},
      {.payload_bytes = 200, .key = "tx.link.rx_missed_errors", .value = 0},
      {.payload_bytes = 200, .key = "tx.link.rx_otherhost_dropped", .value = 0},
      // 4.6 .. 5.18: 24 fields, no rx_otherhost_dropped.
      {.payload_bytes = 192, .key = "tx.link.rx_nohandler", .value = 0},
      {.payload_bytes = 192,
       .key = "tx.link.rx_otherhost_dropped",
       .value = std::nullopt,
       .reason_part = "added in Linux 5.19"},
      // Before 4.6: 23 fields.
      {.payload_bytes = 184,
       .key = "tx.link.rx_nohandler",
       .value = std::nullopt,
       .reason_part = "added in Linux 4.6"},
      {.payload_bytes = 184, .key = "tx.link.tx_compressed", .value = 0},
      {.payload_bytes = 184, .key = "tx.link.tx_packets", .value = 11},
  };
  const LinkMessage m = captured_va();
  for (const auto& c : cases) {
    std::vector<std::byte> payload(m.stats64->begin(), m.stats64->begin() + c.payload_bytes);
    Snapshot s;
    add_link_counters(s, "tx", payload, "test");
    const Counter* k = s.find(c.key);
    ASSERT_NE(k, nullptr) << c.key;
    EXPECT_EQ(k->value, c.value) << c.payload_bytes << " " << c.key;
    EXPECT_NE(k->unavailable_reason.find(c.reason_part), std::string::npos)
        << c.key << ": " << k->unavailable_reason;
    EXPECT_EQ(s.counters.size(), 25u); // every field present, available or not
  }
}

TEST(LinkStats, NoStats64AttributeMakesEveryFieldUnavailable) {
  Snapshot s;
  add_link_counters(s, "rx", std::nullopt, "test");
  ASSERT_EQ(s.counters.size(), 25u);
  for (const auto& [key, c] : s.counters) {
    EXPECT_FALSE(c.available()) << key;
    EXPECT_EQ(c.unavailable_reason, "no IFLA_STATS64 in the RTM_NEWLINK reply");
  }
}

TEST(LinkStats, MalformedMessagesThrow) {
  auto msg = read_hex_messages("rtm_newlink.veth-6.18.hex").at(0);
  std::vector<std::byte> half(msg.begin(), msg.begin() + msg.size() / 2);
  EXPECT_THROW(decode_link_message(half, "half"), ParseError);
  auto qdisc = read_hex_messages("rtm_newqdisc.htb-pfifo-6.18.hex").at(0);
  try {
    decode_link_message(qdisc, "qdisc");
    ADD_FAILURE() << "no exception";
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("is not RTM_NEWLINK"), std::string::npos) << e.what();
  }
}

} // namespace

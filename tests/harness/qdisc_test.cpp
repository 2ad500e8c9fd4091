// RTM_NEWQDISC decoding on captured dumps and the qdisc key layout: root totals that
// do not double count children, noqueue, clsact, 32-bit wrap.
#include "droplab/counters/parse_error.hpp"
#include "droplab/counters/qdisc.hpp"

#include "netlink_test_util.hpp"

#include <gtest/gtest.h>

using namespace droplab::counters;
using droplab::counters::test::read_hex_messages;

namespace {

using U64 = std::optional<std::uint64_t>;

std::vector<QdiscInfo> decode_file(const std::string& name) {
  std::vector<QdiscInfo> out;
  for (const auto& m : read_hex_messages(name))
    out.push_back(decode_qdisc_message(m, name));
  return out;
}

TEST(Qdisc, TcHandleNotation) {
  const struct {
    std::uint32_t handle;
    const char* want;
  } cases[] = {
      {.handle = 0x00010000, .want = "1:"},
      {.handle = 0x80010002, .want = "8001:2"},
      {.handle = 0xffff0000, .want = "ffff:"},
      {.handle = 0, .want = ""},
  };
  for (const auto& c : cases)
    EXPECT_EQ(tc_handle(c.handle), c.want) << std::hex << c.handle;
}

TEST(Qdisc, DecodesCapturedDumps) {
  auto tx = decode_file("rtm_newqdisc.htb-pfifo-6.18.hex");
  ASSERT_EQ(tx.size(), 2u);
  EXPECT_EQ(tx[0].kind, "htb");
  EXPECT_EQ(tx[0].handle, 0x00010000u);
  EXPECT_EQ(tx[0].parent, 0xffffffffu);
  EXPECT_EQ(tx[1].kind, "pfifo");
  EXPECT_EQ(tx[1].handle, 0x00100000u); // tc handles are hex: "10:"
  EXPECT_EQ(tx[1].parent, 0x00010001u);
  for (const auto& q : tx) {
    EXPECT_EQ(q.packets, U64(11));
    EXPECT_EQ(q.bytes, U64(1462));
    ASSERT_TRUE(q.queue);
    EXPECT_EQ(q.queue->drops, 3u);
    EXPECT_FALSE(q.is_ingress());
  }
  auto rx = decode_file("rtm_newqdisc.noqueue-clsact-6.18.hex");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0].kind, "noqueue");
  EXPECT_EQ(rx[1].kind, "clsact");
  EXPECT_TRUE(rx[1].is_ingress());
}

struct KeyCase {
  const char* file;
  const char* key;
  U64 value;
  const char* text_part = ""; // in the reason when unavailable, else in the source
};

TEST(Qdisc, KeysFromCapturedDumps) {
  const KeyCase cases[] = {
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex", .key = "tx.qdisc.1:.drops", .value = 3},
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex", .key = "tx.qdisc.10:.drops", .value = 3},
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex", .key = "tx.qdisc.10:.packets", .value = 11},
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex", .key = "tx.qdisc.1:.bytes", .value = 1462},
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex", .key = "tx.qdisc.10:.qlen", .value = 0},
      // The root already counts its child's drops: 3, not 6.
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex",
       .key = "tx.qdisc.drops",
       .value = 3,
       .text_part = "root qdisc 1:"},
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex", .key = "tx.qdisc.overlimits", .value = 0},
      {.file = "rtm_newqdisc.htb-pfifo-6.18.hex",
       .key = "tx.qdisc.ingress.drops",
       .value = std::nullopt,
       .text_part = "no ingress/clsact qdisc"},
      {.file = "rtm_newqdisc.noqueue-clsact-6.18.hex",
       .key = "tx.qdisc.drops",
       .value = 0,
       .text_part = "noqueue: no queue, nothing to drop"},
      {.file = "rtm_newqdisc.noqueue-clsact-6.18.hex",
       .key = "tx.qdisc.noqueue.drops",
       .value = std::nullopt,
       .text_part = "noqueue"},
      {.file = "rtm_newqdisc.noqueue-clsact-6.18.hex", .key = "tx.qdisc.ingress.drops", .value = 0},
      {.file = "rtm_newqdisc.noqueue-clsact-6.18.hex",
       .key = "tx.qdisc.ingress.packets",
       .value = 0},
  };
  for (const auto& c : cases) {
    Snapshot s;
    add_qdisc_counters(s, "tx", decode_file(c.file), "test");
    const Counter* k = s.find(c.key);
    ASSERT_NE(k, nullptr) << c.file << " " << c.key;
    EXPECT_EQ(k->value, c.value) << c.file << " " << c.key << " " << k->unavailable_reason;
    const std::string& text = k->available() ? k->source : k->unavailable_reason;
    EXPECT_NE(text.find(c.text_part), std::string::npos) << c.key << ": " << text;
  }
}

QdiscInfo pfifo_root(std::uint32_t drops) {
  return QdiscInfo{.handle = 0x00010000,
                   .parent = 0xffffffff,
                   .kind = "pfifo",
                   .bytes = 0,
                   .packets = 0,
                   .queue = QdiscInfo::Queue{.drops = drops}};
}

TEST(Qdisc, DropsAre32BitAndWrapInDiff) {
  Snapshot before, after;
  add_qdisc_counters(before, "tx", {pfifo_root(0xffffffffu)}, "test");
  add_qdisc_counters(after, "tx", {pfifo_root(2)}, "test");
  EXPECT_EQ(before.find("tx.qdisc.1:.drops")->wrap_bits, 32u);
  EXPECT_EQ(before.find("tx.qdisc.1:.packets")->wrap_bits, 32u); // no TCA_STATS_PKT64
  Delta d = diff(before, after);
  EXPECT_EQ(d.get("tx.qdisc.1:.drops"), U64(3));
  EXPECT_EQ(d.get("tx.qdisc.drops"), U64(3));
}

TEST(Qdisc, MissingQueueStatsMakeTheTotalUnavailable) {
  QdiscInfo q = pfifo_root(0);
  q.queue.reset();
  Snapshot s;
  add_qdisc_counters(s, "tx", {q}, "test");
  EXPECT_FALSE(s.get("tx.qdisc.drops"));
  EXPECT_NE(s.find("tx.qdisc.drops")->unavailable_reason.find("no TCA_STATS_QUEUE"),
            std::string::npos);
  Snapshot none;
  add_qdisc_counters(none, "tx", {}, "test");
  EXPECT_EQ(none.find("tx.qdisc.drops")->unavailable_reason, "no root qdisc on the device");
}

TEST(Qdisc, MalformedMessagesThrow) {
  auto m = read_hex_messages("rtm_newqdisc.htb-pfifo-6.18.hex").at(0);
  std::vector<std::byte> cut(m.begin(), m.begin() + 20);
  EXPECT_THROW(decode_qdisc_message(cut, "cut"), ParseError);
  auto link = read_hex_messages("rtm_newlink.veth-6.18.hex").at(0);
  EXPECT_THROW(decode_qdisc_message(link, "link"), ParseError);
}

} // namespace

// Pure parts of the ethtool, nf_conntrack and nftables collectors, on captured text and
// constructed ioctl buffers.
#include "droplab/counters/conntrack.hpp"
#include "droplab/counters/ethtool_stats.hpp"
#include "droplab/counters/nft_counters.hpp"
#include "droplab/counters/parse_error.hpp"

#include "test_data.hpp"

#include <gtest/gtest.h>

#include <cstring>

using namespace droplab::counters;
using droplab::counters::test::read_data;

namespace {

using U64 = std::optional<std::uint64_t>;

TEST(Ethtool, DecodesGstringsAndKeys) {
  std::vector<char> data(3 * 32, '\0');
  std::memcpy(data.data(), "peer_ifindex", 12);
  std::memcpy(data.data() + 32, "rx_queue_0_xdp_drops", 20);
  std::memset(data.data() + 64, 'a', 32); // a full-width name has no NUL
  auto names = decode_ethtool_strings(data, 3, "test");
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "peer_ifindex");
  EXPECT_EQ(names[1], "rx_queue_0_xdp_drops");
  EXPECT_EQ(names[2], std::string(32, 'a'));
  EXPECT_THROW(decode_ethtool_strings(data, 4, "test"), ParseError);

  Snapshot s;
  add_ethtool_counters(s, "rx", names, {7, 5, 1}, "test");
  EXPECT_EQ(s.get("rx.ethtool.peer_ifindex"), U64(7));
  EXPECT_EQ(s.find("rx.ethtool.peer_ifindex")->kind, Kind::Gauge);
  EXPECT_EQ(s.get("rx.ethtool.rx_queue_0_xdp_drops"), U64(5));
  EXPECT_EQ(s.find("rx.ethtool.rx_queue_0_xdp_drops")->kind, Kind::Counter);
  EXPECT_THROW(add_ethtool_counters(s, "rx", names, {1}, "test"), std::invalid_argument);
}

struct CtCase {
  const char* file;
  const char* key;
  U64 value;
  const char* reason_part = "";
};

TEST(Conntrack, ColumnsByHeaderName) {
  const CtCase cases[] = {
      {.file = "nf_conntrack_stat.netns-6.18", .key = "rx.conntrack.entries", .value = 2},
      {.file = "nf_conntrack_stat.netns-6.18", .key = "rx.conntrack.drop", .value = 0},
      {.file = "nf_conntrack_stat.netns-6.18", .key = "rx.conntrack.clashres", .value = 0},
      {.file = "nf_conntrack_stat.netns-6.18", .key = "rx.conntrack.chainlength", .value = 0},
      {.file = "nf_conntrack_stat.netns-6.18", .key = "rx.conntrack.cpu1.insert", .value = 0},
      // entries is printed on every row: taken once (5), not summed (15).
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.entries", .value = 5},
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.found", .value = 11},
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.drop", .value = 5},
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.early_drop", .value = 2},
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.insert_failed", .value = 1},
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.insert", .value = 5},
      // The sum of 32-bit rows exceeds 32 bits.
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.invalid", .value = 0x100000001ull},
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.cpu2.drop", .value = 0},
      {.file = "nf_conntrack_stat.4.19", .key = "rx.conntrack.delete_list", .value = 0},
      {.file = "nf_conntrack_stat.4.19",
       .key = "rx.conntrack.clashres",
       .value = std::nullopt,
       .reason_part = "absent"}, // not added at all: checked below
  };
  for (const auto& c : cases) {
    Snapshot s;
    add_conntrack_counters(s, "rx", parse_nf_conntrack_stat(read_data(c.file), c.file), c.file);
    const Counter* k = s.find(c.key);
    if (std::string(c.reason_part) == "absent") {
      EXPECT_EQ(k, nullptr) << c.key;
      continue;
    }
    ASSERT_NE(k, nullptr) << c.file << " " << c.key;
    EXPECT_EQ(k->value, c.value) << c.file << " " << c.key;
  }
}

TEST(Conntrack, PerCpuRowsWrapAndSumOf) {
  Snapshot s;
  add_conntrack_counters(s, "rx", parse_nf_conntrack_stat(read_data("nf_conntrack_stat.4.19"), "f"),
                         "f");
  EXPECT_EQ(s.find("rx.conntrack.cpu0.drop")->wrap_bits, 32u);
  EXPECT_EQ(s.find("rx.conntrack.drop")->sum_of,
            (std::vector<std::string>{"rx.conntrack.cpu0.drop", "rx.conntrack.cpu1.drop",
                                      "rx.conntrack.cpu2.drop"}));
  EXPECT_EQ(s.find("rx.conntrack.entries")->kind, Kind::Gauge);
}

TEST(Conntrack, ExpectedColumnsMissingAreUnavailable) {
  ConntrackStat st{.names = {"entries", "found"}, .rows = {{1, 2}}};
  Snapshot s;
  add_conntrack_counters(s, "rx", st, "f");
  for (const char* k : {"rx.conntrack.drop", "rx.conntrack.early_drop",
                        "rx.conntrack.insert_failed", "rx.conntrack.invalid"}) {
    ASSERT_NE(s.find(k), nullptr) << k;
    EXPECT_FALSE(s.get(k)) << k;
    EXPECT_NE(s.find(k)->unavailable_reason.find("no column"), std::string::npos);
  }
}

TEST(Conntrack, MalformedFilesThrowWithLine) {
  const struct {
    const char* file;
    std::size_t line;
  } cases[] = {{.file = "nf_conntrack_stat.bad-columns", .line = 2},
               {.file = "nf_conntrack_stat.bad-hex", .line = 2}};
  for (const auto& c : cases) {
    try {
      parse_nf_conntrack_stat(read_data(c.file), c.file);
      ADD_FAILURE() << c.file << ": no exception";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), c.line) << e.what();
    }
  }
  EXPECT_THROW(parse_nf_conntrack_stat("", "empty"), ParseError);
}

TEST(Nft, ParsesCapturedJson) {
  NftTable t = parse_nft_json(read_data("nft.droplab-6.18.json"), "droplab", "f");
  EXPECT_EQ(t.family, "inet");
  ASSERT_EQ(t.rules.size(), 5u);
  const struct {
    std::size_t i;
    const char* chain;
    std::uint64_t handle;
    U64 packets;
    bool drops;
    const char* text;
  } cases[] = {
      {0, "input", 3, 4, false, "ct state new counter"},
      {1, "input", 4, 3, true, "udp dport 9 counter drop comment \"lab drop\""},
      {2, "input", 5, 6, false, "ip protocol icmp counter accept"},
      {3, "input", 6, std::nullopt, true, "tcp dport 22 drop"},
      {4, "out", 7, 5, false, "counter"},
  };
  for (const auto& c : cases) {
    const NftRule& r = t.rules[c.i];
    EXPECT_EQ(r.chain, c.chain) << c.i;
    EXPECT_EQ(r.handle, c.handle) << c.i;
    EXPECT_EQ(r.packets, c.packets) << c.i;
    EXPECT_EQ(r.drops, c.drops) << c.i;
    EXPECT_EQ(r.text, c.text) << c.i;
  }
  // Another table's objects are ignored.
  EXPECT_TRUE(parse_nft_json(read_data("nft.droplab-6.18.json"), "other", "f").rules.empty());
}

TEST(Nft, KeysAndDropSum) {
  NftTable t = parse_nft_json(read_data("nft.droplab-6.18.json"), "droplab", "f");
  Snapshot s;
  add_nft_counters(s, "rx", t, "src");
  EXPECT_EQ(s.get("rx.nft.droplab.input.4.packets"), U64(3));
  EXPECT_EQ(s.get("rx.nft.droplab.input.4.bytes"), U64(87));
  EXPECT_EQ(s.get("rx.nft.droplab.out.7.packets"), U64(5));
  EXPECT_NE(s.find("rx.nft.droplab.input.4.packets")
                ->source.find("rule input#4: udp dport 9 counter drop comment \"lab drop\""),
            std::string::npos);
  EXPECT_EQ(s.find("rx.nft.droplab.input.6.packets"), nullptr); // no counter
  // Rule #6 drops without a counter: the drop total cannot be complete.
  EXPECT_FALSE(s.get("rx.nft.droplab.drop_packets"));
  EXPECT_NE(s.find("rx.nft.droplab.drop_packets")->unavailable_reason.find("input#6"),
            std::string::npos);

  std::erase_if(t.rules, [](const NftRule& r) { return r.handle == 6; });
  t.policy_drop_chains = {"input"};
  Snapshot s2;
  add_nft_counters(s2, "rx", t, "src");
  const Counter* d = s2.find("rx.nft.droplab.drop_packets");
  ASSERT_TRUE(d && d->available());
  EXPECT_EQ(d->value, U64(3));
  EXPECT_EQ(d->sum_of, std::vector<std::string>{"rx.nft.droplab.input.4.packets"});
  EXPECT_NE(d->source.find("input#4: udp dport 9"), std::string::npos) << d->source;
  EXPECT_NE(d->source.find("chain input has policy drop"), std::string::npos) << d->source;
}

TEST(Nft, MalformedJsonThrows) {
  EXPECT_THROW(parse_nft_json("{", "t", "f"), ParseError);
  EXPECT_THROW(parse_nft_json("{\"x\":1}", "t", "f"), ParseError);
  try {
    parse_nft_json(R"({"nftables":[{"rule":{"table":"t","chain":"c"}}]})", "t", "f");
    ADD_FAILURE() << "no exception";
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("/nftables/0"), std::string::npos) << e.what();
  }
}

} // namespace

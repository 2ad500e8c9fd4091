#include "droplab/counters/parse_error.hpp"
#include "droplab/counters/snmp.hpp"

#include "test_data.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace droplab::counters;
using droplab::counters::test::read_data;

namespace {

std::map<std::string, SnmpField> by_name(const std::vector<SnmpField> &fields) {
  std::map<std::string, SnmpField> m;
  for (const auto &f : fields)
    m.emplace(f.proto + "." + f.name, f);
  return m;
}

struct FieldCase {
  const char *file;
  std::size_t field_count;
  const char *key;
  std::optional<std::uint64_t> value;
};

// Samples captured on 6.18: the netns ones after 50 datagrams to a socket with a 4 KiB
// SO_RCVBUF (44 dropped) and one to a port without a listener.
TEST(Snmp, ParsesCapturedFiles) {
  const FieldCase cases[] = {
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "Udp.RcvbufErrors", .value = 44},
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "Udp.InErrors", .value = 44},
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "Udp.NoPorts", .value = 1},
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "Udp.InDatagrams", .value = 0},
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "Ip.InReceives", .value = 53},
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "Ip.OutTransmits", .value = 53},
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "IcmpMsg.OutType3", .value = 1},
      {.file = "snmp.netns-6.18", .field_count = 84, .key = "UdpLite.MemErrors", .value = 0},
      {.file = "snmp.6.18", .field_count = 83, .key = "Ip.InReceives", .value = 508},
      {.file = "netstat.netns-6.18", .field_count = 229, .key = "IpExt.InCsumErrors", .value = 0},
      {.file = "netstat.netns-6.18",
       .field_count = 229,
       .key = "TcpExt.IPReversePathFilter",
       .value = 0},
      {.file = "netstat.6.18", .field_count = 229, .key = "TcpExt.TW", .value = 10},
      {.file = "netstat.6.18", .field_count = 229, .key = "MPTcpExt.MPCapableSYNRX", .value = 0},
  };
  for (const auto &c : cases) {
    auto fields = parse_snmp(read_data(c.file), c.file);
    EXPECT_EQ(fields.size(), c.field_count) << c.file;
    auto m = by_name(fields);
    ASSERT_TRUE(m.count(c.key)) << c.file << " " << c.key;
    EXPECT_EQ(m.at(c.key).value, c.value) << c.file << " " << c.key;
    EXPECT_EQ(m.at(c.key).unavailable_reason, "") << c.key;
  }
}

// Tcp MaxConn is -1 ("no limit"): a setting, stored as unavailable, not a crash or 2^64-1.
TEST(Snmp, NegativeValueIsUnavailable) {
  auto m = by_name(parse_snmp(read_data("snmp.netns-6.18"), "snmp"));
  EXPECT_FALSE(m.at("Tcp.MaxConn").value);
  EXPECT_NE(m.at("Tcp.MaxConn").unavailable_reason.find("negative value -1"), std::string::npos);
  EXPECT_EQ(m.at("Tcp.RtoMax").value, std::optional<std::uint64_t>(120000));
}

TEST(Snmp, LargeValuesFit64Bits) {
  auto m = by_name(parse_snmp("IpExt: InOctets\nIpExt: 18446744073709551615\n", "x"));
  EXPECT_EQ(m.at("IpExt.InOctets").value, std::optional<std::uint64_t>(18446744073709551615ull));
}

struct BadCase {
  const char *file;
  std::size_t line;
  const char *message_part;
};

TEST(Snmp, RejectsMalformedFilesNamingFileAndLine) {
  const BadCase cases[] = {
      {.file = "snmp.bad-count", .line = 4, .message_part = "4 values for 5 Udp fields"},
      {.file = "snmp.bad-unpaired",
       .line = 4,
       .message_part = "expected the Udp value line, found Tcp"},
      {.file = "snmp.bad-value", .line = 2, .message_part = "Udp.NoPorts: \"1x\""},
  };
  for (const auto &c : cases) {
    try {
      parse_snmp(read_data(c.file), c.file);
      ADD_FAILURE() << c.file << " parsed";
    } catch (const ParseError &e) {
      EXPECT_EQ(e.line(), c.line) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind(std::string(c.file) + ":", 0), 0u) << e.what();
    }
  }
  EXPECT_THROW(parse_snmp("Udp: InDatagrams\n", "x"), ParseError); // header, no values
  EXPECT_THROW(parse_snmp("no colon here\n", "x"), ParseError);
}

} // namespace

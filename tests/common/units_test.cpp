#include "droplab/addr.hpp"
#include "droplab/units.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace droplab;

namespace {

struct RateCase {
  std::string text;
  Rate::Kind kind;
  double value;
};

TEST(Units, ParsesRates) {
  const RateCase cases[] = {
      {.text = "20000", .kind = Rate::Kind::Pps, .value = 20000},
      {.text = "100pps", .kind = Rate::Kind::Pps, .value = 100},
      {.text = "50kpps", .kind = Rate::Kind::Pps, .value = 50000},
      {.text = "1.5Mpps", .kind = Rate::Kind::Pps, .value = 1.5e6},
      {.text = "10 kpps", .kind = Rate::Kind::Pps, .value = 10000},
      {.text = "1Gbit/s", .kind = Rate::Kind::BitsPerSecond, .value = 1e9},
      {.text = "512kbit/s", .kind = Rate::Kind::BitsPerSecond, .value = 512e3},
      {.text = "100Mbps", .kind = Rate::Kind::BitsPerSecond, .value = 100e6},
  };
  for (const auto& c : cases) {
    Rate r = parse_rate(c.text);
    EXPECT_EQ(r.kind, c.kind) << c.text;
    EXPECT_DOUBLE_EQ(r.value, c.value) << c.text;
  }
  EXPECT_TRUE(parse_rate("max").is_max());
}

TEST(Units, BitRateConvertsWithWireSize) {
  // 64-byte frames: 512 bits each, so 512 kbit/s is 1000 pps.
  EXPECT_DOUBLE_EQ(parse_rate("512kbit/s").pps(64), 1000.0);
  EXPECT_DOUBLE_EQ(parse_rate("7kpps").pps(1500), 7000.0);
}

TEST(Units, RejectsBadRates) {
  for (const char* bad : {"fast", "10 qpps", "-5kpps", "0", "0pps", "", "kpps", "1e400", "nan"}) {
    EXPECT_THROW(parse_rate(bad), UnitError) << bad;
  }
  try {
    parse_rate("10 qpps");
    FAIL();
  } catch (const UnitError& e) {
    EXPECT_NE(std::string(e.what()).find("\"10 qpps\" is not a rate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("kpps"), std::string::npos) << e.what();
  }
}

TEST(Units, ParsesSizesInBinaryUnits) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("4K"), 4096u);
  EXPECT_EQ(parse_size("4KiB"), 4096u);
  EXPECT_EQ(parse_size("2MiB"), 2u * 1024 * 1024);
  EXPECT_EQ(parse_size("1G"), 1024u * 1024 * 1024);
  EXPECT_EQ(parse_size("0.5K"), 512u);
  for (const char* bad : {"-1", "1.5", "4 kB", "big", "0.1K"}) {
    EXPECT_THROW(parse_size(bad), UnitError) << bad;
  }
}

TEST(Units, ParsesDurations) {
  EXPECT_EQ(parse_duration_ns("2s"), 2'000'000'000u);
  EXPECT_EQ(parse_duration_ns("1.5"), 1'500'000'000u);
  EXPECT_EQ(parse_duration_ns("100ms"), 100'000'000u);
  EXPECT_EQ(parse_duration_ns("250us"), 250'000u);
  EXPECT_EQ(parse_duration_ns("10ns"), 10u);
  EXPECT_EQ(parse_duration_ns("2m"), 120'000'000'000u);
  for (const char* bad : {"-1s", "soon", "5h", "1 fortnight"}) {
    EXPECT_THROW(parse_duration_ns(bad), UnitError) << bad;
  }
}

TEST(Units, ParsesCounts) {
  EXPECT_EQ(parse_count("0"), 0u);
  EXPECT_EQ(parse_count("1000000"), 1000000u);
  for (const char* bad : {"-3", "1.5", "1k", "", "x"}) {
    EXPECT_THROW(parse_count(bad), UnitError) << bad;
  }
}

TEST(Units, Formats) {
  EXPECT_EQ(format_pps(999), "999 pps");
  EXPECT_EQ(format_pps(12345), "12.35 kpps");
  EXPECT_EQ(format_pps(1.5e6), "1.500 Mpps");
  EXPECT_EQ(format_bytes(4096), "4.0 KiB");
  EXPECT_EQ(format_bytes(100), "100 B");
  EXPECT_EQ(format_count(std::uint64_t{0}), "0");
  EXPECT_EQ(format_count(std::uint64_t{999}), "999");
  EXPECT_EQ(format_count(std::uint64_t{1000}), "1,000");
  EXPECT_EQ(format_count(std::uint64_t{1234567}), "1,234,567");
  EXPECT_EQ(format_count(std::int64_t{-20000}), "-20,000");
}

TEST(Addr, ParsesEndpointsAndKnowsTheBenchmarkRange) {
  Endpoint ep = parse_endpoint("198.18.0.2:9000");
  EXPECT_EQ(ep.port, 9000);
  EXPECT_EQ(ep.to_string(), "198.18.0.2:9000");
  EXPECT_TRUE(in_benchmark_range(ep.addr));
  EXPECT_TRUE(in_benchmark_range(parse_ipv4("198.19.255.255")));
  EXPECT_FALSE(in_benchmark_range(parse_ipv4("198.20.0.1")));
  EXPECT_FALSE(in_benchmark_range(parse_ipv4("198.17.255.255")));
  EXPECT_FALSE(in_benchmark_range(parse_ipv4("10.0.0.1")));
  for (const char* bad : {"198.18.0.2", "198.18.0.2:0", "198.18.0.2:65536", "host:80", ":80"}) {
    EXPECT_THROW(parse_endpoint(bad), UnitError) << bad;
  }
}

} // namespace

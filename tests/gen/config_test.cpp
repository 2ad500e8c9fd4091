#include "gen/config.hpp"

#include "droplab/cli.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using droplab::UsageError;
using droplab::gen::Config;
using droplab::gen::Flags;
using droplab::gen::make_config;

namespace {

constexpr std::uint64_t kSec = 1'000'000'000ULL;

Flags good() {
  Flags f;
  f.dst = "198.18.0.2:9000";
  f.rate = "50kpps";
  return f;
}

// The message of the UsageError make_config throws, or "" if it accepts.
std::string usage_error(const Flags& f) {
  try {
    make_config(f);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

struct BadCase {
  const char* name;
  const char* flag;
  std::string value;
  std::vector<std::string> expect; // substrings of the message
};

Flags with(const char* flag, const std::string& value) {
  Flags f = good();
  const std::string name = flag;
  if (name == "--dst") f.dst = value;
  if (name == "--rate") f.rate = value;
  if (name == "--duration") f.duration = value;
  if (name == "--count") f.count = value;
  if (name == "--size") f.size = value;
  if (name == "--flows") f.flows = value;
  if (name == "--batch") f.batch = value;
  if (name == "--src-port") f.src_port = value;
  if (name == "--backend") f.backend = value;
  if (name == "--imix") f.imix = value;
  if (name == "--pattern") f.pattern = value;
  if (name == "--burst") f.burst = value;
  if (name == "--threads") f.threads = value;
  if (name == "--cpus") f.cpus = value;
  if (name == "--dst-mac") f.dst_mac = value;
  if (name == "--dst-range") f.dst_range = value;
  if (name == "--gso") f.gso = value;
  return f;
}

TEST(GenConfig, BadValuesNameTheFlagValueAndRange) {
  const BadCase cases[] = {
      {.name = "size too small",
       .flag = "--size",
       .value = "20",
       .expect = {"--size 20: must be 64..9000 bytes on the wire"}},
      {.name = "size too big",
       .flag = "--size",
       .value = "9001",
       .expect = {"--size 9001", "64..9000"}},
      {.name = "size not a number",
       .flag = "--size",
       .value = "big",
       .expect = {"--size", "\"big\""}},
      {.name = "rate word",
       .flag = "--rate",
       .value = "fast",
       .expect = {"--rate", "\"fast\" is not a rate", "kpps"}},
      {.name = "rate negative",
       .flag = "--rate",
       .value = "-5kpps",
       .expect = {"--rate", "-5kpps", "greater than 0"}},
      {.name = "rate zero", .flag = "--rate", .value = "0", .expect = {"--rate", "greater than 0"}},
      {.name = "dst outside range",
       .flag = "--dst",
       .value = "10.0.0.1:9000",
       .expect = {"--dst 10.0.0.1:9000", "198.18.0.0/15"}},
      {.name = "dst just above range",
       .flag = "--dst",
       .value = "198.20.0.1:9000",
       .expect = {"--dst 198.20.0.1:9000", "198.18.0.0/15"}},
      {.name = "dst no port",
       .flag = "--dst",
       .value = "198.18.0.2",
       .expect = {"--dst", "ADDR:PORT"}},
      {.name = "backend unknown",
       .flag = "--backend",
       .value = "xdp",
       .expect = {"--backend xdp", "auto, af_packet, io_uring or sendmmsg"}},
      {.name = "gso zero",
       .flag = "--gso",
       .value = "0",
       .expect = {"--gso 0:", "auto or a segment count 1..64"}},
      {.name = "gso too many", .flag = "--gso", .value = "65", .expect = {"--gso 65:", "1..64"}},
      {.name = "gso word", .flag = "--gso", .value = "on", .expect = {"--gso on:", "1..64"}},
      {.name = "gso negative", .flag = "--gso", .value = "-4", .expect = {"--gso -4:", "1..64"}},
      {.name = "gso with unit", .flag = "--gso", .value = "8k", .expect = {"--gso 8k:", "1..64"}},
      {.name = "imix weight missing",
       .flag = "--imix",
       .value = "64:7,570",
       .expect = {"--imix", "\"570\" is not SIZE:WEIGHT"}},
      {.name = "imix weight word",
       .flag = "--imix",
       .value = "64:x",
       .expect = {"--imix", "\"64:x\" is not SIZE:WEIGHT"}},
      {.name = "imix size too small",
       .flag = "--imix",
       .value = "20:1",
       .expect = {"--imix", "size 20 must be 64..9000"}},
      {.name = "imix zero weight",
       .flag = "--imix",
       .value = "64:0",
       .expect = {"--imix", "weight of 64 must be at least 1"}},
      {.name = "pattern unknown",
       .flag = "--pattern",
       .value = "square",
       .expect = {"--pattern", "\"square\" is not a pattern", "onoff:ON/OFF"}},
      {.name = "pattern onoff bad duration",
       .flag = "--pattern",
       .value = "onoff:1ms/xx",
       .expect = {"--pattern", "xx"}},
      {.name = "burst zero",
       .flag = "--burst",
       .value = "0",
       .expect = {"--burst 0", "1..1000000"}},
      {.name = "threads above flows",
       .flag = "--threads",
       .value = "2",
       .expect = {"--threads 2", "--flows is 1"}},
      {.name = "cpus out of range",
       .flag = "--cpus",
       .value = "0,999",
       .expect = {"--cpus 0,999", "\"999\""}},
      {.name = "dst mac",
       .flag = "--dst-mac",
       .value = "02:00",
       .expect = {"--dst-mac 02:00", "MAC"}},
      {.name = "dst range outside",
       .flag = "--dst-range",
       .value = "198.18.0.2-198.20.0.1",
       .expect = {"--dst-range", "198.18.0.0/15"}},
      {.name = "flows zero", .flag = "--flows", .value = "0", .expect = {"--flows 0", "1..65535"}},
      {.name = "flows too many", .flag = "--flows", .value = "65536", .expect = {"--flows 65536"}},
      {.name = "flows negative", .flag = "--flows", .value = "-1", .expect = {"--flows", "\"-1\""}},
      {.name = "batch zero", .flag = "--batch", .value = "0", .expect = {"--batch 0", "1..1024"}},
      {.name = "batch too big",
       .flag = "--batch",
       .value = "1025",
       .expect = {"--batch 1025", "1..1024"}},
      {.name = "duration zero",
       .flag = "--duration",
       .value = "0",
       .expect = {"--duration 0", "greater than 0"}},
      {.name = "duration negative",
       .flag = "--duration",
       .value = "-1s",
       .expect = {"--duration", "negative"}},
      {.name = "duration unit",
       .flag = "--duration",
       .value = "3 weeks",
       .expect = {"--duration", "\"3 weeks\""}},
      {.name = "count zero",
       .flag = "--count",
       .value = "0",
       .expect = {"--count 0", "at least 1"}},
      {.name = "count fraction",
       .flag = "--count",
       .value = "1.5",
       .expect = {"--count", "\"1.5\""}},
      {.name = "src-port zero", .flag = "--src-port", .value = "0", .expect = {"--src-port 0"}},
  };
  for (const auto& c : cases) {
    std::string msg = usage_error(with(c.flag, c.value));
    ASSERT_FALSE(msg.empty()) << c.name << ": accepted " << c.flag << " " << c.value;
    for (const auto& e : c.expect)
      EXPECT_NE(msg.find(e), std::string::npos) << c.name << ": " << msg;
  }
}

TEST(GenConfig, SrcPortMustLeaveRoomForEveryFlow) {
  Flags f = good();
  f.flows = "10";
  f.src_port = "65526"; // flows use 65526..65535
  EXPECT_EQ(make_config(f).src_port, 65526);
  f.src_port = "65527";
  EXPECT_NE(usage_error(f).find("--src-port 65527: must be 1..65526"), std::string::npos);
}

TEST(GenConfig, DefaultsAndParsedValues) {
  Flags f = good();
  f.rate = "1Mbit/s";
  f.size = "1500";
  Config c = make_config(f);
  EXPECT_EQ(c.dst.to_string(), "198.18.0.2:9000");
  EXPECT_EQ(c.size, 1500u);
  EXPECT_EQ(c.flows, 1u);
  EXPECT_EQ(c.batch, 32u);
  EXPECT_FALSE(c.src_port);
  EXPECT_EQ(c.backend, droplab::gen::BackendKind::Auto);
  EXPECT_DOUBLE_EQ(c.requested_pps(), 1e6 / (8.0 * 1500));
  EXPECT_EQ(c.time_limit_ns, 10 * kSec); // neither --duration nor --count
  f.backend = "sendmmsg";
  EXPECT_EQ(make_config(f).backend, droplab::gen::BackendKind::Sendmmsg);
}

TEST(GenConfig, EveryRunIsBoundedInTime) {
  using droplab::gen::time_limit_ns;
  EXPECT_EQ(time_limit_ns(std::nullopt, std::nullopt, 1000), 10 * kSec);
  EXPECT_EQ(time_limit_ns(3 * kSec, std::nullopt, 1000), 3 * kSec);
  EXPECT_EQ(time_limit_ns(3 * kSec, 1'000'000, 1000), 3 * kSec); // --duration wins
  EXPECT_EQ(time_limit_ns(std::nullopt, 5000, 20000), 10 * kSec + kSec / 4);
  EXPECT_EQ(time_limit_ns(std::nullopt, 5000, 0), 60 * kSec); // --rate max
  EXPECT_THROW(time_limit_ns(std::nullopt, UINT64_MAX, 1), UsageError);
}

// Through CLI11 and guarded_main, as main() does: every bad input exits 2.
int run_main(std::vector<std::string> args) {
  CLI::App app{"droplab-gen", "droplab-gen"};
  Flags f;
  droplab::gen::add_flags(app, f);
  std::vector<char*> argv;
  args.insert(args.begin(), "droplab-gen");
  for (auto& a : args)
    argv.push_back(a.data());
  if (int rc = droplab::parse_cli(app, static_cast<int>(argv.size()), argv.data()); rc >= 0)
    return rc;
  return droplab::guarded_main("droplab-gen", [&] {
    make_config(f);
    return 0;
  });
}

TEST(GenConfig, CommandLineExitCodes) {
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--rate", "1kpps"}), 0);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--rate", "1kpps", "--bogus"}), 2);
  EXPECT_EQ(run_main({"--rate", "1kpps"}), 2); // --dst is required
  EXPECT_EQ(run_main({"--dst", "10.0.0.1:9000", "--rate", "1kpps"}), 2);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--rate", "fast"}), 2);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--rate=-5kpps"}), 2);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--rate", "1kpps", "--size", "20"}), 2);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--rate", "1kpps", "--backend", "xdp"}), 2);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--backend", "io_uring"}), 0); // no --rate: max
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--imix", "64:7,570"}), 2);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--gso", "65"}), 2);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--gso", "auto"}), 0);
  EXPECT_EQ(run_main({"--dst", "198.18.0.2:9000", "--gso", "64"}), 0);
}

} // namespace

// Flag validation: bad input is a UsageError (exit 2) naming the flag,
// the value and the allowed range.
#include "droplab/cli.hpp"
#include "droplab/sink/options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace droplab::sink;

namespace {

// Parses argv as droplab-sink would; returns parse_cli's code (-1 = go on).
int parse(std::vector<std::string> args, Options& o) {
  CLI::App app{"droplab-sink", "droplab-sink"};
  add_options(app, o);
  args.insert(args.begin(), "droplab-sink");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return droplab::parse_cli(app, static_cast<int>(argv.size()), argv.data());
}

Config config_of(std::vector<std::string> args) {
  Options o;
  EXPECT_EQ(parse(std::move(args), o), -1);
  return to_config(o);
}

TEST(Options, Defaults) {
  Config c = config_of({"--listen", "198.18.0.1:9000"});
  EXPECT_EQ(c.listen.to_string(), "198.18.0.1:9000");
  EXPECT_FALSE(c.rcvbuf);
  EXPECT_FALSE(c.read_rate_pps);
  EXPECT_FALSE(c.stall);
  EXPECT_FALSE(c.duration_ns);
  EXPECT_EQ(c.batch, 64u);
  EXPECT_EQ(c.backend, BackendChoice::Auto);
  EXPECT_FALSE(c.quiet);
}

TEST(Options, ParsesEveryFlag) {
  Config c = config_of({"--listen", "198.18.0.1:9000", "--rcvbuf", "64KiB", "--read-rate", "50kpps",
                        "--stall", "200ms/1s", "--batch", "1024", "--duration", "2s", "--backend",
                        "recvmmsg", "--ready-file", "/tmp/r", "--json", "/tmp/j", "--quiet"});
  EXPECT_EQ(c.rcvbuf, 65536u);
  EXPECT_EQ(c.read_rate_pps, 50000.0);
  ASSERT_TRUE(c.stall);
  EXPECT_EQ(c.stall->dur_ns, 200'000'000u);
  EXPECT_EQ(c.stall->every_ns, 1'000'000'000u);
  EXPECT_EQ(c.batch, 1024u);
  EXPECT_EQ(c.duration_ns, 2'000'000'000u);
  EXPECT_EQ(c.backend, BackendChoice::Recvmmsg);
  EXPECT_EQ(c.ready_file, "/tmp/r");
  EXPECT_EQ(c.json_file, "/tmp/j");
  EXPECT_TRUE(c.quiet);
  EXPECT_FALSE(config_of({"--listen", "198.18.0.1:1", "--read-rate", "max"}).read_rate_pps);
  EXPECT_FALSE(c.gro);
  EXPECT_TRUE(config_of({"--listen", "198.18.0.1:1", "--gro"}).gro);
  EXPECT_TRUE(config_of({"--listen", "198.18.0.1:1", "--gro", "--backend", "recv"}).gro);
}

TEST(Options, ParsesTheApplicationFlags) {
  Config c = config_of({"--listen", "198.18.0.1:9000", "--backend", "io_uring", "--threads", "2",
                        "--cpus", "0", "--work", "1500", "--hang-after", "2s", "--rcvbuf-force",
                        "8M", "--json-stream"});
  EXPECT_EQ(c.backend, BackendChoice::IoUring);
  EXPECT_EQ(c.threads, 2u);
  EXPECT_EQ(c.cpus, std::vector<unsigned>{0});
  EXPECT_EQ(c.work_ns, 1500u); // a bare number is ns
  EXPECT_EQ(c.hang_after_ns, 2'000'000'000u);
  EXPECT_EQ(c.rcvbuf, 8u << 20);
  EXPECT_TRUE(c.rcvbuf_force);
  EXPECT_TRUE(c.json_stream);
  EXPECT_EQ(config_of({"--listen", "198.18.0.1:1", "--work", "2us"}).work_ns, 2000u);
  EXPECT_EQ(config_of({"--listen", "198.18.0.1:1", "--backend", "recv"}).backend,
            BackendChoice::Recv);
  EXPECT_EQ(config_of({"--listen", "198.18.0.1:1", "--backend", "asio"}).backend,
            BackendChoice::Asio);
  Config d = config_of({"--listen", "198.18.0.1:1"});
  EXPECT_EQ(d.threads, 1u);
  EXPECT_TRUE(d.cpus.empty());
  EXPECT_EQ(d.work_ns, 0u);
  EXPECT_FALSE(d.hang_after_ns);
  EXPECT_FALSE(d.rcvbuf_force);
}

TEST(Options, CpuListsExpandRanges) {
  EXPECT_EQ(parse_cpu_list("0", 2), std::vector<unsigned>{0});
  EXPECT_EQ(parse_cpu_list("1,0", 2), (std::vector<unsigned>{1, 0}));
  EXPECT_EQ(parse_cpu_list("0-3,6", 8), (std::vector<unsigned>{0, 1, 2, 3, 6}));
  EXPECT_THROW(parse_cpu_list("2", 2), droplab::UsageError);
  EXPECT_THROW(parse_cpu_list("", 2), droplab::UsageError);
  EXPECT_THROW(parse_cpu_list("0,", 2), droplab::UsageError);
}

struct BadCase {
  std::vector<std::string> args;
  std::string message; // must appear in the error
};

TEST(Options, BadValuesNameFlagValueAndRange) {
  const BadCase cases[] = {
      {.args = {"--stall", "2s/1s"}, .message = "--stall 2s/1s: DUR must be shorter than EVERY"},
      {.args = {"--stall", "1s/1s"}, .message = "--stall 1s/1s: DUR must be shorter than EVERY"},
      {.args = {"--stall", "200ms"}, .message = "--stall 200ms: expected DUR/EVERY"},
      {.args = {"--stall", "x/1s"}, .message = "--stall x/1s: \"x\" is not a duration"},
      {.args = {"--stall", "0s/1s"}, .message = "--stall 0s/1s: DUR must be greater than 0"},
      {.args = {"--batch", "0"}, .message = "--batch 0: must be 1..1024"},
      {.args = {"--batch", "1025"}, .message = "--batch 1025: must be 1..1024"},
      {.args = {"--batch", "ten"}, .message = "--batch ten: \"ten\" is not a count"},
      {.args = {"--rcvbuf", "12Q"}, .message = "--rcvbuf 12Q: \"12Q\" is not a size"},
      {.args = {"--rcvbuf", "0"}, .message = "--rcvbuf 0: must be 1 B.."},
      {.args = {"--rcvbuf", "4GiB"}, .message = "--rcvbuf 4GiB: must be 1 B.."},
      {.args = {"--read-rate", "1Mbit/s"}, .message = "--read-rate 1Mbit/s: give a datagram rate"},
      {.args = {"--read-rate", "0"}, .message = "--read-rate 0:"},
      {.args = {"--duration", "0"}, .message = "--duration 0: must be greater than 0"},
      {.args = {"--backend", "xdp"},
       .message = "--backend xdp: must be one of: recvmmsg, recv, "
                  "asio, io_uring, auto"},
      {.args = {"--threads", "0"}, .message = "--threads 0: must be 1..64"},
      {.args = {"--threads", "65"}, .message = "--threads 65: must be 1..64"},
      {.args = {"--cpus", "9999"}, .message = "--cpus 9999: CPU 9999 is not online (CPUs 0.."},
      {.args = {"--cpus", "0,x"}, .message = "--cpus 0,x: not a CPU list (CPUs 0.."},
      {.args = {"--work", "20ms"}, .message = "--work 20ms: must be 0..10000000 ns"},
      {.args = {"--work", "10000001"}, .message = "--work 10000001: must be 0..10000000 ns"},
      {.args = {"--hang-after", "0s"}, .message = "--hang-after 0s: must be greater than 0"},
      {.args = {"--hang-after", "soon"},
       .message = "--hang-after soon: \"soon\" is not a duration"},
      {.args = {"--rcvbuf-force", "0"}, .message = "--rcvbuf-force 0: must be 1 B.."},
      {.args = {"--gro", "--backend", "asio"},
       .message = "--gro --backend asio: UDP GRO needs --backend recvmmsg, recv or auto"},
      {.args = {"--gro", "--backend", "io_uring"},
       .message = "--gro --backend io_uring: UDP GRO needs"},
      {.args = {"--rcvbuf", "1M", "--rcvbuf-force", "1M"},
       .message = "--rcvbuf-force 1M: give either --rcvbuf or --rcvbuf-force, not both"},
  };
  for (const BadCase& c : cases) {
    std::vector<std::string> args = {"--listen", "198.18.0.1:9000"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Options o;
    ASSERT_EQ(parse(args, o), -1) << c.message;
    try {
      to_config(o);
      ADD_FAILURE() << "accepted: " << c.message;
    } catch (const droplab::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
          << "got: " << e.what() << "\nwant: " << c.message;
    }
  }
}

TEST(Options, BadListenAddressIsAUsageError) {
  Options o;
  ASSERT_EQ(parse({"--listen", "nowhere"}, o), -1);
  EXPECT_THROW(to_config(o), droplab::UsageError);
}

TEST(Options, UnknownFlagAndMissingListenExit2) {
  Options o;
  EXPECT_EQ(parse({"--listen", "198.18.0.1:9000", "--bogus", "1"}, o), droplab::kExitUsage);
  Options o2;
  EXPECT_EQ(parse({}, o2), droplab::kExitUsage);
}

} // namespace

// Each constraint has its predicted effect, checked with numbers, end to end
// in a namespace: --read-rate, --rcvbuf-force, --work, --hang-after; plus
// --json-stream's line format and bad input exiting 2.
#include "sink_lab.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef DROPLAB_SINK_BIN
#error "DROPLAB_SINK_BIN must name the droplab-sink binary"
#endif

using nlohmann::json;
using namespace sinktest;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Sends single datagrams of flow `flow` until one is queued rather than
// dropped (the socket's drop count does not move), at most 200 tries 2 ms
// apart. Returns how many were sent.
std::size_t send_until_queued(const std::string& ns, pid_t pid, std::uint64_t inode,
                              std::uint16_t flow) {
  for (std::uint32_t k = 0; k < 200; ++k) {
    auto before = proc_udp_drops(pid, inode);
    send_in_netns(ns, kLabAddr, kLabPort, {{.flow = flow, .seq = k}});
    if (proc_udp_drops(pid, inode) == before) return k + 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 200;
}

class Constraints : public SinkLab {};

TEST_F(Constraints, ReadRateAgainstAFasterSenderDropsTheRestInTheSocket) {
  // The example: 10 000 reads/s, a 50 kpps sender for 2 s, a small buffer.
  auto sink =
      start_sink({"--read-rate", "10000", "--rcvbuf", "4096", "--duration", "5s", "--quiet"});
  ASSERT_TRUE(sink->running());
  const auto inode = ready().at("socket_inode").get<std::uint64_t>();
  const std::size_t count = 100'000;
  const auto t0 = Clock::now();
  ASSERT_EQ(send_paced_in_netns(ns_->name(), kLabAddr, kLabPort, 50'000, count), count);
  const double send_s = seconds_since(t0);
  // One datagram queued after the last drop carries the final count in its
  // SO_RXQ_OVFL cmsg (the kernel stamps the count at enqueue time).
  const std::size_t markers = send_until_queued(ns_->name(), sink->pid(), inode, 1);
  const auto proc_drops = proc_udp_drops(sink->pid(), inode);
  ASSERT_TRUE(proc_drops);

  json r = wait_and_report(*sink);
  const json& s = r.at("summary");
  ASSERT_EQ(r.at("flows").size(), 2u);
  const auto read = r.at("flows")[0].at("received").get<double>();
  const double expected = 10'000 * send_s; // reads while the sender ran
  EXPECT_NEAR(read, expected, 0.05 * expected) << "send took " << send_s << " s";
  const auto drops = s.at("socket_drops_meminfo").get<std::uint64_t>();
  EXPECT_EQ(s.at("received").get<std::uint64_t>() + drops, count + markers);
  EXPECT_EQ(s.at("socket_drops_rxq_ovfl"), *proc_drops);
  EXPECT_EQ(drops, *proc_drops);
  EXPECT_EQ(s.at("stopped_by"), "duration");
}

TEST_F(Constraints, RcvbufForceGoesBeyondRmemMax) {
  const std::uint64_t rmem_max = std::stoull(read_text("/proc/sys/net/core/rmem_max"));
  const std::uint64_t want = 2 * rmem_max;
  if (want > (1ULL << 30)) GTEST_SKIP() << "rmem_max too large to test past it: " << rmem_max;
  {
    auto sink = start_sink({"--rcvbuf", std::to_string(want), "--duration", "100ms"});
    json r = wait_and_report(*sink);
    EXPECT_EQ(r.at("context").at("rcvbuf_granted"), 2 * rmem_max); // capped, then doubled
  }
  auto sink = start_sink({"--rcvbuf-force", std::to_string(want), "--duration", "100ms"});
  json r = wait_and_report(*sink);
  if (r.empty() && read_text(files_.out()).find("EPERM") != std::string::npos) {
    GTEST_SKIP() << "SO_RCVBUFFORCE needs CAP_NET_ADMIN";
  }
  EXPECT_EQ(r.at("context").at("rcvbuf_granted"), 2 * want); // not capped
  EXPECT_EQ(r.at("context").at("rcvbuf_force"), true);
  EXPECT_EQ(ready().at("rcvbuf_granted"), 2 * want);
}

TEST_F(Constraints, WorkPerDatagramCapsTheReadRate) {
  // 200 us of CPU per datagram: at most 5 000 reads/s against 20 kpps.
  auto sink = start_sink({"--work", "200us", "--rcvbuf", "4096", "--quiet"});
  ASSERT_TRUE(sink->running());
  const std::size_t count = 40'000;
  const auto t0 = Clock::now();
  ASSERT_EQ(send_paced_in_netns(ns_->name(), kLabAddr, kLabPort, 20'000, count), count);
  const double send_s = seconds_since(t0);
  json r = stop_and_report(*sink);
  const json& s = r.at("summary");
  const auto read = s.at("received").get<double>();
  const double ceiling = send_s / 200e-6; // reads possible while the sender ran
  // The queue (8 KiB) adds a few dozen at most; the loop's own cost and other
  // jobs on a busy machine only lower it (the burn is wall-clock time), so
  // the lower bound is loose: it only proves the reader was not stuck.
  EXPECT_LE(read, ceiling * 1.02 + 64) << "send took " << send_s << " s";
  EXPECT_GE(read, ceiling * 0.50) << "send took " << send_s << " s";
  EXPECT_EQ(s.at("received").get<std::uint64_t>() +
                s.at("socket_drops_meminfo").get<std::uint64_t>(),
            count);
  EXPECT_EQ(r.at("context").at("work_ns"), 200'000);
}

TEST_F(Constraints, HangAfterPutsEveryLaterDatagramInTheSocket) {
  auto sink = start_sink({"--hang-after", "1s", "--rcvbuf", "4096"});
  ASSERT_TRUE(sink->running());
  const auto inode = ready().at("socket_inode").get<std::uint64_t>();
  // Slowly (2 kpps), so the reader keeps up even on a busy machine; a drop
  // here is still counted, and the checks below allow for it exactly.
  ASSERT_EQ(send_paced_in_netns(ns_->name(), kLabAddr, kLabPort, 2'000, 100, 1, 0), 100u);
  // Wait (bounded) for the sink to say it hung.
  const auto t0 = Clock::now();
  while (read_text(files_.out()).find("HUNG reader=0") == std::string::npos) {
    ASSERT_LT(seconds_since(t0), 10.0) << read_text(files_.out());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto early_drops = proc_udp_drops(sink->pid(), inode);
  ASSERT_TRUE(early_drops);
  const std::size_t later = 2000;
  ASSERT_EQ(send_paced_in_netns(ns_->name(), kLabAddr, kLabPort, 50'000, later, 1, 1), later);
  const auto all_drops = proc_udp_drops(sink->pid(), inode);
  ASSERT_TRUE(all_drops);
  const auto drops = std::optional<std::uint64_t>(*all_drops - *early_drops); // the later ones'

  json r = stop_and_report(*sink);
  const json& s = r.at("summary");
  // Exactly what came before the hang and was not dropped then.
  EXPECT_EQ(s.at("received").get<std::uint64_t>(), 100 - *early_drops) << *early_drops << " dropped early";
  ASSERT_EQ(r.at("flows").size(), 1u);
  EXPECT_EQ(r.at("flows")[0].at("flow"), 0);
  EXPECT_EQ(s.at("hung"), true);
  EXPECT_NEAR(s.at("hung_at_s").get<double>(), 1.0, 0.1);
  EXPECT_EQ(s.at("drained_at_stop"), 0); // a hung application does not drain
  // Every later datagram is in the socket stage: dropped, or still queued
  // in the 8 KiB buffer (a few at ~1 KiB of truesize each).
  EXPECT_EQ(s.at("socket_drops_meminfo"), *all_drops);
  EXPECT_LT(*drops, later);
  EXPECT_GE(*drops, later - 32);
}

TEST_F(Constraints, JsonStreamPrintsOneObjectPerLine) {
  auto sink = start_sink({"--json-stream", "--duration", "2500ms"});
  ASSERT_TRUE(sink->running());
  ASSERT_EQ(send_paced_in_netns(ns_->name(), kLabAddr, kLabPort, 10'000, 1000, 2), 1000u);
  json r = wait_and_report(*sink);
  std::istringstream out(read_text(files_.out()));
  std::vector<json> events;
  for (std::string line; std::getline(out, line);) {
    ASSERT_TRUE(json::accept(line)) << "not one JSON object: " << line;
    events.push_back(json::parse(line));
  }
  ASSERT_GE(events.size(), 4u); // start, 2 intervals, end
  EXPECT_EQ(events.front().at("event"), "start");
  EXPECT_EQ(events.front().at("context").at("socket_inode"), ready().at("socket_inode"));
  EXPECT_EQ(events.back().at("event"), "end");
  EXPECT_EQ(events.back().at("summary").at("received"), 1000);
  EXPECT_EQ(events.back().at("summary"), r.at("summary"));
  std::size_t intervals = 0;
  for (const json& e : events) {
    if (e.at("event") != "interval") continue;
    ++intervals;
    EXPECT_TRUE(e.contains("received_total"));
  }
  EXPECT_EQ(intervals, r.at("intervals").size());
  EXPECT_EQ(intervals, 2u);
}

// No root needed: bad values exit 2 and the message names the flag, the value
// and the allowed range.
TEST(SinkBinaryNewFlags, BadValuesExit2NamingFlagAndRange) {
  struct Case {
    std::vector<std::string> args;
    std::string expect; // in the error message
  };
  const std::vector<Case> cases = {
      {{"--backend", "dpdk"}, "--backend dpdk: must be one of: recvmmsg, recv, asio, io_uring"},
      {{"--threads", "0"}, "--threads 0: must be 1..64"},
      {{"--threads", "65"}, "--threads 65: must be 1..64"},
      {{"--cpus", "4096"}, "--cpus 4096: CPU 4096 is not online (CPUs 0.."},
      {{"--cpus", "1-0"}, "--cpus 1-0: a range must go up"},
      {{"--work", "11ms"}, "--work 11ms: must be 0..10000000 ns"},
      {{"--work", "fast"}, "--work fast:"},
      {{"--hang-after", "0"}, "--hang-after 0: must be greater than 0"},
      {{"--rcvbuf-force", "4G"}, "--rcvbuf-force 4G: must be 1 B.."},
      {{"--rcvbuf", "1M", "--rcvbuf-force", "2M"}, "--rcvbuf-force 2M: give either"},
  };
  LabFiles files;
  for (const Case& c : cases) {
    std::vector<std::string> argv = {DROPLAB_SINK_BIN, "--listen", "198.18.0.1:9000"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ChildProcess p(argv, files.out());
    EXPECT_EQ(p.wait(10'000), 2) << c.args[0];
    EXPECT_NE(read_text(files.out()).find(c.expect), std::string::npos) << read_text(files.out());
  }
}

} // namespace

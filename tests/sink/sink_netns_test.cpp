// End-to-end: the real droplab-sink in a namespace of its own, fed crafted
// datagrams, its JSON report checked number by number. Needs root (CI is
// root); skips visibly otherwise.
#include "sink_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#ifndef DROPLAB_SINK_BIN
#error "DROPLAB_SINK_BIN must name the droplab-sink binary"
#endif

using nlohmann::json;
using namespace sinktest;

namespace {

constexpr const char* kAddr = "198.18.0.1"; // RFC 2544 benchmarking range
constexpr std::uint16_t kPort = 9000;

std::string unique_ns() {
  static std::atomic<int> n{0};
  return "dlst" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

// Files for one test, removed afterwards.
struct TempFiles {
  std::string dir;
  TempFiles() {
    char tmpl[] = "/tmp/dlst-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~TempFiles() {
    for (const char* f : {"/ready.json", "/report.json", "/out.txt"})
      std::remove((dir + f).c_str());
    ::rmdir(dir.c_str());
  }
  std::string ready() const { return dir + "/ready.json"; }
  std::string report() const { return dir + "/report.json"; }
  std::string out() const { return dir + "/out.txt"; }
};

class SinkNetns : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN for ip netns, CAP_NET_ADMIN)";
    std::string why;
    ns_ = NetnsGuard::create(unique_ns(), kAddr, why);
    if (!ns_) GTEST_SKIP() << why;
  }

  // Starts the sink in the namespace and waits for its ready file.
  std::unique_ptr<ChildProcess> start_sink(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"ip",
                                     "netns",
                                     "exec",
                                     ns_->name(),
                                     DROPLAB_SINK_BIN,
                                     "--listen",
                                     std::string(kAddr) + ":" + std::to_string(kPort),
                                     "--ready-file",
                                     files_.ready(),
                                     "--json",
                                     files_.report()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<ChildProcess>(argv, files_.out());
    EXPECT_TRUE(wait_for_ready_file(files_.ready(), *p, 10'000)) << "sink not ready; its output:\n"
                                                                 << read_text(files_.out());
    return p;
  }

  json stop_and_report(ChildProcess& sink) {
    sink.signal(SIGTERM);
    std::optional<int> rc = sink.wait(10'000);
    EXPECT_EQ(rc, 0) << read_text(files_.out());
    std::ifstream in(files_.report());
    return json::parse(in);
  }

  std::optional<NetnsGuard> ns_;
  TempFiles files_;
};

TEST_F(SinkNetns, CountsLossDuplicatesAndReorderingExactly) {
  auto sink = start_sink({"--rcvbuf", "4M"}); // room for everything: no socket drops
  ASSERT_TRUE(sink->running());

  json ready = json::parse(read_text(files_.ready()));
  EXPECT_EQ(ready.at("pid").get<pid_t>(), sink->pid()); // ip netns exec execs the sink
  EXPECT_EQ(ready.at("listen"), "198.18.0.1:9000");
  EXPECT_GT(ready.at("rcvbuf_granted").get<std::uint64_t>(), 0u);
  // The inode is the one /proc/net/udp shows, seen from the sink's namespace.
  const std::string inode = std::to_string(ready.at("socket_inode").get<std::uint64_t>());
  std::string udp = read_text("/proc/" + std::to_string(sink->pid()) + "/net/udp");
  EXPECT_NE(udp.find(" " + inode + " "), std::string::npos) << udp;

  // Flow 0: 0..999 without 10 gaps, 300 twice, 501 before 500.
  const std::set<std::uint32_t> gaps = {50, 150, 250, 350, 450, 550, 650, 750, 850, 950};
  std::vector<Datagram> d;
  for (std::uint32_t s = 0; s < 1000; ++s) {
    if (gaps.count(s)) continue;
    if (s == 500) continue;
    d.push_back({.flow = 0, .seq = s});
    if (s == 501) d.push_back({.flow = 0, .seq = 500});
    if (s == 300) d.push_back({.flow = 0, .seq = 300});
  }
  for (std::uint32_t s = 0; s < 100; ++s)
    d.push_back({.flow = 3, .seq = s});
  for (int i = 0; i < 5; ++i)
    d.push_back({.valid = false});
  ASSERT_EQ(send_in_netns(ns_->name(), kAddr, kPort, d), d.size());

  json r = stop_and_report(*sink);
  const json& s = r.at("summary");
  EXPECT_EQ(r.at("schema_version"), 1);
  EXPECT_EQ(r.at("tool"), "droplab-sink");
  EXPECT_EQ(r.at("context").at("backend"), "recvmmsg");
  EXPECT_EQ(r.at("context").at("rcvbuf_requested"), 4u << 20);
  EXPECT_EQ(r.at("context").at("rcvbuf_granted"), ready.at("rcvbuf_granted"));
  EXPECT_EQ(r.at("context").at("socket_inode"), ready.at("socket_inode"));
  EXPECT_EQ(s.at("received"), 991 + 100 + 5);
  EXPECT_EQ(s.at("valid"), 991 + 100);
  EXPECT_EQ(s.at("invalid"), 5);
  EXPECT_EQ(s.at("lost"), 10);
  EXPECT_EQ(s.at("duplicates"), 1);
  EXPECT_EQ(s.at("reordered"), 1);
  EXPECT_EQ(s.at("stale"), 0);
  EXPECT_EQ(s.at("bytes"), (991 + 100 + 5) * 32);
  EXPECT_EQ(s.at("socket_drops_meminfo"), 0);
  EXPECT_TRUE(s.at("socket_drops_rxq_ovfl").is_null()); // no drop: the kernel never reports one
  EXPECT_EQ(s.at("stopped_by"), "signal");

  const json& flows = r.at("flows");
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[0].at("flow"), 0);
  EXPECT_EQ(flows[0].at("received"), 991);
  EXPECT_EQ(flows[0].at("lost"), 10);
  EXPECT_EQ(flows[0].at("duplicates"), 1);
  EXPECT_EQ(flows[0].at("reordered"), 1);
  EXPECT_EQ(flows[0].at("highest_seq"), 999);
  EXPECT_EQ(flows[1].at("flow"), 3);
  EXPECT_EQ(flows[1].at("received"), 100);
  EXPECT_EQ(flows[1].at("lost"), 0);
  EXPECT_EQ(flows[1].at("highest_seq"), 99);
}

TEST_F(SinkNetns, SlowReaderWithTinyBufferCountsSocketDrops) {
  // 4 KiB (granted 8 KiB) holds a handful of datagrams; at 10 reads/s the
  // sink reads almost nothing while 2000 arrive, so most are dropped by the
  // socket. What was queued is read in the drain at SIGTERM.
  auto sink = start_sink({"--rcvbuf", "4096", "--read-rate", "10pps", "--quiet"});
  ASSERT_TRUE(sink->running());
  const std::uint64_t sent_count = 2000;
  std::vector<Datagram> d;
  for (std::uint32_t s = 0; s < sent_count; ++s)
    d.push_back({.flow = 1, .seq = s});
  ASSERT_EQ(send_in_netns(ns_->name(), kAddr, kPort, d), sent_count);

  json r = stop_and_report(*sink);
  const json& s = r.at("summary");
  EXPECT_EQ(r.at("context").at("rcvbuf_requested"), 4096);
  EXPECT_EQ(r.at("context").at("rcvbuf_granted"), 8192); // doubled by the kernel
  ASSERT_TRUE(s.at("socket_drops_meminfo").is_number());
  const auto drops = s.at("socket_drops_meminfo").get<std::uint64_t>();
  const auto received = s.at("received").get<std::uint64_t>();
  EXPECT_GT(drops, 0u);
  EXPECT_GT(s.at("drained_at_stop").get<std::uint64_t>(), 0u);
  // Every datagram was either read or dropped by the socket: nothing else
  // on the path drops on lo.
  EXPECT_EQ(received + drops, sent_count);
  // The sink sees drops below its highest sequence as loss; the tail beyond
  // it only the sender's count reveals (as the harness does).
  ASSERT_EQ(r.at("flows").size(), 1u);
  const auto highest = r.at("flows")[0].at("highest_seq").get<std::uint64_t>();
  const auto lost = s.at("lost").get<std::uint64_t>();
  EXPECT_EQ(lost + (sent_count - 1 - highest), drops);
  EXPECT_EQ(s.at("duplicates"), 0);
  EXPECT_EQ(s.at("reordered"), 0);
  // SO_RXQ_OVFL is as of the last datagram read: never ahead of SO_MEMINFO.
  if (!s.at("socket_drops_rxq_ovfl").is_null()) {
    EXPECT_LE(s.at("socket_drops_rxq_ovfl").get<std::uint64_t>(), drops);
  }
}

TEST_F(SinkNetns, StopsByItselfAtDuration) {
  auto sink = start_sink({"--duration", "300ms", "--stall", "100ms/200ms"});
  std::optional<int> rc = sink->wait(10'000);
  ASSERT_EQ(rc, 0) << read_text(files_.out());
  std::ifstream in(files_.report());
  json r = json::parse(in);
  EXPECT_EQ(r.at("summary").at("stopped_by"), "duration");
  EXPECT_EQ(r.at("summary").at("received"), 0); // zero values are written, not omitted
  EXPECT_TRUE(r.at("flows").empty());
  EXPECT_EQ(r.at("context").at("stall").at("dur_s"), 0.1);
  EXPECT_EQ(r.at("context").at("stall").at("every_s"), 0.2);
  EXPECT_NE(read_text(files_.out()).find("READY listen=198.18.0.1:9000"), std::string::npos);
}

// No root needed: the real binary rejects bad flags with exit 2.
TEST(SinkBinary, BadFlagsExit2) {
  const std::vector<std::vector<std::string>> cases = {
      {"--batch", "0"}, {"--stall", "2s/1s"}, {"--rcvbuf", "lots"}, {"--no-such-flag"}};
  for (const auto& c : cases) {
    std::vector<std::string> argv = {DROPLAB_SINK_BIN, "--listen", "198.18.0.1:9000"};
    argv.insert(argv.end(), c.begin(), c.end());
    EXPECT_EQ(run_quiet(argv), 2) << c[0];
  }
}

} // namespace

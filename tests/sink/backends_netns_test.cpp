// Every receive backend, end to end: an exact count through a namespace,
// with one reader and with two SO_REUSEPORT readers pinned by --cpus.
#include "droplab/sink/rx_backend.hpp"
#include "sink_lab.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

using nlohmann::json;
using namespace sinktest;
using droplab::sink::BackendChoice;
using droplab::sink::probe_backend;

namespace {

class Backends : public SinkLab, public ::testing::WithParamInterface<const char*> {
protected:
  void SetUp() override {
    SinkLab::SetUp();
    if (IsSkipped()) return;
    const std::string b = GetParam();
    BackendChoice c = b == "io_uring" ? BackendChoice::IoUring
                      : b == "asio"   ? BackendChoice::Asio
                      : b == "recv"   ? BackendChoice::Recv
                                      : BackendChoice::Recvmmsg;
    if (std::string why = probe_backend(c); !why.empty()) {
      GTEST_SKIP() << "backend " << b << " unavailable here: " << why;
    }
  }
};

TEST_P(Backends, ReceivesAnExactCount) {
  const std::string backend = GetParam();
  // 4 MiB (8 MiB granted) holds far more than 20 ms of 50 kpps: no socket drop.
  auto sink = start_sink({"--backend", backend, "--rcvbuf", "4M", "--quiet"});
  ASSERT_TRUE(sink->running());
  const std::size_t count = 10'000;
  ASSERT_EQ(send_paced_in_netns(ns_->name(), kLabAddr, kLabPort, 50'000, count, 4), count);

  json r = stop_and_report(*sink);
  const json& s = r.at("summary");
  EXPECT_EQ(r.at("context").at("backend"), backend);
  EXPECT_EQ(s.at("received"), count);
  EXPECT_EQ(s.at("valid"), count);
  EXPECT_EQ(s.at("lost"), 0);
  EXPECT_EQ(s.at("duplicates"), 0);
  EXPECT_EQ(s.at("socket_drops_meminfo"), 0);
  ASSERT_EQ(r.at("flows").size(), 4u);
  for (const json& f : r.at("flows")) {
    EXPECT_EQ(f.at("received"), count / 4);
    EXPECT_EQ(f.at("highest_seq"), count / 4 - 1);
  }
  // Every datagram carried a send time: each has a one-way latency.
  EXPECT_EQ(s.at("latency_ns").at("count"), count);
  EXPECT_GT(s.at("latency_ns").at("max").get<std::uint64_t>(), 0u);
  EXPECT_LE(s.at("latency_ns").at("p50").get<std::uint64_t>(),
            s.at("latency_ns").at("p99").get<std::uint64_t>());
  if (backend == "asio") {
    // async_receive_from has no control messages: no kernel receive time.
    EXPECT_FALSE(r.at("context").at("kernel_timestamps").get<bool>());
    EXPECT_EQ(s.at("queue_ns").at("count"), 0);
    EXPECT_TRUE(s.at("queue_ns").at("p50").is_null());
  } else {
    EXPECT_EQ(s.at("queue_ns").at("count"), count);
    // Queued time is part of the one-way time.
    EXPECT_LE(s.at("queue_ns").at("p50").get<std::uint64_t>(),
              s.at("latency_ns").at("p50").get<std::uint64_t>() * 101 / 100);
  }
  if (backend == "io_uring") {
    EXPECT_GE(r.at("context").at("backend_ring_buffers"), 128);
  }
}

TEST_P(Backends, TwoPinnedReusePortReadersShareTheFlows) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs 2 CPUs for --cpus 0,1";
  const std::string backend = GetParam();
  auto sink = start_sink(
      {"--backend", backend, "--rcvbuf", "4M", "--threads", "2", "--cpus", "0,1", "--quiet"});
  ASSERT_TRUE(sink->running());
  json ready_file = ready();
  ASSERT_EQ(ready_file.at("socket_inodes").size(), 2u);
  EXPECT_EQ(ready_file.at("socket_inode"), ready_file.at("socket_inodes")[0]);
  // Both sockets are in the sink's /proc/net/udp, as the harness will look for them.
  for (const json& inode : ready_file.at("socket_inodes")) {
    EXPECT_EQ(proc_udp_drops(sink->pid(), inode.get<std::uint64_t>()), 0u) << inode;
  }

  // 16 flows, one source port each: the 4-tuple hash puts some on each socket.
  const std::size_t count = 16'000;
  ASSERT_EQ(send_paced_in_netns(ns_->name(), kLabAddr, kLabPort, 50'000, count, 16), count);
  json r = stop_and_report(*sink);
  const json& s = r.at("summary");
  const json& c = r.at("context");
  EXPECT_EQ(c.at("threads"), 2);
  EXPECT_EQ(c.at("socket_inodes"), ready_file.at("socket_inodes"));
  ASSERT_EQ(c.at("readers").size(), 2u);
  EXPECT_EQ(c.at("readers")[0].at("cpu"), 0);
  EXPECT_EQ(c.at("readers")[1].at("cpu"), 1);
  EXPECT_EQ(s.at("received"), count);
  EXPECT_EQ(s.at("lost"), 0);
  EXPECT_EQ(r.at("flows").size(), 16u);
  ASSERT_EQ(s.at("readers").size(), 2u);
  std::uint64_t sum = 0;
  for (const json& rr : s.at("readers")) {
    sum += rr.at("received").get<std::uint64_t>();
    EXPECT_GT(rr.at("received").get<std::uint64_t>(), 0u) << "SO_REUSEPORT left a reader idle";
  }
  EXPECT_EQ(sum, count); // the summary holds totals
}

INSTANTIATE_TEST_SUITE_P(Sink, Backends, ::testing::Values("recvmmsg", "recv", "asio", "io_uring"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string(p.param);
                         });

} // namespace

// UDP GSO from droplab-gen into droplab-sink, with and without --gro, through
// a namespace's loopback: a GSO buffer reaches a UDP_GRO socket whole (one
// read of several datagrams), so --gro must split it back per datagram, and
// the sink's per-flow sequence check must agree with what gen sent. Without
// --gro the kernel segments before the socket. Needs root; skips otherwise.
#include "sink_lab.hpp"

#include <gtest/gtest.h>

#include <string>

#ifndef DROPLAB_GEN_BIN
#error "DROPLAB_GEN_BIN must name the droplab-gen binary"
#endif

using nlohmann::json;
using namespace sinktest;

namespace {

struct GroCase {
  const char* name;
  const char* backend; // sink backend
  bool gro;
  const char* gen_args;
};

class GsoIntoSink : public SinkLab, public ::testing::WithParamInterface<GroCase> {};

TEST_P(GsoIntoSink, EveryDatagramCountedOnceInOrder) {
  const GroCase& c = GetParam();
  std::vector<std::string> flags = {"--backend", c.backend, "--rcvbuf-force", "16M", "--quiet"};
  if (c.gro) flags.push_back("--gro");
  auto sink = start_sink(flags);
  ASSERT_TRUE(sink->running());
  const std::uint64_t count = 20'000;
  const std::string gen = std::string("ip netns exec ") + ns_->name() + " " + DROPLAB_GEN_BIN +
                          " --dst " + kLabAddr + ":" + std::to_string(kLabPort) +
                          " --count 20000 --flows 4 --quiet " + c.gen_args + " >/dev/null";
  ASSERT_EQ(std::system(gen.c_str()), 0) << gen;

  json r = stop_and_report(*sink);
  const json& s = r.at("summary");
  EXPECT_EQ(r.at("context").at("gro"), c.gro);
  EXPECT_EQ(s.at("received"), count);
  EXPECT_EQ(s.at("valid"), count);
  EXPECT_EQ(s.at("lost"), 0);
  EXPECT_EQ(s.at("duplicates"), 0);
  EXPECT_EQ(s.at("reordered"), 0);
  EXPECT_EQ(s.at("socket_drops_meminfo"), 0);
  ASSERT_EQ(r.at("flows").size(), 4u);
  // gen gives each flow whole batches, so flows differ in size; each one's
  // sequence must be complete: 0 .. received-1.
  std::uint64_t sum = 0;
  for (const json& f : r.at("flows")) {
    const auto got = f.at("received").get<std::uint64_t>();
    EXPECT_GT(got, 0u);
    EXPECT_EQ(f.at("highest_seq").get<std::uint64_t>(), got - 1);
    EXPECT_EQ(f.at("lost"), 0);
    sum += got;
  }
  EXPECT_EQ(sum, count);
  if (c.gro) {
    // gen sent 16-datagram buffers: most reads must have been coalesced.
    EXPECT_GT(s.at("gro_buffers").get<std::uint64_t>(), 0u);
    EXPECT_GT(s.at("gro_datagrams").get<std::uint64_t>(), count / 2);
    EXPECT_LE(s.at("gro_datagrams").get<std::uint64_t>(), count);
  } else {
    EXPECT_EQ(s.at("gro_buffers"), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sink, GsoIntoSink,
    ::testing::Values(GroCase{"recvmmsg_gro", "recvmmsg", true, "--backend sendmmsg --gso 16"},
                      GroCase{"recv_gro", "recv", true, "--backend io_uring --gso 16"},
                      GroCase{"recvmmsg_gro_imix", "recvmmsg", true,
                              "--backend sendmmsg --gso 16 --imix 64:7,570:4,1518:1"},
                      GroCase{"recvmmsg_no_gro", "recvmmsg", false, "--backend sendmmsg --gso 16"},
                      GroCase{"io_uring_no_gro", "io_uring", false, "--backend io_uring --gso 64"}),
    [](const ::testing::TestParamInfo<GroCase>& i) { return std::string(i.param.name); });

} // namespace

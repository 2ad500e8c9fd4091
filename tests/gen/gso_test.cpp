// UDP GSO planning without sockets: --gso parsing, the per-thread segment
// count (pacing span, buffer size, backend, probe), how a batch is cut into
// buffers, and the counters and fallback note the backends report.
#include "gen/gso.hpp"

#include "droplab/cli.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace {

using namespace droplab::gen;

TEST(Gso, ParsesAutoAndCounts) {
  EXPECT_TRUE(parse_gso("auto").automatic);
  EXPECT_EQ(parse_gso("auto").segments, kMaxGsoSegments);
  EXPECT_EQ(parse_gso("1").segments, 1u);
  EXPECT_EQ(parse_gso("64").segments, 64u);
  EXPECT_FALSE(parse_gso("16").automatic);
  EXPECT_EQ(parse_gso("16").to_string(), "16");
  EXPECT_EQ(parse_gso("auto").to_string(), "auto");
  for (const char* bad : {"0", "65", "", "x", "1.5", "8k", "-1", "Auto"}) {
    try {
      parse_gso(bad);
      ADD_FAILURE() << "accepted --gso " << bad;
    } catch (const droplab::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("--gso ") + bad + ":"), std::string::npos)
          << e.what();
    }
  }
}

struct PlanCase {
  const char* name;
  GsoRequest req;
  BackendKind kind = BackendKind::Sendmmsg;
  double pps = 0;
  ShapeSpec shape{};
  std::size_t wire = 64;
  bool zerocopy = false;
  std::string probe_error;
  std::uint32_t segments;
  std::string reason_has;
};

TEST(Gso, PlanCapsBySpanSizeBackendAndProbe) {
  const GsoRequest autoreq{.automatic = true, .segments = 64};
  const PlanCase cases[] = {
      {.name = "off", .req = {}, .segments = 1, .reason_has = "off (--gso 1)"},
      {.name = "unpaced keeps N",
       .req = {.segments = 16},
       .segments = 16,
       .reason_has = "16 datagrams per"},
      {.name = "auto unpaced", .req = autoreq, .kind = BackendKind::IoUring, .segments = 64},
      // 10 kpps: 50 us holds 0.5 datagrams.
      {.name = "10k off", .req = autoreq, .pps = 10'000, .segments = 1, .reason_has = "(GSO off)"},
      {.name = "100k -> 5",
       .req = autoreq,
       .pps = 100'000,
       .segments = 5,
       .reason_has = "reduced from 64"},
      {.name = "1M -> 50", .req = autoreq, .pps = 1'000'000, .segments = 50, .reason_has = "50 us"},
      {.name = "2M keeps 64", .req = autoreq, .pps = 2'000'000, .segments = 64},
      // onoff:1ms/9ms sends at 10x the average inside the ON window.
      {.name = "onoff rate",
       .req = autoreq,
       .pps = 100'000,
       .shape = {.kind = ShapeKind::OnOff, .on_ns = 1'000'000, .off_ns = 9'000'000},
       .segments = 50},
      {.name = "burst bounds it",
       .req = autoreq,
       .pps = 10'000,
       .shape = {.kind = ShapeKind::Burst, .burst = 8},
       .segments = 8,
       .reason_has = "--burst 8"},
      // 1518 B frames: 1472 B payloads, 44 fit in 65507 B.
      {.name = "jumbo payload",
       .req = autoreq,
       .wire = 1518,
       .segments = 44,
       .reason_has = "64 KiB"},
      {.name = "9000 B frames", .req = {.segments = 8}, .wire = 9000, .segments = 7},
      {.name = "auto on af_packet",
       .req = autoreq,
       .kind = BackendKind::AfPacket,
       .segments = 1,
       .reason_has = "off: af_packet"},
      {.name = "auto with failed probe",
       .req = autoreq,
       .probe_error = "setsockopt(UDP_SEGMENT) failed: Protocol not available",
       .segments = 1,
       .reason_has = "off: setsockopt(UDP_SEGMENT)"},
      {.name = "auto with zerocopy",
       .req = autoreq,
       .zerocopy = true,
       .segments = 1,
       .reason_has = "--zerocopy"},
  };
  for (const auto& c : cases) {
    const GsoPlan p = plan_gso(c.req, c.kind, c.pps, c.shape, c.wire, c.zerocopy, c.probe_error);
    EXPECT_EQ(p.segments, c.segments) << c.name << ": " << p.reason;
    EXPECT_FALSE(p.reason.empty()) << c.name;
    EXPECT_NE(p.reason.find(c.reason_has), std::string::npos) << c.name << ": " << p.reason;
  }
}

TEST(Gso, ExplicitRequestsTheRunCannotDoAreUsageErrors) {
  const GsoRequest eight{.segments = 8};
  EXPECT_THROW(plan_gso(eight, BackendKind::AfPacket, 0, {}, 64, false, ""), droplab::UsageError);
  EXPECT_THROW(plan_gso(eight, BackendKind::IoUring, 0, {}, 64, true, ""), droplab::UsageError);
  try {
    plan_gso(eight, BackendKind::Sendmmsg, 0, {}, 64, false, "setsockopt(UDP_SEGMENT) failed");
    ADD_FAILURE() << "accepted a failed probe";
  } catch (const droplab::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--gso 8: setsockopt(UDP_SEGMENT) failed"),
              std::string::npos);
  }
}

std::vector<TxMessage> msgs(std::vector<std::uint32_t> sizes, std::uint16_t flow = 0) {
  std::vector<TxMessage> out;
  for (std::uint32_t s : sizes)
    out.push_back(
        TxMessage{.flow = flow, .seq = static_cast<std::uint32_t>(out.size()), .payload_bytes = s});
  return out;
}

TEST(Gso, RunsHoldEqualSizesWithAShorterLast) {
  auto m = msgs({18, 18, 18, 18, 18});
  EXPECT_EQ(gso_run_end(m, 0, 4), 4u);
  EXPECT_EQ(gso_run_end(m, 4, 4), 5u);
  EXPECT_EQ(gso_run_end(m, 0, 1), 1u);
  // A shorter datagram may end a buffer; a longer one starts the next.
  m = msgs({100, 100, 40, 100, 500, 500});
  EXPECT_EQ(gso_run_end(m, 0, 64), 3u);
  EXPECT_EQ(gso_run_end(m, 3, 64), 4u);
  EXPECT_EQ(gso_run_end(m, 4, 64), 6u);
  // Never across flows.
  auto a = msgs({18, 18});
  auto b = msgs({18, 18}, 1);
  a.insert(a.end(), b.begin(), b.end());
  EXPECT_EQ(gso_run_end(a, 0, 64), 2u);
}

TEST(Gso, CountersAndFallbackNote) {
  BackendStats none;
  GsoCounters off(1);
  off.sent(3, 3);
  off.add_to(none);
  EXPECT_TRUE(none.empty()) << "GSO off reports no gso_* counters";

  GsoCounters c(16);
  c.sent(2, 32);
  c.failed(EAGAIN);
  c.failed(EIO);
  c.fall_back(EIO, "sendmmsg on flow 0");
  EXPECT_EQ(c.segments(), 1u);
  EXPECT_NE(c.fallback().find("EIO on a 16-segment UDP GSO buffer (sendmmsg on flow 0)"),
            std::string::npos)
      << c.fallback();
  BackendStats s;
  c.add_to(s);
  EXPECT_EQ(s.at("gso_buffers"), 2u);
  EXPECT_EQ(s.at("gso_datagrams"), 32u);
  EXPECT_EQ(s.at("gso_fallbacks"), 1u);
  EXPECT_EQ(s.at("gso_error_EIO"), 1u);
  EXPECT_EQ(s.at("gso_error_EAGAIN"), 1u);
}

} // namespace

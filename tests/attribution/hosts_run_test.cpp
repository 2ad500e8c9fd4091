// Multi-host runs without hosts: the latency correction on made-up offsets,
// and one waterfall over two senders on made-up counters.
#include "hosts_run.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using droplab::agent::ClockOffset;
using namespace droplab::harness;

namespace {
ClockOffset off(std::int64_t offset, std::int64_t bound) {
  ClockOffset c;
  c.offset_ns = offset;
  c.error_bound_ns = bound;
  return c;
}
} // namespace

TEST(OneWayLatency, CorrectionIsSenderOffsetMinusReceiverOffset) {
  // Sender 1 ms ahead of the controller, receiver 2 ms behind: the sink's
  // clock reads 3 ms less than the sender's at the same instant, so its
  // measured latency is 3 ms short.
  OneWayCorrection c = one_way_correction(off(-2'000'000, 40'000), {off(1'000'000, 10'000)});
  EXPECT_EQ(c.correction_ns, 3'000'000);
  EXPECT_EQ(c.error_bound_ns, 50'000);
  // A true latency of 100 µs is measured as 100 µs - 3 ms; the correction gives it back.
  const std::int64_t measured = 100'000 - 3'000'000;
  EXPECT_EQ(measured + c.correction_ns, 100'000);
}

TEST(OneWayLatency, SendersThatDisagreeWidenTheBound) {
  OneWayCorrection c = one_way_correction(off(0, 10), {off(1'000, 10), off(3'000, 20)});
  EXPECT_EQ(c.correction_ns, 2'000);
  EXPECT_EQ(c.error_bound_ns, 30 + 1'000); // worst pair's bounds + half the spread
}

TEST(OneWayLatency, DriftDuringTheRunWidensTheBound) {
  ClockOffset c = combine_offsets(off(1'000, 50), off(3'000, 70));
  EXPECT_EQ(c.offset_ns, 2'000);
  EXPECT_GE(c.error_bound_ns, 70 + 1'000);
  // Both estimates lie within the combined bound.
  EXPECT_LE(std::abs(1'000 - c.offset_ns), c.error_bound_ns);
  EXPECT_LE(std::abs(3'000 - c.offset_ns), c.error_bound_ns);
}

// ---- one waterfall over two senders, with drops on both sides ----

namespace {

droplab::counters::Delta delta(const std::map<std::string, long long>& values) {
  droplab::counters::Delta d;
  for (const auto& [k, v] : values) {
    droplab::counters::Counter c;
    c.key = k;
    c.source = "test";
    c.value = static_cast<std::uint64_t>(v);
    d.counters[k] = c;
  }
  return d;
}

nlohmann::json gen(std::uint64_t sent, int flow) {
  return {{"summary", {{"sent", sent}, {"send_errors_total", 0}}}, {"flows", {{{"flow", flow}, {"next_seq", sent}}}}};
}

} // namespace

TEST(HostsWaterfall, EachSenderKeepsItsOwnDropsAndOneIdentityHolds) {
  // tx0: 100 dropped by its qdisc. tx1: 50 dropped by its own device — on
  // another host, not the receiver's backlog drops, though the receiver's
  // softnet dropped 20 at the same time. The receiver: 20 backlog, 30 socket.
  std::vector<SenderInput> senders{
      {"tx0 local", delta({{"tx.qdisc.drops", 100}, {"tx.qdisc.overlimits", 0}, {"tx.link.tx_dropped", 0},
                           {"tx.link.tx_packets", 900}, {"tx.snmp.Udp.SndbufErrors", 0}}),
       gen(1000, 0)},
      {"tx1 tls://c:7300", delta({{"tx.qdisc.drops", 0}, {"tx.qdisc.overlimits", 0}, {"tx.link.tx_dropped", 50},
                                  {"tx.link.tx_packets", 950}, {"tx.snmp.Udp.SndbufErrors", 0}}),
       gen(1000, 1)}};
  auto rx = delta({{"rx.link.rx_missed_errors", 0}, {"rx.link.rx_fifo_errors", 0}, {"rx.link.rx_over_errors", 0},
                   {"rx.link.rx_dropped", 20},       {"rx.link.rx_packets", 1830},   {"host.softnet.dropped", 20},
                   {"host.softnet.flow_limit_count", 0}, {"rx.snmp.Ip.InReceives", 1830},
                   {"rx.snmp.Ip.InDelivers", 1830},  {"rx.snmp.Udp.RcvbufErrors", 30}, {"rx.sock.drops", 30},
                   {"rx.snmp.Udp.InErrors", 30},     {"rx.snmp.Udp.InDatagrams", 1800}, {"rx.sock.rx_queue", 0}});
  nlohmann::json sink{{"summary",
                       {{"valid", 1800}, {"invalid", 0}, {"duplicates", 0}, {"hung", false},
                        {"socket_drops_rxq_ovfl", 30}, {"socket_drops_meminfo", 30}}},
                      {"flows", {{{"flow", 0}, {"highest_seq", 999}, {"lost", 100}},
                                 {{"flow", 1}, {"highest_seq", 999}, {"lost", 100}}}}};
  HostsWaterfall hw = hosts_waterfall(senders, rx, sink, {});
  const Waterfall& w = hw.w;

  std::vector<std::string> names;
  for (const auto& s : w.stages) names.push_back(s.name);
  ASSERT_GE(names.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 6),
            (std::vector<std::string>{"gen", "qdisc", "tx_device", "gen", "qdisc", "tx_device"}));
  EXPECT_EQ(w.stages[0].in, 1000u);
  EXPECT_EQ(w.stages[1].dropped, 100u); // tx0's qdisc
  EXPECT_EQ(w.stages[5].dropped, 50u);  // tx1's device, all 50 its own
  EXPECT_EQ(w.stages[3].label.rfind("tx1 tls://c:7300: ", 0), 0u) << w.stages[3].label;
  // The receive stages start with what the two devices passed on: 900 + 950.
  EXPECT_EQ(w.stages[6].in, 1850u);
  EXPECT_TRUE(w.stages[6].notes.empty() || w.stages[6].notes.front().find("passed on") == std::string::npos);
  const Stage* backlog = w.find("backlog");
  ASSERT_NE(backlog, nullptr);
  EXPECT_EQ(backlog->dropped, 20u);
  EXPECT_EQ(w.find("socket")->dropped, 30u);
  EXPECT_EQ(w.accounting.sent, 2000u);
  EXPECT_EQ(w.accounting.delivered, 1800u);
  EXPECT_EQ(w.accounting.dropped, 200u);
  EXPECT_EQ(w.accounting.unexplained, 0);
  // The summed waterfall (for expectations) agrees stage by stage.
  EXPECT_EQ(hw.total.find("qdisc")->dropped, 100u);
  EXPECT_EQ(hw.total.find("tx_device")->dropped, 50u);
  EXPECT_EQ(hw.all.get("tx.link.tx_packets"), 1850u);
}

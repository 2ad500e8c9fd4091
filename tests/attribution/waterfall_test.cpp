#include "report.hpp"
#include "waterfall.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

using namespace droplab::harness;
namespace counters = droplab::counters;

namespace {

// A delta with every counter attribution reads, all zero unless overridden;
// keys mapped to -1 are unavailable.
counters::Delta make_delta(const std::map<std::string, long long>& values) {
  const char* keys[] = {"tx.qdisc.drops", "tx.qdisc.overlimits", "rx.netstat.TcpExt.IPReversePathFilter",
                        "tx.link.tx_dropped",       "tx.link.tx_packets",         "tx.snmp.Udp.SndbufErrors",
                        "rx.link.rx_missed_errors", "rx.link.rx_fifo_errors",     "rx.link.rx_over_errors",
                        "rx.link.rx_dropped",       "rx.link.rx_packets",         "host.softnet.dropped",
                        "host.softnet.flow_limit_count", "rx.snmp.Ip.InHdrErrors", "rx.snmp.Ip.InAddrErrors",
                        "rx.snmp.Ip.InUnknownProtos", "rx.snmp.Ip.InDiscards",   "rx.netstat.IpExt.InCsumErrors",
                        "rx.netstat.IpExt.InTruncatedPkts", "rx.netstat.IpExt.InNoRoutes",
                        "rx.snmp.Ip.InReceives",   "rx.snmp.Ip.InDelivers",     "rx.snmp.Udp.NoPorts",
                        "rx.snmp.Udp.InCsumErrors", "rx.snmp.Udp.MemErrors",    "rx.snmp.Udp.InErrors",
                        "rx.snmp.Udp.RcvbufErrors", "rx.sock.drops",            "rx.snmp.Udp.InDatagrams",
                        "rx.sock.rx_queue"};
  counters::Delta d;
  for (const char* k : keys) {
    counters::Counter c;
    c.key = k;
    c.source = "test";
    auto it = values.find(k);
    long long v = it == values.end() ? 0 : it->second;
    if (v < 0) {
      c.unavailable_reason = "not in this kernel";
    } else {
      c.value = static_cast<std::uint64_t>(v);
    }
    d.counters[k] = c;
  }
  return d;
}

RunOutcome outcome(std::uint64_t sent, std::uint64_t delivered) {
  RunOutcome o;
  o.gen_sent = sent;
  o.sink_valid = delivered;
  return o;
}

TEST(Waterfall, CleanRunHasNoDropsAndNothingUnexplained) {
  auto d = make_delta({{"tx.link.tx_packets", 1000}, {"rx.link.rx_packets", 1000},
                       {"rx.snmp.Ip.InReceives", 1000}, {"rx.snmp.Ip.InDelivers", 1000},
                       {"rx.snmp.Udp.InDatagrams", 1000}});
  Waterfall w = build_waterfall(d, outcome(1000, 1000), {});
  ASSERT_EQ(w.stages.size(), 11u);
  const char* order[] = {"gen",     "qdisc",     "tx_device", "nic_ring", "rx_device", "backlog",
                         "ip",      "netfilter", "udp",       "socket",   "app"};
  for (std::size_t i = 0; i < 11; ++i) {
    EXPECT_EQ(w.stages[i].name, order[i]);
    EXPECT_EQ(w.stages[i].in, 1000u) << order[i];
    EXPECT_EQ(w.stages[i].dropped, 0u) << order[i];
    for (const auto& c : w.stages[i].checks) {
      EXPECT_EQ(c.difference(), 0) << order[i] << ": " << c.what;
    }
  }
  EXPECT_EQ(w.accounting.unexplained, 0);
  EXPECT_TRUE(w.accounting.unavailable.empty());
}

TEST(Waterfall, SocketDropsLandInTheSocketStage) {
  auto d = make_delta({{"tx.link.tx_packets", 1000}, {"rx.link.rx_packets", 1000},
                       {"rx.snmp.Ip.InReceives", 1000}, {"rx.snmp.Ip.InDelivers", 1000},
                       {"rx.snmp.Udp.RcvbufErrors", 700}, {"rx.snmp.Udp.InErrors", 700},
                       {"rx.sock.drops", 700}, {"rx.snmp.Udp.InDatagrams", 300}});
  RunOutcome o = outcome(1000, 300);
  o.flows = {{.flow = 0, .gen_sent = 600, .sink_highest = 589, .sink_lost = 400},
             {.flow = 1, .gen_sent = 400, .sink_highest = std::nullopt, .sink_lost = 0}};
  Waterfall w = build_waterfall(d, o, {{"socket", "net.core.rmem_max", "4194304"}});
  const Stage* s = w.find("socket");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->in, 1000u);
  EXPECT_EQ(s->dropped, 700u);
  EXPECT_EQ(s->out(), 300u);
  ASSERT_EQ(s->knobs.size(), 1u);
  EXPECT_EQ(s->knobs[0], "net.core.rmem_max = 4194304");
  EXPECT_EQ(w.find("app")->in, 300u);
  EXPECT_EQ(w.accounting.dropped, 700u);
  EXPECT_EQ(w.accounting.unexplained, 0);
  // Flow 0: 400 gaps + 10 after seq 589; flow 1: nothing read, all 400 lost.
  EXPECT_EQ(w.accounting.sequence_lost, 810u);
  // Knobs are attached only where something dropped.
  EXPECT_TRUE(w.find("udp")->knobs.empty());
}

TEST(Waterfall, UnexplainedShowsWhatNoCounterCovers) {
  // 50 packets vanish between IP and UDP with no counter moving (a netfilter
  // drop has no SNMP counter): unexplained, and the InDelivers check shows it.
  auto d = make_delta({{"tx.link.tx_packets", 1000}, {"rx.link.rx_packets", 1000},
                       {"rx.snmp.Ip.InReceives", 1000}, {"rx.snmp.Ip.InDelivers", 950}});
  Waterfall w = build_waterfall(d, outcome(1000, 950), {});
  EXPECT_EQ(w.accounting.unexplained, 50);
  const Stage* nf = w.find("netfilter");
  ASSERT_EQ(nf->checks.size(), 1u);
  EXPECT_EQ(nf->checks[0].difference(), -50);
}

TEST(Waterfall, VethBacklogDropsMoveFromTxDroppedToTheBacklog) {
  // veth counts a failed enqueue_to_backlog as tx_dropped, and the core as
  // the receiving device's rx_dropped; softnet proves 300 of the 320.
  auto d = make_delta({{"tx.link.tx_dropped", 320}, {"tx.link.tx_packets", 680},
                       {"rx.link.rx_dropped", 300},
                       {"host.softnet.dropped", 300}, {"rx.link.rx_packets", 680},
                       {"rx.snmp.Ip.InReceives", 680}, {"rx.snmp.Ip.InDelivers", 680}});
  Waterfall w = build_waterfall(d, outcome(1000, 680), {});
  EXPECT_EQ(w.find("tx_device")->dropped, 20u);
  EXPECT_EQ(w.find("rx_device")->dropped, 0u);
  EXPECT_EQ(w.find("backlog")->dropped, 300u);
  EXPECT_EQ(w.find("ip")->in, 680u);
  EXPECT_EQ(w.accounting.unexplained, 0);
  EXPECT_EQ(w.find("tx_device")->checks[0].difference(), 0);
}

TEST(Waterfall, UnavailableCountersAreNeverZero) {
  auto d = make_delta({{"rx.snmp.Udp.RcvbufErrors", -1}, {"tx.link.tx_packets", 1000},
                       {"rx.link.rx_packets", 1000}, {"rx.snmp.Ip.InReceives", 1000},
                       {"rx.snmp.Ip.InDelivers", 1000}});
  Waterfall w = build_waterfall(d, outcome(1000, 400), {});
  const Stage* s = w.find("socket");
  EXPECT_FALSE(s->dropped_complete);
  ASSERT_EQ(w.accounting.unavailable.size(), 1u);
  EXPECT_NE(w.accounting.unavailable[0].find("rx.snmp.Udp.RcvbufErrors"), std::string::npos);
  EXPECT_EQ(w.accounting.unexplained, 600); // not hidden: no counter explained it
  nlohmann::json j = *s;
  EXPECT_TRUE(j["evidence"][0]["delta"].is_null());
  EXPECT_EQ(j["evidence"][0]["unavailable_reason"], "not in this kernel");
  EXPECT_NE(render_waterfall(w).find("unavailable"), std::string::npos);
}

TEST(Waterfall, SocketDropsNoUdpCounterNamesArePlacedByDropReasons) {
  // Linux 6.18: a udp_mem drop moves only the socket's drops; the drop
  // reason (PROTO_MEM) says it belongs to UDP.
  auto d = make_delta({{"tx.link.tx_packets", 1000}, {"rx.link.rx_packets", 1000},
                       {"rx.snmp.Ip.InReceives", 1000}, {"rx.snmp.Ip.InDelivers", 1000},
                       {"rx.snmp.Udp.RcvbufErrors", 100}, {"rx.sock.drops", 700}});
  DropReasons r;
  r.mode = "bpf";
  r.counts = {{.reason = "PROTO_MEM", .reason_id = 1, .location = "x", .count = 600, .not_a_drop = false},
              {.reason = "SOCKET_RCVBUFF", .reason_id = 2, .location = "y", .count = 100, .not_a_drop = false}};
  Waterfall with = build_waterfall(d, outcome(1000, 300), {}, {}, &r);
  EXPECT_EQ(with.find("udp")->dropped, 600u);
  EXPECT_EQ(with.find("socket")->dropped, 100u);
  EXPECT_EQ(with.find("socket")->in, 400u);
  EXPECT_EQ(with.accounting.unexplained, 0);
  for (const char* st : {"udp", "socket"}) {
    const Stage* s = with.find(st);
    ASSERT_FALSE(s->checks.empty());
    EXPECT_EQ(s->checks.back().difference(), 0) << st << ": " << s->checks.back().what;
  }
  // Without reasons the same drops stay at the socket, still explained.
  Waterfall without = build_waterfall(d, outcome(1000, 300), {});
  EXPECT_EQ(without.find("udp")->dropped, 0u);
  EXPECT_EQ(without.find("socket")->dropped, 700u);
  EXPECT_EQ(without.accounting.unexplained, 0);
}

TEST(Waterfall, AHungApplicationsQueuedDatagramsAreNeverRead) {
  auto d = make_delta({{"rx.snmp.Udp.RcvbufErrors", 600}, {"rx.sock.drops", 600}, {"rx.sock.rx_queue", 15808}});
  RunOutcome o = outcome(1000, 381);
  o.sink_hung = true;
  Waterfall w = build_waterfall(d, o, {});
  EXPECT_EQ(w.find("app")->dropped, 19u);
  EXPECT_EQ(w.accounting.unexplained, 0);
  // A sink that did not hang drained its queue: nothing is put in `app`.
  o.sink_hung = false;
  EXPECT_EQ(build_waterfall(d, o, {}).find("app")->dropped, 0u);
}

TEST(Waterfall, HostWideReasonsAreShownButNotChecked) {
  auto d = make_delta({{"rx.snmp.Udp.RcvbufErrors", 10}});
  DropReasons r;
  r.mode = "tracefs";
  r.counts = {{.reason = "SOCKET_RCVBUFF", .reason_id = 2, .location = "y", .count = 15, .not_a_drop = false,
               .host_wide = true}};
  Waterfall w = build_waterfall(d, outcome(100, 90), {}, {}, &r);
  const Stage* s = w.find("socket");
  EXPECT_TRUE(std::any_of(s->evidence.begin(), s->evidence.end(),
                          [](const Evidence& e) { return e.counter == "kfree_skb SOCKET_RCVBUFF" && e.note.find("host-wide") != std::string::npos; }));
  for (const auto& c : s->checks) EXPECT_NE(c.what, "kernel drop reasons for this stage = dropped");
}

TEST(Reasons, MapToStages) {
  EXPECT_EQ(stage_of_reason("SOCKET_RCVBUFF"), "socket");
  EXPECT_EQ(stage_of_reason("NO_SOCKET"), "udp");
  EXPECT_EQ(stage_of_reason("CPU_BACKLOG"), "backlog");
  EXPECT_EQ(stage_of_reason("NETFILTER_DROP"), "netfilter");
  EXPECT_EQ(stage_of_reason("QDISC_DROP"), "qdisc");
  EXPECT_EQ(stage_of_reason("IP_RPFILTER"), "ip");
  EXPECT_EQ(stage_of_reason("SOMETHING_NEW"), "");
}

TEST(Expect, Verdicts) {
  auto clean = make_delta({});
  Waterfall none = build_waterfall(clean, outcome(1000, 1000), {});
  EXPECT_TRUE(evaluate_expect(Expect{.no_loss = true}, none).passed);
  EXPECT_FALSE(evaluate_expect(Expect{.drops_at = "socket"}, none).passed); // nothing lost

  auto sock = make_delta({{"rx.snmp.Udp.RcvbufErrors", 700}});
  Waterfall lossy = build_waterfall(sock, outcome(1000, 300), {});
  EXPECT_FALSE(evaluate_expect(Expect{.no_loss = true}, lossy).passed);
  EXPECT_TRUE(evaluate_expect(Expect{.drops_at = "socket", .min_fraction = 0.95}, lossy).passed);
  ExpectVerdict wrong = evaluate_expect(Expect{.drops_at = "backlog", .min_fraction = 0.95}, lossy);
  EXPECT_FALSE(wrong.passed);
  EXPECT_NE(wrong.reasons[0].find("backlog holds 0 of 700"), std::string::npos) << wrong.reasons[0];

  // Right stage, but something unexplained: fails unless allowed.
  Waterfall partial = build_waterfall(sock, outcome(1000, 290), {});
  EXPECT_FALSE(evaluate_expect(Expect{.drops_at = "socket"}, partial).passed);
  EXPECT_TRUE(evaluate_expect(Expect{.drops_at = "socket", .max_unexplained = 10}, partial).passed);
  EXPECT_TRUE(evaluate_expect(std::nullopt, partial).passed);
}

TEST(Report, OutcomeFromGenAndSinkReports) {
  nlohmann::json gen = {{"summary", {{"sent", 10}, {"send_errors_total", 2}}},
                        {"flows", {{{"flow", 0}, {"next_seq", 6}}, {{"flow", 1}, {"next_seq", 4}}}}};
  nlohmann::json sink = {{"summary", {{"valid", 8}, {"invalid", 1}, {"duplicates", 0},
                                      {"socket_drops_rxq_ovfl", nullptr}, {"socket_drops_meminfo", 2}}},
                         {"flows", {{{"flow", 0}, {"highest_seq", 5}, {"lost", 1}},
                                    {{"flow", 1}, {"highest_seq", 2}, {"lost", 0}}}}};
  RunOutcome o = outcome_from_reports(gen, sink);
  EXPECT_EQ(o.gen_sent, 10u);
  EXPECT_EQ(o.gen_send_errors, 2u);
  EXPECT_EQ(o.sink_valid, 8u);
  EXPECT_FALSE(o.sink_rxq_ovfl);
  EXPECT_EQ(o.sink_meminfo_drops, 2u);
  ASSERT_EQ(o.flows.size(), 2u);
  EXPECT_EQ(o.flows[1].gen_sent, 4u);
  EXPECT_EQ(o.flows[1].sink_highest, 2u);
  gen["summary"].erase("sent");
  EXPECT_THROW(outcome_from_reports(gen, sink), std::runtime_error);
}

} // namespace

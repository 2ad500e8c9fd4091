// The nic_ring stage on recorded counters: before/after snapshots of a run
// with a real receiving NIC (tests/data/nic/, droplab's Snapshot JSON), diffed
// by counters::diff and attributed by build_waterfall as `droplab run` does.
// This machine has no NIC to overflow; see tests/data/README.md for how the
// recordings were made.
#include "hints.hpp"
#include "profile.hpp"
#include "waterfall.hpp"

#include "droplab/counters/snapshot.hpp"
#include "droplab/counters/snapshot_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

using namespace droplab::harness;
namespace counters = droplab::counters;
using nlohmann::json;

namespace {

struct Recording {
  std::string file;
  counters::Delta delta;
  RunOutcome outcome;
};

void only_keys(const json& j, const std::string& where, std::initializer_list<const char*> allowed) {
  if (!j.is_object()) throw std::runtime_error(where + ": expected an object");
  for (const auto& [k, v] : j.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; })) {
      throw std::runtime_error(where + "/" + k + ": unknown key");
    }
  }
}

Recording load(const std::string& file) {
  const std::string path = std::string(DROPLAB_TEST_DATA) + "/nic/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing test data file " + path);
  json doc = json::parse(in);
  only_keys(doc, path + ": ", {"description", "outcome", "before", "after"});
  only_keys(doc.at("outcome"), path + ": /outcome", {"gen_sent", "sink_valid"});
  Recording r;
  r.file = file;
  r.outcome.gen_sent = doc.at("outcome").at("gen_sent").get<std::uint64_t>();
  r.outcome.sink_valid = doc.at("outcome").at("sink_valid").get<std::uint64_t>();
  // droplab's own reader of its Snapshot JSON (counters::from_json).
  r.delta = counters::diff(doc.at("before").get<counters::Snapshot>(), doc.at("after").get<counters::Snapshot>());
  return r;
}

std::uint64_t delta_of(const Recording& r, const std::string& key) {
  auto v = r.delta.get(key);
  if (!v) throw std::runtime_error(r.file + ": " + key + " is not in the recording");
  return *v;
}

const Evidence* find_evidence(const Stage& s, const std::string& counter) {
  for (const auto& e : s.evidence) {
    if (e.counter == counter) return &e;
  }
  return nullptr;
}

bool has_note(const Stage& s, const std::string& part) {
  return std::any_of(s.notes.begin(), s.notes.end(), [&](const auto& n) { return n.find(part) != std::string::npos; });
}

// Every stage's `in` is the previous stage's `out`; the drops it names are
// the drop evidence it sums; sent = delivered + dropped + unexplained.
void expect_consistent(const Waterfall& w, const std::string& file) {
  ASSERT_EQ(w.stages.size(), stage_names().size()) << file;
  std::uint64_t dropped = 0;
  for (std::size_t i = 0; i < w.stages.size(); ++i) {
    const Stage& s = w.stages[i];
    EXPECT_EQ(s.name, stage_names()[i]) << file;
    if (i > 0) {
      EXPECT_EQ(s.in, w.stages[i - 1].out()) << file << ": " << s.name;
    }
    dropped += s.dropped;
    for (const auto& c : s.checks) EXPECT_EQ(c.difference(), 0) << file << ": " << s.name << ": " << c.what;
  }
  EXPECT_EQ(w.stages.front().in, w.accounting.sent) << file;
  EXPECT_EQ(w.accounting.dropped, dropped) << file;
  EXPECT_EQ(static_cast<std::int64_t>(w.accounting.sent),
            static_cast<std::int64_t>(w.accounting.delivered + w.accounting.dropped) + w.accounting.unexplained)
      << file;
  EXPECT_EQ(w.accounting.unexplained, 0) << file;
  EXPECT_TRUE(w.accounting.unavailable.empty()) << file << ": " << w.accounting.unavailable.front();
  EXPECT_EQ(w.stages.back().out(), w.accounting.delivered) << file;
  const Stage* nic = w.find("nic_ring");
  ASSERT_NE(nic, nullptr) << file;
  std::uint64_t named = 0;
  for (const auto& e : nic->evidence) {
    if (e.is_drop && e.delta) named += static_cast<std::uint64_t>(*e.delta);
  }
  EXPECT_EQ(nic->dropped, named) << file;
}

TEST(NicRing, RecordingsAreConsistentInPathOrder) {
  for (const char* file : {"mlx5-out-of-buffer-6.18.json", "ixgbe-missed-rss-skew-6.1.json",
                           "igb-fifo-queue-drops-6.6.json", "veth-socket-rcvbuf-6.18.json"}) {
    Recording r = load(file);
    Waterfall w = build_waterfall(r.delta, r.outcome, {});
    expect_consistent(w, file);
    // nic_ring sits between the sending device and the receiving device.
    const auto& names = stage_names();
    auto at = [&](const char* n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
    EXPECT_EQ(at("nic_ring"), at("tx_device") + 1);
    EXPECT_EQ(at("rx_device"), at("nic_ring") + 1);
  }
}

TEST(NicRing, Mlx5OutOfBufferAndPortDiscardsAreCountedOnce) {
  Recording r = load("mlx5-out-of-buffer-6.18.json");
  Waterfall w = build_waterfall(r.delta, r.outcome, {});
  const Stage* nic = w.find("nic_ring");
  const std::uint64_t oob = delta_of(r, "rx.ethtool.rx_out_of_buffer");
  const std::uint64_t phy = delta_of(r, "rx.ethtool.rx_discards_phy");
  EXPECT_EQ(oob, 372'410u);
  EXPECT_EQ(phy, 1'250u);
  EXPECT_EQ(nic->dropped, oob + phy);
  // The same packets in rtnetlink (mlx5e_get_stats): rx_missed_errors is
  // rx_out_of_buffer, rx_dropped holds rx_discards_phy. Shown, not added.
  ASSERT_NE(find_evidence(*nic, "rx.link.rx_missed_errors"), nullptr);
  EXPECT_FALSE(find_evidence(*nic, "rx.link.rx_missed_errors")->is_drop);
  EXPECT_EQ(find_evidence(*nic, "rx.link.rx_missed_errors")->delta, static_cast<std::int64_t>(oob));
  EXPECT_TRUE(find_evidence(*nic, "rx.ethtool.rx_out_of_buffer")->is_drop);
  EXPECT_TRUE(find_evidence(*nic, "rx.ethtool.rx_discards_phy")->is_drop);
  EXPECT_FALSE(find_evidence(*nic, "rx.ethtool.rx_vport_unicast_packets"));
  EXPECT_EQ(delta_of(r, "rx.link.rx_dropped"), phy);
  EXPECT_EQ(w.find("rx_device")->dropped, 0u) << "rx_dropped is the NIC's rx_discards_phy here";
  EXPECT_TRUE(has_note(*w.find("rx_device"), "1,250 of rx_dropped are the NIC's own drops"));
  EXPECT_EQ(w.accounting.dropped, oob + phy);
  EXPECT_EQ(w.accounting.unexplained, 0);
  ASSERT_EQ(nic->checks.size(), 1u);
  EXPECT_EQ(nic->checks[0].observed_counter, "rx.link.rx_missed_errors");
  EXPECT_EQ(nic->checks[0].difference(), 0);
  EXPECT_TRUE(has_note(*nic, "mlx5 driver"));
  // Eight channels, evenly loaded: no queue note.
  EXPECT_FALSE(has_note(*nic, kQueueImbalanceNote));
}

TEST(NicRing, IxgbeMissedAndNoDescriptorDropsWithRssSkew) {
  Recording r = load("ixgbe-missed-rss-skew-6.1.json");
  Waterfall w = build_waterfall(r.delta, r.outcome, {});
  const Stage* nic = w.find("nic_ring");
  const std::uint64_t mpc = delta_of(r, "rx.link.rx_missed_errors");
  const std::uint64_t qprdc = delta_of(r, "rx.ethtool.rx_no_dma_resources");
  EXPECT_EQ(nic->dropped, mpc + qprdc);
  EXPECT_EQ(nic->dropped, 52'340u);
  // ixgbe copies rx_missed_errors into ethtool -S: the same drops, checked, not added.
  EXPECT_TRUE(find_evidence(*nic, "rx.link.rx_missed_errors")->is_drop);
  EXPECT_FALSE(find_evidence(*nic, "rx.ethtool.rx_missed_errors")->is_drop);
  EXPECT_EQ(delta_of(r, "rx.ethtool.rx_missed_errors"), mpc);
  // RNBC is pressure (the packet waited in the NIC's buffer), not a drop.
  EXPECT_FALSE(find_evidence(*nic, "rx.ethtool.rx_no_buffer_count")->is_drop);
  EXPECT_GT(delta_of(r, "rx.ethtool.rx_no_buffer_count"), 0u);
  bool checked = false;
  for (const auto& c : nic->checks) {
    if (c.observed_counter == "rx.ethtool.rx_missed_errors") {
      checked = true;
      EXPECT_EQ(c.expected, static_cast<std::int64_t>(mpc));
      EXPECT_EQ(c.difference(), 0);
    }
  }
  EXPECT_TRUE(checked);
  // No per-queue drop counter on ixgbe: the received packets show the skew.
  EXPECT_TRUE(has_note(*nic, std::string(kQueueImbalanceNote) + "queue 3 holds 3,741,651 of 4,947,660 received packets"))
      << (nic->notes.empty() ? "" : nic->notes.back());
  EXPECT_EQ(w.find("rx_device")->dropped, 0u);
  EXPECT_EQ(w.accounting.unexplained, 0);
}

TEST(NicRing, IgbFifoErrorsArePerQueueDropsSummedOnce) {
  Recording r = load("igb-fifo-queue-drops-6.6.json");
  Waterfall w = build_waterfall(r.delta, r.outcome, {});
  const Stage* nic = w.find("nic_ring");
  std::uint64_t per_queue = 0;
  for (int q = 0; q < 4; ++q) {
    const std::string key = "rx.ethtool.rx_queue_" + std::to_string(q) + "_drops";
    const Evidence* e = find_evidence(*nic, key);
    ASSERT_NE(e, nullptr) << key;
    EXPECT_TRUE(e->is_drop);
    EXPECT_EQ(e->note, "queue " + std::to_string(q));
    per_queue += delta_of(r, key);
  }
  EXPECT_EQ(per_queue, 15'195u);
  EXPECT_EQ(nic->dropped, per_queue);
  // igb_update_stats adds RQDPC to rx_fifo_errors, and copies that into ethtool -S:
  // three counters, one set of drops.
  EXPECT_EQ(delta_of(r, "rx.link.rx_fifo_errors"), per_queue);
  EXPECT_EQ(delta_of(r, "rx.ethtool.rx_fifo_errors"), per_queue);
  EXPECT_FALSE(find_evidence(*nic, "rx.link.rx_fifo_errors")->is_drop);
  EXPECT_FALSE(find_evidence(*nic, "rx.ethtool.rx_fifo_errors")->is_drop);
  EXPECT_EQ(nic->checks.size(), 4u); // fifo, and the ethtool copies of missed, fifo and over
  for (const auto& c : nic->checks) EXPECT_EQ(c.difference(), 0) << c.what;
  EXPECT_TRUE(has_note(*nic, "rx_queue_N_drops: RQDPC"));
  EXPECT_TRUE(has_note(*nic, std::string(kQueueImbalanceNote) + "queue 2 holds 14,870 of 15,195 drops (98%) across 4 queues"));
  EXPECT_EQ(w.accounting.dropped, per_queue);
  EXPECT_EQ(w.accounting.unexplained, 0);
}

// What the code before nic_ring (HEAD 96bbe72) reported for this run, which is
// also what the recorded report says: every stage but nic_ring must keep it.
TEST(NicRing, VethHasNoNicDropsAndLeavesEveryOtherStageAsItWas) {
  Recording r = load("veth-socket-rcvbuf-6.18.json");
  Waterfall w = build_waterfall(r.delta, r.outcome, {});
  const Stage* nic = w.find("nic_ring");
  EXPECT_EQ(nic->in, 100'000u);
  EXPECT_EQ(nic->dropped, 0u);
  EXPECT_TRUE(nic->dropped_complete);
  EXPECT_TRUE(nic->checks.empty());
  EXPECT_TRUE(has_note(*nic, "veth: no hardware ring"));
  for (const auto& e : nic->evidence) {
    EXPECT_EQ(e.counter.find("rx.ethtool."), std::string::npos) << "veth's " << e.counter << " is not a NIC counter";
  }
  struct Before {
    const char* stage;
    std::uint64_t in, dropped;
  };
  const Before before[] = {{"gen", 100'000, 0},   {"qdisc", 100'000, 0},     {"tx_device", 100'000, 0},
                           {"rx_device", 100'000, 0}, {"backlog", 100'000, 0}, {"ip", 100'000, 0},
                           {"netfilter", 100'000, 0}, {"udp", 100'000, 0},     {"socket", 100'000, 79'995},
                           {"app", 20'005, 0}};
  for (const auto& b : before) {
    const Stage* s = w.find(b.stage);
    ASSERT_NE(s, nullptr) << b.stage;
    EXPECT_EQ(s->in, b.in) << b.stage;
    EXPECT_EQ(s->dropped, b.dropped) << b.stage;
  }
  EXPECT_EQ(w.accounting.dropped, 79'995u);
  EXPECT_EQ(w.accounting.unexplained, 0);
}

// A delta with only the receiving device's counters, the rest left out.
counters::Delta nic_delta(const std::map<std::string, std::uint64_t>& ethtool,
                          const std::map<std::string, std::uint64_t>& link) {
  counters::Delta d;
  auto add = [&](const std::string& key, std::uint64_t v) {
    counters::Counter c;
    c.key = key;
    c.source = "test";
    c.value = v;
    d.counters[key] = c;
  };
  for (const char* f : {"rx_missed_errors", "rx_fifo_errors", "rx_over_errors", "rx_crc_errors", "rx_dropped"}) {
    add(std::string("rx.link.") + f, 0);
  }
  for (const auto& [k, v] : link) add("rx.link." + k, v);
  for (const auto& [k, v] : ethtool) add("rx.ethtool." + k, v);
  return d;
}

struct DriverCase {
  const char* what;
  std::map<std::string, std::uint64_t> ethtool;
  std::map<std::string, std::uint64_t> link;
  std::uint64_t nic_dropped;
  std::uint64_t rx_device_dropped;
  const char* note;
};

TEST(NicRing, DriverNamesAndWhereTheyAreAlsoCounted) {
  const DriverCase cases[] = {
      {.what = "veth's own drop and XDP counters are not NIC drops",
       .ethtool = {{"peer_ifindex", 2}, {"rx_queue_0_drops", 5}, {"rx_queue_0_xdp_drops", 7}, {"rx_queue_0_xdp_packets", 9}},
       .link = {{"rx_dropped", 12}},
       .nic_dropped = 0,
       .rx_device_dropped = 12,
       .note = "veth: no hardware ring"},
      {.what = "mlx5 before 2024: rx_out_of_buffer reported as rx_dropped",
       .ethtool = {{"rx_out_of_buffer", 100}, {"rx_discards_phy", 0}},
       .link = {{"rx_dropped", 100}},
       .nic_dropped = 100,
       .rx_device_dropped = 0,
       .note = "mlx5 driver"},
      {.what = "ice: the port's drops as rx_missed_errors, the VSI's as rx_dropped",
       .ethtool = {{"rx_dropped.nic", 500}, {"rx_dropped", 300}, {"rx_queue_0_packets", 10}},
       .link = {{"rx_missed_errors", 500}, {"rx_dropped", 304}},
       .nic_dropped = 800,
       .rx_device_dropped = 4,
       .note = "ice driver"},
      {.what = "i40e after 5337d2949733: port discards in ethtool only, the VSI's in rx_missed_errors",
       .ethtool = {{"port.rx_discards", 200}, {"rx_missed_errors", 900}},
       .link = {{"rx_missed_errors", 900}},
       .nic_dropped = 1'100,
       .rx_device_dropped = 0,
       .note = "i40e driver"},
      {.what = "bnxt: per-ring discards, summed into rx_missed_errors",
       .ethtool = {{"[0]: rx_discards", 10}, {"[1]: rx_discards", 990}, {"[0]: rx_ucast_packets", 5000}},
       .link = {{"rx_missed_errors", 1'000}},
       .nic_dropped = 1'000,
       .rx_device_dropped = 0,
       .note = "queue 1 holds 990 of 1,000 drops"},
      {.what = "virtio_net: per-queue driver drops, summed into rx_dropped",
       .ethtool = {{"rx_queue_0_kicks", 3}, {"rx_queue_0_drops", 40}, {"rx_queue_1_kicks", 3}, {"rx_queue_1_drops", 2}},
       .link = {{"rx_dropped", 42}},
       .nic_dropped = 42,
       .rx_device_dropped = 0,
       .note = "virtio_net driver"},
      {.what = "ena: the device's rx_drops are its rx_dropped",
       .ethtool = {{"admin_q_pause", 0}, {"rx_drops", 77}},
       .link = {{"rx_dropped", 80}},
       .nic_dropped = 77,
       .rx_device_dropped = 3,
       .note = "ena driver"},
      {.what = "an unknown driver: the rtnl_link_stats64 fields alone",
       .ethtool = {{"rx_pkts", 1000}, {"rx_nobuf", 30}},
       .link = {{"rx_missed_errors", 25}, {"rx_fifo_errors", 5}},
       .nic_dropped = 30,
       .rx_device_dropped = 0,
       .note = "driver not recognised"},
  };
  for (const auto& c : cases) {
    Waterfall w = build_waterfall(nic_delta(c.ethtool, c.link), RunOutcome{.gen_sent = 10'000}, {});
    const Stage* nic = w.find("nic_ring");
    EXPECT_EQ(nic->dropped, c.nic_dropped) << c.what;
    EXPECT_EQ(w.find("rx_device")->dropped, c.rx_device_dropped) << c.what;
    EXPECT_EQ(w.find("rx_device")->in, 10'000 - c.nic_dropped) << c.what;
    EXPECT_TRUE(has_note(*nic, c.note)) << c.what;
    for (const auto& chk : nic->checks) EXPECT_EQ(chk.difference(), 0) << c.what << ": " << chk.what;
  }
}

TEST(NicRing, UnavailableNetlinkFieldsMakeTheStageIncomplete) {
  counters::Delta d = nic_delta({{"peer_ifindex", 2}}, {});
  d.counters["rx.link.rx_missed_errors"].value.reset();
  d.counters["rx.link.rx_missed_errors"].unavailable_reason = "IFLA_STATS64 from this kernel is 184 bytes";
  Waterfall w = build_waterfall(d, RunOutcome{.gen_sent = 10}, {});
  EXPECT_FALSE(w.find("nic_ring")->dropped_complete);
  EXPECT_TRUE(std::any_of(w.accounting.unavailable.begin(), w.accounting.unavailable.end(),
                          [](const auto& u) { return u.find("rx.link.rx_missed_errors") != std::string::npos; }));
}

TEST(NicRing, HintNamesTheCountersTheRingAndTheSkewedQueue) {
  Recording r = load("igb-fifo-queue-drops-6.6.json");
  const KnobValues knobs{{"nic_ring", kKnobRxRing, "256 (max 4096)"}, {"nic_ring", kKnobNetdevBudget, "300"}};
  Waterfall w = build_waterfall(r.delta, r.outcome, knobs);
  add_hints(w, r.delta, knobs);
  const Stage* nic = w.find("nic_ring");
  EXPECT_EQ(nic->knobs, (std::vector<std::string>{"rx ring = 256 (max 4096)", "net.core.netdev_budget = 300"}));
  const std::string& h = nic->hint;
  EXPECT_EQ(h.rfind("nic_ring: 15,195 dropped by the receiving NIC", 0), 0u) << h;
  EXPECT_NE(h.find("rx_queue_2_drops 14,870"), std::string::npos) << h;
  EXPECT_NE(h.find("rx ring 256 (max 4096) (ethtool -g)"), std::string::npos) << h;
  EXPECT_NE(h.find("channels unavailable (ethtool -l)"), std::string::npos) << h;
  EXPECT_NE(h.find("net.core.netdev_budget 300"), std::string::npos) << h;
  EXPECT_NE(h.find("ethtool -G DEV rx N"), std::string::npos) << h;
  EXPECT_NE(h.find("queue 2 holds 14,870"), std::string::npos) << h;
  // Stages that did not drop get no hint; the veth lab's nic_ring never does.
  Recording veth = load("veth-socket-rcvbuf-6.18.json");
  Waterfall v = build_waterfall(veth.delta, veth.outcome, {});
  add_hints(v, veth.delta, {});
  EXPECT_TRUE(v.find("nic_ring")->hint.empty());
  EXPECT_NE(render_waterfall(w).find("passed the receiving NIC's ring"), std::string::npos);
}

} // namespace


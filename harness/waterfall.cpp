#include "waterfall.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <regex>

using nlohmann::json;

namespace droplab::harness {
namespace {

Evidence evidence(const counters::Delta& d, const std::string& key, bool is_drop,
                  std::string note = {}) {
  Evidence e;
  e.counter = key;
  e.is_drop = is_drop;
  e.note = std::move(note);
  if (const counters::Counter* c = d.find(key)) {
    e.source = c->source;
    if (c->value) {
      e.delta = static_cast<std::int64_t>(*c->value);
    } else {
      e.unavailable_reason = c->unavailable_reason;
    }
  } else {
    e.unavailable_reason = "not collected";
  }
  return e;
}

Evidence own(const std::string& counter, const std::string& source, std::optional<std::uint64_t> v,
             bool is_drop, std::string note = {}) {
  Evidence e;
  e.counter = counter;
  e.source = source;
  e.is_drop = is_drop;
  e.note = std::move(note);
  if (v) {
    e.delta = static_cast<std::int64_t>(*v);
  } else {
    e.unavailable_reason = "not reported";
  }
  return e;
}

// Sums the stage's drop evidence; an unavailable drop counter makes the stage
// incomplete and is listed for the accounting.
void sum_drops(Stage& s, Accounting& a) {
  for (const auto& e : s.evidence) {
    if (!e.is_drop) continue;
    if (e.delta) {
      s.dropped += static_cast<std::uint64_t>(std::max<std::int64_t>(0, *e.delta));
    } else {
      s.dropped_complete = false;
      a.unavailable.push_back(e.counter + " (" + e.unavailable_reason + ")");
    }
  }
}

std::optional<std::int64_t> value(const counters::Delta& d, const std::string& key) {
  if (auto v = d.get(key)) return static_cast<std::int64_t>(*v);
  return std::nullopt;
}

Check check(std::string what, std::int64_t expected, const counters::Delta& d, const std::string& key) {
  return Check{.what = std::move(what), .expected = expected, .observed = value(d, key),
               .observed_counter = key};
}

void attach_knobs(Stage& s, const KnobValues& knobs) {
  for (const auto& k : knobs) {
    if (k.stage == s.name) s.knobs.push_back(fmt::format("{} = {}", k.name, k.value));
  }
}

// Each stage's drop reasons as evidence, and — when they are limited to the
// lab's namespaces — a check that they account for the stage's drops.
void attach_reasons(Waterfall& w, const DropReasons& r) {
  std::map<std::string, std::uint64_t> per_stage;
  for (const auto& c : r.counts) {
    if (c.not_a_drop) continue;
    std::string stage = stage_of_reason(c.reason);
    per_stage[stage] += c.count;
    for (auto& s : w.stages) {
      if (s.name != stage) continue;
      Evidence e;
      e.counter = "kfree_skb " + c.reason;
      e.source = fmt::format("drop reason at {} ({})", c.location, r.mode);
      e.delta = static_cast<std::int64_t>(c.count);
      if (c.host_wide) e.note = "host-wide: not limited to the lab";
      s.evidence.push_back(e);
    }
  }
  if (!r.lab_only()) return;
  for (auto& s : w.stages) {
    // The NIC drops before an skb exists: no drop reason can name its drops.
    if (s.name == "gen" || s.name == "nic_ring" || s.name == "app") continue;
    if (s.dropped == 0 && per_stage[s.name] == 0) continue;
    Check c{.what = "kernel drop reasons for this stage = dropped",
            .expected = static_cast<std::int64_t>(s.dropped),
            .observed = static_cast<std::int64_t>(per_stage[s.name]),
            .observed_counter = "kfree_skb reasons"};
    s.checks.push_back(c);
  }
}

// ---------------------------------------------------------------------------
// nic_ring: what the receiving NIC dropped before the kernel had an skb.
//
// rtnl_link_stats64 has generic fields for it (include/uapi/linux/if_link.h:
// rx_missed_errors "dropped by the device due to lack of buffer space",
// rx_fifo_errors, rx_over_errors). Drivers name their own, more specific
// counters in `ethtool -S`, and many count the same packets in one generic
// field too. The drivers below are recognised by an ethtool name only they
// report; for each drop counter the table says in which rtnl_link_stats64
// field the driver also counts it, so that field corroborates instead of
// adding drops. Any other driver: the generic fields alone.

enum class LinkField { missed, fifo, over, dropped };

std::string link_key(LinkField f) {
  switch (f) {
  case LinkField::missed: return "rx.link.rx_missed_errors";
  case LinkField::fifo: return "rx.link.rx_fifo_errors";
  case LinkField::over: return "rx.link.rx_over_errors";
  case LinkField::dropped: return "rx.link.rx_dropped";
  }
  return {};
}

struct DriverCounter {
  std::regex name;               // over the ethtool name; group 1, when present, is the queue
  bool is_drop = true;           // false: pressure, not drops
  std::vector<LinkField> also_in; // where the driver counts them too: the first one that moved
  std::string what;
};

struct NicDriver {
  std::string name;
  std::regex signature; // an ethtool name only this driver reports
  std::vector<DriverCounter> counters;
};

const std::vector<NicDriver>& nic_drivers() {
  using F = LinkField;
  auto re = [](const char* s) { return std::regex(s); };
  static const std::vector<NicDriver> drivers{
      // drivers/net/veth.c: peer_ifindex, rx_queue_N_{xdp_packets,xdp_bytes,drops,xdp_redirect,
      // xdp_drops,xdp_tx,xdp_tx_errors}: its XDP/NAPI path, not a hardware ring. Nothing here.
      {"veth", re("^peer_ifindex$"), {}},
      // mlx5 (mlx5/core/en_stats.c; Documentation/networking/device_drivers/ethernet/mellanox/
      // mlx5/counters.rst): rx_out_of_buffer is the queue counter out_of_buffer, rx_discards_phy
      // the port's if_in_discards. mlx5e_get_stats() reported out_of_buffer as rx_dropped until
      // the fix of 269e6b3af3bf (2024), as rx_missed_errors since; if_in_discards as rx_dropped
      // since Linux 6.14 (patch.msgid.link/20241210022706.6665-1-laoar.shao@gmail.com).
      {"mlx5",
       re("^rx_(?:out_of_buffer|discards_phy)$"),
       {{re("^rx_out_of_buffer$"), true, {F::missed, F::dropped},
         "no receive descriptor posted when the packet arrived: the ring was empty"},
        {re("^rx_discards_phy$"), true, {F::dropped},
         "dropped in the port's buffer: the NIC could not pass packets to the host fast enough"}}},
      // ixgbe (ixgbe_ethtool.c ixgbe_gstrings_stats; ixgbe_main.c ixgbe_update_stats):
      // rx_no_dma_resources sums QPRDC, packets a queue dropped for want of a free descriptor
      // (SRRCTL.DROP_EN), in no rtnl_link_stats64 field; rx_missed_errors (MPC, the packet
      // buffer full) is the rtnl field itself. No per-queue drop counter.
      {"ixgbe",
       re("^rx_no_dma_resources$"),
       {{re("^rx_no_dma_resources$"), true, {}, "QPRDC: a queue had no free descriptor (drop enabled)"},
        {re("^rx_no_buffer_count$"), false, {},
         "RNBC: a queue had no free descriptor; the packet waited in the NIC's buffer (a drop only "
         "if that overflowed: rx_missed_errors)"}}},
      // ice (ice_ethtool.c since Linux 5.3, "ice: Format ethtool reported stats"; ice_main.c
      // ice_update_vsi_stats): rx_dropped.nic is the port's PRTRPB_RDPC, reported as
      // rx_missed_errors; rx_dropped the VSI's GLV_RDPC, reported as rx_dropped.
      {"ice",
       re("^rx_dropped\\.nic$"),
       {{re("^rx_dropped\\.nic$"), true, {F::missed}, "the port's receive packet buffer was full"},
        {re("^rx_dropped$"), true, {F::dropped}, "no free descriptor on this VSI's queues"}}},
      // igb, igc (igb_ethtool.c, igc_ethtool.c: rx_queue_%u_{packets,bytes,drops,csum_err,
      // alloc_failed}; igb_update_stats: ring->rx_stats.drops += RQDPC and rx_fifo_errors += RQDPC).
      {"igb/igc",
       re("^rx_queue_\\d+_alloc_failed$"),
       {{re("^rx_queue_(\\d+)_drops$"), true, {F::fifo}, "RQDPC: the queue had no free descriptor"},
        {re("^rx_no_buffer_count$"), false, {},
         "RNBC: a queue had no free descriptor; the packet waited in the NIC's buffer (a drop only "
         "if that overflowed: rx_missed_errors)"}}},
      // i40e (i40e_ethtool.c): port.rx_dropped, renamed port.rx_discards by 5337d2949733 ("i40e:
      // Add rx_missed_errors for buffer exhaustion"): the port's GLPRT_RDPC, in no rtnl field. The
      // same commit reports the VSI's GLV_RDPC as rx_missed_errors (before: within rx_dropped).
      {"i40e",
       re("^port\\.rx_(?:dropped|discards)$"),
       {{re("^port\\.rx_(?:dropped|discards)$"), true, {}, "the port's receive packet buffer was full"}}},
      // bnxt_en (bnxt_ethtool.c: "[%d]: %s" over bnxt_ring_rx_stats_str; bnxt.c
      // bnxt_get_ring_stats: rx_missed_errors += each ring's rx_discard_pkts).
      {"bnxt",
       re("^\\[\\d+\\]: rx_discards$"),
       {{re("^\\[(\\d+)\\]: rx_discards$"), true, {F::missed}, "the ring had no free buffer"}}},
      // virtio_net (virtio_net.c virtnet_rq_stats_desc: rx_queue_%u_{packets,bytes,drops,
      // xdp_*,kicks}; virtnet_stats: rx_dropped += drops). A full virtqueue drops on the host
      // (its tap or vhost), where this guest cannot see it.
      {"virtio_net",
       re("^rx_queue_\\d+_kicks$"),
       {{re("^rx_queue_(\\d+)_drops$"), true, {F::dropped},
         "dropped by the driver: bad or short frames, no memory for a buffer, XDP"}}},
      // ena (ena_ethtool.c ena_stats_global_strings; ena_netdev.c ena_get_stats64:
      // rx_dropped = rx_drops, the device's own count from its keep-alive event).
      {"ena",
       re("^admin_q_pause$"),
       {{re("^rx_drops$"), true, {F::dropped}, "dropped by the ENA device on receive"}}},
  };
  return drivers;
}

struct QueueCount {
  std::uint64_t queue = 0;
  std::uint64_t value = 0;
};

// The queue number a pattern captured; nullopt when there is none (or it is absurd).
std::optional<std::uint64_t> queue_of(const std::smatch& m) {
  if (m.size() < 2 || !m[1].matched) return std::nullopt;
  const std::string digits = m[1].str();
  std::uint64_t q = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), q);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return q;
}

// A note when one queue holds well over its share (more than 1.5 times an
// even split) of `what`, saying `why` that matters.
std::optional<std::string> queue_skew(const std::vector<QueueCount>& q, const char* what, const char* why) {
  if (q.size() < 2) return std::nullopt;
  std::uint64_t total = 0;
  for (const auto& c : q) total += c.value;
  if (total == 0) return std::nullopt;
  auto top = std::max_element(q.begin(), q.end(), [](const auto& x, const auto& y) { return x.value < y.value; });
  if (top->value * q.size() * 2 <= total * 3) return std::nullopt;
  return fmt::format("{}queue {} holds {} of {} {} ({:.0f}%) across {} queues: {}", kQueueImbalanceNote, top->queue,
                     format_count(top->value), format_count(total), what,
                     100.0 * static_cast<double>(top->value) / static_cast<double>(total), q.size(), why);
}

// Counters per receive queue, by a pattern whose group 1 is the queue.
std::vector<QueueCount> per_queue(const counters::Delta& d, const std::vector<std::string>& names,
                                  const std::regex& pattern) {
  std::vector<QueueCount> out;
  for (const auto& n : names) {
    std::smatch m;
    if (!std::regex_match(n, m, pattern)) continue;
    auto q = queue_of(m);
    auto v = d.get("rx.ethtool." + n);
    if (q && v) out.push_back({*q, *v});
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.queue < y.queue; });
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " + ") + s;
  return out;
}

// The receiving NIC's drops. `in_rx_dropped` is set to the part of them the
// driver also counts in rx_dropped, which rx_device must not count again.
Stage nic_ring_stage(const counters::Delta& d, std::uint64_t in, Accounting& a, std::int64_t& in_rx_dropped) {
  Stage s{.name = "nic_ring", .label = "passed the receiving NIC's ring", .in = in};
  const std::string prefix = "rx.ethtool.";
  std::vector<std::string> names;
  for (auto it = d.counters.lower_bound(prefix); it != d.counters.end() && it->first.starts_with(prefix); ++it) {
    names.push_back(it->first.substr(prefix.size()));
  }
  const NicDriver* drv = nullptr;
  for (const auto& cand : nic_drivers()) {
    if (std::any_of(names.begin(), names.end(), [&](const auto& n) { return std::regex_match(n, cand.signature); })) {
      drv = &cand;
      break;
    }
  }
  const bool veth = drv && drv->name == "veth";

  // The driver's own counters: the most specific, so they are the drops.
  std::map<LinkField, std::uint64_t> claimed;
  std::map<LinkField, std::vector<std::string>> claimed_by;
  std::vector<QueueCount> queue_drops;
  if (drv && !veth) {
    for (const auto& dc : drv->counters) {
      std::vector<std::pair<std::optional<std::uint64_t>, std::string>> found; // queue, name
      for (const auto& n : names) {
        std::smatch m;
        if (std::regex_match(n, m, dc.name)) found.emplace_back(queue_of(m), n);
      }
      if (found.empty()) continue;
      std::sort(found.begin(), found.end());
      std::uint64_t sum = 0;
      for (const auto& [q, n] : found) {
        Evidence e = evidence(d, prefix + n, dc.is_drop, q ? fmt::format("queue {}", *q) : dc.what);
        if (e.delta && *e.delta > 0) sum += static_cast<std::uint64_t>(*e.delta);
        if (q && dc.is_drop && e.delta) queue_drops.push_back({*q, static_cast<std::uint64_t>(std::max<std::int64_t>(0, *e.delta))});
        s.evidence.push_back(std::move(e));
      }
      // One line saying what the per-queue counters mean: "rx_queue_N_drops: …".
      const std::string shown = found.front().first ? std::regex_replace(found.front().second, std::regex("\\d+"), "N")
                                                    : found.front().second;
      if (found.front().first) s.notes.push_back(fmt::format("{}: {}", shown, dc.what));
      if (!dc.is_drop || sum == 0) continue;
      // Kernel versions differ in the field: the first candidate that moved holds them.
      for (LinkField f : dc.also_in) {
        auto v = value(d, link_key(f));
        if (!v || *v <= 0) continue;
        claimed[f] += sum;
        claimed_by[f].push_back(shown);
        break;
      }
    }
  }

  // The generic fields: drops unless a driver counter above already counts
  // the same packets; then they must agree.
  const std::map<LinkField, const char*> generic{
      {LinkField::missed, "no buffer space on the device (ring or packet buffer)"},
      {LinkField::fifo, "receive FIFO overflow"},
      {LinkField::over, "did not fit the buffers the host posted"}};
  for (const auto& [f, what] : generic) {
    const std::string key = link_key(f);
    if (claimed[f] == 0) {
      s.evidence.push_back(evidence(d, key, true, what));
      continue;
    }
    s.evidence.push_back(
        evidence(d, key, false, fmt::format("the same drops as {}: counted there", join(claimed_by[f]))));
    s.checks.push_back(check(fmt::format("{} = {} ({} counts them in both)", join(claimed_by[f]), key, drv->name),
                             static_cast<std::int64_t>(claimed[f]), d, key));
  }
  if (claimed[LinkField::dropped] > 0) {
    in_rx_dropped = static_cast<std::int64_t>(claimed[LinkField::dropped]);
    s.evidence.push_back(evidence(d, "rx.link.rx_dropped", false,
                                  fmt::format("includes {} ({} counts them there too): counted here, not at rx_device",
                                              join(claimed_by[LinkField::dropped]), drv->name)));
  }
  s.evidence.push_back(evidence(d, "rx.link.rx_crc_errors", false,
                                "frames damaged on the wire, from any sender: not a ring drop, not counted here"));
  sum_drops(s, a);

  if (!veth) {
    // ixgbe, igb, i40e copy rtnl_link_stats64 fields into their ethtool stats.
    for (const char* f : {"rx_missed_errors", "rx_fifo_errors", "rx_over_errors"}) {
      if (std::find(names.begin(), names.end(), f) == names.end()) continue;
      s.evidence.push_back(evidence(d, prefix + f, false, "the driver's copy of the rtnl_link_stats64 field"));
      if (auto nl = value(d, std::string("rx.link.") + f)) {
        s.checks.push_back(check(fmt::format("ethtool {} = rtnetlink {}", f, f), *nl, d, prefix + f));
      }
    }
  }

  if (veth) {
    s.notes.push_back("veth: no hardware ring; its rx_queue_N_* counters belong to its XDP/NAPI path, not to a NIC");
  } else if (drv) {
    s.notes.push_back(fmt::format("{} driver: its ethtool drop counters are used; an rtnl_link_stats64 field it "
                                  "counts the same packets in is shown to corroborate, not added",
                                  drv->name));
    s.notes.push_back("device-wide counters: they include every flow this NIC received, not only droplab's");
  } else if (const counters::Counter* c = d.find("rx.ethtool"); c && !c->value) {
    s.notes.push_back(fmt::format("driver statistics unavailable ({}): only the rtnl_link_stats64 fields are used",
                                  c->unavailable_reason));
  } else if (!names.empty()) {
    s.notes.push_back("driver not recognised by its ethtool names: only the rtnl_link_stats64 fields are used");
  }
  if (auto skew = queue_skew(queue_drops, "drops",
                             "that ring or its CPU is the bottleneck (RSS sends it more traffic, or its IRQ's CPU "
                             "is busy with other work)")) {
    s.notes.push_back(*skew);
  } else if (s.dropped > 0 && queue_drops.empty() && !veth) {
    // No per-queue drop counter (ixgbe, mlx5): how the packets spread over
    // the queues still shows an RSS imbalance.
    static const std::regex received[] = {std::regex("^rx_queue_(\\d+)_packets$"), std::regex("^rx(\\d+)_packets$"),
                                          std::regex("^rx-(\\d+)\\.packets$"), std::regex("^queue_(\\d+)_rx_cnt$"),
                                          std::regex("^\\[(\\d+)\\]: rx_ucast_packets$")};
    for (const auto& r : received) {
      if (auto spread = queue_skew(per_queue(d, names, r), "received packets",
                                   "RSS hashes most of the traffic to one ring and its CPU; this driver counts its "
                                   "drops per port, not per queue")) {
        s.notes.push_back(*spread);
        break;
      }
    }
  }
  return s;
}

} // namespace

const Stage* Waterfall::find(const std::string& name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Waterfall build_waterfall(const counters::Delta& d, const RunOutcome& o, const KnobValues& knobs,
                          const LabFacts& facts, const DropReasons* reasons) {
  Waterfall w;
  Accounting& a = w.accounting;
  a.sent = o.gen_sent;
  a.delivered = o.sink_valid;

  // 1. The generator: what the kernel accepted from it is N. Refused sends
  //    (ENOBUFS, ECONNREFUSED, …) never became packets and are not part of N.
  Stage gen{.name = "gen", .label = "sent by the generator", .in = o.gen_sent};
  gen.evidence.push_back(own("sent", "droplab-gen", o.gen_sent, false));
  gen.evidence.push_back(own("send_errors", "droplab-gen", o.gen_send_errors, false,
                             "refused by the kernel, not part of sent"));
  if (o.gen_pace) {
    if (auto note = gen_shortfall_note(*o.gen_pace)) gen.notes.push_back(std::move(*note));
  }

  // 2. The sender's qdisc. A qdisc drop returns NET_XMIT_DROP, which UDP
  //    turns into success without IP_RECVERR (counting SndbufErrors), so
  //    these packets are part of N.
  Stage qdisc{.name = "qdisc", .label = "left the sender's qdisc", .in = gen.out()};
  qdisc.evidence.push_back(evidence(d, "tx.qdisc.drops", true));
  qdisc.evidence.push_back(evidence(d, "tx.qdisc.overlimits", false));
  qdisc.evidence.push_back(evidence(d, "tx.snmp.Udp.SndbufErrors", false,
                                    "the sender's view of a qdisc or device drop"));
  sum_drops(qdisc, a);

  // 3. The sending veth. veth_xmit counts a failed enqueue_to_backlog as
  //    tx_dropped (drivers/net/veth.c) and enqueue_to_backlog also counts it
  //    in the receiving device's rx_dropped (dev_core_stats_rx_dropped_inc):
  //    the share softnet's dropped proves is the backlog's, not the devices'.
  std::optional<std::int64_t> tx_dropped = value(d, "tx.link.tx_dropped");
  std::optional<std::int64_t> rx_dropped = value(d, "rx.link.rx_dropped");
  std::optional<std::int64_t> softnet_dropped = value(d, "host.softnet.dropped");
  // Both devices count the same backlog drops; each is read at a slightly
  // different instant, so each gets its own share and the backlog the larger.
  std::int64_t tx_share = 0, rx_share = 0;
  if (tx_dropped && softnet_dropped && !facts.separate_hosts) tx_share = std::min(*tx_dropped, *softnet_dropped);
  if (rx_dropped && softnet_dropped) rx_share = std::min(*rx_dropped, *softnet_dropped);
  const std::int64_t backlog_share = std::max(tx_share, rx_share);
  // Without softnet the backlog's share cannot be proven, but the two devices
  // of a veth pair still count the same drops: count them once (in
  // tx_device), not twice.
  if (!softnet_dropped && tx_dropped && rx_dropped && !facts.separate_hosts) {
    rx_share = std::min(*tx_dropped, *rx_dropped);
  }

  Stage tx{.name = "tx_device", .label = "left the sending device", .in = qdisc.out()};
  tx.evidence.push_back(evidence(d, "tx.link.tx_dropped", false,
                                 "veth: also counts backlog drops (attributed to backlog)"));
  tx.evidence.push_back(evidence(d, "tx.link.tx_packets", false));
  if (tx_dropped) {
    tx.dropped = static_cast<std::uint64_t>(*tx_dropped - tx_share);
    tx.checks.push_back(check("sending veth tx_packets = packets into it - tx_dropped",
                              static_cast<std::int64_t>(tx.in) - *tx_dropped, d, "tx.link.tx_packets"));
  } else {
    tx.dropped_complete = false;
    a.unavailable.push_back("tx.link.tx_dropped");
  }

  // 4. The receiving NIC's ring (none on veth): drops before an skb exists.
  std::int64_t nic_share = 0; // of rx_dropped: the NIC's drops, which some drivers count there
  Stage nic = nic_ring_stage(d, tx.out(), a, nic_share);

  // 5. The receiving veth: rx_packets is the peer's tx_packets on veth.
  Stage rx{.name = "rx_device", .label = "reached the receiving device", .in = nic.out()};
  rx.evidence.push_back(evidence(d, "rx.link.rx_dropped", false,
                                 "also counts backlog drops (attributed to backlog)"));
  rx.evidence.push_back(evidence(d, "rx.link.rx_packets", false));
  rx.evidence.push_back(evidence(d, "rx.link.rx_otherhost_dropped", false, "wrong destination MAC"));
  if (rx_dropped) {
    nic_share = std::min(nic_share, *rx_dropped - rx_share);
    rx.dropped = static_cast<std::uint64_t>(*rx_dropped - rx_share - nic_share);
    if (nic_share > 0) {
      rx.notes.push_back(fmt::format("{} of rx_dropped are the NIC's own drops (attributed to nic_ring)",
                                     format_count(nic_share)));
    }
  } else {
    rx.dropped_complete = false;
    a.unavailable.push_back("rx.link.rx_dropped");
  }
  if (tx_dropped) {
    rx.checks.push_back(check("receiving veth rx_packets = packets the sending veth delivered",
                              static_cast<std::int64_t>(tx.in) - *tx_dropped - static_cast<std::int64_t>(nic.dropped),
                              d, "rx.link.rx_packets"));
  }

  // 6. The per-CPU backlog (netif_rx, RPS, flow limit). Softnet counters are
  //    host-wide: only the part the sending veth's tx_dropped also saw is ours.
  Stage backlog{.name = "backlog", .label = "past the backlog", .in = rx.out()};
  backlog.evidence.push_back(evidence(d, "host.softnet.dropped", false,
                                      "host-wide, on the target CPU's row"));
  backlog.evidence.push_back(evidence(d, "host.softnet.flow_limit_count", false,
                                      "host-wide, on the enqueuing CPU's row"));
  if (!softnet_dropped || !tx_dropped) {
    backlog.dropped_complete = false;
    a.unavailable.push_back("host.softnet.dropped");
  }
  backlog.dropped = static_cast<std::uint64_t>(backlog_share);
  if (backlog_share > 0) {
    backlog.notes.push_back(fmt::format(
        "{} drops counted by softnet dropped and by the sending veth's tx_dropped", backlog_share));
  }

  // 7. IP in the receiving namespace.
  Stage ip{.name = "ip", .label = "past IP", .in = backlog.out()};
  for (const char* k : {"rx.snmp.Ip.InHdrErrors", "rx.snmp.Ip.InAddrErrors",
                        "rx.snmp.Ip.InUnknownProtos", "rx.snmp.Ip.InDiscards",
                        "rx.netstat.IpExt.InCsumErrors", "rx.netstat.IpExt.InTruncatedPkts",
                        "rx.netstat.IpExt.InNoRoutes", "rx.netstat.TcpExt.IPReversePathFilter"}) {
    ip.evidence.push_back(evidence(d, k, true));
  }
  ip.evidence.push_back(evidence(d, "rx.snmp.Ip.InReceives", false));
  sum_drops(ip, a);
  ip.checks.push_back(check("Ip InReceives = packets into IP", static_cast<std::int64_t>(ip.in), d,
                            "rx.snmp.Ip.InReceives"));

  // 8. Netfilter: no SNMP counter, so the rule counters of the lab's own
  //    nftables table and conntrack's statistics are the evidence, and the
  //    gap between InReceives and InDelivers the cross-check.
  Stage nf{.name = "netfilter", .label = "past netfilter", .in = ip.out()};
  if (facts.nft_rules) {
    nf.evidence.push_back(evidence(d, "rx.nft.droplab.drop_packets", true, "the lab's nftables drop rules"));
  } else {
    nf.notes.push_back("no nftables rules in the lab's receiving namespace: none can drop");
  }
  if (facts.conntrack) {
    nf.evidence.push_back(evidence(d, "rx.conntrack.drop", true, "conntrack table full"));
    nf.evidence.push_back(evidence(d, "rx.conntrack.early_drop", false));
    nf.evidence.push_back(evidence(d, "rx.conntrack.insert_failed", false));
  }
  sum_drops(nf, a);
  nf.evidence.push_back(evidence(d, "rx.snmp.Ip.InDelivers", false));
  nf.checks.push_back(check("Ip InDelivers = packets IP and netfilter passed up",
                            static_cast<std::int64_t>(nf.out()), d, "rx.snmp.Ip.InDelivers"));

  // 9. UDP before the socket: no listener, bad checksum, global udp_mem.
  Stage udp{.name = "udp", .label = "past UDP", .in = nf.out()};
  for (const char* k : {"rx.snmp.Udp.NoPorts", "rx.snmp.Udp.InCsumErrors", "rx.snmp.Udp.MemErrors"}) {
    udp.evidence.push_back(evidence(d, k, true));
  }
  udp.evidence.push_back(evidence(d, "rx.snmp.Udp.InErrors", false,
                                  "= RcvbufErrors + MemErrors + InCsumErrors + ..."));
  sum_drops(udp, a);

  // 10. The socket's receive buffer.
  Stage sock{.name = "socket", .label = "queued on the socket", .in = udp.out()};
  sock.evidence.push_back(evidence(d, "rx.snmp.Udp.RcvbufErrors", true));
  sock.evidence.push_back(evidence(d, "rx.sock.drops", false,
                                   "this socket: its RcvbufErrors and MemErrors"));
  sock.evidence.push_back(own("SO_RXQ_OVFL", "droplab-sink (cmsg, last value read)", o.sink_rxq_ovfl,
                              false));
  sock.evidence.push_back(own("SK_MEMINFO_DROPS", "droplab-sink (SO_MEMINFO at exit)",
                              o.sink_meminfo_drops, false));
  sum_drops(sock, a);
  {
    // sk_drops counts the drops after the socket lookup (net/ipv4/udp.c):
    // RcvbufErrors and MemErrors. Checksum errors are caught in
    // __udp4_lib_rcv before the lookup (seen on 6.18) and are not the socket's.
    std::optional<std::int64_t> mem_errors_v = value(d, "rx.snmp.Udp.MemErrors");
    std::int64_t named = static_cast<std::int64_t>(sock.dropped) + mem_errors_v.value_or(0);
    std::optional<std::int64_t> sock_drops = value(d, "rx.sock.drops");
    // With MemErrors unavailable the socket's drops cannot be split: leave them.
    if (sock_drops && mem_errors_v && *sock_drops > named) {
      // Drops only the socket's own counter saw: on 6.18 a udp_mem (PROTO_MEM)
      // drop in __udp_enqueue_schedule_skb moves no Udp counter. The drop
      // reasons say which stage they belong to; without them they stay here.
      auto extra = static_cast<std::uint64_t>(*sock_drops - named);
      std::uint64_t to_udp = 0;
      if (reasons && reasons->lab_only()) {
        std::uint64_t proto_mem = reasons->drops_of("PROTO_MEM");
        std::uint64_t mem_errors = static_cast<std::uint64_t>(value(d, "rx.snmp.Udp.MemErrors").value_or(0));
        to_udp = std::min(extra, proto_mem > mem_errors ? proto_mem - mem_errors : 0);
      }
      Evidence e = own("socket drops named by no Udp counter", "rx.sock.drops - RcvbufErrors - MemErrors",
                       extra, false);
      if (to_udp > 0) {
        e.note = fmt::format("{} of them are PROTO_MEM (udp_mem) by the drop reasons: attributed to udp", to_udp);
        udp.dropped += to_udp;
        udp.evidence.push_back(own("PROTO_MEM drops counted only by the socket", "drop reasons + rx.sock.drops",
                                   to_udp, false));
      } else if (!reasons || !reasons->lab_only()) {
        e.note = "no drop reasons to tell which stage: counted here";
      }
      sock.dropped += extra - to_udp;
      sock.evidence.push_back(e);
      named += static_cast<std::int64_t>(extra);
    }
    sock.checks.push_back(check("this socket's drops = RcvbufErrors + MemErrors",
                                named, d, "rx.sock.drops"));
  }

  // 11. The application: what it read. Queued datagrams are drained before
  //     the sink reports, so nothing should be left unread.
  Stage app{.name = "app", .label = "read by the application", .in = sock.out()};
  app.evidence.push_back(own("valid datagrams read", "droplab-sink", o.sink_valid, false));
  app.evidence.push_back(evidence(d, "rx.snmp.Udp.InDatagrams", false,
                                  "counted at read; snapshot taken before the sink's final drain"));
  if (o.sink_duplicates > 0) {
    app.notes.push_back(fmt::format("{} duplicates among the datagrams read", o.sink_duplicates));
  }
  // An application that stopped reading for good leaves datagrams queued on
  // its socket: lost to it, freed when the socket closes (not a network drop).
  app.evidence.push_back(evidence(d, "rx.sock.rx_queue", false, "bytes queued at the end (a level)"));
  if (o.sink_hung) {
    auto queued = value(d, "rx.sock.rx_queue");
    if (queued && *queued > 0 && app.in > o.sink_valid) {
      app.dropped = app.in - o.sink_valid;
      app.notes.push_back(fmt::format("the application stopped reading: {} datagrams stayed queued ({} bytes) "
                                      "and were never read", app.dropped, *queued));
    }
  }

  w.stages = {gen, qdisc, tx, nic, rx, backlog, ip, nf, udp, sock, app};
  // Stages may have gained drops after the next stage's `in` was set (drops
  // placed by drop reasons): flow the `in`s again from the top.
  for (std::size_t i = 1; i < w.stages.size(); ++i) w.stages[i].in = w.stages[i - 1].out();
  if (reasons) attach_reasons(w, *reasons);
  for (auto& s : w.stages) {
    a.dropped += s.dropped;
    if (s.dropped > 0) attach_knobs(s, knobs);
  }
  a.unexplained = static_cast<std::int64_t>(a.sent) - static_cast<std::int64_t>(a.delivered) -
                  static_cast<std::int64_t>(a.dropped);

  // The sink's view: gaps it saw plus each flow's tail (sequences after the last
  // one it read, which only the generator's count reveals).
  if (!o.flows.empty()) {
    std::uint64_t lost = 0;
    for (const auto& f : o.flows) {
      std::uint64_t seen_upto = f.sink_highest ? *f.sink_highest + 1 : 0;
      lost += f.sink_lost + (f.gen_sent > seen_upto ? f.gen_sent - seen_upto : 0);
    }
    a.sequence_lost = lost;
  }
  return w;
}

void to_json(json& j, const Evidence& e) {
  j = json{{"counter", e.counter}, {"source", e.source}, {"delta", nullptr}, {"is_drop", e.is_drop}};
  if (e.delta) j["delta"] = *e.delta;
  if (!e.delta) j["unavailable_reason"] = e.unavailable_reason;
  if (!e.note.empty()) j["note"] = e.note;
}

void to_json(json& j, const Check& c) {
  j = json{{"what", c.what}, {"expected", c.expected}, {"counter", c.observed_counter},
           {"observed", nullptr}, {"difference", nullptr}};
  if (c.observed) j["observed"] = *c.observed;
  if (auto diff = c.difference()) j["difference"] = *diff;
}

void to_json(json& j, const Stage& s) {
  j = json{{"name", s.name},         {"label", s.label},         {"in", s.in},
           {"dropped", s.dropped},   {"out", s.out()},           {"dropped_complete", s.dropped_complete},
           {"evidence", s.evidence}, {"checks", s.checks},       {"knobs", s.knobs},
           {"notes", s.notes},       {"hint", s.hint}};
}

void to_json(json& j, const Accounting& a) {
  j = json{{"sent", a.sent},
           {"delivered", a.delivered},
           {"dropped", a.dropped},
           {"unexplained", a.unexplained},
           {"unavailable_counters", a.unavailable},
           {"sequence_lost", nullptr}};
  if (a.sequence_lost) j["sequence_lost"] = *a.sequence_lost;
}

std::string render_waterfall(const Waterfall& w) {
  std::string out;
  // Labels of several senders' stages ("tx1 tls://lab-c:7300: sent by …") are longer.
  std::size_t width = 32;
  for (const auto& s : w.stages) width = std::max(width, s.label.size());
  out += fmt::format("{:<{}} {:>14} {:>14}\n", "stage", width, "in", "dropped");
  for (const auto& s : w.stages) {
    out += fmt::format("{:<{}} {:>14} {:>14}{}\n", s.label, width, format_count(s.in), format_count(s.dropped),
                       s.dropped_complete ? "" : "  (incomplete: a counter is unavailable)");
    for (const auto& e : s.evidence) {
      bool show = e.is_drop ? (!e.delta || *e.delta != 0) : (e.delta && *e.delta != 0);
      if (s.dropped > 0 && e.is_drop) show = true;
      if (!show) continue;
      std::string v = e.delta ? format_count(*e.delta) : "unavailable (" + e.unavailable_reason + ")";
      out += fmt::format("    {} {:<34} {:>14}  {}{}\n", e.is_drop ? "-" : " ", e.counter, v, e.source,
                         e.note.empty() ? "" : " — " + e.note);
    }
    for (const auto& c : s.checks) {
      auto diff = c.difference();
      if (!diff) {
        out += fmt::format("    ! check {}: {} unavailable\n", c.what, c.observed_counter);
      } else if (*diff != 0) {
        out += fmt::format("    ! check {}: expected {}, {} = {} (difference {})\n", c.what,
                           format_count(c.expected), c.observed_counter, format_count(*c.observed), format_count(*diff));
      }
    }
    for (const auto& n : s.notes) out += fmt::format("    note: {}\n", n);
    for (const auto& k : s.knobs) out += fmt::format("    knob: {}\n", k);
    if (!s.hint.empty()) out += fmt::format("    hint: {}\n", s.hint);
  }
  const Accounting& a = w.accounting;
  out += fmt::format("{:<{}} {:>14}\n", "delivered to the application", width, format_count(a.delivered));
  out += fmt::format("\nsent {} = delivered {} + dropped {} + unexplained {}\n", format_count(a.sent),
                     format_count(a.delivered), format_count(a.dropped), format_count(a.unexplained));
  if (a.sequence_lost) {
    out += fmt::format("sequence check: the sink's sequence numbers show {} lost\n", format_count(*a.sequence_lost));
  }
  for (const auto& u : a.unavailable) out += fmt::format("unavailable: {}\n", u);
  return out;
}

} // namespace droplab::harness

#include "waterfall.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

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
    if (s.name == "gen" || s.name == "app") continue;
    if (s.dropped == 0 && per_stage[s.name] == 0) continue;
    Check c{.what = "kernel drop reasons for this stage = dropped",
            .expected = static_cast<std::int64_t>(s.dropped),
            .observed = static_cast<std::int64_t>(per_stage[s.name]),
            .observed_counter = "kfree_skb reasons"};
    s.checks.push_back(c);
  }
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
  if (tx_dropped && softnet_dropped) tx_share = std::min(*tx_dropped, *softnet_dropped);
  if (rx_dropped && softnet_dropped) rx_share = std::min(*rx_dropped, *softnet_dropped);
  const std::int64_t backlog_share = std::max(tx_share, rx_share);
  // Without softnet the backlog's share cannot be proven, but the two devices
  // still count the same drops: count them once (in tx_device), not twice.
  if (!softnet_dropped && tx_dropped && rx_dropped) rx_share = std::min(*tx_dropped, *rx_dropped);

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

  // 4. The receiving veth: rx_packets is the peer's tx_packets on veth.
  Stage rx{.name = "rx_device", .label = "reached the receiving device", .in = tx.out()};
  rx.evidence.push_back(evidence(d, "rx.link.rx_dropped", false,
                                 "also counts backlog drops (attributed to backlog)"));
  rx.evidence.push_back(evidence(d, "rx.link.rx_packets", false));
  rx.evidence.push_back(evidence(d, "rx.link.rx_otherhost_dropped", false, "wrong destination MAC"));
  if (rx_dropped) {
    rx.dropped = static_cast<std::uint64_t>(*rx_dropped - rx_share);
  } else {
    rx.dropped_complete = false;
    a.unavailable.push_back("rx.link.rx_dropped");
  }
  if (tx_dropped) {
    rx.checks.push_back(check("receiving veth rx_packets = packets the sending veth delivered",
                              static_cast<std::int64_t>(tx.in) - *tx_dropped, d, "rx.link.rx_packets"));
  }

  // 5. The per-CPU backlog (netif_rx, RPS, flow limit). Softnet counters are
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

  // 6. IP in the receiving namespace.
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

  // 7. Netfilter: no SNMP counter, so the rule counters of the lab's own
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

  // 8. UDP before the socket: no listener, bad checksum, global udp_mem.
  Stage udp{.name = "udp", .label = "past UDP", .in = nf.out()};
  for (const char* k : {"rx.snmp.Udp.NoPorts", "rx.snmp.Udp.InCsumErrors", "rx.snmp.Udp.MemErrors"}) {
    udp.evidence.push_back(evidence(d, k, true));
  }
  udp.evidence.push_back(evidence(d, "rx.snmp.Udp.InErrors", false,
                                  "= RcvbufErrors + MemErrors + InCsumErrors + ..."));
  sum_drops(udp, a);

  // 9. The socket's receive buffer.
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

  // 10. The application: what it read. Queued datagrams are drained before
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

  w.stages = {gen, qdisc, tx, rx, backlog, ip, nf, udp, sock, app};
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
  out += fmt::format("{:<32} {:>14} {:>14}\n", "stage", "in", "dropped");
  for (const auto& s : w.stages) {
    out += fmt::format("{:<32} {:>14} {:>14}{}\n", s.label, format_count(s.in), format_count(s.dropped),
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
  out += fmt::format("{:<32} {:>14}\n", "delivered to the application", format_count(a.delivered));
  out += fmt::format("\nsent {} = delivered {} + dropped {} + unexplained {}\n", format_count(a.sent),
                     format_count(a.delivered), format_count(a.dropped), format_count(a.unexplained));
  if (a.sequence_lost) {
    out += fmt::format("sequence check: the sink's sequence numbers show {} lost\n", format_count(*a.sequence_lost));
  }
  for (const auto& u : a.unavailable) out += fmt::format("unavailable: {}\n", u);
  return out;
}

} // namespace droplab::harness

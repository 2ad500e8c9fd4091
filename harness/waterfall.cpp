#include "waterfall.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <algorithm>

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

} // namespace

const Stage* Waterfall::find(const std::string& name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Waterfall build_waterfall(const counters::Delta& d, const RunOutcome& o, const KnobValues& knobs) {
  Waterfall w;
  Accounting& a = w.accounting;
  a.sent = o.gen_sent;
  a.delivered = o.sink_valid;

  // 1. The generator: what the kernel accepted from it is N. Refused sends
  //    (ENOBUFS, …) never became packets and are not part of N.
  Stage gen{.name = "gen", .label = "sent by the generator", .in = o.gen_sent};
  gen.evidence.push_back(own("sent", "droplab-gen", o.gen_sent, false));
  gen.evidence.push_back(own("send_errors", "droplab-gen", o.gen_send_errors, false,
                             "refused by the kernel, not part of sent"));

  // 2. The sending veth. veth_xmit counts a failed enqueue_to_backlog as
  //    tx_dropped (drivers/net/veth.c), so tx_dropped holds backlog drops too;
  //    the share the softnet counter proves goes to the backlog stage below.
  std::optional<std::int64_t> tx_dropped = value(d, "tx.dev.tx_dropped");
  std::optional<std::int64_t> softnet_dropped = value(d, "host.softnet.dropped");
  std::int64_t backlog_share = 0;
  if (tx_dropped && softnet_dropped) backlog_share = std::min(*tx_dropped, *softnet_dropped);

  Stage tx{.name = "tx_device", .label = "left the sending device", .in = gen.out()};
  tx.evidence.push_back(evidence(d, "tx.dev.tx_dropped", false,
                                 "veth: also counts backlog drops (attributed to backlog)"));
  tx.evidence.push_back(evidence(d, "tx.dev.tx_packets", false));
  tx.evidence.push_back(evidence(d, "tx.snmp.Udp.SndbufErrors", false,
                                 "the sender's view of a device drop (ENOBUFS, ignored without IP_RECVERR)"));
  if (tx_dropped) {
    tx.dropped = static_cast<std::uint64_t>(*tx_dropped - backlog_share);
  } else {
    tx.dropped_complete = false;
    a.unavailable.push_back("tx.dev.tx_dropped");
  }
  if (tx_dropped) {
    tx.checks.push_back(check("sending veth tx_packets = sent - tx_dropped",
                              static_cast<std::int64_t>(tx.in) - *tx_dropped, d, "tx.dev.tx_packets"));
  }

  // 3. The receiving veth: rx_packets is the peer's tx_packets on veth.
  Stage rx{.name = "rx_device", .label = "reached the receiving device", .in = tx.out()};
  rx.evidence.push_back(evidence(d, "rx.dev.rx_dropped", true));
  rx.evidence.push_back(evidence(d, "rx.dev.rx_packets", false));
  sum_drops(rx, a);
  if (tx_dropped) {
    rx.checks.push_back(check("receiving veth rx_packets = packets the sending veth delivered",
                              static_cast<std::int64_t>(gen.out()) - *tx_dropped, d,
                              "rx.dev.rx_packets"));
  }

  // 4. The per-CPU backlog (netif_rx). Softnet counters are host-wide: they
  //    corroborate, and only the part tx_dropped also saw is attributed.
  Stage backlog{.name = "backlog", .label = "past the backlog", .in = rx.out()};
  backlog.evidence.push_back(evidence(d, "host.softnet.dropped", false,
                                      "host-wide, on the target CPU's row"));
  backlog.evidence.push_back(evidence(d, "host.softnet.flow_limit_count", false, "host-wide"));
  if (!softnet_dropped || !tx_dropped) {
    backlog.dropped_complete = false;
    a.unavailable.push_back("host.softnet.dropped");
  }
  backlog.dropped = static_cast<std::uint64_t>(backlog_share);
  if (backlog_share > 0) {
    backlog.notes.push_back(fmt::format("{} of the sending veth's tx_dropped, proven by softnet dropped",
                                        backlog_share));
  }

  // 5. IP in the receiving namespace. Netfilter has no SNMP counter: a
  //    netfilter drop shows as InReceives without InDelivers (the check below).
  Stage ip{.name = "ip", .label = "past IP", .in = backlog.out()};
  for (const char* k : {"rx.snmp.Ip.InHdrErrors", "rx.snmp.Ip.InAddrErrors",
                        "rx.snmp.Ip.InUnknownProtos", "rx.snmp.Ip.InDiscards",
                        "rx.netstat.IpExt.InCsumErrors", "rx.netstat.IpExt.InTruncatedPkts",
                        "rx.netstat.IpExt.InNoRoutes"}) {
    ip.evidence.push_back(evidence(d, k, true));
  }
  ip.evidence.push_back(evidence(d, "rx.snmp.Ip.InReceives", false));
  ip.evidence.push_back(evidence(d, "rx.snmp.Ip.InDelivers", false));
  sum_drops(ip, a);
  ip.checks.push_back(check("Ip InReceives = packets into IP", static_cast<std::int64_t>(ip.in), d,
                            "rx.snmp.Ip.InReceives"));
  ip.checks.push_back(check("Ip InDelivers = packets IP passed up (a gap: netfilter)",
                            static_cast<std::int64_t>(ip.out()), d, "rx.snmp.Ip.InDelivers"));

  // 6. UDP before the socket: no listener, bad checksum, global udp_mem.
  Stage udp{.name = "udp", .label = "past UDP", .in = ip.out()};
  for (const char* k : {"rx.snmp.Udp.NoPorts", "rx.snmp.Udp.InCsumErrors", "rx.snmp.Udp.MemErrors"}) {
    udp.evidence.push_back(evidence(d, k, true));
  }
  udp.evidence.push_back(evidence(d, "rx.snmp.Udp.InErrors", false,
                                  "= RcvbufErrors + MemErrors + InCsumErrors + ..."));
  sum_drops(udp, a);

  // 7. The socket's receive buffer.
  Stage sock{.name = "socket", .label = "queued on the socket", .in = udp.out()};
  sock.evidence.push_back(evidence(d, "rx.snmp.Udp.RcvbufErrors", true));
  sock.evidence.push_back(evidence(d, "rx.sock.drops", false, "this socket, /proc/net/udp"));
  sock.evidence.push_back(own("SO_RXQ_OVFL", "droplab-sink (cmsg, last value read)", o.sink_rxq_ovfl,
                              false));
  sock.evidence.push_back(own("SK_MEMINFO_DROPS", "droplab-sink (SO_MEMINFO at exit)",
                              o.sink_meminfo_drops, false));
  sum_drops(sock, a);
  sock.checks.push_back(check("this socket's drops = Udp RcvbufErrors",
                              static_cast<std::int64_t>(sock.dropped), d, "rx.sock.drops"));

  // 8. The application: what it read. Queued datagrams are drained before the
  //    sink reports, so nothing should be left unread.
  Stage app{.name = "app", .label = "read by the application", .in = sock.out()};
  app.evidence.push_back(own("valid datagrams read", "droplab-sink", o.sink_valid, false));
  app.evidence.push_back(evidence(d, "rx.snmp.Udp.InDatagrams", false,
                                  "counted at read; snapshot taken before the sink's final drain"));
  if (o.sink_duplicates > 0) {
    app.notes.push_back(fmt::format("{} duplicates among the datagrams read", o.sink_duplicates));
  }

  w.stages = {gen, tx, rx, backlog, ip, udp, sock, app};
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
           {"notes", s.notes}};
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
  auto num = [](std::uint64_t v) {
    std::string s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
    return s;
  };
  auto snum = [&](std::int64_t v) { return v < 0 ? "-" + num(static_cast<std::uint64_t>(-v)) : num(static_cast<std::uint64_t>(v)); };
  out += fmt::format("{:<32} {:>14} {:>14}\n", "stage", "in", "dropped");
  for (const auto& s : w.stages) {
    out += fmt::format("{:<32} {:>14} {:>14}{}\n", s.label, num(s.in), num(s.dropped),
                       s.dropped_complete ? "" : "  (incomplete: a counter is unavailable)");
    for (const auto& e : s.evidence) {
      bool show = e.is_drop ? (!e.delta || *e.delta != 0) : (e.delta && *e.delta != 0);
      if (s.dropped > 0 && e.is_drop) show = true;
      if (!show) continue;
      std::string v = e.delta ? snum(*e.delta) : "unavailable (" + e.unavailable_reason + ")";
      out += fmt::format("    {} {:<34} {:>14}  {}{}\n", e.is_drop ? "-" : " ", e.counter, v, e.source,
                         e.note.empty() ? "" : " — " + e.note);
    }
    for (const auto& c : s.checks) {
      auto diff = c.difference();
      if (!diff) {
        out += fmt::format("    ! check {}: {} unavailable\n", c.what, c.observed_counter);
      } else if (*diff != 0) {
        out += fmt::format("    ! check {}: expected {}, {} = {} (difference {})\n", c.what,
                           snum(c.expected), c.observed_counter, snum(*c.observed), snum(*diff));
      }
    }
    for (const auto& n : s.notes) out += fmt::format("    note: {}\n", n);
    for (const auto& k : s.knobs) out += fmt::format("    knob: {}\n", k);
  }
  const Accounting& a = w.accounting;
  out += fmt::format("{:<32} {:>14}\n", "delivered to the application", num(a.delivered));
  out += fmt::format("\nsent {} = delivered {} + dropped {} + unexplained {}\n", num(a.sent),
                     num(a.delivered), num(a.dropped), snum(a.unexplained));
  if (a.sequence_lost) {
    out += fmt::format("sequence check: the sink's sequence numbers show {} lost\n", num(*a.sequence_lost));
  }
  for (const auto& u : a.unavailable) out += fmt::format("unavailable: {}\n", u);
  return out;
}

} // namespace droplab::harness

#include "hints.hpp"

#include "droplab/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <string_view>

namespace droplab::harness {
namespace {

std::string knob(const KnobValues& knobs, const std::string& name) {
  for (const auto& k : knobs) {
    if (k.name == name) return k.value;
  }
  return "unavailable";
}

std::uint64_t delta_of(const counters::Delta& d, const std::string& key) { return d.get(key).value_or(0); }

// "CPU1 (41,233)" for every CPU whose softnet `column` moved.
std::string per_cpu(const counters::Delta& d, const std::string& column) {
  static const std::regex cpu_key(R"(^host\.softnet\.cpu(\d+)\.(\w+)$)");
  std::string out;
  for (const auto& [key, c] : d.counters) {
    std::smatch m;
    if (!std::regex_match(key, m, cpu_key) || m[2] != column || !c.value || *c.value == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("CPU{} ({})", m[1].str(), format_count(*c.value));
  }
  return out.empty() ? "no CPU row moved" : out;
}

// "rx_out_of_buffer 37,412, rx_discards_phy 1,250": the stage's drop counters
// that moved, largest first, at most three.
std::string moved_drop_counters(const Stage& s) {
  std::vector<const Evidence*> moved;
  for (const auto& e : s.evidence) {
    if (e.is_drop && e.delta && *e.delta > 0) moved.push_back(&e);
  }
  std::stable_sort(moved.begin(), moved.end(), [](const Evidence* x, const Evidence* y) { return *x->delta > *y->delta; });
  std::string out;
  for (std::size_t i = 0; i < moved.size() && i < 3; ++i) {
    std::string name = moved[i]->counter.substr(moved[i]->counter.find('.', 3) + 1); // drop "rx.link." / "rx.ethtool."
    out += fmt::format("{}{} {}", i ? ", " : "", name, format_count(*moved[i]->delta));
  }
  if (moved.size() > 3) out += ", …";
  return out;
}

std::string hint_for(const Stage& s, const counters::Delta& d, const KnobValues& k) {
  const std::string n = format_count(s.dropped);
  if (s.name == "nic_ring") {
    std::string h = fmt::format(
        "nic_ring: {} dropped by the receiving NIC before the kernel saw them ({}) — rx ring {} (ethtool -g), "
        "channels {} (ethtool -l), coalescing {} (ethtool -c), rx IRQs on CPUs {}, net.core.netdev_budget {} "
        "(netdev_budget_usecs {}); raise the rx ring (ethtool -G DEV rx N), spread the load over more queues and "
        "CPUs (ethtool -L, IRQ affinity) or let each NAPI poll take more (netdev_budget)",
        n, moved_drop_counters(s), knob(k, kKnobRxRing), knob(k, kKnobChannels), knob(k, kKnobCoalescing),
        knob(k, kKnobRxIrqCpus), knob(k, kKnobNetdevBudget), knob(k, kKnobNetdevBudgetUsecs));
    for (const auto& note : s.notes) {
      if (note.starts_with(kQueueImbalanceNote)) {
        h += "; " + note.substr(std::string_view(kQueueImbalanceNote).size()) +
             " — spread the flows (more flows, the RSS indirection table: ethtool -X) or move that queue's IRQ "
             "to an idle CPU, rather than only growing the ring";
        break;
      }
    }
    return h;
  }
  if (s.name == "qdisc") {
    return fmt::format("qdisc: {} drops in the sending device's qdisc ({}); raise its limit or send slower",
                       n, knob(k, "tx qdisc"));
  }
  if (s.name == "tx_device") {
    return fmt::format("tx_device: {} drops by the sending device; check its tx queue and driver counters", n);
  }
  if (s.name == "rx_device") {
    return fmt::format("rx_device: {} drops by the receiving device (rx_dropped not explained by the backlog: "
                       "unknown protocol, wrong MAC, XDP)", n);
  }
  if (s.name == "backlog") {
    std::string h = fmt::format("backlog: {} drops on {} — net.core.netdev_max_backlog is {}; raise it or spread "
                                "rps_cpus (now {})",
                                n, per_cpu(d, "dropped"), knob(k, "net.core.netdev_max_backlog"), knob(k, "rps_cpus"));
    if (delta_of(d, "host.softnet.flow_limit_count") > 0) {
      h += fmt::format("; flow limit hit {} times on {} — net.core.flow_limit_cpu_bitmap is {}, "
                       "flow_limit_table_len {}: one flow is hogging the backlog",
                       format_count(delta_of(d, "host.softnet.flow_limit_count")), per_cpu(d, "flow_limit_count"),
                       knob(k, "net.core.flow_limit_cpu_bitmap"), knob(k, "net.core.flow_limit_table_len"));
    }
    return h;
  }
  if (s.name == "ip") {
    if (delta_of(d, "rx.netstat.TcpExt.IPReversePathFilter") > 0) {
      return fmt::format("ip: {} dropped by reverse-path filtering — rp_filter is {} (all) / {} (device); "
                         "use 2 (loose) or route the source back through this device",
                         n, knob(k, "rp_filter all"), knob(k, "rp_filter dev"));
    }
    return fmt::format("ip: {} drops in IP (see the counters above: header, address, checksum errors)", n);
  }
  if (s.name == "netfilter") {
    if (delta_of(d, "rx.conntrack.drop") > 0) {
      return fmt::format("netfilter: {} drops — the conntrack table is full: net.netfilter.nf_conntrack_max is {}; "
                         "raise it (and nf_conntrack_buckets) or exempt these flows with notrack",
                         n, knob(k, "net.netfilter.nf_conntrack_max"));
    }
    return fmt::format("netfilter: {} dropped by nftables rules in the receiving namespace; review the rules", n);
  }
  if (s.name == "udp") {
    std::vector<std::string> parts;
    if (auto v = delta_of(d, "rx.snmp.Udp.NoPorts")) {
      parts.push_back(fmt::format("{} to a port with no socket (NoPorts): start the listener or fix the "
                                  "destination port", format_count(v)));
    }
    if (auto v = delta_of(d, "rx.snmp.Udp.InCsumErrors")) {
      parts.push_back(fmt::format("{} with a bad UDP checksum: a sender, NIC or middlebox corrupts them",
                                  format_count(v)));
    }
    if (auto v = delta_of(d, "rx.snmp.Udp.MemErrors")) {
      parts.push_back(fmt::format("{} for lack of UDP memory (MemErrors) — net.ipv4.udp_mem is {} pages, global "
                                  "to the host; raise it or read faster", format_count(v), knob(k, "net.ipv4.udp_mem")));
    }
    for (const auto& e : s.evidence) {
      if (e.counter == "PROTO_MEM drops counted only by the socket" && e.delta && *e.delta > 0) {
        parts.push_back(fmt::format("{} for lack of UDP memory (drop reason PROTO_MEM; this kernel counts them "
                                    "in no Udp counter, only in the socket's drops) — net.ipv4.udp_mem is {} "
                                    "pages, global to the host; raise it or read faster",
                                    format_count(static_cast<std::uint64_t>(*e.delta)), knob(k, "net.ipv4.udp_mem")));
      }
    }
    std::string h = "udp: " + n + " drops";
    for (const auto& p : parts) h += "; " + p;
    return h;
  }
  if (s.name == "socket") {
    return fmt::format("socket: {} drops — the receive buffer is full: SO_RCVBUF granted {} B "
                       "(net.core.rmem_max {}, rmem_default {}), reader at {}; raise SO_RCVBUF (and rmem_max), "
                       "read faster, in bigger batches or more threads",
                       n, knob(k, "SO_RCVBUF granted to the sink"), knob(k, "net.core.rmem_max"),
                       knob(k, "net.core.rmem_default"), knob(k, "sink read rate"));
  }
  if (s.name == "app") {
    return fmt::format("app: {} datagrams queued on the socket and never read — the application stopped "
                       "reading; look for a hung or blocked reader thread", n);
  }
  return fmt::format("{}: {} drops", s.name, n);
}

} // namespace

void add_hints(Waterfall& w, const counters::Delta& d, const KnobValues& knobs) {
  for (auto& s : w.stages) {
    if (s.dropped > 0) s.hint = hint_for(s, d, knobs);
  }
}

} // namespace droplab::harness

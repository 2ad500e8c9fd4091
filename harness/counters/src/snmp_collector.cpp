#include "droplab/counters/collector.hpp"
#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"
#include "droplab/counters/snmp.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

namespace droplab::counters {

namespace {

// Settings and levels among the SNMP fields: diffing them as counters would report a
// falling CurrEstab as "went backwards".
constexpr std::string_view kGauges[] = {
    "Ip.Forwarding", "Ip.DefaultTTL", "Tcp.RtoAlgorithm", "Tcp.RtoMin",
    "Tcp.RtoMax",    "Tcp.MaxConn",   "Tcp.CurrEstab",
};

Kind kind_of(const std::string &proto_field) {
  return std::find(std::begin(kGauges), std::end(kGauges), proto_field) != std::end(kGauges)
             ? Kind::Gauge
             : Kind::Counter;
}

// One file's fields as "<role>.<prefix>.<Proto>.<Field>", or all of its expected
// fields unavailable with the read or parse error.
void add_file(Snapshot &out, const std::string &role, const std::string &prefix,
              const std::string &netns, const std::string &file, const FileRead &r) {
  const std::string origin = proc_net_origin(netns, file);
  std::string failure = r.error;
  if (r.text) {
    try {
      for (SnmpField &f : parse_snmp(*r.text, origin)) {
        std::string pf = f.proto + "." + f.name;
        std::string key = role + "." + prefix + "." + pf;
        if (f.value)
          out.add(std::move(key), origin, *f.value, kind_of(pf));
        else
          out.add_unavailable(std::move(key), origin, std::move(f.unavailable_reason), kind_of(pf));
      }
    } catch (const ParseError &e) {
      failure = e.what();
    }
  }
  for (const std::string &suffix : SnmpCollector::expected_fields()) {
    if (suffix.compare(0, prefix.size() + 1, prefix + ".") != 0) continue;
    std::string key = role + "." + suffix;
    if (out.find(key)) continue;
    out.add_unavailable(key, origin,
                        failure.empty() ? "field not printed by this kernel" : failure);
  }
}

} // namespace

SnmpCollector::SnmpCollector(std::string role, std::string netns)
    : role_(std::move(role)), netns_(std::move(netns)) {}

std::string SnmpCollector::name() const {
  return "snmp(" + role_ + ", " + (netns_.empty() ? "caller's netns" : "netns " + netns_) + ")";
}

const std::vector<std::string> &SnmpCollector::expected_fields() {
  // The counters receive-path.md attributes drops with (stages ip, udp, socket,
  // backlog on the sender side, delivered).
  static const std::vector<std::string> fields = {
      "snmp.Ip.InReceives",         "snmp.Ip.InHdrErrors",
      "snmp.Ip.InAddrErrors",       "snmp.Ip.InUnknownProtos",
      "snmp.Ip.InDiscards",         "snmp.Ip.InDelivers",
      "snmp.Ip.OutRequests",        "snmp.Ip.OutDiscards",
      "snmp.Ip.OutNoRoutes",        "snmp.Ip.ReasmFails",
      "snmp.Udp.InDatagrams",       "snmp.Udp.NoPorts",
      "snmp.Udp.InErrors",          "snmp.Udp.OutDatagrams",
      "snmp.Udp.RcvbufErrors",      "snmp.Udp.SndbufErrors",
      "snmp.Udp.InCsumErrors",      "snmp.Udp.MemErrors",
      "netstat.IpExt.InNoRoutes",   "netstat.IpExt.InTruncatedPkts",
      "netstat.IpExt.InCsumErrors", "netstat.TcpExt.IPReversePathFilter",
  };
  return fields;
}

void SnmpCollector::collect(Snapshot &out) {
  FileRead snmp, netstat;
  // One namespace entry for both files, so they are read at nearly the same moment.
  in_netns(netns_, [&] {
    snmp = try_read_file("/proc/thread-self/net/snmp");
    netstat = try_read_file("/proc/thread-self/net/netstat");
  });
  add_file(out, role_, "snmp", netns_, "snmp", snmp);
  add_file(out, role_, "netstat", netns_, "netstat", netstat);
}

} // namespace droplab::counters

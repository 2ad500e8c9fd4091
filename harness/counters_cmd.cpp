#include "counters_cmd.hpp"


#include "droplab/clock.hpp"
#include "droplab/counters/collector.hpp"
#include "droplab/counters/conntrack.hpp"
#include "droplab/counters/link_stats.hpp"
#include "droplab/counters/netdev.hpp"
#include "droplab/counters/netns.hpp"
#include "droplab/counters/qdisc.hpp"
#include "droplab/signals.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <regex>
#include <set>

using nlohmann::json;

namespace droplab::harness {
namespace {

struct Rule {
  std::regex pattern;
  const char* stage;
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> r = [] {
    std::vector<Rule> v;
    auto add = [&](const char* re, const char* stage) { v.push_back({std::regex(re), stage}); };
    add(R"(^[^.]+\.link\.(rx_missed_errors|rx_fifo_errors|rx_over_errors|rx_crc_errors|rx_frame_errors)$)", "nic_ring");
    add(R"(^[^.]+\.link\.(rx_dropped|rx_otherhost_dropped|rx_nohandler|rx_errors)$)", "rx_device");
    add(R"(^[^.]+\.link\.(tx_dropped|tx_errors|tx_fifo_errors|tx_carrier_errors|tx_aborted_errors)$)", "tx_device");
    add(R"(^[^.]+\.qdisc\.ingress\.drops$)", "tc_ingress");
    add(R"(^[^.]+\.qdisc\.(drops|overlimits)$)", "qdisc");
    add(R"(^host\.softnet\.cpu\d+\.(dropped|flow_limit_count)$)", "backlog");
    add(R"(^host\.softnet\.cpu\d+\.time_squeeze$)", "softirq");
    add(R"(^ns\.snmp\.Ip\.(InHdrErrors|InAddrErrors|InUnknownProtos|InDiscards|ReasmFails)$)", "ip");
    add(R"(^ns\.netstat\.IpExt\.(InCsumErrors|InTruncatedPkts|InNoRoutes)$)", "ip");
    add(R"(^ns\.netstat\.TcpExt\.IPReversePathFilter$)", "ip");
    add(R"(^ns\.conntrack\.(drop|early_drop|insert_failed|invalid)$)", "netfilter");
    add(R"(^ns\.snmp\.Udp\.(NoPorts|InCsumErrors|MemErrors)$)", "udp");
    add(R"(^ns\.snmp\.Udp\.(RcvbufErrors)$)", "socket");
    add(R"(^ns\.snmp\.Udp\.SndbufErrors$)", "send");
    add(R"(^ns\.netstat\.TcpExt\.(ListenOverflows|ListenDrops|TCPBacklogDrop|PruneCalled|RcvPruned|OfoPruned|TCPRcvQDrop|TCPZeroWindowDrop)$)", "tcp");
    add(R"(^[^.]+\.link\.(rx_packets|tx_packets)$)", "traffic");
    add(R"(^ns\.snmp\.(Ip\.InReceives|Ip\.InDelivers|Udp\.InDatagrams|Udp\.OutDatagrams)$)", "traffic");
    return v;
  }();
  return r;
}

// Stage order for display.
const std::vector<std::string>& stage_order() {
  static const std::vector<std::string> o{"traffic", "nic_ring",  "softirq", "rx_device", "tc_ingress", "backlog",
                                          "ip",      "netfilter", "udp",     "socket",    "tcp",        "send",
                                          "qdisc",   "tx_device"};
  return o;
}

std::vector<std::unique_ptr<counters::Collector>> make_collectors(const std::string& ns) {
  std::vector<std::unique_ptr<counters::Collector>> c;
  std::string dev_text = counters::read_file_in_netns(ns, "dev");
  for (const auto& row : counters::parse_proc_net_dev(dev_text, counters::proc_net_origin(ns, "dev"))) {
    c.push_back(std::make_unique<counters::LinkStatsCollector>(row.name, ns, row.name));
    c.push_back(std::make_unique<counters::QdiscCollector>(row.name, ns, row.name));
  }
  c.push_back(std::make_unique<counters::SnmpCollector>("ns", ns));
  c.push_back(std::make_unique<counters::ConntrackStatCollector>("ns", ns));
  c.push_back(std::make_unique<counters::SoftnetCollector>("host"));
  return c;
}

} // namespace

std::string stage_of_counter(const std::string& key) {
  for (const auto& r : rules()) {
    if (std::regex_match(key, r.pattern)) return r.stage;
  }
  return "";
}

int counters_command(const CountersOptions& opt) {
  install_stop_handlers();
  auto collectors = make_collectors(opt.netns);
  const std::string where = opt.netns.empty() ? "this namespace" : "netns " + opt.netns;
  counters::Snapshot prev = counters::take_snapshot(collectors);
  const std::uint64_t t0 = prev.taken_mono_ns;

  // What could not be read is said once, up front: unavailable, never 0.
  std::set<std::string> unavailable;
  for (const auto& [key, c] : prev.counters) {
    if (!c.value && !stage_of_counter(key).empty()) unavailable.insert(key + ": " + c.unavailable_reason);
  }
  if (!opt.json_stream) {
    fmt::print("droplab counters: {} — non-zero deltas per stage every {}, Ctrl-C to stop\n", where,
               format_duration(opt.interval_ns));
    for (const auto& u : unavailable) fmt::print("  unavailable: {}\n", u);
  }

  for (std::uint64_t i = 0; opt.count == 0 || i < opt.count; ++i) {
    sleep_until_mono(prev.taken_mono_ns + opt.interval_ns);
    if (stop_requested()) break;
    counters::Snapshot cur = counters::take_snapshot(collectors);
    counters::Delta d = counters::diff(prev, cur);
    std::map<std::string, std::map<std::string, std::uint64_t>> by_stage;
    for (const auto& [key, c] : d.counters) {
      if (!c.value || *c.value == 0 || c.kind != counters::Kind::Counter) continue;
      std::string stage = stage_of_counter(key);
      if (!stage.empty()) by_stage[stage][key] = *c.value;
    }
    const double t = static_cast<double>(cur.taken_mono_ns - t0) / 1e9;
    if (opt.json_stream) {
      json line{{"t_s", t}, {"netns", opt.netns}, {"stages", by_stage},
                {"unavailable", std::vector<std::string>(unavailable.begin(), unavailable.end())}};
      fmt::print("{}\n", line.dump());
    } else {
      fmt::print("[{:7.1f} s]{}\n", t, by_stage.empty() ? "  no counter moved" : "");
      for (const auto& stage : stage_order()) {
        auto it = by_stage.find(stage);
        if (it == by_stage.end()) continue;
        std::string line;
        for (const auto& [key, v] : it->second) line += fmt::format("  {} +{}", key, format_count(v));
        fmt::print("  {:<10}{}\n", stage, line);
      }
    }
    std::fflush(stdout);
    prev = std::move(cur);
  }
  return 0;
}

} // namespace droplab::harness

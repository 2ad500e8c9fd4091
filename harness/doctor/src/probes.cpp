// probe_host: the host-side probes (files, sysctls, BPF) and the scratch
// namespace for the rest.
#include "droplab/doctor/doctor.hpp"

#include "probes.hpp"
#include "scratch.hpp"
#include "sysctl.hpp"

#include "droplab/counters/collector.hpp"
#include "droplab/dropreason/counter.hpp"
#include "droplab/dropreason/reason_names.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace droplab::doctor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The sysctls droplab's knobs and hints name, shown by `droplab doctor` even
// when no profile sets them.
const std::vector<std::string>& knob_sysctls() {
  static const std::vector<std::string> keys{"net.core.rmem_max",
                                             "net.core.rmem_default",
                                             "net.core.wmem_max",
                                             "net.core.netdev_max_backlog",
                                             "net.core.netdev_budget",
                                             "net.core.netdev_budget_usecs",
                                             "net.core.dev_weight",
                                             "net.core.flow_limit_cpu_bitmap",
                                             "net.core.flow_limit_table_len",
                                             "net.core.rps_sock_flow_entries",
                                             "net.ipv4.udp_mem",
                                             "net.ipv4.udp_rmem_min",
                                             "net.netfilter.nf_conntrack_max"};
  return keys;
}

const std::vector<std::string>& knob_netns_sysctls() {
  static const std::vector<std::string> keys{"net.ipv4.conf.all.rp_filter", "net.core.rmem_max"};
  return keys;
}

// Kernel config options behind sysctls that some builds lack.
std::string config_hint(const std::string& key) {
  if (key.rfind("net.core.flow_limit", 0) == 0) return " (CONFIG_NET_FLOW_LIMIT)";
  if (key == "net.core.rps_sock_flow_entries") return " (CONFIG_RPS)";
  if (key.rfind("net.netfilter.nf_conntrack", 0) == 0)
    return " (CONFIG_NF_CONNTRACK: nf_conntrack not loaded or not built)";
  return "";
}

SysctlProbe probe_host_sysctl(const std::string& key) {
  SysctlProbe p;
  const std::string path = harness::sysctl_path(key);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    p.detail = "this kernel has no such sysctl" + config_hint(key);
    return p;
  }
  p.exists = true;
  try {
    p.value = harness::read_sysctl(key);
  } catch (const std::exception& e) {
    p.detail = e.what();
  }
  p.writable = ::access(path.c_str(), W_OK) == 0;
  if (!p.writable)
    p.detail = fmt::format("{} is not writable here: {}", path, std::strerror(errno));
  return p;
}

Feature make(std::string id, std::string title, bool ok, std::string detail) {
  return {std::move(id), std::move(title), ok, std::move(detail)};
}

Feature probe_bpf_btf() {
  struct stat st {};
  if (::stat("/sys/kernel/btf/vmlinux", &st) != 0)
    return make(
        "bpf_btf", "BPF + BTF", false,
        fmt::format("/sys/kernel/btf/vmlinux: {} (kernel built without CONFIG_DEBUG_INFO_BTF)",
                    std::strerror(errno)));
  // r0 = 0; exit: the smallest program the verifier takes.
  const bpf_insn prog[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  const int fd =
      bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "droplab_probe", "GPL", prog, 2, nullptr);
  if (fd < 0)
    return make("bpf_btf", "BPF + BTF", false,
                fmt::format("bpf(BPF_PROG_LOAD): {} (needs CAP_BPF or CAP_SYS_ADMIN; "
                            "kernel.unprivileged_bpf_disabled does not apply to root)",
                            std::strerror(errno)));
  ::close(fd);
  return make("bpf_btf", "BPF + BTF", true,
              fmt::format("bpf() loads programs; /sys/kernel/btf/vmlinux {:.1f} MiB",
                          static_cast<double>(st.st_size) / (1024.0 * 1024.0)));
}

void add_drop_reason_features(HostReport& r) {
  const dropreason::Capabilities c = dropreason::probe_capabilities();
  // MAX and SUBSYS_MASK bound the enum (the tracepoint format lists MAX too):
  // never the reason of a drop.
  for (const auto& [id, name] : c.names)
    if (name != "MAX" && name != "SUBSYS_MASK") r.drop_reason_names.push_back(name);
  r.features.push_back(make(
      "drop_reason_names", "drop reason names", !c.names.empty(),
      c.names.empty() ? c.names_source
                      : fmt::format("{} names, {}", r.drop_reason_names.size(), c.names_source)));
  const bool reason = c.bpf && c.tp_btf;
  r.features.push_back(
      make("kfree_skb_reason", "tp_btf/kfree_skb with reason", reason,
           reason ? c.bpf_detail : (c.bpf ? "only raw_tp loads: " + c.bpf_detail : c.bpf_detail)));
  r.features.push_back(
      make("fentry", "fentry (socket-close frees per namespace)", c.fentry, c.fentry_detail));
}

bool tracefs_mounted_here() {
  return fs::exists(dropreason::kKfreeSkbFormatPath);
}

void add_host_counters(HostReport& r, const std::vector<Needs>& needs, bool all) {
  std::set<std::string> keys;
  if (all) keys.insert("host.softnet.flow_limit_count");
  for (const auto& n : needs)
    for (const auto& k : n.counters)
      if (k.rfind("host.", 0) == 0) keys.insert(k);
  if (keys.empty()) return;
  std::vector<std::unique_ptr<counters::Collector>> cs;
  cs.push_back(std::make_unique<counters::SoftnetCollector>("host"));
  counters::Snapshot s = counters::take_snapshot(cs);
  for (const auto& k : keys) {
    CounterProbe p;
    const counters::Counter* c = s.find(k);
    if (!c) {
      p.detail = "no collector on the host provides it";
    } else if (!c->value) {
      p.detail = c->unavailable_reason;
    } else {
      p.available = true;
      p.detail = c->source;
    }
    r.counters[k] = p;
  }
}

} // namespace

const Feature* HostReport::find(const std::string& id) const {
  auto it =
      std::find_if(features.begin(), features.end(), [&](const Feature& f) { return f.id == id; });
  return it == features.end() ? nullptr : &*it;
}

HostReport probe_host(const ProbeOptions& options) {
  HostReport r;
  utsname u{};
  if (::uname(&u) == 0) {
    r.kernel = u.release;
    r.machine = u.machine;
  }
  r.cpus = std::thread::hardware_concurrency();

  std::set<std::string> wanted;
  for (const auto& n : options.needs)
    for (const auto& id : feature_ids(n))
      wanted.insert(id);
  auto want = [&](const std::string& id) { return options.all || wanted.count(id) > 0; };

  ScratchRequest req;
  req.all = options.all;
  req.rps = want("rps");
  req.xdp = want("xdp");
  req.af_packet = want("af_packet_tx_ring");
  req.io_uring_gen = want("io_uring_gen");
  req.io_uring_sink = want("io_uring_sink");
  req.nftables = want("nftables");
  req.conntrack = want("conntrack");
  req.tracefs = options.all && !tracefs_mounted_here();
  if (options.all) req.qdiscs["qdisc:tbf"] = "tbf rate 1mbit burst 16kb limit 8kb";
  std::set<std::string> netns_keys;
  if (options.all) netns_keys.insert(knob_netns_sysctls().begin(), knob_netns_sysctls().end());
  for (const auto& n : options.needs) {
    if (n.tx_qdisc) req.qdiscs["tx_qdisc " + *n.tx_qdisc] = *n.tx_qdisc;
    if (!n.offloads.empty()) req.offloads = true;
    netns_keys.insert(n.netns_sysctls.begin(), n.netns_sysctls.end());
  }
  req.netns_sysctls.assign(netns_keys.begin(), netns_keys.end());

  const bool need_scratch = options.all || want("netns_veth");
  json scratch = json::object();
  if (need_scratch)
    scratch = run_in_scratch_netns([&] { return scratch_probes(req); }, std::chrono::seconds(30));
  const std::string scratch_error = scratch.value("error", "");
  auto from_scratch = [&](const std::string& id, const std::string& title) {
    if (!scratch_error.empty())
      return make(id, title, false, "the scratch namespace failed: " + scratch_error);
    const json& f = scratch.at(id);
    return make(id, title, f.at("available").get<bool>(), f.at("detail").get<std::string>());
  };

  if (need_scratch) r.features.push_back(from_scratch("netns_veth", "namespaces and veth"));
  if (options.all) {
    r.features.push_back(probe_bpf_btf());
    add_drop_reason_features(r);
    if (tracefs_mounted_here()) {
      r.features.push_back(
          make("tracefs", "tracefs fallback", true,
               "mounted at /sys/kernel/tracing with skb:kfree_skb and instances/"));
    } else {
      r.features.push_back(from_scratch("tracefs", "tracefs fallback"));
    }
  }
  if (want("rps")) r.features.push_back(from_scratch("rps", "RPS"));
  if (options.all) {
    SysctlProbe p = probe_host_sysctl("net.core.flow_limit_cpu_bitmap");
    r.features.push_back(make(
        "flow_limit", "RPS flow limit", p.exists,
        p.exists ? "net.core.flow_limit_cpu_bitmap is there"
                 : "this kernel has no net.core.flow_limit_cpu_bitmap (CONFIG_NET_FLOW_LIMIT)"));
  }
  if (want("nftables")) r.features.push_back(from_scratch("nftables", "nftables"));
  if (want("conntrack")) r.features.push_back(from_scratch("conntrack", "conntrack"));
  for (const auto& [id, spec] : req.qdiscs) {
    r.features.push_back(from_scratch(id, id == "qdisc:tbf" ? "tbf qdisc" : "qdisc " + spec));
  }
  if (want("xdp")) r.features.push_back(from_scratch("xdp", "XDP"));
  if (want("af_packet_tx_ring"))
    r.features.push_back(from_scratch("af_packet_tx_ring", "AF_PACKET TX_RING + qdisc bypass"));
  if (want("io_uring_gen")) {
    r.features.push_back(from_scratch("io_uring_gen", "io_uring for the generator (SEND)"));
    if (options.all)
      r.features.push_back(from_scratch("io_uring_gen_zc", "io_uring zero-copy send (SEND_ZC)"));
  }
  if (want("io_uring_sink"))
    r.features.push_back(from_scratch("io_uring_sink", "io_uring for the sink (multishot recv)"));

  // After the scratch namespace, on purpose: a module its probes loaded (the
  // first ct rule loads nf_conntrack, as a run's would) has made its sysctls
  // appear (net.netfilter.nf_conntrack_max on Debian's 6.1, where it is =m).
  std::set<std::string> host_keys;
  if (options.all) host_keys.insert(knob_sysctls().begin(), knob_sysctls().end());
  for (const auto& n : options.needs)
    host_keys.insert(n.host_sysctls.begin(), n.host_sysctls.end());
  for (const auto& k : host_keys)
    r.host_sysctls[k] = probe_host_sysctl(k);

  if (scratch_error.empty() && scratch.contains("netns_sysctls")) {
    for (const auto& [k, v] : scratch["netns_sysctls"].items()) {
      r.netns_sysctls[k] = {v.at("exists").get<bool>(), v.at("writable").get<bool>(),
                            v.value("value", ""), v.value("detail", "")};
    }
  } else {
    for (const auto& k : req.netns_sysctls)
      r.netns_sysctls[k] = {false, false, "", "the scratch namespace failed: " + scratch_error};
  }
  if (scratch_error.empty() && scratch.contains("offloads") &&
      !scratch["offloads"].contains("error")) {
    for (const auto& [k, v] : scratch["offloads"].items())
      r.veth_offloads[k] = {v.at("exists").get<bool>(), v.at("fixed").get<bool>()};
  }
  add_host_counters(r, options.needs, options.all);
  return r;
}

} // namespace droplab::doctor

// The probes that run inside the scratch namespace: each really makes the thing
// a run would make (a veth pair, a qdisc, an nft table, an XDP attachment, an
// AF_PACKET ring) and reports what the kernel said.
#include "probes.hpp"

#include "command.hpp"
#include "droplab/fd.hpp"
#include "droplab/sink/rx_backend.hpp"
#include "gen/io_uring.hpp"
#include "gen/packet_ring.hpp"
#include "sysctl.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace droplab::doctor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDev = "dlprobe0";
constexpr const char* kPeer = "dlprobe1";

json feature(bool ok, std::string detail) {
  return {{"available", ok}, {"detail", std::move(detail)}};
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// A command's result as a feature: its output is the reason when it fails.
json command_feature(const std::vector<std::string>& argv, const std::string& ok_detail) {
  harness::CommandResult r = harness::run_command(argv);
  if (r.exit_code == 0) return feature(true, ok_detail);
  return feature(false,
                 fmt::format("`{}` failed: {}", harness::join_argv(argv), trimmed(r.output)));
}

json probe_xdp() {
  // r0 = XDP_PASS; exit
  const bpf_insn prog[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K,
       .dst_reg = BPF_REG_0,
       .src_reg = 0,
       .off = 0,
       .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "droplab_probe", "GPL", prog, 2, nullptr);
  if (fd < 0)
    return feature(false, fmt::format("loading an XDP program: {}", std::strerror(errno)));
  Fd prog_fd(fd);
  const int ifindex = static_cast<int>(::if_nametoindex(kPeer));
  if (ifindex == 0) return feature(false, fmt::format("{}: {}", kPeer, std::strerror(errno)));
  if (int err = bpf_xdp_attach(ifindex, prog_fd.get(), 0, nullptr); err != 0)
    return feature(false, fmt::format("attaching XDP to a veth: {}", std::strerror(-err)));
  bpf_xdp_detach(ifindex, 0, nullptr);
  return feature(true, "an XDP program loaded and attached to a veth (native mode)");
}

json probe_af_packet() {
  if (std::string why = gen::PacketRing::probe(); !why.empty()) return feature(false, why);
  Fd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  const int one = 1;
  if (!s || ::setsockopt(s.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
    return feature(false, fmt::format("PACKET_TX_RING works, PACKET_QDISC_BYPASS does not: {}",
                                      std::strerror(errno)));
  return feature(true, "TPACKET_V2 PACKET_TX_RING and PACKET_QDISC_BYPASS");
}

json probe_rps() {
  const std::string path = fmt::format("/sys/class/net/{}/queues/rx-0/rps_cpus", kPeer);
  std::ifstream in(path);
  std::string mask;
  if (!in || !std::getline(in, mask))
    return feature(false, fmt::format("{}: not there (kernel built without CONFIG_RPS)", path));
  return feature(true, fmt::format("a veth's queues/rx-0/rps_cpus reads {}", mask));
}

json probe_conntrack() {
  json f = command_feature(
      {"nft", "add", "rule", "inet", "droplab_probe", "input", "ct", "state", "invalid", "counter"},
      "");
  if (!f["available"].get<bool>()) return f;
  if (!fs::exists("/proc/net/stat/nf_conntrack"))
    return feature(false, "a ct state rule loads, but /proc/net/stat/nf_conntrack is missing");
  return feature(true, "an nft rule matching ct state loaded; /proc/net/stat/nf_conntrack present");
}

// `ethtool -k DEV`: "feature: on|off [fixed]" per line.
json probe_offloads() {
  harness::CommandResult r = harness::run_command({"ethtool", "-k", kDev});
  json out = json::object();
  if (r.exit_code != 0) return {{"error", trimmed(r.output)}};
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.rfind("Features for", 0) == 0) continue;
    std::string name = line.substr(0, colon);
    while (!name.empty() && name.front() == ' ')
      name.erase(0, 1);
    out[name] = {{"exists", true}, {"fixed", line.find("[fixed]") != std::string::npos}};
  }
  return out;
}

json probe_netns_sysctl(const std::string& key) {
  const std::string path = harness::sysctl_path(key);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return {{"exists", false},
            {"writable", false},
            {"detail", "not in a network namespace on this kernel"}};
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  const bool writable = ::access(path.c_str(), W_OK) == 0;
  return {{"exists", true},
          {"writable", writable},
          {"value", value},
          {"detail", writable ? "" : "read-only inside a network namespace"}};
}

} // namespace

nlohmann::json scratch_probes(const ScratchRequest& req) {
  json out;
  harness::CommandResult veth =
      harness::run_command({"ip", "link", "add", kDev, "type", "veth", "peer", "name", kPeer});
  if (veth.exit_code != 0) {
    out["netns_veth"] = feature(false, "`ip link add type veth` failed: " + trimmed(veth.output));
  } else {
    harness::run_command({"ip", "link", "set", kDev, "up"});
    harness::run_command({"ip", "link", "set", kPeer, "up"});
    out["netns_veth"] = feature(true, "a network namespace and a veth pair created");
  }
  const bool have_veth = veth.exit_code == 0;
  if (req.all || req.rps) out["rps"] = have_veth ? probe_rps() : feature(false, "no veth to probe");
  if (req.all || req.xdp) out["xdp"] = have_veth ? probe_xdp() : feature(false, "no veth to probe");
  if (req.all || req.af_packet) out["af_packet_tx_ring"] = probe_af_packet();
  if (req.all || req.io_uring_gen) {
    std::string why = gen::IoUring::probe(false);
    out["io_uring_gen"] = feature(why.empty(), why.empty() ? "IORING_OP_SEND" : why);
    std::string zc = gen::IoUring::probe(true);
    out["io_uring_gen_zc"] = feature(zc.empty(), zc.empty() ? "IORING_OP_SEND_ZC" : zc);
  }
  if (req.all || req.io_uring_sink) {
    std::string why = sink::probe_backend(sink::BackendChoice::IoUring);
    out["io_uring_sink"] = feature(
        why.empty(),
        why.empty() ? "a ring, a registered buffer ring and a multishot recvmsg armed" : why);
  }
  if (req.all || req.nftables || req.conntrack) {
    out["nftables"] =
        command_feature({"nft", "add", "table", "inet", "droplab_probe"}, "an nft table created");
    if (out["nftables"]["available"].get<bool>()) {
      harness::run_command({"nft", "add", "chain", "inet", "droplab_probe", "input",
                            "{ type filter hook input priority 0; }"});
    }
    if (req.all || req.conntrack) {
      out["conntrack"] = out["nftables"]["available"].get<bool>()
                             ? probe_conntrack()
                             : feature(false, "nftables unavailable");
    }
  }
  for (const auto& [id, spec] : req.qdiscs) {
    std::vector<std::string> argv{"tc", "qdisc", "replace", "dev", kDev, "root"};
    std::istringstream words(spec);
    for (std::string w; words >> w;)
      argv.push_back(w);
    out[id] = have_veth
                  ? command_feature(
                        argv, fmt::format("`tc qdisc replace dev veth root {}` accepted", spec))
                  : feature(false, "no veth to probe");
  }
  if (have_veth && (req.all || req.offloads)) out["offloads"] = probe_offloads();
  json sysctls = json::object();
  for (const auto& key : req.netns_sysctls)
    sysctls[key] = probe_netns_sysctl(key);
  out["netns_sysctls"] = sysctls;
  if (req.tracefs) {
    // A private tracefs mount: exists only in this mount namespace.
    if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
      out["tracefs"] = feature(false, fmt::format("mounting tracefs: {}", std::strerror(errno)));
    } else if (!fs::exists("/sys/kernel/tracing/events/skb/kfree_skb/format")) {
      out["tracefs"] = feature(false, "tracefs mounts, but it has no skb:kfree_skb event");
    } else if (!fs::exists("/sys/kernel/tracing/instances")) {
      out["tracefs"] = feature(false, "tracefs mounts, but it has no instances/ directory");
    } else {
      out["tracefs"] =
          feature(true, "not mounted at /sys/kernel/tracing: a run mounts it (journaled) and "
                        "unmounts it after; it has skb:kfree_skb and instances/");
    }
  }
  return out;
}

} // namespace droplab::doctor

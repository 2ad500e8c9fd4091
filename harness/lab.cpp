#include "lab.hpp"

#include "command.hpp"
#include "sysctl.hpp"

#include <signal.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace droplab::harness {
namespace {

std::string mac_of(const std::string& netns, const std::string& dev) {
  json j = json::parse(run_checked({"ip", "-n", netns, "-j", "link", "show", "dev", dev}));
  if (!j.is_array() || j.empty() || !j[0].contains("address")) {
    throw std::runtime_error(fmt::format("no MAC address for {} in {}", dev, netns));
  }
  return j[0]["address"];
}

void setup_side(const Lab& lab, const std::string& ns, const std::string& dev,
                const std::string& addr) {
  run_checked({"ip", "-n", ns, "link", "set", "lo", "up"});
  run_checked({"ip", "-n", ns, "addr", "add", fmt::format("{}/{}", addr, lab.prefix_len), "dev", dev});
  run_checked({"ip", "-n", ns, "link", "set", "dev", dev, "mtu", std::to_string(lab.mtu), "up"});
}

} // namespace

Lab Lab::for_pid(int pid) {
  Lab l;
  l.id = fmt::format("{}{}", kNamePrefix, pid);
  l.tx_ns = l.id + "-tx";
  l.rx_ns = l.id + "-rx";
  l.tx_dev = l.id + "t"; // IFNAMSIZ is 16: "dl4194304t" fits
  l.rx_dev = l.id + "r";
  return l;
}

bool netns_exists(const std::string& name) { return fs::exists("/run/netns/" + name); }

void delete_netns(const std::string& name) {
  // A process still inside would keep the namespace (and its veth) alive
  // after the name is gone: stop it first. Our own children die with the
  // harness (PR_SET_PDEATHSIG); this catches anything else we started there.
  CommandResult pids = run_command({"ip", "netns", "pids", name});
  if (pids.exit_code == 0) {
    std::istringstream in(pids.output);
    int pid = 0;
    while (in >> pid) ::kill(pid, SIGKILL);
  }
  run_checked({"ip", "netns", "delete", name});
}

std::vector<std::string> list_lab_netns() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator("/run/netns", ec)) {
    std::string n = de.path().filename();
    bool ours = n.rfind(kNamePrefix, 0) == 0 && n.size() > 5 &&
                (n.ends_with("-tx") || n.ends_with("-rx")) &&
                std::all_of(n.begin() + 2, n.end() - 3, [](char c) { return c >= '0' && c <= '9'; });
    if (ours) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void lab_up(const Lab& lab, Journal& journal) {
  for (const auto& ns : {lab.tx_ns, lab.rx_ns}) {
    // Never journal (and so later delete) a namespace that is not ours.
    if (netns_exists(ns)) {
      throw std::runtime_error(fmt::format("netns {} already exists: it is not ours to use or delete "
                                           "(a lab left by `droplab lab up`? see `droplab lab status`)", ns));
    }
    journal.record({{"op", "netns"}, {"name", ns}});
    run_checked({"ip", "netns", "add", ns});
    // IPv6 off before any device comes up: no router solicitations or MLD
    // reports to pollute the lab's counters. Per-namespace, dies with it.
    write_sysctl("net.ipv6.conf.all.disable_ipv6", "1", ns);
    write_sysctl("net.ipv6.conf.default.disable_ipv6", "1", ns);
  }
  // Created inside the namespaces, so the host never sees the pair.
  run_checked({"ip", "-n", lab.tx_ns, "link", "add", lab.tx_dev, "type", "veth", "peer", "name",
               lab.rx_dev, "netns", lab.rx_ns});
  setup_side(lab, lab.tx_ns, lab.tx_dev, lab.tx_addr);
  setup_side(lab, lab.rx_ns, lab.rx_dev, lab.rx_addr);
  // Permanent neighbours: no ARP traffic during a run, so device and IP
  // counters count our datagrams only.
  std::string tx_mac = mac_of(lab.tx_ns, lab.tx_dev);
  std::string rx_mac = mac_of(lab.rx_ns, lab.rx_dev);
  run_checked({"ip", "-n", lab.tx_ns, "neigh", "replace", lab.rx_addr, "lladdr", rx_mac, "dev",
               lab.tx_dev, "nud", "permanent"});
  run_checked({"ip", "-n", lab.rx_ns, "neigh", "replace", lab.tx_addr, "lladdr", tx_mac, "dev",
               lab.rx_dev, "nud", "permanent"});
}

void to_json(json& j, const Lab& lab) {
  j = json{{"id", lab.id},           {"tx_netns", lab.tx_ns}, {"rx_netns", lab.rx_ns},
           {"tx_dev", lab.tx_dev},   {"rx_dev", lab.rx_dev},  {"tx_addr", lab.tx_addr},
           {"rx_addr", lab.rx_addr}, {"mtu", lab.mtu}};
}

} // namespace droplab::harness

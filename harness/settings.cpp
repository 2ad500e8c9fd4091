#include "settings.hpp"

#include "command.hpp"
#include "sysctl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include <unistd.h>
#include <regex>
#include <sstream>

using nlohmann::json;

namespace droplab::harness {
namespace {

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::vector<std::string> in_ns(const std::string& ns, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
  return argv;
}

} // namespace

bool uses_conntrack(const Profile& p) {
  static const std::regex ct(R"(\bct\b)");
  return std::any_of(p.settings.rx_nft_rules.begin(), p.settings.rx_nft_rules.end(),
                     [](const std::string& r) { return std::regex_search(r, ct); });
}

std::string undo_qdisc(const std::string& netns, const std::string& dev) {
  if (!netns_exists(netns)) return fmt::format("qdisc on {} in {}: namespace gone with it", dev, netns);
  CommandResult r = run_command({"tc", "-n", netns, "qdisc", "del", "dev", dev, "root"});
  // ENOENT-like answers mean the device (and its qdisc) is already gone.
  if (r.exit_code != 0 && r.output.find("Cannot find device") == std::string::npos &&
      r.output.find("No such file") == std::string::npos) {
    throw std::runtime_error(fmt::format("tc qdisc del dev {} root in {}: {}", dev, netns, r.output));
  }
  return fmt::format("qdisc on {} in {}: removed", dev, netns);
}

std::string undo_nft_table(const std::string& netns, const std::string& family, const std::string& table) {
  if (!netns_exists(netns)) return fmt::format("nft table {} {} in {}: namespace gone with it", family, table, netns);
  CommandResult r = run_command(in_ns(netns, {"nft", "delete", "table", family, table}));
  if (r.exit_code != 0 && r.output.find("No such file") == std::string::npos) {
    throw std::runtime_error(fmt::format("nft delete table {} {} in {}: {}", family, table, netns, r.output));
  }
  return fmt::format("nft table {} {} in {}: deleted", family, table, netns);
}

std::vector<SettingRecord> apply_settings(const Profile& p, const Lab& lab, Journal& journal) {
  std::vector<SettingRecord> out;
  const Settings& s = p.settings;

  if (!s.rx_nft_rules.empty()) {
    journal.record({{"op", "nft_table"}, {"netns", lab.rx_ns}, {"family", kNftFamily}, {"table", kNftTable}});
    // One transaction (nft -f): atomic, and fast for profiles with many rules.
    std::string ruleset = fmt::format("table {} {} {{\n  chain input {{\n    type filter hook input priority 0;\n",
                                      kNftFamily, kNftTable);
    for (const auto& rule : s.rx_nft_rules) ruleset += "    " + rule + "\n";
    ruleset += "  }\n}\n";
    char path[] = "/tmp/droplab-nft-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp for the nftables ruleset");
    bool written = ::write(fd, ruleset.data(), ruleset.size()) == static_cast<ssize_t>(ruleset.size());
    ::close(fd);
    CommandResult r = written ? run_command(in_ns(lab.rx_ns, {"nft", "-f", path}))
                              : CommandResult{.exit_code = 1, .output = "could not write the ruleset file"};
    ::unlink(path);
    if (r.exit_code != 0) {
      throw std::runtime_error(fmt::format("nftables rules in {} failed: {}\n{}", lab.rx_ns, r.output, ruleset));
    }
    std::map<std::string, int> counts;
    for (const auto& rule : s.rx_nft_rules) ++counts[rule];
    for (const auto& [rule, n] : counts) {
      out.push_back({n == 1 ? "nft rule" : fmt::format("nft rule (x{})", n),
                     "table inet droplab, chain input, netns " + lab.rx_ns, "(none)", rule});
    }
  }

  // Offloads of the lab's own veth devices: they exist only inside the lab's
  // namespaces, so deleting the namespace undoes them.
  auto offloads = [&](const std::map<std::string, std::string>& features, const std::string& ns,
                      const std::string& dev) {
    for (const auto& [feature, value] : features) {
      journal.record({{"op", "lab_device"}, {"netns", ns}, {"dev", dev},
                      {"what", fmt::format("ethtool -K {} {}", feature, value)}});
      run_checked(in_ns(ns, {"ethtool", "-K", dev, feature, value}));
      out.push_back({"ethtool " + feature, fmt::format("{} in netns {}", dev, ns), "(veth default)", value});
    }
  };
  offloads(s.tx_offloads, lab.tx_ns, lab.tx_dev);
  offloads(s.rx_offloads, lab.rx_ns, lab.rx_dev);

  if (s.tx_qdisc) {
    journal.record({{"op", "qdisc"}, {"netns", lab.tx_ns}, {"dev", lab.tx_dev}});
    std::vector<std::string> argv{"tc", "-n", lab.tx_ns, "qdisc", "replace", "dev", lab.tx_dev, "root"};
    for (auto& w : words(*s.tx_qdisc)) argv.push_back(w);
    run_checked(argv);
    out.push_back({"qdisc root", fmt::format("{} in netns {}", lab.tx_dev, lab.tx_ns), "noqueue", *s.tx_qdisc});
  }

  if (s.rps_cpus) out.push_back(apply_rps(journal, lab.rx_dev, 0, *s.rps_cpus, lab.rx_ns));

  for (const auto& [k, v] : s.sysctls) out.push_back(apply_sysctl(journal, k, v, ""));
  for (const auto& [k, v] : s.rx_sysctls) out.push_back(apply_sysctl(journal, k, v, lab.rx_ns));
  return out;
}

SettingRecord apply_sysctl(Journal& journal, const std::string& key, const std::string& value,
                           const std::string& netns) {
  std::string old = read_sysctl(key, netns);
  json entry{{"op", "sysctl"}, {"key", key}, {"old", old}, {"new", value}};
  if (!netns.empty()) entry["netns"] = netns;
  journal.record(entry);
  write_sysctl(key, value, netns);
  std::string applied = read_sysctl(key, netns);
  std::string wanted = normalize_sysctl_value(value);
  if (applied != wanted) {
    throw std::runtime_error(fmt::format("{}: wrote \"{}\" but the kernel holds \"{}\"", key, value, applied));
  }
  return {key, netns.empty() ? "host" : "netns " + netns, old, applied};
}

SettingRecord apply_rps(Journal& journal, const std::string& dev, unsigned queue, const std::string& mask,
                        const std::string& netns) {
  std::string path = fmt::format("/sys/class/net/{}/queues/rx-{}/rps_cpus", dev, queue);
  std::string old = read_sysfs(path, netns);
  journal.record({{"op", "sysfs"}, {"path", path}, {"old", old}, {"new", mask}, {"netns", netns}});
  write_sysfs(path, mask, netns);
  return {path, netns.empty() ? "sysfs" : "sysfs in netns " + netns, old, read_sysfs(path, netns)};
}

} // namespace droplab::harness

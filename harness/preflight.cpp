#include "preflight.hpp"

#include "settings.hpp"

#include <fmt/format.h>

namespace droplab::harness {

doctor::Needs profile_needs(const Profile& prof) {
  doctor::Needs n;
  n.lab = !prof.hosts.has_value();
  const Settings& s = prof.settings;
  for (const auto& [k, v] : s.sysctls)
    n.host_sysctls.push_back(k);
  for (const auto& [k, v] : s.rx_sysctls)
    n.netns_sysctls.push_back(k);
  n.rps = s.rps_cpus.has_value();
  n.tx_qdisc = s.tx_qdisc;
  n.nftables = !s.rx_nft_rules.empty();
  n.conntrack = uses_conntrack(prof);
  for (const auto* m : {&s.tx_offloads, &s.rx_offloads})
    for (const auto& [feature, value] : *m)
      n.offloads.push_back(feature);
  n.gen_backend = prof.gen.backend;
  n.sink_backend = prof.sink.backend;
  if (prof.expect) n.counters = prof.expect->counters_moved;
  return n;
}

std::string describe_unmet(const std::vector<doctor::Unmet>& unmet) {
  std::string out;
  for (const auto& u : unmet)
    out += fmt::format("\n  {}: {}", u.what, u.reason);
  return out;
}

void check_profile_on_host(const Profile& prof) {
  if (prof.hosts) return;
  doctor::Needs needs = profile_needs(prof);
  doctor::HostReport report = doctor::probe_host({.all = false, .needs = {needs}});
  std::vector<doctor::Unmet> missing = doctor::unmet(needs, report);
  if (missing.empty()) return;
  throw ProfileError(
      fmt::format("{}: this kernel ({}) cannot run this profile (`droplab doctor` shows what "
                  "it offers):{}",
                  prof.path, report.kernel, describe_unmet(missing)));
}

} // namespace droplab::harness

// A profile's needs against a probed (or recorded) host: pure functions.
#include "droplab/doctor/doctor.hpp"

#include <fmt/format.h>

namespace droplab::doctor {
namespace {

std::string qdisc_id(const std::string& spec) {
  return "tx_qdisc " + spec;
}

// An unmet feature as a reason: its detail, or "not probed" when absent.
std::optional<std::string> missing(const HostReport& r, const std::string& id) {
  const Feature* f = r.find(id);
  if (!f) return fmt::format("{} was not probed", id);
  if (f->available) return std::nullopt;
  return f->title + ": " + f->detail;
}

} // namespace

std::vector<std::string> feature_ids(const Needs& n) {
  std::vector<std::string> ids;
  if (!n.lab) return ids;
  ids.push_back("netns_veth");
  if (n.rps) ids.push_back("rps");
  if (n.tx_qdisc) ids.push_back(qdisc_id(*n.tx_qdisc));
  if (n.nftables) ids.push_back("nftables");
  if (n.conntrack) ids.push_back("conntrack");
  if (n.gen_backend == "af_packet") ids.push_back("af_packet_tx_ring");
  if (n.gen_backend == "io_uring") ids.push_back("io_uring_gen");
  if (n.sink_backend && *n.sink_backend == "io_uring") ids.push_back("io_uring_sink");
  return ids;
}

std::vector<Unmet> unmet(const Needs& n, const HostReport& r) {
  std::vector<Unmet> out;
  if (!n.lab) return out; // real hosts: their agents validate what they are asked
  auto need = [&](const std::string& what, const std::string& id) {
    if (auto why = missing(r, id)) out.push_back({what, *why});
  };
  need("the local lab", "netns_veth");
  auto sysctls = [&](const std::vector<std::string>& keys,
                     const std::map<std::string, SysctlProbe>& probed, const std::string& path) {
    for (const auto& k : keys) {
      auto it = probed.find(k);
      if (it == probed.end())
        out.push_back({path + k, "not probed"});
      else if (!it->second.exists || !it->second.writable)
        out.push_back({path + k, it->second.detail});
    }
  };
  sysctls(n.host_sysctls, r.host_sysctls, "/settings/sysctls/");
  sysctls(n.netns_sysctls, r.netns_sysctls, "/settings/rx_sysctls/");
  if (n.rps) need("/settings/rps_cpus", "rps");
  if (n.tx_qdisc) {
    // The exact spec when it was probed (before a run); else the kind, as
    // `droplab doctor` probes it (a report recorded before the profile changed).
    const std::string kind = "qdisc:" + n.tx_qdisc->substr(0, n.tx_qdisc->find(' '));
    need("/settings/tx_qdisc",
         r.find(qdisc_id(*n.tx_qdisc)) || !r.find(kind) ? qdisc_id(*n.tx_qdisc) : kind);
  }
  if (n.nftables) need("/settings/rx_nft_rules", "nftables");
  if (n.conntrack) need("/settings/rx_nft_rules (ct)", "conntrack");
  for (const auto& o : n.offloads) {
    auto it = r.veth_offloads.find(o);
    if (it == r.veth_offloads.end() || !it->second.exists) {
      out.push_back({"offload " + o, "a veth on this kernel has no such ethtool feature"});
    } else if (it->second.fixed) {
      out.push_back({"offload " + o, "fixed on a veth on this kernel (ethtool -k shows [fixed])"});
    }
  }
  if (n.gen_backend == "af_packet") need("/gen/backend af_packet", "af_packet_tx_ring");
  if (n.gen_backend == "io_uring") need("/gen/backend io_uring", "io_uring_gen");
  if (n.sink_backend && *n.sink_backend == "io_uring")
    need("/sink/backend io_uring", "io_uring_sink");
  for (const auto& k : n.counters) {
    if (k.rfind("host.", 0) != 0) continue;
    auto it = r.counters.find(k);
    if (it == r.counters.end()) {
      out.push_back({"/expect/counters_moved " + k, "not probed"});
    } else if (!it->second.available) {
      out.push_back({"/expect/counters_moved " + k, it->second.detail});
    }
  }
  return out;
}

void to_json(nlohmann::json& j, const HostReport& r) {
  j = {{"kernel", r.kernel}, {"machine", r.machine}, {"cpus", r.cpus}};
  nlohmann::json features = nlohmann::json::array();
  for (const auto& f : r.features)
    features.push_back(
        {{"id", f.id}, {"title", f.title}, {"available", f.available}, {"detail", f.detail}});
  j["features"] = features;
  j["drop_reason_names"] = r.drop_reason_names;
  auto sysctls = [](const std::map<std::string, SysctlProbe>& m) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [k, p] : m)
      o[k] = {
          {"exists", p.exists}, {"writable", p.writable}, {"value", p.value}, {"detail", p.detail}};
    return o;
  };
  j["host_sysctls"] = sysctls(r.host_sysctls);
  j["netns_sysctls"] = sysctls(r.netns_sysctls);
  nlohmann::json counters = nlohmann::json::object();
  for (const auto& [k, p] : r.counters)
    counters[k] = {{"available", p.available}, {"detail", p.detail}};
  j["counters"] = counters;
  nlohmann::json offloads = nlohmann::json::object();
  for (const auto& [k, p] : r.veth_offloads)
    offloads[k] = {{"exists", p.exists}, {"fixed", p.fixed}};
  j["veth_offloads"] = offloads;
}

void from_json(const nlohmann::json& j, HostReport& r) {
  r.kernel = j.at("kernel").get<std::string>();
  r.machine = j.value("machine", "");
  r.cpus = j.value("cpus", 0u);
  r.features.clear();
  for (const auto& f : j.at("features"))
    r.features.push_back({f.at("id").get<std::string>(), f.at("title").get<std::string>(),
                          f.at("available").get<bool>(), f.at("detail").get<std::string>()});
  r.drop_reason_names = j.value("drop_reason_names", std::vector<std::string>{});
  auto sysctls = [](const nlohmann::json& o) {
    std::map<std::string, SysctlProbe> m;
    for (const auto& [k, p] : o.items())
      m[k] = {p.at("exists").get<bool>(), p.at("writable").get<bool>(), p.value("value", ""),
              p.value("detail", "")};
    return m;
  };
  r.host_sysctls = sysctls(j.value("host_sysctls", nlohmann::json::object()));
  r.netns_sysctls = sysctls(j.value("netns_sysctls", nlohmann::json::object()));
  r.counters.clear();
  const nlohmann::json counters = j.value("counters", nlohmann::json::object());
  for (const auto& [k, p] : counters.items())
    r.counters[k] = {p.at("available").get<bool>(), p.value("detail", "")};
  r.veth_offloads.clear();
  const nlohmann::json offloads = j.value("veth_offloads", nlohmann::json::object());
  for (const auto& [k, p] : offloads.items())
    r.veth_offloads[k] = {p.at("exists").get<bool>(), p.at("fixed").get<bool>()};
}

} // namespace droplab::doctor

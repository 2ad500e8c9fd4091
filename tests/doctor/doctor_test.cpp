// The doctor's verdicts on recorded probes of kernels (tests/data/doctor/),
// and `droplab doctor --json` on this machine.
#include "doctor_cmd.hpp"
#include "preflight.hpp"
#include "profile.hpp"

#include "droplab/doctor/doctor.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;
using namespace droplab;
using nlohmann::json;

namespace {

doctor::HostReport recorded(const std::string& file) {
  std::ifstream in(std::string(DROPLAB_TEST_DATA) + "/doctor/" + file);
  return json::parse(in).get<doctor::HostReport>();
}

doctor::Needs needs_of(const std::string& profile) {
  return harness::profile_needs(
      harness::load_profile(std::string(DROPLAB_PROFILES_DIR) + "/" + profile + ".json"));
}

std::vector<std::string> whats(const std::vector<doctor::Unmet>& u) {
  std::vector<std::string> out;
  for (const auto& x : u)
    out.push_back(x.what);
  return out;
}

doctor::Feature* feature(doctor::HostReport& r, const std::string& id) {
  for (auto& f : r.features)
    if (f.id == id) return &f;
  return nullptr;
}

TEST(DoctorVerdict, WithoutFlowLimitOnlyTheFlowLimitProfileIsRefused) {
  // Recorded by `droplab doctor --json` on a 6.18 build without CONFIG_NET_FLOW_LIMIT.
  const doctor::HostReport r = recorded("6.18-no-flow-limit.json");
  for (const auto& path : harness::shipped_profile_paths()) {
    const std::string name = fs::path(path).stem();
    auto u = doctor::unmet(harness::profile_needs(harness::load_profile(path)), r);
    if (name == "flow-limit") {
      ASSERT_EQ(u.size(), 1u) << name;
      EXPECT_EQ(u[0].what, "/settings/sysctls/net.core.flow_limit_cpu_bitmap");
      EXPECT_NE(u[0].reason.find("this kernel has no such sysctl (CONFIG_NET_FLOW_LIMIT)"),
                std::string::npos)
          << u[0].reason;
    } else {
      EXPECT_TRUE(u.empty()) << name << ": " << harness::describe_unmet(u);
    }
  }
}

TEST(DoctorVerdict, OnDebian12sKernelEveryShippedProfileCanRun) {
  // Recorded by the kernel matrix: `droplab doctor --json` in a VM booted with
  // linux-image-6.1.0-57-cloud-amd64-unsigned (flow limit built in, conntrack a module).
  const doctor::HostReport r = recorded("6.1-debian-cloud.json");
  EXPECT_EQ(r.kernel, "6.1.0-57-cloud-amd64");
  for (const auto& path : harness::shipped_profile_paths()) {
    auto u = doctor::unmet(harness::profile_needs(harness::load_profile(path)), r);
    EXPECT_TRUE(u.empty()) << path << ": " << harness::describe_unmet(u);
  }
  // The drop reason enum differs between kernels: read from each, never a table.
  EXPECT_NE(r.drop_reason_names.size(), recorded("6.18-no-flow-limit.json").drop_reason_names.size());
}

TEST(DoctorVerdict, WithFlowLimitTheFlowLimitProfileCanRun) {
  doctor::HostReport r = recorded("6.18-no-flow-limit.json");
  r.host_sysctls["net.core.flow_limit_cpu_bitmap"] = {
      .exists = true, .writable = true, .value = "0"};
  EXPECT_TRUE(doctor::unmet(needs_of("flow-limit"), r).empty());
}

TEST(DoctorVerdict, AMissingQdiscNftOrBackendIsNamedWithTheProbesReason) {
  doctor::HostReport r = recorded("6.18-no-flow-limit.json");
  // What the probes say on a kernel without tbf, nftables and AF_PACKET rings.
  for (auto& f : r.features) {
    if (f.id.rfind("tx_qdisc ", 0) == 0 || f.id == "qdisc:tbf") {
      f.available = false;
      f.detail = "`tc qdisc replace dev dlprobe0 root tbf ...` failed: Error: Specified qdisc kind "
                 "is unknown.";
    }
  }
  feature(r, "nftables")->available = false;
  feature(r, "nftables")->detail =
      "`nft add table inet droplab_probe` failed: Operation not supported";
  feature(r, "af_packet_tx_ring")->available = false;
  feature(r, "af_packet_tx_ring")->detail = "PACKET_TX_RING not supported: Invalid argument";

  auto q = doctor::unmet(needs_of("qdisc"), r);
  ASSERT_EQ(whats(q), std::vector<std::string>{"/settings/tx_qdisc"});
  EXPECT_NE(q[0].reason.find("qdisc kind is unknown"), std::string::npos) << q[0].reason;
  EXPECT_EQ(whats(doctor::unmet(needs_of("netfilter-drop"), r)),
            std::vector<std::string>{"/settings/rx_nft_rules"});
  auto a = doctor::unmet(needs_of("rp-filter"), r);
  ASSERT_EQ(whats(a), std::vector<std::string>{"/gen/backend af_packet"});
  EXPECT_NE(a[0].reason.find("PACKET_TX_RING not supported"), std::string::npos);
}

TEST(DoctorVerdict, AQdiscSpecNotProbedIsJudgedByItsKindOrUnmet) {
  doctor::HostReport r = recorded("6.18-no-flow-limit.json");
  std::erase_if(r.features, [](const doctor::Feature& f) { return f.id.rfind("tx_qdisc ", 0) == 0; });
  doctor::Needs n = needs_of("qdisc");
  EXPECT_TRUE(doctor::unmet(n, r).empty()) << "tbf was probed as a kind";
  n.tx_qdisc = "htb default 1";
  auto u = doctor::unmet(n, r);
  ASSERT_EQ(whats(u), std::vector<std::string>{"/settings/tx_qdisc"});
  EXPECT_EQ(u[0].reason, "tx_qdisc htb default 1 was not probed");
}

TEST(DoctorVerdict, AReadOnlyOrUnprobedSysctlIsUnmetNeverAssumed) {
  doctor::HostReport r = recorded("6.18-no-flow-limit.json");
  r.host_sysctls["net.core.rmem_max"].writable = false;
  r.host_sysctls["net.core.rmem_max"].detail =
      "/proc/sys/net/core/rmem_max is not writable here: Permission denied";
  doctor::Needs n = needs_of("udp-mem"); // sets net.core.rmem_max
  n.netns_sysctls.push_back("net.ipv4.never_probed");
  auto u = doctor::unmet(n, r);
  EXPECT_EQ(whats(u), (std::vector<std::string>{"/settings/sysctls/net.core.rmem_max",
                                                "/settings/rx_sysctls/net.ipv4.never_probed"}));
  EXPECT_EQ(u[1].reason, "not probed");
}

TEST(DoctorVerdict, AnUnavailableHostCounterAnExpectationNamesIsUnmet) {
  doctor::HostReport r = recorded("6.18-no-flow-limit.json");
  r.host_sysctls["net.core.flow_limit_cpu_bitmap"] = {
      .exists = true, .writable = true, .value = "0"};
  // softnet_stat before 3.11 has no flow_limit_count column.
  r.counters["host.softnet.flow_limit_count"] = {false, "/proc/net/softnet_stat has 10 columns"};
  auto u = doctor::unmet(needs_of("flow-limit"), r);
  EXPECT_EQ(whats(u),
            std::vector<std::string>{"/expect/counters_moved host.softnet.flow_limit_count"});
}

TEST(DoctorVerdict, HostsProfilesAreLeftToTheirAgents) {
  doctor::Needs n = needs_of("flow-limit");
  n.lab = false;
  EXPECT_TRUE(doctor::unmet(n, doctor::HostReport{}).empty());
  EXPECT_TRUE(doctor::feature_ids(n).empty());
}

TEST(DoctorReport, JsonRoundTripKeepsEveryProbe) {
  const doctor::HostReport r = recorded("6.18-no-flow-limit.json");
  json j = r;
  doctor::HostReport back = j.get<doctor::HostReport>();
  EXPECT_EQ(json(back), j);
  ASSERT_NE(r.find("flow_limit"), nullptr);
  EXPECT_FALSE(r.find("flow_limit")->available);
  EXPECT_GT(r.drop_reason_names.size(), 50u);
}

// `droplab doctor --json` on this machine: a report (exit 0) whose verdict on
// flow limit matches what the kernel really has.
TEST(DoctorCommand, JsonOnThisMachineSaysWhatTheKernelHas) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (the probes create a scratch network namespace)";
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(DROPLAB_BIN " doctor --json", "r"), ::pclose);
  ASSERT_TRUE(p);
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p.get()))
    text.append(buf, n);
  const int status = ::pclose(p.release());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const json j = json::parse(text);
  const doctor::HostReport r = j.get<doctor::HostReport>();
  const bool has_flow_limit = fs::is_regular_file("/proc/sys/net/core/flow_limit_cpu_bitmap");
  ASSERT_NE(r.find("flow_limit"), nullptr);
  EXPECT_EQ(r.find("flow_limit")->available, has_flow_limit);
  ASSERT_NE(r.find("netns_veth"), nullptr);
  EXPECT_TRUE(r.find("netns_veth")->available) << r.find("netns_veth")->detail;
  bool seen = false;
  for (const auto& prof : j.at("profiles")) {
    if (prof.at("name") != "flow-limit") continue;
    seen = true;
    EXPECT_EQ(prof.at("can_run").get<bool>(), has_flow_limit) << prof.dump();
    if (!has_flow_limit) {
      EXPECT_NE(prof.dump().find("CONFIG_NET_FLOW_LIMIT"), std::string::npos) << prof.dump();
    }
  }
  EXPECT_TRUE(seen);
}

} // namespace

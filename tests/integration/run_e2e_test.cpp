// droplab run on the shipped profiles, checked with numbers.
#include "e2e_support.hpp"

#include <cstdio>

using namespace droplab::e2e;
using nlohmann::json;

namespace {

class RunE2E : public HostFixture {};

TEST_F(RunE2E, CleanProfileLosesNothingAndExplainsEverything) {
  std::string out = temp_path(".json");
  Result r = run_droplab({"run", profile("clean.json"), "--json", out, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json rep = read_json(out);
  std::remove(out.c_str());

  EXPECT_EQ(rep["schema_version"], 1);
  EXPECT_EQ(rep["context"]["profile"]["name"], "clean");
  EXPECT_FALSE(rep["context"]["kernel"].get<std::string>().empty());
  const json& acct = rep["accounting"];
  EXPECT_GT(acct["sent"].get<long long>(), 30000); // 20 kpps for 2 s
  EXPECT_EQ(acct["delivered"], acct["sent"]);
  EXPECT_EQ(acct["dropped"], 0);
  EXPECT_EQ(acct["unexplained"], 0);
  EXPECT_EQ(acct["sequence_lost"], 0);
  const char* order[] = {"gen",     "qdisc",     "tx_device", "nic_ring", "rx_device", "backlog",
                         "ip",      "netfilter", "udp",       "socket",   "app"};
  ASSERT_EQ(rep["stages"].size(), 11u);
  for (std::size_t i = 0; i < 11; ++i) {
    const json& s = rep["stages"][i];
    EXPECT_EQ(s["name"], order[i]);
    EXPECT_EQ(s["dropped"], 0) << order[i];
    EXPECT_EQ(s["in"], acct["sent"]) << order[i];
    for (const auto& e : s["evidence"]) {
      EXPECT_TRUE(e.contains("counter") && e.contains("source") && e.contains("delta")) << e.dump();
    }
  }
  // Counters agree with the generator: every packet crossed the veth and IP.
  EXPECT_EQ(evidence(stage(rep, "rx_device"), "rx.link.rx_packets"), acct["sent"].get<long long>());
  EXPECT_EQ(evidence(stage(rep, "ip"), "rx.snmp.Ip.InReceives"), acct["sent"].get<long long>());
  EXPECT_EQ(rep["expect"]["passed"], true);
  EXPECT_NE(r.output.find("unexplained 0"), std::string::npos) << r.output;
}

TEST_F(RunE2E, SocketRcvbufProfileDropsAtTheSocketWithEvidence) {
  std::string out = temp_path(".json");
  Result r = run_droplab({"run", profile("socket-rcvbuf.json"), "--json", out, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json rep = read_json(out);
  std::remove(out.c_str());

  const json& acct = rep["accounting"];
  const json sock = stage(rep, "socket");
  long long dropped = sock["dropped"];
  long long sent = acct["sent"];
  long long delivered = acct["delivered"];
  // 50 kpps into a reader of 10 kpps: about 4/5 of the packets cannot be read.
  EXPECT_GT(dropped, sent / 2) << r.output;
  EXPECT_EQ(acct["unexplained"], 0) << r.output;
  EXPECT_EQ(sent, delivered + dropped);
  // The drops are proven by the namespace's counter and by the socket's own.
  EXPECT_EQ(evidence(sock, "rx.snmp.Udp.RcvbufErrors"), dropped);
  EXPECT_EQ(evidence(sock, "rx.sock.drops"), dropped);
  EXPECT_EQ(evidence(sock, "SK_MEMINFO_DROPS"), dropped);
  // ...and by the kernel's drop reasons, counted in BPF for the lab only (below).
  // The sink's sequence numbers count exactly the same loss.
  EXPECT_EQ(acct["sequence_lost"], dropped);
  for (const char* other : {"gen", "qdisc", "tx_device", "nic_ring", "rx_device", "backlog", "ip", "netfilter", "udp", "app"}) {
    EXPECT_EQ(stage(rep, other)["dropped"], 0) << other;
  }
  EXPECT_EQ(rep["expect"]["passed"], true);
  EXPECT_EQ(rep["sink"]["context"]["rcvbuf_granted"], 8192);
  EXPECT_FALSE(sock["knobs"].empty());
  if (auto why = unavailable("kfree_skb_reason"))
    GTEST_SKIP() << "the counters agreed; drop reasons could not be cross-checked: " << *why;
  EXPECT_EQ(rep["drop_reasons"]["mode"], "bpf") << rep["drop_reasons"]["mode_reason"];
  EXPECT_EQ(evidence(sock, "kfree_skb SOCKET_RCVBUFF"), dropped);
}

TEST_F(RunE2E, FailedExpectationExitsNonZeroAndSaysWhy) {
  // The socket-rcvbuf traffic, but expecting no loss.
  json doc = read_json(profile("socket-rcvbuf.json"));
  doc["gen"]["duration"] = "500ms";
  doc["expect"] = {{"no_loss", true}};
  std::string path = temp_profile(doc);
  Result r = run_droplab({"run", path, "--quiet"});
  std::remove(path.c_str());
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("expect: FAILED — expected no loss"), std::string::npos) << r.output;
}

TEST_F(RunE2E, ProfilesUseTheSinkBackendsThreadsAndConstraints) {
  // The clean traffic into io_uring readers on two SO_REUSEPORT sockets
  // pinned to both CPUs, with a little work per datagram: still no loss, and
  // the sink's report shows what the profile asked for.
  json doc = read_json(profile("clean.json"));
  doc["gen"]["duration"] = "1s";
  doc["sink"] = {{"port", 9000}, {"backend", "io_uring"}, {"threads", 2}, {"cpus", "0-1"}, {"work", "1us"}};
  std::string path = temp_profile(doc);
  std::string out = temp_path(".json");
  Result r = run_droplab({"run", path, "--json", out, "--quiet"});
  std::remove(path.c_str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json rep = read_json(out);
  std::remove(out.c_str());
  EXPECT_EQ(rep["sink"]["context"]["backend"], "io_uring");
  EXPECT_EQ(rep["sink"]["context"]["threads"], 2);
  EXPECT_EQ(rep["sink"]["context"]["work_ns"], 1000);
  EXPECT_EQ(rep["accounting"]["unexplained"], 0);
  EXPECT_EQ(rep["accounting"]["delivered"], rep["accounting"]["sent"]);
}

TEST_F(RunE2E, SettingsAreRecordedAppliedAndRestored) {
  std::string budget = sysctls_before_.at("net.core.netdev_budget");
  std::string bumped = std::to_string(std::stoi(budget) + 7);
  json doc = {{"name", "settings"},
              {"gen", {{"rate", "5kpps"}, {"duration", "300ms"}}},
              {"settings",
               {{"sysctls", {{"net.core.netdev_budget", bumped}}},
                {"rx_sysctls", {{"net.ipv4.conf.all.rp_filter", "2"}}},
                {"rps_cpus", "1"}}},
              {"expect", {{"no_loss", true}}}};
  std::string path = temp_profile(doc);
  std::string out = temp_path(".json");
  Result r = run_droplab({"run", path, "--json", out, "--quiet"});
  std::remove(path.c_str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json rep = read_json(out);
  std::remove(out.c_str());
  const json& settings = rep["context"]["settings"];
  ASSERT_EQ(settings.size(), 3u) << settings.dump();
  auto setting = [&](const std::string& key_part) {
    for (const auto& st : settings) {
      if (st["key"].get<std::string>().find(key_part) != std::string::npos) return st;
    }
    return json::object();
  };
  json budget_setting = setting("net.core.netdev_budget");
  EXPECT_EQ(budget_setting["scope"], "host");
  EXPECT_EQ(budget_setting["old"], budget);
  EXPECT_EQ(budget_setting["applied"], bumped);
  EXPECT_EQ(setting("rp_filter")["applied"], "2");
  EXPECT_EQ(setting("rps_cpus")["applied"], "1");
  // TearDown checks netdev_budget is back to `budget` and no namespace remains.
}

} // namespace

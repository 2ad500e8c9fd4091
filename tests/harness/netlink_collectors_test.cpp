// The netlink, ethtool, conntrack and nftables collectors against the live kernel, in a
// two-namespace veth lab made for the test (root; skips visibly otherwise). Setup uses
// ip/tc/nft (iproute2, nftables); what is checked is read only by the collectors.
//
//   dlnl<pid>t: va 198.18.0.1/24, root pfifo 1: limit 1000   ─veth─
//   dlnl<pid>r: vb 198.18.0.2/24, clsact, nft table inet droplab:
//               input: ct state new counter; udp dport 9 counter drop
#include "droplab/counters/collector.hpp"
#include "droplab/counters/conntrack.hpp"
#include "droplab/counters/ethtool_stats.hpp"
#include "droplab/counters/link_stats.hpp"
#include "droplab/counters/netns.hpp"
#include "droplab/counters/nft_counters.hpp"
#include "droplab/counters/qdisc.hpp"

#include "droplab/fd.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace droplab::counters;
using droplab::Fd;

namespace {

using U64 = std::optional<std::uint64_t>;

// Runs a setup command through sh; throws with the command and its exit status.
void sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc != 0) throw std::runtime_error("`" + cmd + "` failed (status " + std::to_string(rc) + ")");
}

// Two namespaces joined by a veth pair; both removed by the destructor on every path
// (a failed constructor removes what it made before throwing).
class VethLab {
public:
  VethLab()
      : tx("dlnl" + std::to_string(::getpid()) + "t"),
        rx("dlnl" + std::to_string(::getpid()) + "r") {
    try {
      sh("ip netns add " + tx);
      tx_made_ = true;
      sh("ip netns add " + rx);
      rx_made_ = true;
      for (const auto& ns : {tx, rx}) // no IPv6 chatter (DAD, MLD) on the links
        sh("ip netns exec " + ns +
           " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
      sh("ip -n " + tx +
         " link add va address 02:00:00:00:00:01 type veth peer name vb address "
         "02:00:00:00:00:02 netns " +
         rx);
      sh("ip -n " + tx + " addr add 198.18.0.1/24 dev va");
      sh("ip -n " + rx + " addr add 198.18.0.2/24 dev vb");
      // Static neighbours: no ARP frames in the counts.
      sh("ip -n " + tx + " neigh add 198.18.0.2 lladdr 02:00:00:00:00:02 dev va nud permanent");
      sh("ip -n " + rx + " neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent");
      sh("ip -n " + tx + " link set va up");
      sh("ip -n " + rx + " link set vb up");
      sh("ip -n " + tx + " link set lo up");
    } catch (...) {
      cleanup();
      throw;
    }
  }
  ~VethLab() { cleanup(); }
  VethLab(const VethLab&) = delete;
  VethLab& operator=(const VethLab&) = delete;

  const std::string tx, rx;

private:
  void cleanup() noexcept {
    if (rx_made_) std::system(("ip netns del " + rx + " >/dev/null 2>&1").c_str());
    if (tx_made_) std::system(("ip netns del " + tx + " >/dev/null 2>&1").c_str());
    rx_made_ = tx_made_ = false;
  }
  bool tx_made_ = false, rx_made_ = false;
};

class NetlinkLabTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) for namespaces";
    for (const char* tool : {"ip", "tc", "nft"})
      if (std::system(("command -v " + std::string(tool) + " >/dev/null").c_str()) != 0)
        GTEST_SKIP() << tool << " not installed (iproute2 / nftables)";
    lab_ = std::make_unique<VethLab>();
  }

  // A UDP socket created inside the tx namespace (it stays bound to that namespace).
  Fd tx_socket() {
    Fd fd;
    in_netns(lab_->tx, [&] {
      fd = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (!fd) throw std::system_error(errno, std::generic_category(), "socket in " + lab_->tx);
    });
    return fd;
  }

  static void send_n(const Fd& fd, std::uint16_t port, int n) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "198.18.0.2", &a.sin_addr);
    char payload[64] = {};
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(
          ::sendto(fd.get(), payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
          static_cast<ssize_t>(sizeof payload))
          << std::generic_category().message(errno);
  }

  // Snapshots until `key`'s delta reaches `want` (bounded: 5 s), returns the last delta.
  static Delta wait_for(const std::vector<std::unique_ptr<Collector>>& cs, const Snapshot& before,
                        const std::string& key, std::uint64_t want) {
    Delta d;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      d = diff(before, take_snapshot(cs));
    } while (d.get(key) != U64(want) && std::chrono::steady_clock::now() < deadline);
    return d;
  }

  std::unique_ptr<VethLab> lab_;
};

TEST_F(NetlinkLabTest, EveryStageCountsExactly) {
  sh("tc -n " + lab_->tx + " qdisc add dev va root handle 1: pfifo limit 1000");
  sh("tc -n " + lab_->rx + " qdisc add dev vb clsact");
  const std::string nft = "ip netns exec " + lab_->rx + " nft ";
  sh(nft + "add table inet droplab");
  sh(nft + "'add chain inet droplab input { type filter hook input priority 0; policy accept; }'");
  sh(nft + "add rule inet droplab input ct state new counter");
  sh(nft + "add rule inet droplab input udp dport 9 counter drop");

  std::vector<std::unique_ptr<Collector>> cs;
  cs.push_back(std::make_unique<LinkStatsCollector>("tx", lab_->tx, "va"));
  cs.push_back(std::make_unique<LinkStatsCollector>("rx", lab_->rx, "vb"));
  cs.push_back(std::make_unique<QdiscCollector>("tx", lab_->tx, "va"));
  cs.push_back(std::make_unique<QdiscCollector>("rx", lab_->rx, "vb"));
  cs.push_back(std::make_unique<EthtoolStatsCollector>("rx", lab_->rx, "vb"));
  cs.push_back(std::make_unique<ConntrackStatCollector>("rx", lab_->rx));
  cs.push_back(std::make_unique<NftCounterCollector>("rx", lab_->rx, "inet", "droplab"));
  Snapshot before = take_snapshot(cs);

  // Everything the collectors promise is there and readable before any traffic.
  for (const char* k :
       {"tx.link.tx_packets", "rx.link.rx_otherhost_dropped", "rx.link.rx_nohandler",
        "rx.link.rx_missed_errors", "tx.qdisc.1:.drops", "tx.qdisc.drops", "rx.qdisc.ingress.drops",
        "rx.ethtool.peer_ifindex", "rx.ethtool.rx_queue_0_xdp_drops", "rx.conntrack.drop",
        "rx.conntrack.count", "rx.nft.droplab.drop_packets"}) {
    const Counter* c = before.find(k);
    ASSERT_NE(c, nullptr) << k;
    EXPECT_TRUE(c->available()) << k << ": " << c->unavailable_reason;
  }
  EXPECT_EQ(before.get("rx.qdisc.drops"), U64(0)); // vb's root is noqueue
  EXPECT_EQ(before.find("rx.qdisc.drops")->source.rfind("noqueue: no queue, nothing to drop", 0),
            0u);
  unsigned va_index = 0;
  in_netns(lab_->tx, [&] { va_index = ::if_nametoindex("va"); });
  EXPECT_EQ(before.get("rx.ethtool.peer_ifindex"), U64(va_index));

  constexpr int kDropped = 100, kAccepted = 5;
  Fd sock = tx_socket();
  send_n(sock, 9, kDropped);
  send_n(sock, 10, kAccepted); // no listener: NoPorts, but it passes nft and is conntracked
  Delta d = wait_for(cs, before, "rx.link.rx_packets", kDropped + kAccepted);

  EXPECT_EQ(d.get("tx.link.tx_packets"), U64(kDropped + kAccepted));
  EXPECT_EQ(d.get("rx.link.rx_packets"), U64(kDropped + kAccepted));
  EXPECT_EQ(d.get("rx.link.rx_bytes"), U64((kDropped + kAccepted) * (14 + 20 + 8 + 64)));
  EXPECT_EQ(d.get("rx.link.rx_dropped"), U64(0));
  EXPECT_EQ(d.get("rx.link.rx_otherhost_dropped"), U64(0));
  EXPECT_EQ(d.get("tx.qdisc.1:.packets"), U64(kDropped + kAccepted));
  EXPECT_EQ(d.get("tx.qdisc.drops"), U64(0));
  EXPECT_EQ(d.get("rx.qdisc.ingress.packets"), U64(0)); // clsact without filters: not counted
  EXPECT_EQ(d.get("rx.qdisc.ingress.drops"), U64(0));
  EXPECT_EQ(d.get("rx.ethtool.rx_queue_0_xdp_drops"), U64(0));

  // The nft drop rule saw exactly the datagrams to port 9.
  auto rules = [&](const Snapshot& s) {
    std::vector<std::string> keys;
    for (const auto& [k, c] : s.counters)
      if (k.starts_with("rx.nft.droplab.input.") && k.ends_with(".packets")) keys.push_back(k);
    return keys;
  };
  auto keys = rules(before);
  ASSERT_EQ(keys.size(), 2u);
  const Counter* drop_sum = before.find("rx.nft.droplab.drop_packets");
  ASSERT_EQ(drop_sum->sum_of.size(), 1u);
  EXPECT_EQ(d.get(drop_sum->sum_of[0]), U64(kDropped));
  EXPECT_NE(drop_sum->source.find("udp dport 9 counter drop"), std::string::npos)
      << drop_sum->source;
  EXPECT_EQ(d.get("rx.nft.droplab.drop_packets"), U64(kDropped));
  // `ct state new` matched every datagram: the dropped ones were never confirmed and
  // the flow to port 10 never saw a reply.
  const std::string ct_rule = keys[0] == drop_sum->sum_of[0] ? keys[1] : keys[0];
  EXPECT_EQ(d.get(ct_rule), U64(kDropped + kAccepted));
  // One flow (port 10) was confirmed into the table; the dropped ones never were.
  EXPECT_EQ(d.get("rx.conntrack.count"), U64(1));
  EXPECT_EQ(d.get("rx.conntrack.entries"), U64(1));
  EXPECT_EQ(d.get("rx.conntrack.drop"), U64(0));
  EXPECT_EQ(d.get("rx.conntrack.insert_failed"), U64(0));

  // A pfifo of limit 0 drops every packet at the sender's qdisc.
  sh("tc -n " + lab_->tx + " qdisc change dev va root handle 1: pfifo limit 0");
  constexpr int kQdiscDropped = 7;
  Snapshot before2 = take_snapshot(cs);
  send_n(sock, 9, kQdiscDropped);
  Delta d2 = wait_for(cs, before2, "tx.qdisc.drops", kQdiscDropped);
  EXPECT_EQ(d2.get("tx.qdisc.drops"), U64(kQdiscDropped));
  EXPECT_EQ(d2.get("tx.qdisc.1:.drops"), U64(kQdiscDropped));
  EXPECT_EQ(d2.get("tx.link.tx_packets"), U64(0));
  EXPECT_EQ(d2.get("rx.link.rx_packets"), U64(0));
  EXPECT_EQ(d2.get("rx.nft.droplab.drop_packets"), U64(0));
}

TEST_F(NetlinkLabTest, UnreadableSourcesAreUnavailableWithReason) {
  Snapshot s;
  LinkStatsCollector("tx", lab_->tx, "nosuchdev").collect(s);
  QdiscCollector("tx", lab_->tx, "nosuchdev").collect(s);
  EthtoolStatsCollector("tx", lab_->tx, "lo").collect(s);
  NftCounterCollector("tx", lab_->tx, "inet", "droplab").collect(s);
  const struct {
    const char* key;
    const char* reason_part;
  } cases[] = {
      {.key = "tx.link.rx_packets", .reason_part = "RTM_GETLINK nosuchdev: No such device"},
      {.key = "tx.link.rx_otherhost_dropped", .reason_part = "No such device"},
      {.key = "tx.qdisc.drops", .reason_part = "if_nametoindex(nosuchdev): No such device"},
      {.key = "tx.ethtool", .reason_part = "driver of lo has no ethtool statistics"},
      {.key = "tx.nft.droplab.drop_packets",
       .reason_part = "list table inet droplab: Error: No such file or directory"},
  };
  for (const auto& c : cases) {
    const Counter* k = s.find(c.key);
    ASSERT_NE(k, nullptr) << c.key;
    EXPECT_FALSE(k->available()) << c.key;
    EXPECT_NE(k->unavailable_reason.find(c.reason_part), std::string::npos)
        << c.key << ": " << k->unavailable_reason;
  }
  // va has veth's default root, noqueue: nothing can drop there, so 0 — said so.
  Snapshot nq;
  QdiscCollector("tx", lab_->tx, "va").collect(nq);
  EXPECT_EQ(nq.get("tx.qdisc.drops"), U64(0)) << nq.find("tx.qdisc.drops")->unavailable_reason;
  EXPECT_FALSE(nq.get("tx.qdisc.noqueue.drops"));
  EXPECT_FALSE(nq.get("tx.qdisc.ingress.drops")); // no clsact on va
}

TEST(NetlinkCollectors, MissingNamespaceThrows) {
  const std::string ns = "dlnl" + std::to_string(::getpid()) + "-absent";
  Snapshot s;
  EXPECT_THROW(LinkStatsCollector("rx", ns, "lo").collect(s), std::system_error);
  EXPECT_THROW(QdiscCollector("rx", ns, "lo").collect(s), std::system_error);
  EXPECT_THROW(EthtoolStatsCollector("rx", ns, "lo").collect(s), std::system_error);
  EXPECT_THROW(ConntrackStatCollector("rx", ns).collect(s), std::system_error);
  EXPECT_THROW(NftCounterCollector("rx", ns, "inet", "droplab").collect(s), std::system_error);
}

// Without privileges the caller's own namespace still yields keys (some unavailable).
TEST(NetlinkCollectors, CallersNamespaceLoopback) {
  Snapshot s;
  LinkStatsCollector("host", "", "lo").collect(s);
  ASSERT_TRUE(s.get("host.link.rx_packets")) << s.find("host.link.rx_packets")->unavailable_reason;
  const Counter* other = s.find("host.link.rx_otherhost_dropped");
  ASSERT_NE(other, nullptr);
  if (!other->available()) { // kernels before 5.19 send a shorter IFLA_STATS64
    EXPECT_NE(other->unavailable_reason.find("Linux 5.19"), std::string::npos);
  }
  EthtoolStatsCollector("host", "", "lo").collect(s);
  EXPECT_FALSE(s.get("host.ethtool"));
  ConntrackStatCollector("host", "").collect(s);
  ASSERT_NE(s.find("host.conntrack.count"), nullptr);
}

} // namespace

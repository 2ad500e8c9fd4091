// Namespace access and the collectors against the live kernel. The tests in the
// caller's namespace need no privileges; ScratchNetnsTest needs root (CI is root) and
// skips with the errno reason otherwise.
#include "droplab/counters/collector.hpp"
#include "droplab/counters/netdev.hpp"
#include "droplab/counters/netns.hpp"

#include "droplab/fd.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>

using namespace droplab::counters;
using droplab::Fd;

namespace {

std::string ns_link(const char *path) {
  char buf[64] = {};
  ssize_t n = ::readlink(path, buf, sizeof buf - 1);
  if (n < 0)
    throw std::system_error(errno, std::generic_category(), std::string("readlink ") + path);
  return std::string(buf, static_cast<std::size_t>(n));
}

// A UDP socket bound to 127.0.0.1:port (0 = any) in the calling thread's namespace.
struct BoundSocket {
  Fd fd;
  std::uint16_t port = 0;
  std::uint64_t inode = 0;
};

BoundSocket bind_udp(std::uint16_t port, int rcvbuf = 0) {
  BoundSocket s;
  s.fd = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.fd) throw std::system_error(errno, std::generic_category(), "socket(AF_INET, SOCK_DGRAM)");
  if (rcvbuf && ::setsockopt(s.fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
    throw std::system_error(errno, std::generic_category(), "setsockopt(SO_RCVBUF)");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
    throw std::system_error(errno, std::generic_category(), "bind 127.0.0.1");
  socklen_t len = sizeof a;
  if (::getsockname(s.fd.get(), reinterpret_cast<sockaddr *>(&a), &len) != 0)
    throw std::system_error(errno, std::generic_category(), "getsockname");
  s.port = ntohs(a.sin_port);
  struct stat st {};
  if (::fstat(s.fd.get(), &st) != 0)
    throw std::system_error(errno, std::generic_category(), "fstat");
  s.inode = st.st_ino;
  return s;
}

std::vector<std::unique_ptr<Collector>> collectors_for(const std::string &ns, std::uint16_t port,
                                                       std::uint64_t inode) {
  std::vector<std::unique_ptr<Collector>> c;
  c.push_back(std::make_unique<SnmpCollector>("rx", ns));
  c.push_back(std::make_unique<NetDevCollector>("rx", ns, "lo"));
  c.push_back(std::make_unique<UdpSocketCollector>("rx", ns, port, inode));
  return c;
}

TEST(InNetns, MissingNamespaceThrowsWithErrno) {
  std::string name = "dlct-absent-" + std::to_string(::getpid());
  try {
    in_netns(name, [] { FAIL() << "fn ran"; });
    ADD_FAILURE() << "no exception";
  } catch (const std::system_error &e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/run/netns/" + name), std::string::npos) << e.what();
  }
  EXPECT_THROW(in_netns("../etc", [] {}), std::invalid_argument);
}

TEST(InNetns, EmptyNameRunsInCallersNamespaceAndPropagatesExceptions) {
  std::string seen;
  in_netns("", [&] { seen = ns_link("/proc/thread-self/ns/net"); });
  EXPECT_EQ(seen, ns_link("/proc/self/ns/net"));
  EXPECT_THROW(in_netns("", [] { throw std::runtime_error("boom"); }), std::runtime_error);
}

TEST(Collectors, SoftnetSumsAreSumsOfPresentCpus) {
  Snapshot s;
  SoftnetCollector("host").collect(s);
  auto sum = s.find("host.softnet.processed");
  ASSERT_NE(sum, nullptr);
  ASSERT_TRUE(sum->available()) << sum->unavailable_reason;
  ASSERT_FALSE(sum->sum_of.empty());
  std::uint64_t total = 0;
  for (const auto &part : sum->sum_of) {
    const Counter *c = s.find(part);
    ASSERT_NE(c, nullptr) << part;
    EXPECT_EQ(c->wrap_bits, 32u);
    total += c->value.value_or(0);
  }
  // Each column was read once, so the sum matches its parts exactly.
  EXPECT_EQ(*sum->value, total);
  for (const char *k :
       {"host.softnet.dropped", "host.softnet.time_squeeze", "host.softnet.flow_limit_count",
        "host.softnet.cpu0.dropped", "host.softnet.cpu0.received_rps"})
    EXPECT_NE(s.find(k), nullptr) << k;
}

TEST(Collectors, UdpSocketInCallersNamespaceByInodeAndPort) {
  BoundSocket sock = bind_udp(0);
  Snapshot s;
  UdpSocketCollector("rx", "", sock.port, sock.inode).collect(s);
  EXPECT_EQ(s.get("rx.sock.inode"), std::optional<std::uint64_t>(sock.inode));
  EXPECT_EQ(s.get("rx.sock.drops"), std::optional<std::uint64_t>(0));
  EXPECT_EQ(s.get("rx.sock.rx_queue"), std::optional<std::uint64_t>(0));

  Snapshot by_port;
  UdpSocketCollector("rx", "", sock.port).collect(by_port);
  EXPECT_EQ(by_port.get("rx.sock.inode"), std::optional<std::uint64_t>(sock.inode));

  Snapshot wrong;
  UdpSocketCollector("rx", "", sock.port, sock.inode + 1000000).collect(wrong);
  ASSERT_NE(wrong.find("rx.sock.drops"), nullptr);
  EXPECT_FALSE(wrong.get("rx.sock.drops"));
  EXPECT_EQ(wrong.find("rx.sock.drops")->unavailable_reason, "socket not found in /proc/net/udp");
}

// Port-only lookup must not pick one of two sockets silently.
TEST(Collectors, UdpSocketAmbiguousPortNeedsTheInode) {
  BoundSocket v4 = bind_udp(0);
  Fd v6(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!v6 && errno == EAFNOSUPPORT) GTEST_SKIP() << "no IPv6 in this kernel";
  ASSERT_TRUE(v6) << std::generic_category().message(errno);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(v4.port);
  a.sin6_addr = in6addr_loopback;
  if (::bind(v6.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    if (errno == EADDRNOTAVAIL) GTEST_SKIP() << "no ::1 on lo";
    FAIL() << "bind [::1]:" << v4.port << ": " << std::generic_category().message(errno);
  }
  Snapshot s;
  UdpSocketCollector("rx", "", v4.port).collect(s);
  EXPECT_FALSE(s.get("rx.sock.drops"));
  EXPECT_NE(s.find("rx.sock.drops")->unavailable_reason.find("2 sockets bound to port"),
            std::string::npos);
  Snapshot by_inode;
  UdpSocketCollector("rx", "", v4.port, v4.inode).collect(by_inode);
  EXPECT_EQ(by_inode.get("rx.sock.inode"), std::optional<std::uint64_t>(v4.inode));
}

TEST(Collectors, MissingDeviceIsUnavailableNotZero) {
  Snapshot s;
  NetDevCollector("tx", "", "dlct-nodev").collect(s);
  const Counter *c = s.find("tx.dev.tx_dropped");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->available());
  EXPECT_NE(c->unavailable_reason.find("device dlct-nodev not found"), std::string::npos);
}

TEST(Collectors, SnmpAlwaysHasTheExpectedFields) {
  Snapshot s;
  SnmpCollector("host", "").collect(s);
  for (const auto &f : SnmpCollector::expected_fields())
    EXPECT_NE(s.find("host." + f), nullptr) << f;
  EXPECT_TRUE(s.get("host.snmp.Udp.RcvbufErrors"));
  EXPECT_EQ(s.find("host.snmp.Tcp.CurrEstab")->kind, Kind::Gauge);
}

// A network namespace created for one test and removed on every exit path, the way
// `ip netns add` does it: a file under /run/netns with the namespace bind-mounted on it.
class ScratchNetns {
public:
  // Empty `why_not` on success; otherwise the errno-based reason it could not be made.
  static std::unique_ptr<ScratchNetns> create(const std::string &name, std::string &why_not) {
    std::string path = "/run/netns/" + name;
    if (::mkdir("/run/netns", 0755) != 0 && errno != EEXIST)
      return fail(why_not, "mkdir /run/netns", errno);
    Fd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!f) return fail(why_not, "create " + path, errno);
    f.reset();
    auto guard = std::unique_ptr<ScratchNetns>(new ScratchNetns(name, path));
    int err = 0;
    std::string what;
    // Only this short-lived thread enters the new namespace; the mount keeps it alive.
    std::thread([&] {
      if (::unshare(CLONE_NEWNET) != 0) {
        err = errno;
        what = "unshare(CLONE_NEWNET)";
      } else if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
        err = errno;
        what = "bind-mount the namespace on " + path;
      }
    }).join();
    if (err) return fail(why_not, what, err); // guard unlinks the file
    guard->mounted_ = true;
    return guard;
  }

  ~ScratchNetns() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    ::unlink(path_.c_str());
  }
  ScratchNetns(const ScratchNetns &) = delete;
  ScratchNetns &operator=(const ScratchNetns &) = delete;

  const std::string &name() const { return name_; }

private:
  ScratchNetns(std::string name, std::string path)
      : name_(std::move(name)), path_(std::move(path)) {}
  static std::unique_ptr<ScratchNetns> fail(std::string &why_not, const std::string &what,
                                            int err) {
    why_not = what + ": " + std::generic_category().message(err);
    return nullptr;
  }

  std::string name_, path_;
  bool mounted_ = false;
};

class ScratchNetnsTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (CAP_SYS_ADMIN) to create a network namespace";
    std::string why_not;
    ns_ = ScratchNetns::create("dlct" + std::to_string(::getpid()), why_not);
    if (!ns_) GTEST_SKIP() << "cannot create a network namespace: " << why_not;
  }
  std::unique_ptr<ScratchNetns> ns_;
};

TEST_F(ScratchNetnsTest, OnlyTheWorkerThreadChangesNamespace) {
  const std::string mine = ns_link("/proc/thread-self/ns/net");
  std::string inside_thread, inside_self;
  in_netns(ns_->name(), [&] {
    inside_thread = ns_link("/proc/thread-self/ns/net");
    inside_self = ns_link("/proc/self/ns/net"); // the main thread's: the trap
  });
  EXPECT_NE(inside_thread, mine);
  EXPECT_EQ(inside_self, mine);
  EXPECT_EQ(ns_link("/proc/thread-self/ns/net"), mine);

  auto rows = parse_proc_net_dev(read_file_in_netns(ns_->name(), "dev"), "dev");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].name, "lo");

  EXPECT_THROW(in_netns(ns_->name(), [] { throw std::runtime_error("boom"); }), std::runtime_error);
  try {
    read_file_in_netns(ns_->name(), "no_such_file");
    ADD_FAILURE() << "no exception";
  } catch (const std::system_error &e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("in netns " + ns_->name()), std::string::npos);
  }
}

// Overflow a small receive buffer inside the namespace and check that the collectors
// read that namespace's counters: socket drops equal Udp RcvbufErrors, one datagram to
// a closed port is one NoPorts, and nothing is counted as delivered until it is read.
TEST_F(ScratchNetnsTest, CollectorsReadTheNamespacesCounters) {
  constexpr int kSent = 50;
  BoundSocket sink;
  Fd sender;
  in_netns(ns_->name(), [&] {
    Fd ctl(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
    if (!ctl || ::ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) != 0)
      throw std::system_error(errno, std::generic_category(), "SIOCGIFFLAGS lo");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) != 0)
      throw std::system_error(errno, std::generic_category(), "SIOCSIFFLAGS lo up");
    sink = bind_udp(5201, 4096);
    sender = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sender) throw std::system_error(errno, std::generic_category(), "socket");
  });

  auto collectors = collectors_for(ns_->name(), sink.port, sink.inode);
  Snapshot before = take_snapshot(collectors);
  ASSERT_EQ(before.get("rx.sock.inode"), std::optional<std::uint64_t>(sink.inode));

  // The sender socket belongs to the namespace it was created in; sending from this
  // thread still goes through that namespace's loopback.
  auto send_to = [&](std::uint16_t port, std::size_t len) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string payload(len, 'x');
    ASSERT_EQ(
        ::sendto(sender.get(), payload.data(), len, 0, reinterpret_cast<sockaddr *>(&a), sizeof a),
        static_cast<ssize_t>(len));
  };
  for (int i = 0; i < kSent; ++i)
    send_to(sink.port, 200);
  send_to(5202, 1); // no listener

  // Wait (bounded) until the last datagram has been through the stack.
  Delta mid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    mid = diff(before, take_snapshot(collectors));
  } while (mid.get("rx.snmp.Udp.NoPorts") != std::optional<std::uint64_t>(1) &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(mid.get("rx.snmp.Udp.NoPorts"), std::optional<std::uint64_t>(1));

  auto drops = mid.get("rx.sock.drops");
  ASSERT_TRUE(drops) << mid.find("rx.sock.drops")->unavailable_reason;
  EXPECT_GT(*drops, 0u);
  EXPECT_EQ(mid.get("rx.snmp.Udp.RcvbufErrors"), drops);
  EXPECT_EQ(mid.get("rx.snmp.Udp.InDatagrams"), std::optional<std::uint64_t>(0));
  EXPECT_GT(mid.get("rx.sock.rx_queue").value_or(0), 0u); // gauge: bytes still queued
  // Loopback also carries the ICMP port unreachable answering the closed-port datagram.
  auto icmp_out = mid.get("rx.snmp.Icmp.OutMsgs");
  ASSERT_TRUE(icmp_out);
  EXPECT_EQ(mid.get("rx.dev.rx_packets"), std::optional<std::uint64_t>(kSent + 1 + *icmp_out));
  EXPECT_EQ(mid.get("rx.snmp.Ip.InDelivers"), std::optional<std::uint64_t>(kSent + 1 + *icmp_out));

  // Read what was queued: every datagram is either read or dropped.
  std::uint64_t read = 0;
  char buf[512];
  while (::recv(sink.fd.get(), buf, sizeof buf, MSG_DONTWAIT) > 0)
    ++read;
  Delta end = diff(before, take_snapshot(collectors));
  EXPECT_EQ(read + *drops, static_cast<std::uint64_t>(kSent));
  EXPECT_EQ(end.get("rx.snmp.Udp.InDatagrams"), std::optional<std::uint64_t>(read));
  EXPECT_EQ(end.get("rx.sock.rx_queue"), std::optional<std::uint64_t>(0));
}

} // namespace

// End to end: the real droplab-gen binary sends into a veth pair between two
// namespaces this test creates; a plain UDP socket in the other namespace
// checks count and per-flow contiguous sequences, for every backend, and that
// the receiver's Udp InCsumErrors did not move (af_packet builds its own
// checksums). Needs root; skips otherwise.
#include "droplab/fd.hpp"
#include "droplab/json_util.hpp"
#include "droplab/payload.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using droplab::Fd;

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Owns the namespaces it created and deletes them (and the veth inside) on
// every exit path, failed assertions included.
class NetnsGuard {
public:
  NetnsGuard() = default;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard() {
    for (const auto& ns : names_)
      sh("ip netns del " + ns + " 2>/dev/null");
  }
  // Returns ip's exit status (0 on success).
  int add(const std::string& name) {
    int rc = sh("ip netns add " + name + " 2>/dev/null");
    if (rc == 0) names_.push_back(name);
    return rc;
  }

private:
  std::vector<std::string> names_;
};

struct Received {
  std::uint64_t total = 0;
  std::uint64_t undecodable = 0;
  std::map<std::uint16_t, std::vector<std::uint32_t>> seqs;
};

// A UDP receiver bound inside namespace `ns` (setns affects only its own
// thread). ready() resolves once the socket is bound; stop() ends the thread
// after the socket has been idle for one receive timeout.
class Receiver {
public:
  Receiver(const std::string& ns, const sockaddr_in& addr) {
    thread_ = std::thread([this, ns, addr] { body(ns, addr); });
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver() { stop(); }

  // 0 once bound, or the errno of the step that failed (with what_).
  int wait_ready() { return ready_.get_future().get(); }
  const std::string& what() const { return what_; }
  const Received& stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return got_;
  }

private:
  void fail(int err, std::string what) {
    what_ = std::move(what);
    ready_.set_value(err);
  }

  void body(const std::string& ns, const sockaddr_in& addr) {
    Fd nsfd(::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
    if (!nsfd) return fail(errno, "open /run/netns/" + ns);
    if (::setns(nsfd.get(), CLONE_NEWNET) != 0) return fail(errno, "setns " + ns);
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return fail(errno, "socket");
    // Room for the whole run even if this thread is starved of CPU.
    int rcvbuf = 32 << 20;
    if (::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
      return fail(errno, "setsockopt(SO_RCVBUFFORCE)");
    }
    timeval tv{.tv_sec = 0, .tv_usec = 300'000};
    if (::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
      return fail(errno, "setsockopt(SO_RCVTIMEO)");
    }
    if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      return fail(errno, "bind");
    }
    ready_.set_value(0);
    std::array<std::byte, 9000> buf{};
    for (;;) {
      ssize_t n = ::recv(s.get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        int err = errno;
        // Datagrams cross a veth synchronously, so once the sender has exited
        // one idle timeout means everything it sent is here.
        if ((err == EAGAIN || err == EWOULDBLOCK) && done_) break;
        continue;
      }
      ++got_.total;
      auto h = droplab::decode_payload(
          std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
      if (!h) {
        ++got_.undecodable;
        continue;
      }
      got_.seqs[h->flow].push_back(h->seq);
    }
  }

  std::promise<int> ready_;
  std::string what_;
  std::atomic<bool> done_{false};
  Received got_;
  std::thread thread_;
};

// Udp InCsumErrors of namespace `ns` (the second "Udp:" line of /proc/net/snmp
// holds the values, in the order of the first), or -1 if unreadable.
long long udp_in_csum_errors(const std::string& ns) {
  const std::string path = fmt::format("/tmp/dlgt{}-snmp", ::getpid());
  if (sh(fmt::format("ip netns exec {} cat /proc/net/snmp >{}", ns, path)) != 0) return -1;
  std::istringstream in(slurp(path));
  std::remove(path.c_str());
  std::string line, names;
  while (std::getline(in, line)) {
    if (line.rfind("Udp: ", 0) != 0) continue;
    if (names.empty()) {
      names = line;
      continue;
    }
    std::istringstream n(names), v(line);
    std::string name, value;
    while (n >> name && v >> value)
      if (name == "InCsumErrors") return std::stoll(value);
  }
  return -1;
}

struct LabRun {
  nlohmann::json report;
  Received got;
  std::string output;
  int rc = -1;
  long long csum_errors_before = -1;
  long long csum_errors_after = -1;
};

// Builds the two-namespace lab, runs droplab-gen with `args` towards a
// receiver socket and returns what both sides saw. With `permanent_neigh`
// false the sender's neighbour table starts empty (af_packet must ARP).
// `tx_setup` runs inside the sender's namespace with {tx} = its veth.
void run_in_lab(const std::string& args, bool permanent_neigh, LabRun& out,
                const std::string& tx_setup = "") {
  const std::string id = fmt::format("dlgt{}", ::getpid());
  const std::string tx_ns = id + "a", rx_ns = id + "b";
  NetnsGuard lab;
  if (int rc = lab.add(tx_ns); rc != 0) GTEST_SKIP() << "ip netns add failed (exit " << rc << ")";
  ASSERT_EQ(lab.add(rx_ns), 0);
  // Fixed MACs and a permanent neighbour entry: no ARP, so nothing waits in
  // the unresolved queue (which drops on overflow) and a gap is a real bug.
  std::vector<std::string> setup = {
      fmt::format("ip link add {0}v netns {0} address 02:00:5e:00:00:01 type veth peer name "
                  "{1}v netns {1} address 02:00:5e:00:00:02",
                  tx_ns, rx_ns),
      fmt::format("ip -n {0} addr add 198.18.100.1/30 dev {0}v", tx_ns),
      fmt::format("ip -n {0} addr add 198.18.100.2/30 dev {0}v", rx_ns),
      fmt::format("ip -n {0} link set {0}v up", tx_ns),
      fmt::format("ip -n {0} link set {0}v up", rx_ns),
  };
  if (permanent_neigh) {
    setup.push_back(fmt::format("ip -n {0} neigh add 198.18.100.2 lladdr 02:00:5e:00:00:02 dev "
                                "{0}v nud permanent",
                                tx_ns));
  }
  if (!tx_setup.empty()) {
    setup.push_back(fmt::format("ip netns exec {} {}", tx_ns,
                                fmt::format(fmt::runtime(tx_setup), fmt::arg("tx", tx_ns + "v"))));
  }
  for (const auto& cmd : setup)
    ASSERT_EQ(sh(cmd), 0) << cmd;

  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(9000);
  ASSERT_EQ(::inet_pton(AF_INET, "198.18.100.2", &dst.sin_addr), 1);
  out.csum_errors_before = udp_in_csum_errors(rx_ns);
  Receiver rx(rx_ns, dst);
  const int rx_err = rx.wait_ready();
  ASSERT_EQ(rx_err, 0) << rx.what() << ": " << std::strerror(rx_err);

  const std::string json = fmt::format("/tmp/{}-gen.json", id);
  const std::string log = fmt::format("/tmp/{}-gen.log", id);
  const std::string cmd = fmt::format("ip netns exec {} {} --dst 198.18.100.2:9000 {} --quiet "
                                      "--json {} >{} 2>&1",
                                      tx_ns, DROPLAB_GEN_BIN, args, json, log);
  out.rc = sh(cmd);
  out.output = cmd + "\n" + slurp(log);
  std::remove(log.c_str());
  out.got = rx.stop();
  out.csum_errors_after = udp_in_csum_errors(rx_ns);
  if (out.rc == 0) out.report = droplab::read_json_file(json);
  std::remove(json.c_str());
}

// Exactly `count` datagrams over `flows` flows arrived, each flow's sequence
// 0, 1, 2, ... with nothing missing, and the report agrees per flow.
void expect_complete(const LabRun& r, std::uint64_t count, std::uint32_t flows,
                     const std::string& backend) {
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(r.report["context"]["backend"], backend) << r.output;
  EXPECT_EQ(r.report["summary"]["sent"], count);
  EXPECT_EQ(r.report["summary"]["send_errors_total"], 0);
  EXPECT_EQ(r.report["summary"]["stopped_by"], "count");
  ASSERT_EQ(r.report["flows"].size(), flows);

  EXPECT_EQ(r.got.total, count) << r.output;
  EXPECT_EQ(r.got.undecodable, 0u);
  ASSERT_EQ(r.got.seqs.size(), flows);
  for (const auto& [flow, seqs] : r.got.seqs) {
    ASSERT_LT(flow, flows);
    EXPECT_FALSE(seqs.empty());
    for (std::size_t i = 0; i < seqs.size(); ++i)
      ASSERT_EQ(seqs[i], i) << "flow " << flow;
    EXPECT_EQ(r.report["flows"][flow]["sent"], seqs.size()) << "flow " << flow;
    EXPECT_EQ(r.report["flows"][flow]["next_seq"], seqs.size()) << "flow " << flow;
  }
  ASSERT_GE(r.csum_errors_before, 0) << "Udp InCsumErrors unreadable";
  EXPECT_EQ(r.csum_errors_after, r.csum_errors_before) << "the receiver saw bad UDP checksums";
}

void skip_unless_root() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) for ip netns";
}

TEST(GenNetns, CountRunArrivesCompleteAndInOrder) {
  skip_unless_root();
  LabRun r;
  run_in_lab("--backend sendmmsg --count 5000 --rate 20kpps --flows 3", true, r);
  if (IsSkipped() || HasFatalFailure()) return;
  expect_complete(r, 5000, 3, "sendmmsg");
}

struct BackendCase {
  const char* name;
  const char* args;
  const char* backend;
  bool permanent_neigh = true;
  std::uint64_t count = 20000;
  std::uint32_t flows = 4;
  std::uint32_t gso = 1; // datagrams per GSO buffer the report must show in force
};

class GenBackends : public ::testing::TestWithParam<BackendCase> {};

TEST_P(GenBackends, SendsExactlyNInOrderWithValidChecksums) {
  skip_unless_root();
  const BackendCase& c = GetParam();
  LabRun r;
  run_in_lab(fmt::format("{} --count {} --flows {}", c.args, c.count, c.flows), c.permanent_neigh,
             r);
  if (IsSkipped() || HasFatalFailure()) return;
  if (r.rc == 1 && r.output.find("cannot work here") != std::string::npos) {
    GTEST_SKIP() << "backend not available here: " << r.output;
  }
  expect_complete(r, c.count, c.flows, c.backend);
  EXPECT_EQ(r.report["context"]["gso_segments"], c.gso) << r.report["context"]["gso_reason"];
  if (c.gso > 1) {
    // Every datagram went out inside a GSO buffer, and fewer buffers than datagrams.
    const auto& st = r.report["summary"]["backend_stats"];
    EXPECT_EQ(st["gso_datagrams"], c.count) << r.output;
    EXPECT_LT(st["gso_buffers"].get<std::uint64_t>(), c.count) << r.output;
    EXPECT_EQ(st["gso_fallbacks"], 0) << r.output;
  }
}

// With tx checksum offload off on the sending veth, Linux before 6.11 (or so)
// refuses UDP GSO with EIO and droplab-gen falls back to one datagram per
// send, saying why; newer kernels checksum the segments in software. Either
// way every datagram arrives once, in order, with a valid checksum, and the
// report tells which happened.
TEST(GenNetns, GsoWithoutChecksumOffloadArrivesCompleteOrFallsBack) {
  skip_unless_root();
  if (sh("command -v ethtool >/dev/null") != 0) GTEST_SKIP() << "needs ethtool";
  for (const char* backend : {"sendmmsg", "io_uring"}) {
    LabRun r;
    run_in_lab(fmt::format("--backend {} --gso 16 --count 8000 --flows 2", backend), true, r,
               "ethtool -K {tx} tx off >/dev/null");
    if (IsSkipped() || HasFatalFailure()) return;
    expect_complete(r, 8000, 2, backend);
    const auto& st = r.report["summary"]["backend_stats"];
    const std::string note = r.report["summary"]["backend_note"];
    if (st["gso_fallbacks"] == 1) {
      EXPECT_NE(note.find("EIO on a 16-segment UDP GSO buffer"), std::string::npos) << note;
      EXPECT_EQ(st["gso_error_EIO"], 1) << r.output;
    } else {
      EXPECT_EQ(st["gso_fallbacks"], 0) << r.output;
      EXPECT_EQ(note, "");
      EXPECT_EQ(st["gso_datagrams"], 8000) << r.output;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Lab, GenBackends,
    ::testing::Values(
        BackendCase{.name = "af_packet",
                    .args = "--backend af_packet --rate 200kpps",
                    .backend = "af_packet"},
        BackendCase{
            .name = "af_packet_bypass_imix",
            .args = "--backend af_packet --qdisc-bypass --rate 100kpps --imix 64:7,570:4,1518:1",
            .backend = "af_packet"},
        BackendCase{.name = "af_packet_arp",
                    .args = "--backend af_packet --rate 50kpps",
                    .backend = "af_packet",
                    .permanent_neigh = false,
                    .count = 3000},
        BackendCase{.name = "af_packet_max_2threads",
                    .args = "--backend af_packet --threads 2",
                    .backend = "af_packet"},
        BackendCase{
            .name = "io_uring", .args = "--backend io_uring --rate 100kpps", .backend = "io_uring"},
        BackendCase{.name = "io_uring_zerocopy_2threads",
                    .args = "--backend io_uring --zerocopy --threads 2 --rate 50kpps",
                    .backend = "io_uring"},
        BackendCase{.name = "sendmmsg_gso16",
                    .args = "--backend sendmmsg --gso 16",
                    .backend = "sendmmsg",
                    .gso = 16},
        BackendCase{.name = "sendmmsg_gso_auto_1mpps",
                    .args = "--backend sendmmsg --gso auto --rate 1Mpps",
                    .backend = "sendmmsg",
                    .gso = 50},
        BackendCase{.name = "sendmmsg_gso64_imix_2threads",
                    .args = "--backend sendmmsg --gso 64 --threads 2 --imix 64:7,570:4,1518:1",
                    .backend = "sendmmsg",
                    .gso = 44},
        BackendCase{.name = "sendmmsg_gso_auto_10kpps_off",
                    .args = "--backend sendmmsg --gso auto --rate 10kpps",
                    .backend = "sendmmsg",
                    .count = 2000},
        BackendCase{.name = "io_uring_gso64",
                    .args = "--backend io_uring --gso 64",
                    .backend = "io_uring",
                    .gso = 64},
        BackendCase{
            .name = "io_uring_gso8_imix_burst",
            .args = "--backend io_uring --gso 8 --rate 200kpps --burst 32 --imix 64:7,570:4,1518:1",
            .backend = "io_uring",
            .gso = 8},
        BackendCase{.name = "auto_gso_picks_socket_backend",
                    .args = "--gso 32",
                    .backend = "io_uring",
                    .gso = 32},
        BackendCase{.name = "sendmmsg_burst",
                    .args = "--backend sendmmsg --rate 50kpps --burst 64",
                    .backend = "sendmmsg"},
        BackendCase{.name = "auto_onoff",
                    .args = "--rate 50kpps --pattern onoff:2ms/8ms",
                    .backend = "af_packet"},
        BackendCase{.name = "auto_poisson",
                    .args = "--rate 50kpps --pattern poisson",
                    .backend = "af_packet"}),
    [](const ::testing::TestParamInfo<BackendCase>& i) { return std::string(i.param.name); });

} // namespace

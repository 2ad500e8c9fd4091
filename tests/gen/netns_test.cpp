// End to end: the real droplab-gen binary sends into a veth pair between two
// namespaces this test creates; a plain UDP socket in the other namespace
// checks count and per-flow contiguous sequences. Needs root; skips otherwise.
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

int sh(const std::string &cmd) {
  int rc = std::system(cmd.c_str());
  return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const std::string &path) {
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
  NetnsGuard(const NetnsGuard &) = delete;
  NetnsGuard &operator=(const NetnsGuard &) = delete;
  ~NetnsGuard() {
    for (const auto &ns : names_)
      sh("ip netns del " + ns + " 2>/dev/null");
  }
  // Returns ip's exit status (0 on success).
  int add(const std::string &name) {
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
  Receiver(const std::string &ns, const sockaddr_in &addr) {
    thread_ = std::thread([this, ns, addr] { body(ns, addr); });
  }
  Receiver(const Receiver &) = delete;
  Receiver &operator=(const Receiver &) = delete;
  ~Receiver() { stop(); }

  // 0 once bound, or the errno of the step that failed (with what_).
  int wait_ready() { return ready_.get_future().get(); }
  const std::string &what() const { return what_; }
  const Received &stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return got_;
  }

private:
  void fail(int err, std::string what) {
    what_ = std::move(what);
    ready_.set_value(err);
  }

  void body(const std::string &ns, const sockaddr_in &addr) {
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
    if (::bind(s.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) {
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

TEST(GenNetns, CountRunArrivesCompleteAndInOrder) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) for ip netns";
  const std::string id = fmt::format("dlgt{}", ::getpid());
  const std::string tx_ns = id + "a", rx_ns = id + "b";
  NetnsGuard lab;
  if (int rc = lab.add(tx_ns); rc != 0) GTEST_SKIP() << "ip netns add failed (exit " << rc << ")";
  ASSERT_EQ(lab.add(rx_ns), 0);
  // Fixed MACs and a permanent neighbour entry: no ARP, so nothing waits in
  // the unresolved queue (which drops on overflow) and a gap is a real bug.
  const std::string setup[] = {
      fmt::format("ip link add {0}v netns {0} address 02:00:5e:00:00:01 type veth peer name "
                  "{1}v netns {1} address 02:00:5e:00:00:02",
                  tx_ns, rx_ns),
      fmt::format("ip -n {0} addr add 198.18.100.1/30 dev {0}v", tx_ns),
      fmt::format("ip -n {0} addr add 198.18.100.2/30 dev {0}v", rx_ns),
      fmt::format("ip -n {0} link set {0}v up", tx_ns),
      fmt::format("ip -n {0} link set {0}v up", rx_ns),
      fmt::format("ip -n {0} neigh add 198.18.100.2 lladdr 02:00:5e:00:00:02 dev {0}v nud "
                  "permanent",
                  tx_ns),
  };
  for (const auto &cmd : setup)
    ASSERT_EQ(sh(cmd), 0) << cmd;

  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(9000);
  ASSERT_EQ(::inet_pton(AF_INET, "198.18.100.2", &dst.sin_addr), 1);
  Receiver rx(rx_ns, dst);
  const int rx_err = rx.wait_ready();
  ASSERT_EQ(rx_err, 0) << rx.what() << ": " << std::strerror(rx_err);

  const std::string json = fmt::format("/tmp/{}-gen.json", id);
  const std::string log = fmt::format("/tmp/{}-gen.log", id);
  const std::string cmd =
      fmt::format("ip netns exec {} {} --dst 198.18.100.2:9000 --count 5000 --rate 20kpps "
                  "--flows 3 --quiet --json {} >{} 2>&1",
                  tx_ns, DROPLAB_GEN_BIN, json, log);
  const int rc = sh(cmd);
  const std::string output = slurp(log);
  std::remove(log.c_str());
  ASSERT_EQ(rc, 0) << cmd << "\n" << output;
  const Received &got = rx.stop();

  const nlohmann::json report = droplab::read_json_file(json);
  std::remove(json.c_str());
  EXPECT_EQ(report["summary"]["sent"], 5000);
  EXPECT_EQ(report["summary"]["send_errors_total"], 0);
  EXPECT_EQ(report["summary"]["stopped_by"], "count");
  ASSERT_EQ(report["flows"].size(), 3u);

  EXPECT_EQ(got.total, 5000u) << output;
  EXPECT_EQ(got.undecodable, 0u);
  ASSERT_EQ(got.seqs.size(), 3u);
  for (const auto &[flow, seqs] : got.seqs) {
    ASSERT_LT(flow, 3u);
    EXPECT_FALSE(seqs.empty());
    for (std::size_t i = 0; i < seqs.size(); ++i)
      ASSERT_EQ(seqs[i], i) << "flow " << flow;
    EXPECT_EQ(report["flows"][flow]["sent"], seqs.size()) << "flow " << flow;
    EXPECT_EQ(report["flows"][flow]["next_seq"], seqs.size()) << "flow " << flow;
  }
}

} // namespace

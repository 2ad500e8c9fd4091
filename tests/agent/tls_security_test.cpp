// Attacks on a real `droplab-agent-test --listen` process. The agent and every
// client live in a network namespace of the test's own (dlta<pid>), on its
// 127.0.0.1: nothing touches the host's network. Needs root; skips visibly
// otherwise.
#include "agent_test_support.hpp"
#include "client.hpp"
#include "tls.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

namespace droplab::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using agenttest::read_text;
using agenttest::wait_until;

constexpr std::uint16_t kPort = 7443;
constexpr const char* kAddr = "127.0.0.1";

std::string be32(std::uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
          static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}
std::string raw_frame(const std::string& body) {
  return be32(static_cast<std::uint32_t>(body.size())) + body;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

class TlsAgent : public ::testing::Test {
protected:
  static inline std::string skip_;
  static inline std::string setup_error_;
  static inline std::unique_ptr<agenttest::TempDir> dir_;
  static inline std::optional<agenttest::NetnsGuard> ns_;
  static inline std::unique_ptr<agenttest::ChildProcess> agent_;
  static inline agenttest::Certs certs_;

  static std::string file(const char* name) { return dir_->file(name); }
  static std::string agent_log() { return read_text(file("agent.err")); }

  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_ = "needs root (CAP_SYS_ADMIN) to create a network namespace";
      return;
    }
    if (agenttest::run_command({"openssl", "version"}) != 0) {
      skip_ = "needs the openssl CLI to make test certificates";
      return;
    }
    try {
      dir_ = std::make_unique<agenttest::TempDir>();
      certs_ = agenttest::make_certs(dir_->path());
      std::string why;
      auto ns = agenttest::NetnsGuard::create("dlta" + std::to_string(::getpid()), why);
      if (!ns) {
        skip_ = why;
        return;
      }
      ns_.emplace(std::move(*ns));
      agent_ = std::make_unique<agenttest::ChildProcess>(
          std::vector<std::string>{"ip", "netns", "exec", ns_->name(), DROPLAB_AGENT_TEST_BIN,
                                   "--listen", std::string(kAddr) + ":" + std::to_string(kPort),
                                   "--cert", certs_.agent_cert, "--key", certs_.agent_key, "--ca",
                                   certs_.ca, "--idle-timeout", "1s", "--restore-log",
                                   file("restore.log"), "--flag-file", file("flag")},
          file("agent.err"));
      if (!wait_until(
              [] {
                return agent_log().find("listening on 127.0.0.1:7443") != std::string::npos ||
                       !agent_->running();
              },
              10s) ||
          !agent_->running()) {
        setup_error_ = "the agent did not start listening: " + agent_log();
      }
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }

  static void TearDownTestSuite() {
    if (agent_) {
      agent_->signal(SIGTERM);
      agent_->wait(3s);
      agent_.reset(); // SIGKILL if it did not stop
    }
    ns_.reset();
    dir_.reset();
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_EQ(setup_error_, "");
    ASSERT_TRUE(agent_->running()) << "the agent died: " << agent_log();
    // The previous test waited for its connections to be logged: the agent is idle.
    agenttest::write_text(file("restore.log"), "");
    std::filesystem::remove(file("flag"));
  }

  void TearDown() override {
    if (skip_.empty() && agent_) {
      EXPECT_TRUE(agent_->running()) << "a connection killed the agent: " << agent_log();
    }
  }

  static std::size_t connections_logged() {
    return lines_with(agent_log(), "connection from").size();
  }
  // Waits for the agent to log `n` connections in all; the last line.
  static std::string wait_connections(std::size_t n) {
    if (!wait_until([&] { return connections_logged() >= n; }, 10s)) return "(not logged)";
    return lines_with(agent_log(), "connection from").back();
  }
  static bool flag_set() { return std::filesystem::exists(file("flag")); }
  static std::string restore_log() { return read_text(file("restore.log")); }

  static TlsFiles good() {
    return {.cert = certs_.client_cert, .key = certs_.client_key, .ca = certs_.ca};
  }

  // As an unauthenticated peer would: TLS (maybe completing on our side under
  // TLS 1.3), then a hello and a set_flag. What came back: "eof", "timeout",
  // "message ..." or "error: ...".
  static std::string try_as(const TlsFiles& files) {
    std::string outcome;
    agenttest::in_netns(ns_->name(), [&] {
      try {
        auto ch = dial_tls(kAddr, kPort, files, {.timeout = 5s});
        MessageStream s(*ch);
        s.write(json(Hello{}), Clock::now() + 5s);
        s.write(json(Request{.id = 1, .op = "set_flag"}), Clock::now() + 5s);
        Incoming in = s.read(Clock::now() + 5s);
        outcome = in.arrival == Arrival::message ? "message " + in.message.dump()
                  : in.arrival == Arrival::eof   ? "eof"
                                                 : "timeout";
      } catch (const std::exception& e) {
        outcome = std::string("error: ") + e.what();
      }
    });
    return outcome;
  }

  // The agent still answers an authenticated controller.
  static void expect_echo() {
    std::size_t before = connections_logged();
    agenttest::in_netns(ns_->name(), [] {
      AgentClient c = AgentClient::connect_tls(kAddr, kPort, good(), {.connect_timeout = 5s});
      EXPECT_EQ(c.call("echo", {{"still", "up"}}, 5s)["still"], "up");
    });
    // Leaves the agent idle for the next test: its line for this session is out.
    EXPECT_NE(wait_connections(before + 1).find("controller said bye"), std::string::npos);
  }
};

TEST_F(TlsAgent, AuthenticatedControllerIsServed) {
  std::size_t before = connections_logged();
  agenttest::in_netns(ns_->name(), [] {
    AgentClient c = AgentClient::connect_tls(kAddr, kPort, good(), {.connect_timeout = 5s});
    EXPECT_EQ(c.hello()["protocol"], "droplab-agent");
    EXPECT_EQ(c.call("echo", {{"x", 1}})["x"], 1);
    c.call("set_flag");
  });
  std::string line = wait_connections(before + 1);
  EXPECT_NE(line.find("CN=controller: session ended after 3 requests: controller said bye"),
            std::string::npos)
      << line;
  EXPECT_TRUE(flag_set());
  EXPECT_EQ(restore_log(), "controller said bye\n");
}

TEST_F(TlsAgent, ClientWithoutCertificateIsDroppedInTheHandshake) {
  std::size_t before = connections_logged();
  std::string outcome = try_as({.ca = certs_.ca});
  EXPECT_TRUE(outcome == "eof" || outcome.starts_with("error: ")) << outcome;
  std::string line = wait_connections(before + 1);
  EXPECT_NE(line.find("rejected in TLS handshake: peer did not return a certificate"),
            std::string::npos)
      << line;
  EXPECT_EQ(restore_log(), "") << "no session may have run";
  EXPECT_FALSE(flag_set()) << "no op may have run";
  expect_echo();
}

TEST_F(TlsAgent, ClientCertificateFromAnotherCaIsDroppedInTheHandshake) {
  std::size_t before = connections_logged();
  std::string outcome =
      try_as({.cert = certs_.rogue_cert, .key = certs_.rogue_key, .ca = certs_.ca});
  EXPECT_TRUE(outcome == "eof" || outcome.starts_with("error: ")) << outcome;
  std::string line = wait_connections(before + 1);
  EXPECT_NE(line.find("rejected in TLS handshake: certificate verify failed"), std::string::npos)
      << line;
  EXPECT_EQ(restore_log(), "");
  EXPECT_FALSE(flag_set());
  expect_echo();
}

TEST_F(TlsAgent, PlaintextProtocolIsDroppedInTheHandshake) {
  std::size_t before = connections_logged();
  std::string got;
  bool closed = false;
  agenttest::in_netns(ns_->name(), [&] {
    agenttest::TcpClient tcp(kPort);
    tcp.send(raw_frame(json(Hello{}).dump()) +
             raw_frame(json(Request{.id = 1, .op = "set_flag"}).dump()));
    closed = tcp.read_to_end(got, 8s);
  });
  EXPECT_TRUE(closed) << "the agent kept the connection open";
  EXPECT_EQ(got.find("droplab-agent"), std::string::npos) << "answered in plaintext";
  std::string line = wait_connections(before + 1);
  EXPECT_NE(line.find("rejected in TLS handshake"), std::string::npos) << line;
  EXPECT_FALSE(flag_set());
  EXPECT_EQ(restore_log(), "");
}

TEST_F(TlsAgent, SilentTcpPeerIsDroppedAfterTheHandshakeTimeout) {
  std::size_t before = connections_logged();
  bool closed = false;
  agenttest::in_netns(ns_->name(), [&] {
    agenttest::TcpClient tcp(kPort);
    std::string got;
    closed = tcp.read_to_end(got, 10s); // the agent's handshake timeout is 5 s
  });
  EXPECT_TRUE(closed);
  std::string line = wait_connections(before + 1);
  EXPECT_NE(line.find("rejected in TLS handshake: no TLS handshake in time"), std::string::npos)
      << line;
  expect_echo();
}

struct Attack {
  const char* name;
  bool hello_first;   // a valid hello before the attack
  std::string bytes;  // then these
  bool close_after;   // then close (else wait for the agent to close)
  const char* logged; // in the agent's line for the connection
};

TEST_F(TlsAgent, MalformedInputFromAnAuthenticatedControllerClosesOnlyThatConnection) {
  const Attack attacks[] = {
      {.name = "truncated frame then close",
       .hello_first = false,
       .bytes = be32(100) + "{\"a",
       .close_after = true,
       .logged = "closed before a session: handshake failed: protocol error: connection closed "
                 "mid-frame (3 of 100 bytes)"},
      {.name = "oversized length prefix",
       .hello_first = false,
       .bytes = be32(0x7fffffff),
       .logged = "frame length 2147483647 exceeds the maximum of 1048576 bytes"},
      {.name = "garbage bytes",
       .hello_first = false,
       .bytes = "GET / HTTP/1.1\r\nHost: agent\r\n\r\n",
       .logged = "exceeds the maximum"},
      {.name = "zero length",
       .hello_first = false,
       .bytes = be32(0) + "{}",
       .logged = "frame length 0"},
      {.name = "non-JSON body",
       .hello_first = false,
       .bytes = raw_frame("rm -rf / --no-preserve-root"),
       .logged = "frame body is not valid JSON"},
      {.name = "non-object after hello",
       .hello_first = true,
       .bytes = raw_frame("[\"set_flag\"]"),
       .logged = "session ended after 0 requests: protocol error: frame body is a JSON array, not "
                 "an object"},
      {.name = "unknown key after hello",
       .hello_first = true,
       .bytes = raw_frame(R"({"type":"request","id":1,"op":"set_flag","args":{},"shell":"id"})"),
       .logged = "protocol error: request: unknown key /shell"},
      {.name = "truncated frame after hello",
       .hello_first = true,
       .bytes = be32(50) + "{",
       .close_after = true,
       .logged = "session ended after 0 requests: protocol error: connection closed mid-frame (1 "
                 "of 50 bytes)"},
  };
  std::size_t sessions = 0; // attacks after a hello are sessions: each restores once
  for (const auto& a : attacks) {
    std::size_t before = connections_logged();
    std::string outcome;
    agenttest::in_netns(ns_->name(), [&] {
      auto ch = dial_tls(kAddr, kPort, good(), {.timeout = 5s});
      MessageStream s(*ch);
      if (a.hello_first) {
        s.write(json(Hello{}), Clock::now() + 5s);
        Incoming in = s.read(Clock::now() + 5s);
        ASSERT_EQ(in.arrival, Arrival::message) << a.name;
      }
      ch->write(a.bytes, Clock::now() + 5s);
      if (a.close_after) {
        ch->close();
        return;
      }
      try {
        Incoming in = s.read(Clock::now() + 5s);
        outcome = in.arrival == Arrival::eof       ? "eof"
                  : in.arrival == Arrival::timeout ? "timeout"
                                                   : "message";
      } catch (const std::exception& e) {
        outcome = std::string("error: ") + e.what(); // a reset is a close too
      }
    });
    if (!a.close_after) {
      EXPECT_TRUE(outcome == "eof" || outcome.starts_with("error: ")) << a.name << ": " << outcome;
    }
    std::string line = wait_connections(before + 1);
    EXPECT_NE(line.find(a.logged), std::string::npos) << a.name << ": " << line;
    if (a.hello_first) ++sessions;
    EXPECT_EQ(lines_with(restore_log(), "protocol error").size(), sessions) << a.name;
    EXPECT_FALSE(flag_set()) << a.name;
  }
  expect_echo();
}

TEST_F(TlsAgent, SilentControllerIsRestoredAfterTheIdleTimeout) {
  std::optional<AgentClient> c;
  agenttest::in_netns(ns_->name(), [&] {
    c.emplace(AgentClient::connect_tls(kAddr, kPort, good(), {.connect_timeout = 5s}));
  });
  std::size_t before = connections_logged();
  c->call("set_flag");
  ASSERT_TRUE(flag_set());
  // --idle-timeout 1s; the bound leaves room for a loaded machine.
  ASSERT_TRUE(wait_until([] { return !restore_log().empty(); }, 6s))
      << "restore never ran: " << agent_log();
  EXPECT_EQ(restore_log(), "controller silent for 1 s\n");
  std::string line = wait_connections(before + 1);
  EXPECT_NE(line.find("session ended after 1 requests: controller silent for 1 s"),
            std::string::npos)
      << line;
  EXPECT_THROW(c->call("echo", json::object(), 2s), AgentError);
}

TEST_F(TlsAgent, QuietGapsShorterThanTheIdleTimeoutKeepTheSession) {
  // The agent wakes every 250 ms to check for a stop signal, cancelling and
  // restarting its TLS read: a request after a few of those must still arrive whole.
  std::optional<AgentClient> c;
  agenttest::in_netns(ns_->name(), [&] {
    c.emplace(AgentClient::connect_tls(kAddr, kPort, good(), {.connect_timeout = 5s}));
  });
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(600ms); // the controller is quiet, within --idle-timeout 1s
    json big = {{"i", i}, {"pad", std::string(100'000, 'p')}};
    EXPECT_EQ(c->call("echo", big, 5s), big);
  }
  EXPECT_EQ(restore_log(), "");
  std::size_t before = connections_logged();
  c->close();
  EXPECT_NE(
      wait_connections(before + 1).find("session ended after 4 requests: controller said bye"),
      std::string::npos);
}

TEST_F(TlsAgent, KilledControllerIsRestored) {
  // A real controller process: openssl s_client, authenticated, sends a hello
  // and set_flag from a file and stays connected (-quiet implies -ign_eof)
  // until it is killed. It speaks TLS 1.2 (the other clients negotiate 1.3).
  agenttest::write_text(file("frames.bin"),
                        raw_frame(json(Hello{}).dump()) +
                            raw_frame(json(Request{.id = 1, .op = "set_flag"}).dump()));
  std::size_t before = connections_logged();
  agenttest::ChildProcess controller({"ip", "netns", "exec", ns_->name(), "openssl", "s_client",
                                      "-connect", std::string(kAddr) + ":" + std::to_string(kPort),
                                      "-cert", certs_.client_cert, "-key", certs_.client_key,
                                      "-CAfile", certs_.ca, "-verify_return_error", "-quiet",
                                      "-nocommands", "-tls1_2"},
                                     file("s_client.out"), file("frames.bin"));
  ASSERT_TRUE(wait_until([] { return flag_set(); }, 10s))
      << "set_flag never ran: " << agent_log() << read_text(file("s_client.out"));
  EXPECT_EQ(restore_log(), "") << "restored while the controller was still there";
  controller.signal(SIGKILL);
  ASSERT_TRUE(wait_until([] { return !restore_log().empty(); }, 6s))
      << "restore never ran: " << agent_log();
  EXPECT_EQ(restore_log(), "controller disconnected\n");
  std::string line = wait_connections(before + 1);
  EXPECT_NE(line.find("session ended after 1 requests: controller disconnected"), std::string::npos)
      << line;
}

TEST_F(TlsAgent, ControllerRefusesAnAgentItsCaDidNotSign) {
  std::size_t before = connections_logged();
  agenttest::in_netns(ns_->name(), [] {
    try {
      dial_tls(kAddr, kPort,
               {.cert = certs_.client_cert, .key = certs_.client_key, .ca = certs_.rogue_ca},
               {.timeout = 5s});
      ADD_FAILURE() << "accepted an agent certificate from another CA";
    } catch (const TransportError& e) {
      EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos)
          << e.what();
    }
  });
  wait_connections(before + 1); // the agent logs the aborted handshake
}

TEST_F(TlsAgent, ControllerChecksTheAgentsName) {
  std::size_t before = connections_logged();
  agenttest::in_netns(ns_->name(), [] {
    try {
      dial_tls(kAddr, kPort, good(), {.server_name = "other.test", .timeout = 5s});
      ADD_FAILURE() << "accepted a certificate for another name";
    } catch (const TransportError& e) {
      EXPECT_NE(std::string(e.what()).find("hostname mismatch"), std::string::npos) << e.what();
    }
    AgentClient c(dial_tls(kAddr, kPort, good(), {.server_name = "agent.test", .timeout = 5s}));
    EXPECT_EQ(c.call("echo", {{"n", "agent.test"}})["n"], "agent.test");
  });
  wait_connections(before + 2);
}

} // namespace
} // namespace droplab::agent

// The real droplab-agent-test over its stdin/stdout, started by
// AgentClient::connect_exec as ssh would start it; and its flag checking.
// No network, no root.
#include "agent_test_support.hpp"
#include "client.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace droplab::agent {
namespace {

using namespace std::chrono_literals;
using agenttest::read_text;
using agenttest::wait_until;

const std::string kAgentBin = DROPLAB_AGENT_TEST_BIN;

class ExecAgent : public ::testing::Test {
protected:
  agenttest::TempDir dir;
  std::string restore_log = dir.file("restore.log");
  std::string flag = dir.file("flag");

  std::vector<std::string> argv(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {kAgentBin,   "--stdio",     "--restore-log",
                                  restore_log, "--flag-file", flag};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

TEST_F(ExecAgent, AnswersThenByeRestoresAndExits) {
  AgentClient c = AgentClient::connect_exec(argv());
  EXPECT_EQ(c.hello()["protocol"], "droplab-agent");
  EXPECT_TRUE(c.hello()["host"].is_string());
  EXPECT_EQ(c.call("echo", {{"k", "v"}}), nlohmann::json({{"k", "v"}}));
  EXPECT_EQ(c.call("sleep_ms", {{"ms", 1}})["slept_ms"], 1);
  c.call("set_flag");
  EXPECT_TRUE(std::filesystem::exists(flag));
  EXPECT_EQ(read_text(restore_log), "") << "no restore while the session is up";
  c.close(); // bye, then the agent exits and is reaped
  EXPECT_EQ(read_text(restore_log), "controller said bye\n");
}

TEST_F(ExecAgent, SilentControllerIsRestoredAfterTheIdleTimeout) {
  AgentClient c = AgentClient::connect_exec(argv({"--idle-timeout", "300ms"}));
  c.call("set_flag");
  ASSERT_TRUE(wait_until([&] { return !read_text(restore_log).empty(); }, 5s))
      << "restore never ran";
  EXPECT_EQ(read_text(restore_log), "controller silent for 300 ms\n");
  EXPECT_THROW(c.call("echo"), AgentError);
}

TEST_F(ExecAgent, ProcessThatDiesBeforeItsHelloIsReported) {
  try {
    AgentClient::connect_exec(
        {kAgentBin, "--stdio", "--restore-log", restore_log, "--ca", "/nonexistent"});
    FAIL() << "connected";
  } catch (const AgentError& e) {
    // EOF before the hello, or EPIPE if it died before our hello went out.
    EXPECT_NE(std::string(e.what()).find("(the command exited with status 2; see its stderr)"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ExecAgent, MissingCommandThrows) {
  EXPECT_THROW(AgentClient::connect_exec({dir.file("no-such-agent")}), std::system_error);
}

struct UsageCase {
  const char* name;
  std::vector<std::string> args;
  const char* message;
};

// Bad flags exit 2 with one line naming the flag. The listen address is in
// 198.18.0.0/15, which no interface of this host has: even a flag check that
// wrongly passed could not bind anything here.
TEST_F(ExecAgent, BadFlagsAreUsageErrors) {
  agenttest::Certs certs = agenttest::make_certs(dir.path());
  std::string garbage = dir.file("garbage.pem");
  agenttest::write_text(garbage, "not a certificate\n");
  const std::string listen = "198.18.0.1:7070";
  const UsageCase cases[] = {
      {.name = "no mode", .args = {}, .message = "error: give --stdio or --listen ADDR:PORT"},
      {.name = "both modes",
       .args = {"--stdio", "--listen", listen},
       .message = "--stdio and --listen 198.18.0.1:7070 exclude each other"},
      {.name = "no credentials",
       .args = {"--listen", listen},
       .message = "--listen needs --cert, --key and --ca (missing: --cert, --key, --ca)"},
      {.name = "no key",
       .args = {"--listen", listen, "--cert", certs.agent_cert, "--ca", certs.ca},
       .message = "(missing: --key)"},
      {.name = "bad address",
       .args = {"--listen", "localhost:70", "--cert", certs.agent_cert, "--key", certs.agent_key,
                "--ca", certs.ca},
       .message = "--listen "},
      {.name = "bad port",
       .args = {"--listen", "198.18.0.1:99999", "--cert", certs.agent_cert, "--key",
                certs.agent_key, "--ca", certs.ca},
       .message = "port must be 1..65535"},
      {.name = "unreadable cert",
       .args = {"--listen", listen, "--cert", dir.file("nope.pem"), "--key", certs.agent_key,
                "--ca", certs.ca},
       .message = "--cert "},
      {.name = "garbage ca",
       .args = {"--listen", listen, "--cert", certs.agent_cert, "--key", certs.agent_key, "--ca",
                garbage},
       .message = "--ca "},
      {.name = "garbage cert",
       .args = {"--listen", listen, "--cert", garbage, "--key", certs.agent_key, "--ca", certs.ca},
       .message = "--cert "},
      {.name = "key of another cert",
       .args = {"--listen", listen, "--cert", certs.agent_cert, "--key", certs.client_key, "--ca",
                certs.ca},
       .message = "does not match the certificate"},
      {.name = "cert with stdio",
       .args = {"--stdio", "--cert", certs.agent_cert},
       .message = "only used with --listen"},
      {.name = "idle timeout unit",
       .args = {"--stdio", "--idle-timeout", "5 parsecs"},
       .message = "--idle-timeout"},
      {.name = "idle timeout range",
       .args = {"--stdio", "--idle-timeout", "10ms"},
       .message = "100ms..1h"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> a = {kAgentBin, "--restore-log", restore_log};
    a.insert(a.end(), c.args.begin(), c.args.end());
    std::string out = dir.file("usage.out");
    std::filesystem::remove(out);
    EXPECT_EQ(agenttest::run_command(a, out), 2) << c.name << ": " << read_text(out);
    std::string text = read_text(out);
    EXPECT_NE(text.find(c.message), std::string::npos) << c.name << ": " << text;
  }
  // The file named in the error is the one that is wrong.
  std::string out = dir.file("usage.out");
  std::filesystem::remove(out);
  agenttest::run_command({kAgentBin, "--restore-log", restore_log, "--listen", listen, "--cert",
                          certs.agent_cert, "--key", certs.agent_key, "--ca", garbage},
                         out);
  EXPECT_NE(read_text(out).find("--ca " + garbage), std::string::npos) << read_text(out);
  EXPECT_EQ(read_text(restore_log), "");
}

} // namespace
} // namespace droplab::agent

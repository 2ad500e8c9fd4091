// The controller's end of an agent session: connect (a child process such as
// `ssh -T host droplab agent --stdio`, or mutual TLS), handshake, then calls
// one at a time, each bounded by a timeout.
#pragma once

#include "channel.hpp"
#include "tls.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace droplab::agent {

// An operation the agent refused (its error text), or a timeout, transport or
// protocol failure talking to it. After anything but a refusal the client is
// closed: later calls throw too.
class AgentError : public std::runtime_error {
public:
  AgentError(const std::string& msg, bool refused_by_agent)
      : std::runtime_error(msg), refused(refused_by_agent) {}
  bool refused; // the agent answered ok:false; the session goes on
};

struct ClientOptions {
  // Connecting (process start and ssh login, or TCP and TLS) plus the hello.
  std::chrono::milliseconds connect_timeout{15'000};
  // close(): how long to wait for the answer to bye and, for a child process,
  // for it to exit before it is killed.
  std::chrono::milliseconds close_timeout{3'000};
};

// Four timestamps of one ping, CLOCK_REALTIME ns: t1 controller sends, t2
// agent receives, t3 agent replies, t4 controller receives.
struct PingSample {
  std::uint64_t t1_ns = 0;
  std::uint64_t t2_ns = 0;
  std::uint64_t t3_ns = 0;
  std::uint64_t t4_ns = 0;
};

class AgentClient {
public:
  // Starts argv[0] (PATH lookup) with a socketpair as its stdin and stdout,
  // stderr inherited, in its own process group (a Ctrl-C at the controller
  // is the controller's to handle), and does the hello. close() reaps it.
  static AgentClient connect_exec(const std::vector<std::string>& argv,
                                  const ClientOptions& opt = {});
  // Dials host:port with mutual TLS (the agent's certificate is checked
  // against files.ca and host) and does the hello.
  static AgentClient connect_tls(const std::string& host, std::uint16_t port, const TlsFiles& files,
                                 const ClientOptions& opt = {});
  // Does the hello over an open channel (tests, custom transports).
  explicit AgentClient(std::unique_ptr<Channel> ch, const ClientOptions& opt = {});

  AgentClient(AgentClient&&) noexcept;
  AgentClient& operator=(AgentClient&&) noexcept;
  ~AgentClient(); // close()

  // The agent's hello: protocol, version, host, kernel, agent_version.
  const nlohmann::json& hello() const;
  // Runs `op` with `args` and returns its result object. Throws AgentError.
  nlohmann::json call(const std::string& op, const nlohmann::json& args = nlohmann::json::object(),
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // One ping with its four timestamps.
  PingSample ping(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Says bye (the agent then ends the session and runs its restore callback),
  // closes the channel and reaps a child process, all bounded by
  // close_timeout (then SIGKILL). Idempotent; never throws.
  void close() noexcept;
  bool is_open() const;
  std::string peer() const;

private:
  AgentClient() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace droplab::agent

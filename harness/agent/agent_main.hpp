// `droplab agent`: serves a controller over stdio (one session, for ssh) or a
// mutual-TLS listener (sessions one after another until SIGINT/SIGTERM).
#pragma once

#include "session.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace droplab::agent {

struct AgentMainOptions {
  bool stdio = false;
  std::string listen; // "ADDR:PORT" (IPv4, port 1..65535)
  std::string cert;
  std::string key;
  std::string ca;
  std::chrono::milliseconds idle_timeout{15'000};
  std::chrono::milliseconds handshake_timeout{5'000};
  // A fresh table of operations for each session.
  std::function<OpTable()> make_ops;
  // Stops traffic and restores the host's settings; called once at the end of
  // every session that completed its handshake (see SessionOptions::on_end).
  std::function<void(const std::string& reason)> restore;
};

// Adds --stdio, --listen, --cert, --key, --ca, --idle-timeout to `app`,
// filling `o` (a bad --idle-timeout is a parse error, exit 2).
void add_agent_flags(CLI::App& app, AgentMainOptions& o);

// Runs the agent. Throws UsageError (exit 2) naming the flag and value for
// missing or conflicting flags, a bad ADDR:PORT, unreadable or invalid
// certificate, key or CA files. Returns 0 after a clean session (stdio: bye)
// or a signal (listener), 1 when a stdio session ended any other way.
int agent_main(const AgentMainOptions& o);

} // namespace droplab::agent

// The agent's side of one controller session: handshake, then requests one
// at a time, each answered from an OpTable. Only operations in the table (and
// the built-in ping and bye) can run: there is no way to run a command.
#pragma once

#include "channel.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace droplab::agent {

// Runs one operation: `args` is the request's "args" object; the returned
// object (null counts as {}) is the response's "result". A thrown exception
// becomes an error response carrying its message; the session goes on.
using OpHandler = std::function<nlohmann::json(const nlohmann::json& args)>;
using OpTable = std::map<std::string, OpHandler>;

// Built into every session; an OpTable must not define them.
//   ping -> {"t2_ns": CLOCK_REALTIME when the request's last byte arrived,
//            "t3_ns": CLOCK_REALTIME just before the response is written}
//   bye  -> {} and the session ends ("controller said bye").
inline constexpr const char* kPingOp = "ping";
inline constexpr const char* kByeOp = "bye";

struct SessionOptions {
  // No complete message for this long ends the session.
  std::chrono::milliseconds idle_timeout{15'000};
  // The controller's hello must arrive within this.
  std::chrono::milliseconds handshake_timeout{5'000};
  // Called exactly once for every session that completed the handshake, with
  // the reason it ended: "controller said bye", "controller disconnected",
  // "controller silent for 15 s", "protocol error: ...", "transport error:
  // ...", "agent stopping". Also after a clean bye: the controller restores
  // explicitly before it says bye, and a second restore must be a no-op.
  // Not called when the handshake fails, since no operation can have run (and
  // in --stdio mode another session may own the host's settings). It runs
  // before the channel is closed; an exception from it is logged, not thrown.
  std::function<void(const std::string& reason)> on_end;
  // Polled at least every 250 ms while waiting; true ends the session with
  // "agent stopping".
  std::function<bool()> should_stop;
  // The agent's hello fields ("host", "kernel" default to uname's).
  std::string host;
  std::string kernel;
  std::string agent_version;
};

struct SessionResult {
  bool handshake_ok = false;
  bool clean = false;         // ended by bye
  std::string reason;         // why it ended (the on_end argument, or why the handshake failed)
  std::uint64_t requests = 0; // requests answered, ping and bye included
  std::string on_end_error;   // what on_end threw, if anything
};

// Serves one session on `ch` and closes it. Never throws for anything the
// peer does; the result says how it ended.
SessionResult serve_session(Channel& ch, const OpTable& ops, const SessionOptions& opt);

// "15 s", "200 ms": the timeout as the end reason shows it.
std::string describe_timeout(std::chrono::milliseconds t);

} // namespace droplab::agent

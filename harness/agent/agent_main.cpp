#include "agent_main.hpp"

#include "tls.hpp"

#include "droplab/addr.hpp"
#include "droplab/cli.hpp"
#include "droplab/fd.hpp"
#include "droplab/signals.hpp"
#include "droplab/units.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace droplab::agent {
namespace {

constexpr std::uint64_t kMinTimeoutNs = 100'000'000;       // 100 ms
constexpr std::uint64_t kMaxTimeoutNs = 3'600'000'000'000; // 1 h

void check_readable(const char* flag, const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    throw UsageError(fmt::format("{} {}: cannot read: {}", flag, path, std::strerror(errno)));
}

std::string end_line(const SessionResult& r) {
  if (!r.handshake_ok) return "closed before a session: " + r.reason;
  return fmt::format("session ended after {} requests: {}{}", r.requests, r.reason,
                     r.on_end_error.empty() ? "" : "; restore failed: " + r.on_end_error);
}

// One session on stdin/stdout. The protocol owns those two fds, so they move
// to private descriptors: fd 1 then points at stderr and fd 0 at /dev/null,
// and a stray print, or a process an op starts, cannot corrupt or steal the
// protocol stream.
int serve_stdio(const AgentMainOptions& o, const SessionOptions& so) {
  int in = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  if (in < 0) throw std::system_error(errno, std::generic_category(), "dup stdin");
  int out = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (out < 0) {
    int err = errno;
    ::close(in);
    throw std::system_error(err, std::generic_category(), "dup stdout");
  }
  FdChannel ch(in, out, "stdio", true);
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull || ::dup2(devnull.get(), 0) < 0 || ::dup2(2, 1) < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "redirect stdin/stdout away from the protocol");
  }
  OpTable ops = o.make_ops();
  SessionResult r = serve_session(ch, ops, so);
  fmt::print(stderr, "droplab-agent: stdio: {}\n", end_line(r));
  return r.clean ? kExitOk : kExitError;
}

} // namespace

void add_agent_flags(CLI::App& app, AgentMainOptions& o) {
  app.add_flag(
      "--stdio", o.stdio,
      "Serve one controller on stdin/stdout, e.g. run by `ssh -T HOST droplab agent --stdio`");
  app.add_option(
      "--listen", o.listen,
      "Serve controllers one at a time over mutual TLS on ADDR:PORT (IPv4), e.g. 198.18.0.1:7070");
  app.add_option("--cert", o.cert, "With --listen: this agent's certificate chain (PEM)");
  app.add_option("--key", o.key, "With --listen: the certificate's private key (PEM)");
  app.add_option("--ca", o.ca, "With --listen: the CA (PEM) whose client certificates are let in");
  app.add_option_function<std::string>(
      "--idle-timeout",
      [&o](const std::string& text) {
        std::uint64_t ns = 0;
        try {
          ns = parse_duration_ns(text);
        } catch (const UnitError& e) {
          throw CLI::ValidationError("--idle-timeout", e.what());
        }
        if (ns < kMinTimeoutNs || ns > kMaxTimeoutNs || ns % 1'000'000 != 0) {
          throw CLI::ValidationError("--idle-timeout",
                                     "\"" + text + "\" must be whole milliseconds in 100ms..1h");
        }
        o.idle_timeout = std::chrono::milliseconds(ns / 1'000'000);
      },
      "End the session, stop traffic and restore the host when the controller is silent this long "
      "(default 15s; e.g. 500ms, 30s)");
}

int agent_main(const AgentMainOptions& o) {
  if (!o.make_ops || !o.restore)
    throw std::invalid_argument("agent_main: make_ops and restore are required");
  if (o.stdio && !o.listen.empty())
    throw UsageError("--stdio and --listen " + o.listen + " exclude each other");
  if (!o.stdio && o.listen.empty()) throw UsageError("give --stdio or --listen ADDR:PORT");
  if (o.idle_timeout <= std::chrono::milliseconds::zero())
    throw UsageError("--idle-timeout must be positive");
  if (o.handshake_timeout <= std::chrono::milliseconds::zero()) {
    throw UsageError("the handshake timeout must be positive");
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"--cert", &o.cert}, {"--key", &o.key}, {"--ca", &o.ca}};

  SessionOptions so{.idle_timeout = o.idle_timeout,
                    .handshake_timeout = o.handshake_timeout,
                    .on_end = o.restore,
                    .should_stop = [] { return stop_requested(); }};

  if (o.stdio) {
    for (const auto& [flag, value] : files) {
      if (!value->empty())
        throw UsageError(fmt::format("{} {}: only used with --listen", flag, *value));
    }
    install_stop_handlers();
    return serve_stdio(o, so);
  }

  Endpoint ep;
  try {
    ep = parse_endpoint(o.listen);
  } catch (const UnitError& e) {
    throw UsageError(std::string("--listen ") + e.what());
  }
  std::string missing;
  for (const auto& [flag, value] : files) {
    if (value->empty()) missing += (missing.empty() ? "" : ", ") + std::string(flag);
  }
  if (!missing.empty())
    throw UsageError("--listen needs --cert, --key and --ca (missing: " + missing + ")");
  for (const auto& [flag, value] : files)
    check_readable(flag, *value);

  std::optional<TlsServer> server;
  try {
    server.emplace(ep, TlsFiles{.cert = o.cert, .key = o.key, .ca = o.ca});
  } catch (const TlsSetupError& e) {
    throw UsageError(fmt::format("--{} {}", e.which, e.what()));
  }
  install_stop_handlers();
  fmt::print(stderr, "droplab-agent: listening on {} (mutual TLS 1.2+, controllers signed by {})\n",
             server->local_endpoint(), o.ca);
  server->serve(o.make_ops, so);
  fmt::print(stderr, "droplab-agent: stopping (signal {})\n", stop_signal());
  return kExitOk;
}

} // namespace droplab::agent

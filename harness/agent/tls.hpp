// Mutual TLS transport (Boost.Asio ssl::stream on OpenSSL), TLS 1.2 and later.
// The agent accepts only controllers whose certificate its CA signed: a peer
// without one is dropped in the TLS handshake, before any byte of the
// protocol is parsed. The controller checks the agent's certificate against
// its CA and the name or IP address it dialled.
#pragma once

#include "channel.hpp"
#include "session.hpp"

#include "droplab/addr.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace droplab::agent {

// PEM files. cert and key are this side's own; ca verifies the other side.
// A controller may leave cert and key empty (then it presents no certificate,
// which an agent refuses: only tests want that).
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string ca;
};

// A certificate, key or CA file that cannot be loaded; the message names the
// file and what is wrong with it. `which` is "cert", "key" or "ca".
class TlsSetupError : public std::runtime_error {
public:
  TlsSetupError(std::string which_file, const std::string& msg)
      : std::runtime_error(msg), which(std::move(which_file)) {}
  std::string which;
};

struct TlsDialOptions {
  // The name or IP the agent's certificate must carry; empty: the dialled host.
  std::string server_name;
  // Bounds the TCP connect and the TLS handshake together.
  std::chrono::milliseconds timeout{10'000};
};

// Connects to host:port and completes the TLS handshake, verifying the
// agent's certificate. Throws TransportError naming the peer and the reason
// (for a rejected certificate, OpenSSL's verify result).
std::unique_ptr<Channel> dial_tls(const std::string& host, std::uint16_t port,
                                  const TlsFiles& files, const TlsDialOptions& opt = {});

// The agent's listener. One controller at a time: the next connection is
// accepted once the current session has ended. Nothing a connection does
// stops the listener.
class TlsServer {
public:
  // Loads the credentials (TlsSetupError) and binds `listen` (std::system_error).
  TlsServer(const Endpoint& listen, const TlsFiles& files);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  // The bound address, e.g. "127.0.0.1:40123" (port 0 picks one).
  std::string local_endpoint() const;

  // Accepts and serves controllers until opt.should_stop returns true
  // (polled every 250 ms). Each connection: TLS handshake within
  // opt.handshake_timeout, then serve_session with a fresh make_ops() table.
  // Writes one line per connection to stderr: peer, certificate subject,
  // outcome.
  void serve(const std::function<OpTable()>& make_ops, const SessionOptions& opt);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace droplab::agent

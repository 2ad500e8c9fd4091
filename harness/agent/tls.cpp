#include "tls.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>

#include <cstdio>
#include <functional>
#include <thread>

namespace droplab::agent {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

// Runs `io` until `done` or `deadline`. At the deadline it cancels (cancel(hard):
// hard closes the socket after about a second of plain cancels, since a
// handler already queued can start another step) and drains, so no handler
// outlives the call. False if the deadline cut the operation short.
template <typename Cancel>
bool run_until(asio::io_context& io, const bool& done, Deadline deadline, Cancel cancel) {
  io.restart();
  while (!done && Clock::now() < deadline) {
    io.run_one_until(deadline);
  }
  if (done) return true;
  for (int i = 0; !done; ++i) {
    cancel(i >= 20);
    io.restart();
    io.run_one_for(50ms);
  }
  return false;
}

template <typename Socket> void set_cloexec(Socket& s) {
  // Asio does not set FD_CLOEXEC: without it a sink or generator an op starts
  // would keep the connection (and the listening port) open.
  int fd = s.native_handle();
  ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

std::string endpoint_text(const tcp::endpoint& ep) {
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

std::string ssl_error_text(const error_code& ec, SSL* ssl) {
  std::string text = ec.message();
  long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    text += fmt::format(" ({})", X509_verify_cert_error_string(verify));
  }
  return text;
}

std::unique_ptr<ssl::context> make_context(bool server, const TlsFiles& f) {
  auto ctx =
      std::make_unique<ssl::context>(server ? ssl::context::tls_server : ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    throw std::runtime_error("OpenSSL refuses TLS 1.2 as the minimum version");
  }
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  auto load = [](const char* which, const std::string& path, auto&& fn) {
    try {
      fn();
    } catch (const boost::system::system_error& e) {
      throw TlsSetupError(which, fmt::format("{}: {}", path, e.code().message()));
    }
  };
  load("ca", f.ca, [&] { ctx->load_verify_file(f.ca); });
  if (!f.cert.empty()) load("cert", f.cert, [&] { ctx->use_certificate_chain_file(f.cert); });
  if (!f.key.empty()) {
    try {
      ctx->use_private_key_file(f.key, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      // OpenSSL checks the key against the certificate as it loads it.
      bool mismatch = e.code().message().find("mismatch") != std::string::npos;
      throw TlsSetupError("key", fmt::format("{}: {}", f.key,
                                             mismatch ? "does not match the certificate " + f.cert
                                                      : e.code().message()));
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      throw TlsSetupError("key", f.key + ": does not match the certificate " + f.cert);
    }
  }
  if (server) {
    // Refuse, during the handshake, any peer without a certificate our CA signed.
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(f.ca.c_str())) {
      SSL_CTX_set_client_CA_list(native, names); // tells controllers which CA we accept
    }
  } else {
    ctx->set_verify_mode(ssl::verify_peer);
  }
  return ctx;
}

class TlsChannel final : public Channel {
public:
  // Server side: io and ctx belong to the listener.
  TlsChannel(asio::io_context& io, ssl::context& ctx, tcp::socket sock, std::string peer)
      : io_(io), stream_(std::move(sock), ctx), peer_(std::move(peer)) {}
  // Client side: the channel owns its io_context and context.
  TlsChannel(std::unique_ptr<asio::io_context> io, std::unique_ptr<ssl::context> ctx,
             tcp::socket sock, std::string peer)
      : owned_io_(std::move(io)), owned_ctx_(std::move(ctx)), io_(*owned_io_),
        stream_(std::move(sock), *owned_ctx_), peer_(std::move(peer)) {}
  ~TlsChannel() override { close(); }

  ssl::stream<tcp::socket>& stream() { return stream_; }

  // Runs the handshake by the deadline; the error text, empty on success.
  std::string handshake(ssl::stream_base::handshake_type side, Deadline deadline) {
    error_code ec;
    bool done = false;
    stream_.async_handshake(side, [&](const error_code& e) {
      ec = e;
      done = true;
    });
    bool in_time = run_until(io_, done, deadline, cancel_fn());
    if (!ec) return {};
    broken_ = true;
    return in_time ? ssl_error_text(ec, stream_.native_handle()) : "no TLS handshake in time";
  }

  // The peer certificate's subject, "" if none.
  std::string peer_subject() {
    X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
    if (cert == nullptr) return {};
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    X509_free(cert);
    return buf;
  }

  ReadResult read(std::span<char> buf, Deadline deadline) override {
    if (closed_ || broken_) throw TransportError("TLS channel to " + peer_ + " is closed");
    error_code ec;
    std::size_t n = 0;
    bool done = false;
    stream_.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [&](const error_code& e, std::size_t k) {
                              ec = e;
                              n = k;
                              done = true;
                            });
    run_until(io_, done, deadline, cancel_fn());
    if (ec == asio::error::operation_aborted) return {ReadStatus::timeout, 0};
    // stream_truncated: the peer closed TCP without close_notify (it was killed).
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated ||
        ec == asio::error::connection_reset) {
      return {ReadStatus::eof, 0};
    }
    if (ec) {
      broken_ = true;
      throw TransportError(fmt::format("TLS read from {}: {}", peer_, ssl_error_text(ec, nullptr)));
    }
    return {ReadStatus::data, n};
  }

  void write(std::string_view bytes, Deadline deadline) override {
    if (closed_ || broken_) throw TransportError("TLS channel to " + peer_ + " is closed");
    error_code ec;
    bool done = false;
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                      [&](const error_code& e, std::size_t) {
                        ec = e;
                        done = true;
                      });
    bool in_time = run_until(io_, done, deadline, cancel_fn());
    if (!ec) return;
    broken_ = true;
    if (!in_time)
      throw TransportError(fmt::format("{} did not take {} bytes in time", peer_, bytes.size()));
    throw TransportError(fmt::format("TLS write to {}: {}", peer_, ssl_error_text(ec, nullptr)));
  }

  void close() noexcept override {
    if (closed_) return;
    closed_ = true;
    try {
      if (!broken_) { // close_notify, bounded: a silent peer does not hold us
        bool done = false;
        stream_.async_shutdown([&](const error_code&) { done = true; });
        run_until(io_, done, Clock::now() + 500ms, cancel_fn());
      }
    } catch (...) {
    }
    error_code ignored;
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.lowest_layer().close(ignored);
  }

  std::string peer() const override { return peer_; }

private:
  std::function<void(bool)> cancel_fn() {
    return [this](bool hard) {
      error_code ignored;
      stream_.lowest_layer().cancel(ignored);
      if (hard) {
        broken_ = true;
        stream_.lowest_layer().close(ignored);
      }
    };
  }

  std::unique_ptr<asio::io_context> owned_io_;
  std::unique_ptr<ssl::context> owned_ctx_;
  asio::io_context& io_;
  ssl::stream<tcp::socket> stream_;
  std::string peer_;
  bool closed_ = false;
  bool broken_ = false;
};

} // namespace

std::unique_ptr<Channel> dial_tls(const std::string& host, std::uint16_t port,
                                  const TlsFiles& files, const TlsDialOptions& opt) {
  std::string peer = fmt::format("{}:{}", host, port);
  Deadline deadline = Clock::now() + opt.timeout;
  auto io = std::make_unique<asio::io_context>();
  auto ctx = make_context(false, files);

  tcp::resolver resolver(*io);
  tcp::resolver::results_type endpoints;
  error_code ec;
  bool done = false;
  resolver.async_resolve(host, std::to_string(port),
                         [&](const error_code& e, tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                           done = true;
                         });
  if (!run_until(*io, done, deadline, [&](bool) { resolver.cancel(); }) && ec) {
    throw TransportError("cannot resolve " + host + ": timed out");
  }
  if (ec) throw TransportError(fmt::format("cannot resolve {}: {}", host, ec.message()));

  tcp::socket sock(*io);
  done = false;
  asio::async_connect(sock, endpoints, [&](const error_code& e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  auto cancel = [&](bool hard) {
    error_code ignored;
    sock.cancel(ignored);
    if (hard) sock.close(ignored);
  };
  if (!run_until(*io, done, deadline, cancel) && ec) {
    throw TransportError("connect to " + peer + ": timed out");
  }
  if (ec) throw TransportError(fmt::format("connect to {}: {}", peer, ec.message()));
  set_cloexec(sock);

  auto ch = std::make_unique<TlsChannel>(std::move(io), std::move(ctx), std::move(sock), peer);
  SSL* ssl = ch->stream().native_handle();
  const std::string& name = opt.server_name.empty() ? host : opt.server_name;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  error_code not_ip;
  asio::ip::make_address(name, not_ip);
  if (!not_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    SSL_set_tlsext_host_name(ssl, name.c_str());
  }
  if (std::string err = ch->handshake(ssl::stream_base::client, deadline); !err.empty()) {
    throw TransportError(fmt::format("TLS handshake with {} (as {}): {}", peer, name, err));
  }
  return ch;
}

struct TlsServer::Impl {
  asio::io_context io;
  std::unique_ptr<ssl::context> ctx;
  tcp::acceptor acceptor{io};

  void handle(tcp::socket sock, const std::function<OpTable()>& make_ops,
              const SessionOptions& opt);
};

TlsServer::TlsServer(const Endpoint& listen, const TlsFiles& files)
    : impl_(std::make_unique<Impl>()) {
  impl_->ctx = make_context(true, files);
  tcp::endpoint ep(asio::ip::address_v4(ntohl(listen.addr.s_addr)), listen.port);
  auto& acc = impl_->acceptor;
  error_code ec;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::system_error(ec.value(), std::generic_category(), "listen on " + endpoint_text(ep));
  set_cloexec(acc);
}

TlsServer::~TlsServer() = default;

std::string TlsServer::local_endpoint() const {
  error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? "unbound" : endpoint_text(ep);
}

void TlsServer::serve(const std::function<OpTable()>& make_ops, const SessionOptions& opt) {
  auto& io = impl_->io;
  for (;;) {
    if (opt.should_stop && opt.should_stop()) return;
    tcp::socket sock(io);
    error_code ec;
    bool done = false;
    impl_->acceptor.async_accept(sock, [&](const error_code& e) {
      ec = e;
      done = true;
    });
    run_until(io, done, Clock::now() + 250ms, [&](bool) {
      error_code ignored;
      impl_->acceptor.cancel(ignored);
    });
    if (ec == asio::error::operation_aborted) continue;
    if (ec) {
      fmt::print(stderr, "droplab-agent: accept: {}\n", ec.message());
      std::this_thread::sleep_for(100ms); // EMFILE and the like: do not spin
      continue;
    }
    impl_->handle(std::move(sock), make_ops, opt);
  }
}

void TlsServer::Impl::handle(tcp::socket sock, const std::function<OpTable()>& make_ops,
                             const SessionOptions& opt) {
  error_code ec;
  auto remote = sock.remote_endpoint(ec);
  std::string peer = ec ? "unknown peer" : endpoint_text(remote);
  auto log = [&](const std::string& what) {
    fmt::print(stderr, "droplab-agent: connection from {}: {}\n", peer, what);
  };
  try {
    set_cloexec(sock);
    TlsChannel ch(io, *ctx, std::move(sock), peer);
    std::string err = ch.handshake(ssl::stream_base::server, Clock::now() + opt.handshake_timeout);
    if (!err.empty()) {
      ch.close();
      log("rejected in TLS handshake: " + err);
      return;
    }
    std::string who = ch.peer_subject();
    OpTable ops = make_ops();
    SessionResult r = serve_session(ch, ops, opt);
    if (!r.handshake_ok) {
      log(fmt::format("{}: closed before a session: {}", who, r.reason));
    } else {
      log(fmt::format("{}: session ended after {} requests: {}{}", who, r.requests, r.reason,
                      r.on_end_error.empty() ? "" : "; restore failed: " + r.on_end_error));
    }
  } catch (const std::exception& e) {
    log(std::string("error: ") + e.what());
  }
}

} // namespace droplab::agent

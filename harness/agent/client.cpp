#include "client.hpp"

#include "droplab/clock.hpp"

#include <fmt/format.h>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

extern char** environ;

namespace droplab::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

// Waits up to `timeout` for `pid` to exit. Its wait status, or nullopt.
std::optional<int> reap_within(pid_t pid, std::chrono::milliseconds timeout) {
  auto end = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0 && errno != EINTR) return -1; // not our child any more
    if (Clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

std::string describe_status(int st) {
  if (WIFEXITED(st)) return fmt::format("exited with status {}", WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return fmt::format("killed by signal {}", WTERMSIG(st));
  return "ended";
}

} // namespace

struct AgentClient::Impl {
  ClientOptions opt;
  std::unique_ptr<Channel> ch;
  std::unique_ptr<MessageStream> stream;
  json hello;
  std::uint64_t next_id = 1;
  pid_t child = -1;
  bool open = false;
  std::string last_error;

  ~Impl() { shutdown(false); }

  [[noreturn]] void fail(const std::string& msg) {
    last_error = msg;
    shutdown(false);
    throw AgentError(msg, false);
  }

  // The child's fate, if it exited within a moment: why a handshake saw EOF.
  std::string child_note() {
    if (child < 0) return {};
    auto st = reap_within(child, 500ms);
    if (!st) return {};
    child = -1;
    return " (the command " + describe_status(*st) + "; see its stderr)";
  }

  void handshake() {
    Deadline d = Clock::now() + opt.connect_timeout;
    std::string peer = ch->peer();
    try {
      stream->write(json(Hello{}), d);
      Incoming in = stream->read(d);
      if (in.arrival == Arrival::eof) {
        fail("agent " + peer + " closed the connection before its hello" + child_note());
      }
      if (in.arrival != Arrival::message) {
        fail(fmt::format("no hello from agent {} within {} ms", peer, opt.connect_timeout.count()));
      }
      if (message_type(in.message) != MessageType::hello) {
        throw ProtocolError("expected the agent's hello first");
      }
      Hello h = parse_hello(in.message, Side::agent);
      if (h.error) fail("agent " + peer + " refused the session: " + *h.error);
      if (auto mismatch = version_mismatch(h, Side::agent))
        fail("agent " + peer + ": " + *mismatch);
      hello = std::move(in.message);
      open = true;
    } catch (const AgentError&) {
      throw;
    } catch (const ProtocolError& e) {
      fail(fmt::format("protocol error from agent {}: {}", peer, e.what()));
    } catch (const std::exception& e) {
      fail(fmt::format("agent {}: {}{}", peer, e.what(), child_note()));
    }
  }

  Response roundtrip(const std::string& op, const json& args, std::chrono::milliseconds timeout,
                     PingSample* timing) {
    if (!open) {
      throw AgentError("connection to agent " + (ch ? ch->peer() : std::string("?")) +
                           " is closed" + (last_error.empty() ? "" : " after: " + last_error),
                       false);
    }
    Request req{.id = next_id++, .op = op, .args = args};
    std::string frame;
    try {
      frame = encode_frame(json(req));
    } catch (const ProtocolError& e) { // our own message: the session is still fine
      throw AgentError(fmt::format("{}: {}", op, e.what()), false);
    }
    std::string peer = ch->peer();
    Deadline d = Clock::now() + timeout;
    try {
      std::uint64_t t1 = real_ns();
      ch->write(frame, d);
      Incoming in = stream->read(d);
      if (in.arrival == Arrival::eof)
        fail(fmt::format("agent {} closed the connection during {}", peer, op));
      if (in.arrival != Arrival::message) {
        fail(fmt::format("agent {} did not answer {} within {} ms", peer, op, timeout.count()));
      }
      if (message_type(in.message) != MessageType::response) {
        throw ProtocolError("expected a response");
      }
      Response r = parse_response(in.message);
      if (r.id != req.id) {
        throw ProtocolError(
            fmt::format("response to request {} while waiting for {}", r.id, req.id));
      }
      if (timing != nullptr) *timing = PingSample{.t1_ns = t1, .t4_ns = in.arrived_ns};
      return r;
    } catch (const AgentError&) {
      throw;
    } catch (const ProtocolError& e) {
      fail(fmt::format("protocol error from agent {}: {}", peer, e.what()));
    } catch (const std::exception& e) {
      fail(fmt::format("agent {}: {}", peer, e.what()));
    }
  }

  // Ends the session; with `bye` it says so first. Never throws.
  void shutdown(bool bye) noexcept {
    if (open && bye) {
      try {
        roundtrip(kByeOp, json::object(), opt.close_timeout, nullptr);
      } catch (...) { // a dead agent: nothing more to say to it
      }
    }
    open = false;
    if (ch) ch->close();
    if (child > 0) {
      // After bye an agent on stdio exits by itself; anything else is killed.
      if (!reap_within(child, bye ? opt.close_timeout : 0ms)) {
        ::kill(child, SIGKILL);
        int st = 0;
        while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
        }
      }
      child = -1;
    }
  }
};

AgentClient AgentClient::connect_exec(const std::vector<std::string>& argv,
                                      const ClientOptions& opt) {
  if (argv.empty()) throw std::invalid_argument("connect_exec: empty argv");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair for the agent's stdio");
  }
  auto impl = std::make_unique<Impl>();
  impl->opt = opt;
  impl->ch = std::make_unique<FdChannel>(sv[0], sv[0], join(argv), true);
  impl->stream = std::make_unique<MessageStream>(*impl->ch);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP})
    sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(sv[1]);
  if (rc != 0)
    throw std::system_error(rc, std::generic_category(),
                            "start agent command `" + join(argv) + "`");
  impl->child = pid;

  impl->handshake(); // on failure ~Impl kills and reaps the child
  AgentClient c;
  c.impl_ = std::move(impl);
  return c;
}

AgentClient AgentClient::connect_tls(const std::string& host, std::uint16_t port,
                                     const TlsFiles& files, const ClientOptions& opt) {
  TlsDialOptions dial{.timeout = opt.connect_timeout};
  return AgentClient(dial_tls(host, port, files, dial), opt);
}

AgentClient::AgentClient(std::unique_ptr<Channel> ch, const ClientOptions& opt)
    : impl_(std::make_unique<Impl>()) {
  if (!ch) throw std::invalid_argument("AgentClient: no channel");
  impl_->opt = opt;
  impl_->ch = std::move(ch);
  impl_->stream = std::make_unique<MessageStream>(*impl_->ch);
  impl_->handshake();
}

AgentClient::AgentClient(AgentClient&&) noexcept = default;
AgentClient& AgentClient::operator=(AgentClient&& o) noexcept {
  if (this != &o) {
    close();
    impl_ = std::move(o.impl_);
  }
  return *this;
}

AgentClient::~AgentClient() {
  close();
}

const json& AgentClient::hello() const {
  return impl_->hello;
}

json AgentClient::call(const std::string& op, const json& args, std::chrono::milliseconds timeout) {
  Response r = impl_->roundtrip(op, args, timeout, nullptr);
  if (!r.ok)
    throw AgentError(fmt::format("agent {}: {}: {}", impl_->ch->peer(), op, r.error), true);
  return std::move(r.result);
}

PingSample AgentClient::ping(std::chrono::milliseconds timeout) {
  PingSample s;
  Response r = impl_->roundtrip(kPingOp, json::object(), timeout, &s);
  if (!r.ok) throw AgentError(fmt::format("agent {}: ping: {}", impl_->ch->peer(), r.error), true);
  auto t2 = r.result.find("t2_ns");
  auto t3 = r.result.find("t3_ns");
  if (t2 == r.result.end() || t3 == r.result.end() || !t2->is_number_unsigned() ||
      !t3->is_number_unsigned()) {
    impl_->fail(fmt::format("protocol error from agent {}: ping result lacks t2_ns/t3_ns",
                            impl_->ch->peer()));
  }
  s.t2_ns = t2->get<std::uint64_t>();
  s.t3_ns = t3->get<std::uint64_t>();
  return s;
}

void AgentClient::close() noexcept {
  if (impl_) impl_->shutdown(true);
}

bool AgentClient::is_open() const {
  return impl_ && impl_->open;
}

std::string AgentClient::peer() const {
  return impl_ && impl_->ch ? impl_->ch->peer() : std::string();
}

} // namespace droplab::agent

// serve_session and AgentClient over a socketpair: no network, no root.
#include "client.hpp"
#include "clock_offset.hpp"
#include "session.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace droplab::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// An agent session on one end of a socketpair, served by a thread; the test
// holds the other end.
class SessionPair {
public:
  explicit SessionPair(OpTable ops = default_ops(), SessionOptions opt = {})
      : ops_(std::move(ops)), opt_(std::move(opt)) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::runtime_error("socketpair");
    controller_fd_ = fds[1];
    opt_.on_end = [this](const std::string& reason) {
      std::lock_guard lk(m_);
      ends_.push_back(reason);
      if (throw_in_on_end_) throw std::runtime_error("restore broke");
    };
    agent_ = std::thread([this, fd = fds[0]] {
      FdChannel ch(fd, fd, "controller", true);
      SessionResult r = serve_session(ch, ops_, opt_);
      std::lock_guard lk(m_);
      result_ = r;
      done_ = true;
      cv_.notify_all();
    });
  }
  ~SessionPair() {
    if (controller_fd_ >= 0) ::shutdown(controller_fd_, SHUT_RDWR); // unblocks a waiting agent
    agent_.join();
    if (controller_fd_ >= 0) ::close(controller_fd_);
  }

  static OpTable default_ops() {
    OpTable ops;
    ops["echo"] = [](const json& a) { return a; };
    ops["fail"] = [](const json&) -> json { throw std::runtime_error("disk on fire"); };
    ops["array"] = [](const json&) { return json::array({1, 2}); };
    ops["nothing"] = [](const json&) { return json(); };
    ops["sleep_ms"] = [](const json& a) {
      std::this_thread::sleep_for(std::chrono::milliseconds(a.at("ms").get<int>()));
      return json::object();
    };
    return ops;
  }

  // The controller's end as a channel (ownership passes to it).
  std::unique_ptr<Channel> take_channel() {
    int fd = std::exchange(controller_fd_, -1);
    return std::make_unique<FdChannel>(fd, fd, "agent", true);
  }
  int fd() const { return controller_fd_; }
  void send_raw(const std::string& bytes) {
    ASSERT_EQ(::send(controller_fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The next message the agent sent, or its arrival status.
  Incoming receive(std::chrono::milliseconds timeout = 5s) {
    if (!raw_) raw_ = std::make_unique<FdChannel>(controller_fd_, controller_fd_, "agent");
    if (!raw_stream_) raw_stream_ = std::make_unique<MessageStream>(*raw_);
    return raw_stream_->read(Clock::now() + timeout);
  }
  void say_hello(std::uint64_t version = kProtocolVersion) {
    send_raw(encode_frame(json(Hello{.version = version})));
    Incoming in = receive();
    ASSERT_EQ(in.arrival, Arrival::message);
    ASSERT_EQ(in.message["type"], "hello");
  }

  // Waits (bounded) for the session to end; its result.
  std::optional<SessionResult> wait_end(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(m_);
    if (!cv_.wait_for(lk, timeout, [&] { return done_; })) return std::nullopt;
    return result_;
  }
  std::vector<std::string> ends() {
    std::lock_guard lk(m_);
    return ends_;
  }
  void throw_in_on_end() { throw_in_on_end_ = true; }

private:
  OpTable ops_;
  SessionOptions opt_;
  int controller_fd_ = -1;
  std::unique_ptr<FdChannel> raw_;
  std::unique_ptr<MessageStream> raw_stream_;
  std::thread agent_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  SessionResult result_;
  std::vector<std::string> ends_;
  std::atomic<bool> throw_in_on_end_{false};
};

SessionOptions short_idle(std::chrono::milliseconds idle = 200ms) {
  SessionOptions o;
  o.idle_timeout = idle;
  o.handshake_timeout = 200ms;
  return o;
}

TEST(Session, EchoThenByeEndsCleanlyAndRestoresOnce) {
  SessionPair p(SessionPair::default_ops(), SessionOptions{.host = "agent-host"});
  AgentClient c(p.take_channel());
  EXPECT_EQ(c.hello()["host"], "agent-host");
  EXPECT_TRUE(c.hello()["kernel"].is_string());
  EXPECT_TRUE(c.hello()["agent_version"].is_string());
  EXPECT_EQ(c.hello()["version"], kProtocolVersion);
  json args = {{"n", 1}, {"s", "x"}, {"nested", {{"a", json::array({1, 2})}}}};
  EXPECT_EQ(c.call("echo", args), args);
  c.close();
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->handshake_ok);
  EXPECT_TRUE(r->clean);
  EXPECT_EQ(r->requests, 2u); // echo, bye
  EXPECT_EQ(p.ends(), std::vector<std::string>{"controller said bye"});
}

TEST(Session, UnknownOpIsRefusedAndTheSessionGoesOn) {
  SessionPair p;
  AgentClient c(p.take_channel());
  try {
    c.call("sh", {{"cmd", "id"}});
    FAIL() << "accepted";
  } catch (const AgentError& e) {
    EXPECT_TRUE(e.refused);
    EXPECT_NE(std::string(e.what()).find(
                  "unknown op \"sh\" (allowed: array, bye, echo, fail, nothing, ping, sleep_ms)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(c.is_open());
  EXPECT_EQ(c.call("echo", {{"still", "up"}})["still"], "up");
}

TEST(Session, HandlerExceptionBecomesAnErrorResponse) {
  SessionPair p;
  AgentClient c(p.take_channel());
  try {
    c.call("fail");
    FAIL() << "accepted";
  } catch (const AgentError& e) {
    EXPECT_TRUE(e.refused);
    EXPECT_NE(std::string(e.what()).find("fail: disk on fire"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c.call("array"), AgentError);    // a non-object result is refused too
  EXPECT_EQ(c.call("nothing"), json::object()); // null counts as {}
  EXPECT_TRUE(c.is_open());
  EXPECT_THROW(c.call("ping", {{"x", 1}}), AgentError); // built-ins take no args
  EXPECT_TRUE(c.is_open());
}

TEST(Session, IdleTimeoutEndsTheSessionExactlyOnce) {
  SessionPair p(SessionPair::default_ops(), short_idle());
  AgentClient c(p.take_channel());
  c.call("echo");
  auto r = p.wait_end();
  ASSERT_TRUE(r) << "idle timeout did not fire";
  EXPECT_EQ(r->reason, "controller silent for 200 ms");
  EXPECT_EQ(p.ends(), std::vector<std::string>{"controller silent for 200 ms"});
  EXPECT_THROW(c.call("echo"), AgentError); // the agent hung up
  EXPECT_FALSE(c.is_open());
}

TEST(Session, SlowDripDoesNotResetTheIdleTimeout) {
  SessionPair p(SessionPair::default_ops(), short_idle(300ms));
  p.say_hello();
  std::string frame = encode_frame(json(Request{.id = 1, .op = "echo"}));
  // One byte per 100 ms: the whole message would take seconds. (The agent may
  // hang up between two bytes, so a failed send is expected.)
  for (std::size_t i = 0; i < frame.size() && !p.wait_end(100ms); ++i)
    ::send(p.fd(), frame.data() + i, 1, MSG_NOSIGNAL);
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "controller silent for 300 ms");
  EXPECT_EQ(r->requests, 0u);
}

TEST(Session, EofEndsTheSession) {
  SessionPair p;
  p.say_hello();
  ::shutdown(p.fd(), SHUT_WR);
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_EQ(p.ends(), std::vector<std::string>{"controller disconnected"});
  EXPECT_FALSE(r->clean);
}

TEST(Session, EofInsideAFrameIsAProtocolError) {
  SessionPair p;
  p.say_hello();
  p.send_raw(std::string("\0\0\0\x64", 4) + "{\"a");
  ::shutdown(p.fd(), SHUT_WR);
  ASSERT_TRUE(p.wait_end());
  EXPECT_EQ(p.ends(), std::vector<std::string>{
                          "protocol error: connection closed mid-frame (3 of 100 bytes)"});
}

struct AfterHello {
  const char* name;
  std::string bytes;
  const char* reason;
};

TEST(Session, ProtocolErrorsAfterTheHandshakeCloseAndRestore) {
  const AfterHello cases[] = {
      {.name = "array body",
       .bytes = encode_frame(json::object()).replace(4, 2, "[]"),
       .reason = "protocol error: frame body is a JSON array, not an object"},
      {.name = "oversized",
       .bytes = std::string("\x10\0\0\0", 4),
       .reason = "protocol error: frame length 268435456 exceeds"},
      {.name = "response from controller",
       .bytes = encode_frame(json(Response{.id = 1})),
       .reason = "protocol error: expected a request, got a response"},
      {.name = "second hello",
       .bytes = encode_frame(json(Hello{})),
       .reason = "protocol error: expected a request, got a hello"},
      {.name = "unknown key",
       .bytes = encode_frame(json{{"type", "request"},
                                  {"id", 1},
                                  {"op", "echo"},
                                  {"args", json::object()},
                                  {"exec", "sh"}}),
       .reason = "protocol error: request: unknown key /exec"},
  };
  for (const auto& c : cases) {
    SessionPair p;
    p.say_hello();
    p.send_raw(c.bytes);
    auto r = p.wait_end();
    ASSERT_TRUE(r) << c.name;
    auto ends = p.ends();
    ASSERT_EQ(ends.size(), 1u) << c.name;
    EXPECT_TRUE(ends[0].starts_with(c.reason)) << c.name << ": " << ends[0];
    EXPECT_EQ(p.receive().arrival, Arrival::eof) << c.name << ": the agent must close";
  }
}

TEST(Session, VersionMismatchIsAnsweredNamingBothVersionsThenClosed) {
  SessionPair p;
  p.send_raw(encode_frame(json(Hello{.version = 2})));
  Incoming in = p.receive();
  ASSERT_EQ(in.arrival, Arrival::message);
  Hello h = parse_hello(in.message, Side::agent);
  ASSERT_TRUE(h.error);
  EXPECT_EQ(*h.error, "controller speaks protocol version 2, this agent speaks version 1");
  EXPECT_EQ(p.receive().arrival, Arrival::eof);
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->handshake_ok);
  EXPECT_EQ(r->reason,
            "version mismatch: controller speaks protocol version 2, this agent speaks version 1");
  EXPECT_TRUE(p.ends().empty()) << "no session, nothing to restore";
}

TEST(Session, ClientRefusesAnAgentOfAnotherVersion) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  std::thread fake([fd = fds[0]] { // answers any hello with version 9
    FdChannel ch(fd, fd, "controller", true);
    MessageStream s(ch);
    if (s.read(Clock::now() + 5s).arrival == Arrival::message) {
      s.write(json(Hello{.version = 9, .host = "h"}), Clock::now() + 5s);
    }
    s.read(Clock::now() + 5s); // until the client hangs up
  });
  try {
    AgentClient c(std::make_unique<FdChannel>(fds[1], fds[1], "fake", true));
    ADD_FAILURE() << "accepted";
  } catch (const AgentError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "agent speaks protocol version 9, this controller speaks version 1"),
              std::string::npos)
        << e.what();
  }
  fake.join();
}

TEST(Session, NothingButAHelloFirst) {
  SessionPair p(SessionPair::default_ops(), short_idle());
  p.send_raw(encode_frame(json(Request{.id = 1, .op = "echo"})));
  EXPECT_EQ(p.receive().arrival, Arrival::eof);
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->handshake_ok);
  EXPECT_EQ(r->reason, "handshake failed: protocol error: expected a hello first, got a request");
  EXPECT_TRUE(p.ends().empty());
}

TEST(Session, HandshakeTimeout) {
  SessionPair p(SessionPair::default_ops(), short_idle());
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "no hello within 200 ms");
  EXPECT_TRUE(p.ends().empty());
}

TEST(Session, StopRequestEndsTheSessionAndRestores) {
  std::atomic<bool> stop{false};
  SessionOptions o;
  o.should_stop = [&] { return stop.load(); };
  SessionPair p(SessionPair::default_ops(), o);
  p.say_hello();
  stop = true;
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_EQ(p.ends(), std::vector<std::string>{"agent stopping"});
}

TEST(Session, PipelinedRequestsAreAnsweredInOrder) {
  SessionPair p;
  p.say_hello();
  p.send_raw(encode_frame(json(Request{.id = 1, .op = "echo", .args = {{"i", 1}}})) +
             encode_frame(json(Request{.id = 2, .op = "nope"})) +
             encode_frame(json(Request{.id = 3, .op = "echo", .args = {{"i", 3}}})));
  for (std::uint64_t id : {1, 2, 3}) {
    Incoming in = p.receive();
    ASSERT_EQ(in.arrival, Arrival::message);
    Response r = parse_response(in.message);
    EXPECT_EQ(r.id, id);
    EXPECT_EQ(r.ok, id != 2);
  }
}

TEST(Session, OnEndExceptionIsReportedNotThrown) {
  SessionPair p;
  p.throw_in_on_end();
  p.say_hello();
  ::shutdown(p.fd(), SHUT_WR);
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->on_end_error, "restore broke");
  EXPECT_EQ(p.ends().size(), 1u);
}

TEST(Session, CallTimeoutClosesTheClientAndTheAgentNotices) {
  SessionPair p;
  AgentClient c(p.take_channel());
  try {
    c.call("sleep_ms", {{"ms", 300}}, 50ms);
    FAIL() << "no timeout";
  } catch (const AgentError& e) {
    EXPECT_FALSE(e.refused);
    EXPECT_NE(std::string(e.what()).find("did not answer sleep_ms within 50 ms"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(c.is_open());
  auto r = p.wait_end();
  ASSERT_TRUE(r);
  EXPECT_EQ(p.ends().size(), 1u);
}

TEST(Session, LargeMessagesCrossInPieces) {
  SessionPair p;
  AgentClient c(p.take_channel());
  json args = {{"blob", std::string(900 * 1024, 'z')}};
  EXPECT_EQ(c.call("echo", args), args);
  EXPECT_THROW(c.call("echo", {{"blob", std::string(kMaxMessage, 'z')}}), AgentError);
  EXPECT_TRUE(c.is_open()) << "an oversized request is refused before it is sent";
}

TEST(Session, ResultTooLargeToSendBecomesAnError) {
  OpTable ops;
  ops["huge"] = [](const json&) { return json{{"blob", std::string(kMaxMessage, 'h')}}; };
  ops["latin1"] = [](const json&) { return json{{"s", std::string("caf\xe9")}}; };
  SessionPair p(std::move(ops));
  AgentClient c(p.take_channel());
  for (const char* op : {"huge", "latin1"}) {
    try {
      c.call(op);
      ADD_FAILURE() << op << ": sent";
    } catch (const AgentError& e) {
      EXPECT_TRUE(e.refused) << e.what();
      EXPECT_NE(std::string(e.what()).find(std::string("result of ") + op + " cannot be sent"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_TRUE(c.is_open());
}

TEST(Session, PingTimestampsAreOrderedOnOneClock) {
  SessionPair p;
  AgentClient c(p.take_channel());
  PingSample s = c.ping();
  EXPECT_LE(s.t1_ns, s.t2_ns);
  EXPECT_LE(s.t2_ns, s.t3_ns);
  EXPECT_LE(s.t3_ns, s.t4_ns);
  ClockOffset off = estimate_clock_offset(c, 4);
  EXPECT_EQ(off.samples, 4);
  // Same host, same clock: the true offset is 0 and must lie within the bound.
  EXPECT_LE(off.offset_ns - off.error_bound_ns, 0);
  EXPECT_GE(off.offset_ns + off.error_bound_ns, 0);
}

TEST(Session, BuiltinsCannotBeOverridden) {
  OpTable ops;
  ops["ping"] = [](const json&) { return json::object(); };
  FdChannel ch(-1, -1, "none");
  EXPECT_THROW(serve_session(ch, ops, {}), std::invalid_argument);
}

} // namespace
} // namespace droplab::agent

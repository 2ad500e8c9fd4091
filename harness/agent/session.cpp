#include "session.hpp"

#include "droplab/clock.hpp"
#include "droplab/json_util.hpp"

#include <fmt/format.h>

#include <sys/utsname.h>

#include <stdexcept>

#ifndef DROPLAB_AGENT_VERSION
#define DROPLAB_AGENT_VERSION "unknown"
#endif

namespace droplab::agent {
namespace {

using nlohmann::json;

const char* type_name(MessageType t) {
  switch (t) {
  case MessageType::hello: return "hello";
  case MessageType::request: return "request";
  case MessageType::response: return "response";
  }
  return "?";
}

Hello agent_hello(const SessionOptions& opt) {
  Hello h;
  utsname u{};
  bool have_uname = ::uname(&u) == 0;
  h.host = !opt.host.empty() ? opt.host : (have_uname ? u.nodename : "unavailable");
  h.kernel = !opt.kernel.empty() ? opt.kernel : kernel_release();
  h.agent_version = !opt.agent_version.empty() ? opt.agent_version : DROPLAB_AGENT_VERSION;
  return h;
}

std::string allowed_ops(const OpTable& ops) {
  std::map<std::string, int> names{{kPingOp, 0}, {kByeOp, 0}};
  for (const auto& [name, _] : ops)
    names.emplace(name, 0);
  std::string out;
  for (const auto& [name, _] : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

// Runs one request; the response to send and whether it was a bye.
Response dispatch(const Request& req, const Incoming& in, const OpTable& ops, bool& bye) {
  Response resp{.id = req.id};
  auto fail = [&](std::string error) {
    resp.ok = false;
    resp.error = std::move(error);
    return resp;
  };
  if (req.op == kPingOp || req.op == kByeOp) {
    if (!req.args.empty()) return fail(fmt::format("{} takes no args", req.op));
    if (req.op == kPingOp) resp.result = json{{"t2_ns", in.arrived_ns}}; // t3 set when written
    bye = req.op == kByeOp;
    return resp;
  }
  auto it = ops.find(req.op);
  if (it == ops.end()) {
    return fail(fmt::format("unknown op \"{}\" (allowed: {})", req.op, allowed_ops(ops)));
  }
  json result;
  try {
    result = it->second(req.args);
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail(fmt::format("{} failed with a non-standard exception", req.op));
  }
  if (result.is_null()) result = json::object();
  if (!result.is_object()) {
    return fail(fmt::format("{} returned a JSON {}, not an object", req.op, result.type_name()));
  }
  resp.result = std::move(result);
  return resp;
}

// The request loop after the handshake; returns why it ended.
std::string serve_requests(MessageStream& s, const OpTable& ops, const SessionOptions& opt,
                           SessionResult& res) {
  for (;;) {
    Incoming in = s.read(Clock::now() + opt.idle_timeout, opt.should_stop);
    switch (in.arrival) {
    case Arrival::eof: return "controller disconnected";
    case Arrival::timeout: return "controller silent for " + describe_timeout(opt.idle_timeout);
    case Arrival::stopped: return "agent stopping";
    case Arrival::message: break;
    }
    if (auto t = message_type(in.message); t != MessageType::request) {
      throw ProtocolError(fmt::format("expected a request, got a {}", type_name(t)));
    }
    Request req = parse_request(in.message);
    bool bye = false;
    Response resp = dispatch(req, in, ops, bye);
    if (req.op == kPingOp && resp.ok) resp.result["t3_ns"] = real_ns();
    std::string frame;
    try {
      frame = encode_frame(json(resp));
    } catch (const ProtocolError& e) { // too large, or not UTF-8
      frame = encode_frame(json(
          Response{.id = req.id,
                   .ok = false,
                   .error = fmt::format("result of {} cannot be sent: {}", req.op, e.what())}));
    }
    s.channel().write(frame, Clock::now() + opt.idle_timeout);
    ++res.requests;
    if (bye) {
      res.clean = true;
      return "controller said bye";
    }
  }
}

} // namespace

std::string describe_timeout(std::chrono::milliseconds t) {
  if (t.count() % 1000 == 0) return fmt::format("{} s", t.count() / 1000);
  return fmt::format("{} ms", t.count());
}

SessionResult serve_session(Channel& ch, const OpTable& ops, const SessionOptions& opt) {
  for (const char* builtin : {kPingOp, kByeOp}) {
    if (ops.contains(builtin)) {
      throw std::invalid_argument(fmt::format("OpTable defines the built-in op \"{}\"", builtin));
    }
  }
  SessionResult res;
  MessageStream s(ch);

  // Handshake: the controller's hello, then ours. No session exists before it.
  try {
    Incoming in = s.read(Clock::now() + opt.handshake_timeout, opt.should_stop);
    if (in.arrival != Arrival::message) {
      res.reason = in.arrival == Arrival::eof ? "controller disconnected before its hello"
                   : in.arrival == Arrival::stopped
                       ? "agent stopping"
                       : "no hello within " + describe_timeout(opt.handshake_timeout);
      ch.close();
      return res;
    }
    if (auto t = message_type(in.message); t != MessageType::hello) {
      throw ProtocolError(fmt::format("expected a hello first, got a {}", type_name(t)));
    }
    Hello peer = parse_hello(in.message, Side::controller);
    Hello mine = agent_hello(opt);
    auto mismatch = version_mismatch(peer, Side::controller);
    if (mismatch) mine.error = *mismatch;
    s.write(json(mine), Clock::now() + opt.handshake_timeout);
    if (mismatch) {
      res.reason = "version mismatch: " + *mismatch;
      ch.close();
      return res;
    }
  } catch (const ProtocolError& e) {
    res.reason = std::string("handshake failed: protocol error: ") + e.what();
    ch.close();
    return res;
  } catch (const std::exception& e) {
    res.reason = std::string("handshake failed: transport error: ") + e.what();
    ch.close();
    return res;
  }
  res.handshake_ok = true;

  try {
    res.reason = serve_requests(s, ops, opt, res);
  } catch (const ProtocolError& e) {
    res.reason = std::string("protocol error: ") + e.what();
  } catch (const std::exception& e) {
    res.reason = std::string("transport error: ") + e.what();
  }
  if (opt.on_end) {
    try {
      opt.on_end(res.reason);
    } catch (const std::exception& e) {
      res.on_end_error = e.what();
    } catch (...) {
      res.on_end_error = "non-standard exception";
    }
  }
  ch.close();
  return res;
}

} // namespace droplab::agent

#include "protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <set>
#include <vector>

namespace droplab::agent {
namespace {

using nlohmann::json;

// Peer bytes end up in error messages and logs: keep them printable ASCII.
std::string printable(std::string_view s, std::size_t max = 80) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string shown(const json& v) {
  return printable(v.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Strips nlohmann's "[json.exception.parse_error.101] " prefix.
std::string parse_reason(const json::exception& e) {
  std::string_view w = e.what();
  if (auto p = w.find("] "); w.starts_with("[json.exception") && p != std::string_view::npos) {
    w.remove_prefix(p + 2);
  }
  return printable(w, 200);
}

// Limits nesting (a deep body could exhaust the stack of a recursive
// consumer) and rejects duplicate keys (two readers could disagree on which
// one counts).
class StrictCallback {
public:
  bool operator()(int depth, json::parse_event_t ev, json& parsed) {
    switch (ev) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      if (depth >= kMaxDepth) {
        throw ProtocolError(fmt::format("frame body nests deeper than {} levels", kMaxDepth));
      }
      keys_.emplace_back();
      break;
    case json::parse_event_t::object_end:
    case json::parse_event_t::array_end:
      if (!keys_.empty()) keys_.pop_back();
      break;
    case json::parse_event_t::key:
      if (!keys_.empty() && !keys_.back().insert(parsed.get<std::string>()).second) {
        throw ProtocolError("frame body has a duplicate key \"" +
                            printable(parsed.get<std::string>()) + "\"");
      }
      break;
    case json::parse_event_t::value: break;
    }
    return true;
  }

private:
  std::vector<std::set<std::string>> keys_;
};

class Checker {
public:
  Checker(const json& msg, std::string what) : msg_(msg), what_(std::move(what)) {}

  void only(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, _] : msg_.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed)
          list += (list.empty() ? "" : ", ") + std::string(a);
        throw ProtocolError(
            fmt::format("{}: unknown key /{} (allowed: {})", what_, printable(key), list));
      }
    }
  }
  const json& need(const char* key) const {
    auto it = msg_.find(key);
    if (it == msg_.end()) throw ProtocolError(fmt::format("{}: missing key /{}", what_, key));
    return *it;
  }
  bool has(const char* key) const { return msg_.contains(key); }
  [[noreturn]] void bad(const char* key, std::string_view want, const json& v) const {
    throw ProtocolError(fmt::format("{}: /{}: must be {}, got {}", what_, key, want, shown(v)));
  }
  std::uint64_t u64(const char* key) const {
    const json& v = need(key);
    // Parsed text gives unsigned for n >= 0; a json built in code may hold a signed one.
    bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
    if (!ok) bad(key, "an unsigned integer", v);
    return v.get<std::uint64_t>();
  }
  std::string str(const char* key) const {
    const json& v = need(key);
    if (!v.is_string()) bad(key, "a string", v);
    return v.get<std::string>();
  }
  std::optional<std::string> opt_str(const char* key) const {
    if (!has(key)) return std::nullopt;
    return str(key);
  }
  bool boolean(const char* key) const {
    const json& v = need(key);
    if (!v.is_boolean()) bad(key, "true or false", v);
    return v.get<bool>();
  }
  const json& object(const char* key) const {
    const json& v = need(key);
    if (!v.is_object()) bad(key, "an object", v);
    return v;
  }

private:
  const json& msg_;
  std::string what_;
};

const char* side_name(Side s) {
  return s == Side::controller ? "controller" : "agent";
}

} // namespace

std::string encode_frame(const json& msg, std::uint32_t max_message) {
  if (!msg.is_object()) throw ProtocolError("a message must be a JSON object");
  std::string body;
  try {
    body = msg.dump();
  } catch (const json::type_error& e) { // invalid UTF-8 in a string
    throw ProtocolError("message cannot be encoded: " + parse_reason(e));
  }
  if (body.size() > max_message) {
    throw ProtocolError(fmt::format("message of {} bytes exceeds the maximum of {} bytes",
                                    body.size(), max_message));
  }
  auto n = static_cast<std::uint32_t>(body.size());
  std::string frame;
  frame.reserve(4 + body.size());
  frame += static_cast<char>((n >> 24) & 0xff);
  frame += static_cast<char>((n >> 16) & 0xff);
  frame += static_cast<char>((n >> 8) & 0xff);
  frame += static_cast<char>(n & 0xff);
  frame += body;
  return frame;
}

void FrameDecoder::feed(std::string_view bytes) {
  // Drop consumed frames before growing, so the buffer stays about one frame.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= 64 * 1024)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

std::uint32_t FrameDecoder::expected() const {
  if (pending() < 4) return 0;
  auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(buf_[pos_ + i]));
  };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

std::optional<json> FrameDecoder::next() {
  if (pending() < 4) return std::nullopt;
  std::uint32_t n = expected();
  if (n == 0) throw ProtocolError("frame length 0 (must be 1.." + std::to_string(max_) + ")");
  if (n > max_) {
    throw ProtocolError(fmt::format("frame length {} exceeds the maximum of {} bytes", n, max_));
  }
  if (pending() < 4 + std::size_t{n}) return std::nullopt;
  const char* body = buf_.data() + pos_ + 4;
  pos_ += 4 + std::size_t{n};
  json msg;
  try {
    msg = json::parse(body, body + n, StrictCallback{}, true, false);
  } catch (const json::exception& e) { // parse_error, and out_of_range for 1e999
    throw ProtocolError("frame body is not valid JSON: " + parse_reason(e));
  }
  if (!msg.is_object()) {
    throw ProtocolError(fmt::format("frame body is a JSON {}, not an object", msg.type_name()));
  }
  return msg;
}

MessageType message_type(const json& msg) {
  auto it = msg.find("type");
  if (it == msg.end()) {
    throw ProtocolError("message has no /type (allowed: hello, request, response)");
  }
  if (*it == "hello") return MessageType::hello;
  if (*it == "request") return MessageType::request;
  if (*it == "response") return MessageType::response;
  throw ProtocolError("/type: must be hello, request or response, got " + shown(*it));
}

void to_json(json& j, const Hello& h) {
  j = json{{"type", "hello"}, {"protocol", h.protocol}, {"version", h.version}};
  if (h.host) j["host"] = *h.host;
  if (h.kernel) j["kernel"] = *h.kernel;
  if (h.agent_version) j["agent_version"] = *h.agent_version;
  if (h.error) j["error"] = *h.error;
}

void to_json(json& j, const Request& r) {
  j = json{{"type", "request"}, {"id", r.id}, {"op", r.op}, {"args", r.args}};
}

void to_json(json& j, const Response& r) {
  j = json{{"type", "response"}, {"id", r.id}, {"ok", r.ok}};
  if (r.ok) {
    j["result"] = r.result;
  } else {
    j["error"] = r.error;
  }
}

Hello parse_hello(const json& msg, Side from) {
  Checker c(msg, fmt::format("hello from {}", side_name(from)));
  if (from == Side::controller) {
    c.only({"type", "protocol", "version"});
  } else {
    c.only({"type", "protocol", "version", "host", "kernel", "agent_version", "error"});
  }
  if (c.str("type") != "hello") c.bad("type", "\"hello\"", msg.at("type"));
  Hello h;
  h.protocol = c.str("protocol");
  if (h.protocol != kProtocolName) {
    throw ProtocolError(
        fmt::format("hello from {}: /protocol: \"{}\" is not \"{}\" (not a droplab agent peer)",
                    side_name(from), printable(h.protocol), kProtocolName));
  }
  h.version = c.u64("version");
  if (from == Side::agent) {
    h.host = c.opt_str("host");
    h.kernel = c.opt_str("kernel");
    h.agent_version = c.opt_str("agent_version");
    h.error = c.opt_str("error");
  }
  return h;
}

Request parse_request(const json& msg) {
  Checker c(msg, "request");
  c.only({"type", "id", "op", "args"});
  if (c.str("type") != "request") c.bad("type", "\"request\"", msg.at("type"));
  Request r;
  r.id = c.u64("id");
  r.op = c.str("op");
  if (r.op.empty()) c.bad("op", "an operation name", msg.at("op"));
  r.args = c.object("args");
  return r;
}

Response parse_response(const json& msg) {
  Checker c(msg, "response");
  Response r;
  if (c.str("type") != "response") c.bad("type", "\"response\"", msg.at("type"));
  r.id = c.u64("id");
  r.ok = c.boolean("ok");
  if (r.ok) {
    c.only({"type", "id", "ok", "result"});
    r.result = c.object("result");
  } else {
    c.only({"type", "id", "ok", "error"});
    r.error = c.str("error");
  }
  return r;
}

std::optional<std::string> version_mismatch(const Hello& peer, Side from) {
  if (peer.version == kProtocolVersion) return std::nullopt;
  return fmt::format("{} speaks protocol version {}, this {} speaks version {}", side_name(from),
                     peer.version, from == Side::controller ? "agent" : "controller",
                     kProtocolVersion);
}

} // namespace droplab::agent

// The droplab agent's wire protocol: length-prefixed JSON frames and the three
// message shapes, validated strictly (unknown keys are errors).
//
// Frame:    4-byte big-endian length N, 1 <= N <= kMaxMessage, then N bytes of
//           UTF-8 JSON holding one object (nesting at most kMaxDepth levels,
//           no duplicate keys).
// hello:    {"type":"hello","protocol":"droplab-agent","version":1}
//           The controller speaks first; the agent answers with the same keys
//           plus "host", "kernel", "agent_version", and "error" when it refuses
//           the session (version mismatch), after which it closes.
// request:  {"type":"request","id":<u64>,"op":"<name>","args":{...}}
// response: {"type":"response","id":<u64>,"ok":true,"result":{...}}
//           {"type":"response","id":<u64>,"ok":false,"error":"..."}
// One request at a time: the controller waits for the response to id N
// before it sends another.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace droplab::agent {

inline constexpr std::uint32_t kMaxMessage = 1u << 20; // 1 MiB (binary)
inline constexpr int kMaxDepth = 32;
inline constexpr std::uint64_t kProtocolVersion = 1;
inline constexpr std::string_view kProtocolName = "droplab-agent";

// A peer broke the protocol: the connection is closed after it.
class ProtocolError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Serialises `msg` (an object) into one frame. Throws ProtocolError if it is
// not an object or does not fit kMaxMessage.
std::string encode_frame(const nlohmann::json& msg, std::uint32_t max_message = kMaxMessage);

// Incremental decoder: feed() the bytes as they arrive, then take complete
// messages with next() until it returns nullopt. After a ProtocolError the
// decoder is spent and the connection must be closed.
class FrameDecoder {
public:
  explicit FrameDecoder(std::uint32_t max_message = kMaxMessage) : max_(max_message) {}

  void feed(std::string_view bytes);
  // The next complete message, or nullopt when more bytes are needed. Throws
  // ProtocolError for a length of 0 or above the maximum (as soon as the 4
  // length bytes are in, before the body), a body that is not valid UTF-8
  // JSON, a non-object, too deep nesting or a duplicate key.
  std::optional<nlohmann::json> next();
  // Bytes of an unfinished frame: non-zero at EOF means a truncated frame.
  std::size_t pending() const { return buf_.size() - pos_; }
  // The length of the frame being received, 0 while its prefix is incomplete.
  std::uint32_t expected() const;

private:
  std::uint32_t max_;
  std::string buf_;
  std::size_t pos_ = 0; // start of the first unconsumed frame in buf_
};

enum class MessageType { hello, request, response };
enum class Side { controller, agent };

// The "type" of a decoded message. Throws ProtocolError if it is missing or
// not one of hello, request, response.
MessageType message_type(const nlohmann::json& msg);

struct Hello {
  std::string protocol{kProtocolName};
  std::uint64_t version = kProtocolVersion;
  // Sent by the agent only.
  std::optional<std::string> host;
  std::optional<std::string> kernel;
  std::optional<std::string> agent_version;
  std::optional<std::string> error; // the agent refuses the session
};

struct Request {
  std::uint64_t id = 0;
  std::string op;
  nlohmann::json args = nlohmann::json::object();
};

struct Response {
  std::uint64_t id = 0;
  bool ok = true;
  nlohmann::json result = nlohmann::json::object(); // ok only
  std::string error;                                // !ok only
};

void to_json(nlohmann::json& j, const Hello& h);
void to_json(nlohmann::json& j, const Request& r);
void to_json(nlohmann::json& j, const Response& r);

// Strict validation of each shape: required keys, their types, no other keys
// (the agent-only hello keys are unknown keys from a controller). Throws
// ProtocolError naming the message, the JSON path and what is allowed.
// parse_hello does not compare versions (see version_mismatch).
Hello parse_hello(const nlohmann::json& msg, Side from);
Request parse_request(const nlohmann::json& msg);
Response parse_response(const nlohmann::json& msg);

// nullopt when `peer` (sent by `from`) speaks our protocol version; otherwise
// the reason, naming both versions.
std::optional<std::string> version_mismatch(const Hello& peer, Side from);

} // namespace droplab::agent

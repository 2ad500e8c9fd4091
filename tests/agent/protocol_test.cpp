// Framing and message validation, no I/O.
#include "protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace droplab::agent {
namespace {

using nlohmann::json;

std::string be32(std::uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
          static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}
std::string raw_frame(const std::string& body) {
  return be32(static_cast<std::uint32_t>(body.size())) + body;
}

// Decodes all of `bytes` fed in one piece; the messages or the error text.
std::vector<json> decode_all(const std::string& bytes, std::string& error,
                             std::uint32_t max = kMaxMessage) {
  FrameDecoder d(max);
  std::vector<json> out;
  try {
    d.feed(bytes);
    while (auto m = d.next())
      out.push_back(*m);
  } catch (const ProtocolError& e) {
    error = e.what();
  }
  return out;
}

TEST(FrameCodec, RoundTrip) {
  json msg = {{"type", "request"}, {"id", 7}, {"op", "echo"}, {"args", {{"x", "é"}}}};
  std::string error;
  auto out = decode_all(encode_frame(msg), error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], msg);
}

TEST(FrameCodec, FramesSplitAcrossFeedsAtEveryByte) {
  std::string bytes =
      encode_frame(json{{"a", 1}}) + encode_frame(json{{"b", std::string(300, 'x')}});
  FrameDecoder d;
  std::vector<json> out;
  for (char c : bytes) {
    d.feed(std::string_view(&c, 1));
    while (auto m = d.next())
      out.push_back(*m);
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["a"], 1);
  EXPECT_EQ(out[1]["b"].get<std::string>().size(), 300u);
  EXPECT_EQ(d.pending(), 0u);
}

TEST(FrameCodec, PendingAndExpectedDescribeAPartialFrame) {
  std::string f = encode_frame(json{{"a", 1}});
  FrameDecoder d;
  d.feed(f.substr(0, 2));
  EXPECT_EQ(d.expected(), 0u);
  EXPECT_FALSE(d.next());
  d.feed(f.substr(2, 5));
  EXPECT_EQ(d.pending(), 7u);
  EXPECT_EQ(d.expected(), f.size() - 4);
  EXPECT_FALSE(d.next());
}

TEST(FrameCodec, MaximumSizeIsAcceptedOneMoreIsNot) {
  // {"p":"xxx..."} is 8 bytes of syntax around the string.
  json at_max = {{"p", std::string(kMaxMessage - 8, 'x')}};
  std::string frame = encode_frame(at_max);
  EXPECT_EQ(frame.size(), 4 + std::size_t{kMaxMessage});
  std::string error;
  EXPECT_EQ(decode_all(frame, error).size(), 1u);
  EXPECT_EQ(error, "");

  json over = {{"p", std::string(kMaxMessage - 7, 'x')}};
  EXPECT_THROW(encode_frame(over), ProtocolError);
  // The decoder refuses an oversized length from the prefix alone, before any body.
  FrameDecoder d;
  d.feed(be32(kMaxMessage + 1));
  try {
    d.next();
    FAIL() << "no error";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(std::string(e.what()), "frame length 1048577 exceeds the maximum of 1048576 bytes");
  }
}

struct BadFrame {
  const char* name;
  std::string bytes;
  const char* error_contains;
};

TEST(FrameCodec, BadFramesAreProtocolErrors) {
  const BadFrame cases[] = {
      {.name = "zero length",
       .bytes = be32(0) + "{}",
       .error_contains = "frame length 0 (must be 1..1048576)"},
      {.name = "HTTP request",
       .bytes = "GET / HTTP/1.1\r\n\r\n",
       .error_contains = "exceeds the maximum"},
      {.name = "all ones",
       .bytes = std::string(8, '\xff'),
       .error_contains = "frame length 4294967295"},
      {.name = "not JSON", .bytes = raw_frame("hello world"), .error_contains = "not valid JSON"},
      {.name = "truncated JSON", .bytes = raw_frame("{\"a\":"), .error_contains = "not valid JSON"},
      {.name = "trailing bytes", .bytes = raw_frame("{} x"), .error_contains = "not valid JSON"},
      {.name = "two values", .bytes = raw_frame("{}{}"), .error_contains = "not valid JSON"},
      {.name = "array",
       .bytes = raw_frame("[1,2]"),
       .error_contains = "frame body is a JSON array, not an object"},
      {.name = "string",
       .bytes = raw_frame("\"s\""),
       .error_contains = "JSON string, not an object"},
      {.name = "number", .bytes = raw_frame("42"), .error_contains = "JSON number, not an object"},
      {.name = "null", .bytes = raw_frame("null"), .error_contains = "JSON null, not an object"},
      {.name = "invalid UTF-8",
       .bytes = raw_frame("{\"a\":\"\xc3\x28\"}"),
       .error_contains = "not valid JSON"},
      {.name = "lone surrogate",
       .bytes = raw_frame("{\"a\":\"\\ud800\"}"),
       .error_contains = "not valid JSON"},
      {.name = "number overflow (found by fuzzing)",
       .bytes = raw_frame("{\"a\":22222222E2211111}"),
       .error_contains = "not valid JSON: number overflow"},
      {.name = "comment", .bytes = raw_frame("{/* c */}"), .error_contains = "not valid JSON"},
      {.name = "too deep",
       .bytes = raw_frame(std::string(40, '[') + std::string(40, ']')),
       .error_contains = "nests deeper than 32 levels"},
      {.name = "too deep in object",
       .bytes = raw_frame("{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}"),
       .error_contains = "nests deeper"},
      {.name = "duplicate key",
       .bytes = raw_frame(R"({"type":"request","type":"hello"})"),
       .error_contains = "duplicate key \"type\""},
      {.name = "nested duplicate key",
       .bytes = raw_frame(R"({"a":{"k":1,"k":2}})"),
       .error_contains = "duplicate key"},
  };
  for (const auto& c : cases) {
    std::string error;
    auto out = decode_all(c.bytes, error);
    EXPECT_TRUE(out.empty()) << c.name;
    EXPECT_NE(error.find(c.error_contains), std::string::npos) << c.name << ": " << error;
  }
}

TEST(FrameCodec, SameKeyInSiblingObjectsIsFine) {
  std::string error;
  auto out = decode_all(raw_frame(R"({"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]})"), error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(out.size(), 1u);
}

TEST(FrameCodec, ErrorTextIsPrintable) {
  std::string error;
  decode_all(raw_frame("\x01\x02\xff\xfe"), error);
  ASSERT_NE(error, "");
  for (char c : error)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << error;
}

TEST(FrameCodec, EncodeRejectsNonObjectsAndInvalidUtf8) {
  EXPECT_THROW(encode_frame(json::array()), ProtocolError);
  EXPECT_THROW(encode_frame(json{{"s", std::string("\xff")}}), ProtocolError);
}

TEST(FrameCodec, ValidFrameAfterBadOneIsNeverReached) {
  std::string error;
  auto out = decode_all(raw_frame("nope") + encode_frame(json{{"a", 1}}), error);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(error, "");
}

// --- message shapes ---

struct BadMessage {
  const char* name;
  json msg;
  const char* error_contains;
};

TEST(Messages, ValidShapesParse) {
  Hello c = parse_hello(json{{"type", "hello"}, {"protocol", "droplab-agent"}, {"version", 1}},
                        Side::controller);
  EXPECT_EQ(c.version, 1u);
  EXPECT_FALSE(c.host);

  json agent_hello = Hello{.host = "h", .kernel = "6.18", .agent_version = "0.1.0"};
  Hello a = parse_hello(agent_hello, Side::agent);
  EXPECT_EQ(a.host, "h");
  EXPECT_EQ(a.kernel, "6.18");
  EXPECT_EQ(a.agent_version, "0.1.0");
  EXPECT_FALSE(a.error);

  Request r =
      parse_request(json(Request{.id = 18446744073709551615ULL, .op = "echo", .args = {{"x", 1}}}));
  EXPECT_EQ(r.id, 18446744073709551615ULL);
  EXPECT_EQ(r.op, "echo");
  EXPECT_EQ(r.args["x"], 1);

  Response ok = parse_response(json(Response{.id = 3, .result = {{"v", 2}}}));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.result["v"], 2);
  Response err = parse_response(json(Response{.id = 4, .ok = false, .error = "nope"}));
  EXPECT_FALSE(err.ok);
  EXPECT_EQ(err.error, "nope");
  EXPECT_EQ(json(Response{.id = 4, .ok = false, .error = "nope"}).dump(),
            R"({"error":"nope","id":4,"ok":false,"type":"response"})");
}

TEST(Messages, MessageTypeIsChecked) {
  EXPECT_EQ(message_type(json{{"type", "hello"}}), MessageType::hello);
  EXPECT_EQ(message_type(json{{"type", "request"}}), MessageType::request);
  EXPECT_EQ(message_type(json{{"type", "response"}}), MessageType::response);
  EXPECT_THROW(message_type(json::object()), ProtocolError);
  EXPECT_THROW(message_type(json{{"type", "shell"}}), ProtocolError);
  EXPECT_THROW(message_type(json{{"type", 1}}), ProtocolError);
}

TEST(Messages, BadHellosFromTheController) {
  const json base = {{"type", "hello"}, {"protocol", "droplab-agent"}, {"version", 1}};
  auto with = [&](const char* k, json v) {
    json m = base;
    m[k] = std::move(v);
    return m;
  };
  auto without = [&](const char* k) {
    json m = base;
    m.erase(k);
    return m;
  };
  const BadMessage cases[] = {
      {.name = "unknown key",
       .msg = with("shell", "rm -rf /"),
       .error_contains =
           "hello from controller: unknown key /shell (allowed: type, protocol, version)"},
      {.name = "agent-only key", .msg = with("host", "x"), .error_contains = "unknown key /host"},
      {.name = "other protocol",
       .msg = with("protocol", "ssh"),
       .error_contains = "/protocol: \"ssh\" is not \"droplab-agent\""},
      {.name = "no version", .msg = without("version"), .error_contains = "missing key /version"},
      {.name = "negative version",
       .msg = with("version", -1),
       .error_contains = "/version: must be an unsigned integer, got -1"},
      {.name = "string version",
       .msg = with("version", "1"),
       .error_contains = "/version: must be an unsigned"},
      {.name = "float version",
       .msg = with("version", 1.0),
       .error_contains = "/version: must be an unsigned"},
      {.name = "no protocol",
       .msg = without("protocol"),
       .error_contains = "missing key /protocol"},
  };
  for (const auto& c : cases) {
    try {
      parse_hello(c.msg, Side::controller);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(c.error_contains), std::string::npos)
          << c.name << ": " << e.what();
    }
  }
}

TEST(Messages, BadRequests) {
  const json base = {{"type", "request"}, {"id", 1}, {"op", "echo"}, {"args", json::object()}};
  auto with = [&](const char* k, json v) {
    json m = base;
    m[k] = std::move(v);
    return m;
  };
  auto without = [&](const char* k) {
    json m = base;
    m.erase(k);
    return m;
  };
  const BadMessage cases[] = {
      {.name = "unknown key",
       .msg = with("cmd", "sh"),
       .error_contains = "request: unknown key /cmd (allowed: type, id, op, args)"},
      {.name = "no id", .msg = without("id"), .error_contains = "request: missing key /id"},
      {.name = "negative id",
       .msg = with("id", -5),
       .error_contains = "/id: must be an unsigned integer, got -5"},
      {.name = "string id",
       .msg = with("id", "1"),
       .error_contains = "/id: must be an unsigned integer"},
      {.name = "no op", .msg = without("op"), .error_contains = "missing key /op"},
      {.name = "empty op",
       .msg = with("op", ""),
       .error_contains = "/op: must be an operation name"},
      {.name = "op array",
       .msg = with("op", json::array({"sh", "-c"})),
       .error_contains = "/op: must be a string"},
      {.name = "no args", .msg = without("args"), .error_contains = "missing key /args"},
      {.name = "args array",
       .msg = with("args", json::array()),
       .error_contains = "/args: must be an object"},
      {.name = "wrong type",
       .msg = with("type", "response"),
       .error_contains = "/type: must be \"request\""},
  };
  for (const auto& c : cases) {
    try {
      parse_request(c.msg);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(c.error_contains), std::string::npos)
          << c.name << ": " << e.what();
    }
  }
}

TEST(Messages, BadResponses) {
  const BadMessage cases[] = {
      {.name = "ok with error",
       .msg = {{"type", "response"},
               {"id", 1},
               {"ok", true},
               {"result", json::object()},
               {"error", "x"}},
       .error_contains = "unknown key /error (allowed: type, id, ok, result)"},
      {.name = "error with result",
       .msg = {{"type", "response"},
               {"id", 1},
               {"ok", false},
               {"error", "x"},
               {"result", json::object()}},
       .error_contains = "unknown key /result (allowed: type, id, ok, error)"},
      {.name = "ok without result",
       .msg = {{"type", "response"}, {"id", 1}, {"ok", true}},
       .error_contains = "missing key /result"},
      {.name = "ok as string",
       .msg = {{"type", "response"}, {"id", 1}, {"ok", "yes"}, {"result", json::object()}},
       .error_contains = "/ok: must be true or false"},
      {.name = "result array",
       .msg = {{"type", "response"}, {"id", 1}, {"ok", true}, {"result", json::array()}},
       .error_contains = "/result: must be an object"},
      {.name = "error number",
       .msg = {{"type", "response"}, {"id", 1}, {"ok", false}, {"error", 3}},
       .error_contains = "/error: must be a string"},
  };
  for (const auto& c : cases) {
    try {
      parse_response(c.msg);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(c.error_contains), std::string::npos)
          << c.name << ": " << e.what();
    }
  }
}

TEST(Messages, VersionMismatchNamesBothVersions) {
  EXPECT_FALSE(version_mismatch(Hello{}, Side::controller));
  EXPECT_EQ(version_mismatch(Hello{.version = 2}, Side::controller),
            "controller speaks protocol version 2, this agent speaks version 1");
  EXPECT_EQ(version_mismatch(Hello{.version = 0}, Side::agent),
            "agent speaks protocol version 0, this controller speaks version 1");
}

} // namespace
} // namespace droplab::agent

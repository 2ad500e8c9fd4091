// libFuzzer target: FrameDecoder and the message validators on arbitrary
// bytes. The first byte picks how the rest is cut into feeds and the maximum
// frame size; everything else is the stream. Anything but a ProtocolError
// escaping, a sanitizer report, or a broken round trip is a finding.
// Built and run by fuzz.sh (clang++-14 -fsanitize=fuzzer,address,undefined).
#include "protocol.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using droplab::agent::FrameDecoder;
using nlohmann::json;
namespace agent = droplab::agent;

void check(bool ok) {
  if (!ok) std::abort();
}

// A message that validates must survive encode -> decode unchanged.
json round_trip(const json& m) {
  FrameDecoder d;
  d.feed(agent::encode_frame(m));
  auto back = d.next();
  check(back.has_value() && d.pending() == 0);
  return *back;
}

void validate(const json& m) {
  check(m.is_object());
  check(round_trip(m) == m); // whatever the decoder accepts, we can send back
  try {
    switch (agent::message_type(m)) {
    case agent::MessageType::hello:
      for (auto side : {agent::Side::controller, agent::Side::agent}) {
        try {
          agent::Hello h = agent::parse_hello(m, side);
          (void)agent::version_mismatch(h, side);
          agent::Hello again = agent::parse_hello(round_trip(json(h)), side);
          check(again.version == h.version && again.host == h.host && again.error == h.error);
        } catch (const agent::ProtocolError&) {
        }
      }
      break;
    case agent::MessageType::request: {
      agent::Request r = agent::parse_request(m);
      agent::Request again = agent::parse_request(round_trip(json(r)));
      check(again.id == r.id && again.op == r.op && again.args == r.args);
      break;
    }
    case agent::MessageType::response: {
      agent::Response r = agent::parse_response(m);
      agent::Response again = agent::parse_response(round_trip(json(r)));
      check(again.id == r.id && again.ok == r.ok && again.result == r.result &&
            again.error == r.error);
      break;
    }
    }
  } catch (const agent::ProtocolError&) {
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  // High bit: a 64-byte maximum, so the oversize paths are reached with short inputs.
  FrameDecoder d((mode & 0x80) != 0 ? 64 : agent::kMaxMessage);
  // Low bits: feeds of 1..16 bytes, or 0x40: all at once.
  std::size_t chunk = (mode & 0x40) != 0 ? in.size() : std::size_t{(mode & 0x0fu) + 1u};
  if (chunk == 0) chunk = 1;
  try {
    while (!in.empty()) {
      std::string_view part = in.substr(0, chunk);
      in.remove_prefix(part.size());
      d.feed(part);
      while (auto m = d.next())
        validate(*m);
    }
  } catch (const agent::ProtocolError&) {
  }
  return 0;
}

#include "droplab/dropreason/trace_line.hpp"

namespace droplab::dropreason {

std::optional<TraceLineEvent> parse_kfree_skb_trace_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.remove_suffix(1);
  const std::size_t event = line.find(" kfree_skb: ");
  if (event == std::string_view::npos) return std::nullopt;
  std::string_view fields = line.substr(event + 12);

  constexpr std::string_view kLocation = "location=";
  const std::size_t loc = fields.find(kLocation);
  if (loc == std::string_view::npos) return std::nullopt;
  std::string_view location = fields.substr(loc + kLocation.size());
  location = location.substr(0, location.find(' '));
  // %pS prints "sym+0xoff/0xsize": keep "sym+0xoff", the form the BPF path resolves to.
  if (const std::size_t slash = location.find('/'); slash != std::string_view::npos)
    location = location.substr(0, slash);
  if (location.empty()) return std::nullopt;

  TraceLineEvent out{std::string(location), {}};
  constexpr std::string_view kReason = " reason: ";
  if (const std::size_t r = fields.find(kReason); r != std::string_view::npos) {
    std::string_view reason = fields.substr(r + kReason.size());
    reason = reason.substr(0, reason.find(' '));
    out.reason = std::string(reason);
  }
  return out;
}

} // namespace droplab::dropreason

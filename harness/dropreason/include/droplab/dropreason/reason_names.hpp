// Drop-reason names as the running kernel prints them (the tracepoint format), never a
// hard-coded table: enum skb_drop_reason is renumbered between kernel versions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace droplab::dropreason {

inline constexpr const char* kKfreeSkbFormatPath =
    "/sys/kernel/tracing/events/skb/kfree_skb/format";

// Parses the `__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, …)` list of a kfree_skb
// format file into id → name. Throws ParseError naming `origin` on malformed text, and with
// "unavailable: this kernel's kfree_skb has no reason" when the event has no reason
// (before 5.17) or prints it with unexpanded enum names (the symbol table is then unknown).
std::map<std::uint32_t, std::string> parse_kfree_skb_reasons(std::string_view format_text,
                                                             std::string_view origin);

// Reads and parses kKfreeSkbFormatPath (or `path`). Throws std::system_error if unreadable.
std::map<std::uint32_t, std::string>
read_kfree_skb_reasons(const std::string& path = kKfreeSkbFormatPath);

} // namespace droplab::dropreason

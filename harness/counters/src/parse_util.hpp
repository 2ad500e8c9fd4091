// Tokenising helpers shared by the /proc parsers (internal to droplab_counters).
#pragma once

#include "droplab/counters/parse_error.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace droplab::counters::detail {

// Lines of `text` without their '\n'; a final line without '\n' is kept, a trailing
// empty one is not.
std::vector<std::string_view> split_lines(std::string_view text);
// Whitespace-separated tokens.
std::vector<std::string_view> split_ws(std::string_view line);
std::string_view trim(std::string_view s);

// Whole-token unsigned parses; on failure throw ParseError(origin, line, "<what>: ...").
std::uint64_t parse_hex(std::string_view tok, std::string_view origin, std::size_t line,
                        std::string_view what);
std::uint64_t parse_dec(std::string_view tok, std::string_view origin, std::size_t line,
                        std::string_view what);

} // namespace droplab::counters::detail

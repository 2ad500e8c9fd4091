#include "parse_util.hpp"

#include <charconv>
#include <string>

namespace droplab::counters {

namespace detail {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

namespace {

std::uint64_t parse_base(std::string_view tok, int base, std::string_view origin, std::size_t line,
                         std::string_view what) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v, base);
  if (tok.empty() || ec != std::errc{} || end != tok.data() + tok.size()) {
    std::string msg = std::string(what) + ": \"" + std::string(tok) + "\" is not a";
    msg += base == 16 ? " hexadecimal" : " decimal";
    msg += ec == std::errc::result_out_of_range ? " number that fits 64 bits" : " number";
    throw ParseError(std::string(origin), line, msg);
  }
  return v;
}

} // namespace

std::uint64_t parse_hex(std::string_view tok, std::string_view origin, std::size_t line,
                        std::string_view what) {
  return parse_base(tok, 16, origin, line, what);
}

std::uint64_t parse_dec(std::string_view tok, std::string_view origin, std::size_t line,
                        std::string_view what) {
  return parse_base(tok, 10, origin, line, what);
}

} // namespace detail
} // namespace droplab::counters

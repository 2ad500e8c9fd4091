#include "droplab/dropreason/reason_names.hpp"

#include "droplab/dropreason/parse_error.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace droplab::dropreason {
namespace {

constexpr std::string_view kUnavailable = "unavailable: this kernel's kfree_skb has no reason";

void skip_space(std::string_view text, std::size_t& pos) {
  while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos])))
    ++pos;
}

[[noreturn]] void malformed(std::string_view origin, std::size_t pos, std::string_view what) {
  throw ParseError(std::string(origin), "malformed __print_symbolic list at byte " +
                                            std::to_string(pos) + ": " + std::string(what));
}

} // namespace

std::map<std::uint32_t, std::string> parse_kfree_skb_reasons(std::string_view text,
                                                             std::string_view origin) {
  if (text.find("print fmt:") == std::string_view::npos)
    throw ParseError(std::string(origin), "no \"print fmt:\" line (not a tracepoint format file)");
  // Before 5.17 the event has no reason field at all.
  if (text.find(" reason;") == std::string_view::npos)
    throw ParseError(std::string(origin), std::string(kUnavailable));

  constexpr std::string_view kOpen = "__print_symbolic(REC->reason,";
  std::size_t pos = text.find(kOpen);
  if (pos == std::string_view::npos)
    throw ParseError(std::string(origin), std::string(kUnavailable) +
                                              " name table (reason is not printed with "
                                              "__print_symbolic)");
  pos += kOpen.size();

  std::map<std::uint32_t, std::string> names;
  for (;;) {
    skip_space(text, pos);
    if (pos >= text.size()) malformed(origin, pos, "unterminated list");
    if (text[pos] == ')') break;
    if (text[pos] != '{') malformed(origin, pos, "expected '{' or ')'");
    ++pos;
    skip_space(text, pos);
    const std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) malformed(origin, pos, "expected ',' after the id");
    std::string_view id_text = text.substr(pos, comma - pos);
    while (!id_text.empty() && std::isspace(static_cast<unsigned char>(id_text.back())))
      id_text.remove_suffix(1);
    std::uint32_t id = 0;
    const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (id_text.empty() || ec != std::errc() || end != id_text.data() + id_text.size()) {
      // "{ SKB_DROP_REASON_NOT_SPECIFIED, … }": the enum was not evaluated to numbers, so the
      // ids the kernel emits cannot be matched to names.
      if (!id_text.empty() &&
          (std::isalpha(static_cast<unsigned char>(id_text[0])) || id_text[0] == '_'))
        throw ParseError(std::string(origin), std::string(kUnavailable) +
                                                  " ids (the format prints enum names such as " +
                                                  std::string(id_text) + " instead of numbers)");
      malformed(origin, pos, "id \"" + std::string(id_text) + "\" is not a number");
    }
    pos = comma + 1;
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] != '"') malformed(origin, pos, "expected a quoted name");
    const std::size_t close_quote = text.find('"', pos + 1);
    if (close_quote == std::string_view::npos) malformed(origin, pos, "unterminated name");
    std::string name(text.substr(pos + 1, close_quote - pos - 1));
    if (name.empty()) malformed(origin, pos, "empty name");
    pos = close_quote + 1;
    skip_space(text, pos);
    if (pos >= text.size() || text[pos] != '}') malformed(origin, pos, "expected '}'");
    ++pos;
    if (!names.emplace(id, std::move(name)).second)
      malformed(origin, pos, "id " + std::to_string(id) + " appears twice");
    skip_space(text, pos);
    if (pos < text.size() && text[pos] == ',')
      ++pos;
    else if (pos >= text.size())
      malformed(origin, pos, "unterminated list");
    else if (text[pos] != ')')
      malformed(origin, pos, "expected ',' or ')' after an entry");
  }
  if (names.empty()) malformed(origin, pos, "empty list");
  return names;
}

std::map<std::uint32_t, std::string> read_kfree_skb_reasons(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::system_error(errno, std::generic_category(), "open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_kfree_skb_reasons(ss.str(), path);
}

} // namespace droplab::dropreason

#include "droplab/dropreason/kallsyms.hpp"

#include "droplab/dropreason/parse_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace droplab::dropreason {
namespace {

// Past the last symbol, an address further than this is not attributed to it.
constexpr std::uint64_t kMaxOffset = 1u << 20;

std::string_view next_token(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const std::size_t end = rest.find_first_of(" \t");
  std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return token;
}

} // namespace

Kallsyms Kallsyms::parse(std::string_view text, std::string_view origin) {
  Kallsyms table;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;

    std::string_view rest = line;
    const std::string_view addr_text = next_token(rest);
    const std::string_view type = next_token(rest);
    const std::string_view name = next_token(rest);
    const std::string_view module = next_token(rest);
    std::uint64_t address = 0;
    const auto [end, ec] =
        std::from_chars(addr_text.data(), addr_text.data() + addr_text.size(), address, 16);
    if (ec != std::errc() || end != addr_text.data() + addr_text.size() || type.size() != 1 ||
        name.empty())
      throw ParseError(std::string(origin) + ":" + std::to_string(line_no),
                       "expected \"<hex address> <type> <name> [module]\", got \"" +
                           std::string(line) + "\"");
    if (address == 0) continue; // hidden by kptr_restrict
    std::string full(name);
    if (!module.empty()) full += " " + std::string(module);
    table.symbols_.push_back({address, std::move(full)});
  }
  std::stable_sort(table.symbols_.begin(), table.symbols_.end(),
                   [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
  return table;
}

Kallsyms Kallsyms::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::system_error(errno, std::generic_category(), "open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

const Kallsyms::Symbol* Kallsyms::find(std::uint64_t address) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                             [](std::uint64_t a, const Symbol& s) { return a < s.address; });
  if (it == symbols_.begin()) return nullptr;
  --it;
  if (std::next(it) == symbols_.end() && address - it->address > kMaxOffset) return nullptr;
  return &*it;
}

std::string Kallsyms::resolve(std::uint64_t address) const {
  const Symbol* sym = find(address);
  if (!sym) return fmt::format("{:#x}", address);
  return fmt::format("{}+{:#x}", sym->name, address - sym->address);
}

std::string Kallsyms::symbol_of(std::uint64_t address) const {
  const Symbol* sym = find(address);
  return sym ? sym->name : std::string();
}

} // namespace droplab::dropreason

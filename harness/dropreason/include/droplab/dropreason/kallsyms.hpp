// Kernel text addresses → "symbol+0xoff", from a sorted copy of /proc/kallsyms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::dropreason {

class Kallsyms {
public:
  struct Symbol {
    std::uint64_t address;
    std::string name; // "name" or "name [module]"
  };

  // Parses /proc/kallsyms text ("ffffffff81e425c0 T sk_skb_reason_drop [mod]"). Lines with
  // a zero address (kptr_restrict hides them) are skipped; throws ParseError on bad lines.
  static Kallsyms parse(std::string_view text, std::string_view origin);
  // Reads /proc/kallsyms. Throws std::system_error if unreadable.
  static Kallsyms load(const std::string& path = "/proc/kallsyms");

  // "symbol+0xoff" for the nearest symbol at or below `address`; "0x…" when there is none
  // (empty table, address below the first symbol, or more than 1 MiB past the last).
  std::string resolve(std::uint64_t address) const;
  // Name of the nearest symbol at or below `address`, empty when unresolvable.
  std::string symbol_of(std::uint64_t address) const;
  std::size_t size() const noexcept { return symbols_.size(); }

private:
  const Symbol* find(std::uint64_t address) const;
  std::vector<Symbol> symbols_; // sorted by address
};

} // namespace droplab::dropreason

// Packet counters of the rules of one nftables table, read inside a namespace through
// libnftables (`list table <family> <name>` with JSON output and handles). The
// ruleset text is never parsed: rules are rendered back from the JSON expressions
// only to tell a reader which rule a counter belongs to.
//
// Keys (<table> is the table name, <handle> the rule handle):
//   <role>.nft.<table>.<chain>.<handle>.{packets,bytes}   rules with a counter;
//       Counter::source ends in ", rule <chain>#<handle>: <rule text>"
//   <role>.nft.<table>.drop_packets   sum over the rules whose verdict is drop (or
//       reject); source lists those rules. Unavailable when a drop rule has no counter.
//       Packets dropped by a chain's `policy drop` are not counted by any rule: the
//       source says so when such a chain exists.
// An absent table, or libnftables failing, makes drop_packets unavailable with the
// error nft printed.
#pragma once

#include "droplab/counters/collector.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::counters {

struct NftRule {
  std::string chain;
  std::uint64_t handle = 0;
  std::optional<std::uint64_t> packets, bytes; // from its counter expression
  bool drops = false;                          // verdict drop or reject
  std::string text;                            // rendered from the JSON, for reports
};

struct NftTable {
  std::string family, name;
  std::vector<NftRule> rules;
  std::vector<std::string> policy_drop_chains; // base chains with `policy drop`
};

// Parses `nft -j -a list table` output (libnftables JSON schema 1). Objects of other
// tables are ignored. Throws ParseError(origin) for invalid JSON or a rule without
// chain/handle.
NftTable parse_nft_json(std::string_view json, const std::string& table_name,
                        const std::string& origin);

// Adds the keys above (pure).
void add_nft_counters(Snapshot& out, const std::string& role, const NftTable& table,
                      const std::string& source);

class NftCounterCollector final : public Collector {
public:
  NftCounterCollector(std::string role, std::string netns, std::string table_family,
                      std::string table_name);
  std::string name() const override;
  void collect(Snapshot& out) override;

private:
  std::string role_, netns_, family_, table_;
};

} // namespace droplab::counters

// nf_conntrack statistics of one namespace: /proc/net/stat/nf_conntrack (a header
// line of column names, then one row of hex values per possible CPU; the columns
// differ between kernels, so they are looked up by name) and
// /proc/sys/net/netfilter/nf_conntrack_count.
//
// Keys:
//   <role>.conntrack.cpu<N>.<name>  per row (32-bit, wrap_bits = 32)
//   <role>.conntrack.<name>         sum over the rows (sum_of the per-row keys)
//   <role>.conntrack.entries        gauge: the kernel prints the namespace's entry
//                                   count in every row, so it is taken once, not summed
//   <role>.conntrack.count          gauge from nf_conntrack_count
// Without nf_conntrack loaded the files are missing: <role>.conntrack.{drop,
// early_drop,insert_failed,invalid,count} are unavailable with the errno reason.
#pragma once

#include "droplab/counters/collector.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::counters {

struct ConntrackStat {
  std::vector<std::string> names;               // header, in file order
  std::vector<std::vector<std::uint32_t>> rows; // one per CPU row, names.size() each
};

// Throws ParseError(origin, line) for a missing header, a row whose column count
// differs from the header's, or a non-hex value.
ConntrackStat parse_nf_conntrack_stat(std::string_view text, std::string_view origin);

// Adds the per-row, summed and entries keys (pure).
void add_conntrack_counters(Snapshot& out, const std::string& role, const ConntrackStat& stat,
                            const std::string& source);

class ConntrackStatCollector final : public Collector {
public:
  ConntrackStatCollector(std::string role, std::string netns);
  std::string name() const override;
  void collect(Snapshot& out) override;

private:
  std::string role_, netns_;
};

} // namespace droplab::counters

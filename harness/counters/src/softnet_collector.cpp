#include "droplab/counters/collector.hpp"
#include "droplab/counters/netns.hpp"
#include "droplab/counters/parse_error.hpp"
#include "droplab/counters/softnet.hpp"

#include <cstdint>
#include <optional>
#include <utility>

namespace droplab::counters {

namespace {

struct Column {
  const char *name;
  std::optional<std::uint32_t> SoftnetRow::*member;
  const char *missing; // why a kernel may lack it
};

constexpr Column kColumns[] = {
    {"processed", &SoftnetRow::processed, ""},
    {"dropped", &SoftnetRow::dropped, ""},
    {"time_squeeze", &SoftnetRow::time_squeeze, ""},
    {"received_rps", &SoftnetRow::received_rps, ""},
    {"flow_limit_count", &SoftnetRow::flow_limit_count,
     "column 11 (flow_limit_count) not printed by kernels before 3.11"},
};

} // namespace

SoftnetCollector::SoftnetCollector(std::string role) : role_(std::move(role)) {}

std::string SoftnetCollector::name() const {
  return "softnet(" + role_ + ")";
}

void add_softnet_counters(Snapshot &out, const std::string &role,
                          const std::vector<SoftnetRow> &rows, const std::string &origin) {
  const std::string prefix = role + ".softnet.";
  if (rows.empty()) {
    for (const Column &c : kColumns)
      out.add_unavailable(prefix + c.name, origin, origin + " has no rows");
    return;
  }
  for (const Column &c : kColumns) {
    std::vector<std::string> parts;
    std::uint64_t total = 0;
    std::string missing_reason;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const SoftnetRow &row = rows[i];
      std::string key = prefix + "cpu" + std::to_string(row.cpu) + "." + c.name;
      std::string source =
          origin + " row " + std::to_string(i + 1) +
          (row.cpu_from_column ? " (CPU id from column 13)"
                               : " (CPU id = row index: no column 13 before 5.10)");
      if (auto v = row.*c.member) {
        out.add(key, std::move(source), *v).wrap_bits = 32;
        total += *v;
      } else {
        missing_reason = c.missing;
        out.add_unavailable(key, std::move(source), c.missing).wrap_bits = 32;
      }
      parts.push_back(std::move(key));
    }
    Counter &sum =
        missing_reason.empty()
            ? out.add(prefix + c.name, origin + " summed over CPUs", total)
            : out.add_unavailable(prefix + c.name, origin + " summed over CPUs", missing_reason);
    sum.sum_of = std::move(parts);
  }
}

void SoftnetCollector::collect(Snapshot &out) {
  // Host-wide whichever namespace reads it; read in the caller's.
  const std::string origin = proc_net_origin("", "softnet_stat");
  auto sums_unavailable = [&](const std::string &reason) {
    for (const Column &c : kColumns)
      out.add_unavailable(role_ + ".softnet." + c.name, origin, reason);
  };

  FileRead r = try_read_proc_net("", "softnet_stat");
  if (!r.text) return sums_unavailable(r.error);
  try {
    add_softnet_counters(out, role_, parse_softnet_stat(*r.text, origin), origin);
  } catch (const ParseError &e) {
    sums_unavailable(e.what());
  }
}

} // namespace droplab::counters

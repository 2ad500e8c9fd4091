// Parser for /proc/net/softnet_stat: one row per online CPU, 32-bit hex columns.
//
// The layout grew at the end over kernel versions (net/core/net-procfs.c,
// softnet_seq_show):
//   10 columns, < 3.11: processed dropped time_squeeze 0 0 0 0 0 cpu_collision received_rps
//   11 columns, 3.11-5.9: + flow_limit_count
//        (commit 99bbc70741903 "rps: selective flow shedding during softnet overflow")
//   13 columns, 5.10-6.3: + backlog_len, cpu id; col 9 cpu_collision is printed as 0
//        (commit 7d58e6555870d "net-sysfs: add backlog len and CPU id to softnet data";
//        backported to RHEL 8.5's 4.18.0-348)
//   15 columns, >= 6.4: + input_pkt_queue len, process_queue len
//        (commit 59da2d7b0e99c; checked on 6.18)
// Offline CPUs are skipped, so without column 13 the row index is only a guess at the
// CPU id. The file is host-wide whichever namespace reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace droplab::counters {

struct SoftnetRow {
  unsigned cpu = 0;             // column 13 when present, else the row index
  bool cpu_from_column = false; // false: `cpu` is the row index
  std::size_t columns = 0;      // how many columns the kernel printed
  // Columns the kernel did not print are nullopt (unavailable), never 0.
  std::optional<std::uint32_t> processed;        // col 1
  std::optional<std::uint32_t> dropped;          // col 2: backlog full, on the target CPU
  std::optional<std::uint32_t> time_squeeze;     // col 3
  std::optional<std::uint32_t> received_rps;     // col 10
  std::optional<std::uint32_t> flow_limit_count; // col 11, on the enqueuing CPU (>= 3.11)
  std::optional<std::uint32_t> backlog_len;      // col 12, a level (>= 5.10)
  std::optional<std::uint32_t> input_qlen;       // col 14, a level (>= 6.4)
  std::optional<std::uint32_t> process_qlen;     // col 15, a level (>= 6.4)
};

// Parses the whole file. Accepts 10, 11, 13 or >= 15 columns (later columns are
// ignored); all rows must have the same count. Throws ParseError naming `origin` and
// the line on any other count or a token that is not 32-bit hex.
std::vector<SoftnetRow> parse_softnet_stat(std::string_view text, std::string_view origin);

} // namespace droplab::counters

// The sink's report: typed structs serialized with nlohmann to_json (the
// harness reads these names), plus the human lines printed on stdout.
#pragma once

#include "droplab/sink/accounting.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace droplab::sink {

inline constexpr int kSchemaVersion = 1;

struct StallContext {
  double dur_s = 0;
  double every_s = 0;
};

struct Context {
  std::string kernel;
  unsigned cpus = 0;
  std::string backend;
  std::string backend_reason;
  std::string listen;
  std::optional<std::uint64_t> rcvbuf_requested;
  std::uint64_t rcvbuf_granted = 0;
  std::optional<std::uint64_t> rmem_max; // net.core.rmem_max: the cap on SO_RCVBUF
  std::optional<double> read_rate_pps;
  std::optional<StallContext> stall;
  unsigned batch = 0;
  std::uint64_t socket_inode = 0;
  std::int64_t pid = 0;
};

// One per --interval (1 s). received/lost/socket_drops are changes over the
// interval (lost can fall when a late packet fills a hole); the *_total
// fields are the running values. socket_drops comes from SO_MEMINFO, read
// each interval, so it moves during a stall too; nullopt = unavailable.
struct Interval {
  double t_s = 0; // end of the interval, seconds since reading started
  std::uint64_t received = 0;
  double pps = 0;
  std::int64_t lost = 0;
  std::optional<std::uint64_t> socket_drops;
  std::uint64_t received_total = 0;
  std::int64_t lost_total = 0;
  std::optional<std::uint64_t> socket_drops_total;
  bool stalled = false; // a --stall pause was in force when the interval ended
};

struct Summary {
  std::uint64_t received = 0; // datagrams read, all
  std::uint64_t valid = 0;
  std::uint64_t invalid = 0;
  std::int64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;
  std::uint64_t stale = 0;
  std::uint64_t bytes = 0;
  std::optional<std::uint64_t> socket_drops_rxq_ovfl; // last SO_RXQ_OVFL seen; nullopt = never
  std::optional<std::uint64_t> socket_drops_meminfo; // SO_MEMINFO at the end; nullopt = unavailable
  double duration_s = 0;
  std::string stopped_by; // "signal" | "duration"
  std::uint64_t drained_at_stop = 0;
  bool drain_complete = true; // false if the drain hit its time bound with data still arriving
};

struct FlowRow {
  std::uint16_t flow = 0;
  std::uint64_t received = 0;
  std::int64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;
  std::uint64_t stale = 0;
  std::optional<std::uint64_t> highest_seq;
};

struct Report {
  Context context;
  std::vector<Interval> intervals;
  Summary summary;
  std::vector<FlowRow> flows;
};

void to_json(nlohmann::json &j, const StallContext &s);
void to_json(nlohmann::json &j, const Context &c);
void to_json(nlohmann::json &j, const Interval &i);
void to_json(nlohmann::json &j, const Summary &s);
void to_json(nlohmann::json &j, const FlowRow &f);
// The whole report, with schema_version and tool.
void to_json(nlohmann::json &j, const Report &r);

// Fills summary counters and flow rows from the accounting.
void fill_counts(const Accounting &acc, Summary &s, std::vector<FlowRow> &flows);

// Human output (stdout).
void print_interval(std::FILE *out, const Interval &i);
void print_summary(std::FILE *out, const Report &r);

} // namespace droplab::sink

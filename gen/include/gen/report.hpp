// droplab-gen's report: typed structs serialized with nlohmann (the harness
// reads these field names: rename nothing, add freely) and the console lines
// printed from the same values. Zero values are written, never omitted.
#pragma once

#include "gen/flow_schedule.hpp"
#include "gen/pace.hpp"
#include "gen/spread.hpp"
#include "gen/tx_backend.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace droplab::gen {

inline constexpr int kSchemaVersion = 1;

// Errors keyed by errno name ("ENOBUFS"), sorted, zero counts kept.
using ErrorCounts = std::map<std::string, std::uint64_t>;

struct Context {
  std::string kernel;
  unsigned cpus = 0;
  std::string backend;
  std::string backend_reason;
  std::string dst;
  std::uint64_t size = 0;
  std::uint32_t flows = 0;
  std::uint32_t batch = 0;
  std::string rate_requested;               // as the user asked, e.g. "50.00 kpps"
  std::optional<double> requested_pps;      // null for --rate max
  double duration_limit_s = 0;              // the time bound actually in force
  std::optional<std::uint64_t> count_limit; // null without --count
  // Added with threads, shapes and the af_packet / io_uring backends.
  std::uint32_t threads = 1;
  std::vector<int> pinned_cpus; // thread i on pinned_cpus[i]; empty: not pinned
  std::string shape;            // "constant", "burst:32", "onoff:1ms/9ms", "poisson"
  std::string imix;             // "" for a fixed --size
  bool qdisc_bypass = false;
  bool zerocopy = false;
  std::string dev;                              // af_packet: the device written to; else ""
  std::string dst_mac;                          // af_packet: next hop's MAC ...
  std::string dst_mac_source;                   // ... and where it came from
  std::optional<std::uint64_t> link_speed_mbps; // of the route's device, when known
  // Added with UDP GSO: --gso as given, datagrams per buffer in force, and why.
  std::string gso_requested = "1";
  std::uint32_t gso_segments = 1;
  std::string gso_reason;
};

struct Interval {
  double t_s = 0;         // end of the interval, seconds since the start
  std::uint64_t sent = 0; // accepted in this interval
  double pps = 0;
  ErrorCounts errors;
};

// Where the send loops' time went (PaceTotals in seconds, summed over
// threads): what says why a run fell short of its requested rate.
struct Pace {
  double loop_s = 0;
  double cpu_s = 0;
  double in_send_s = 0;
  double send_blocked_s = 0;
  std::optional<double> cpu_wait_s; // null: unavailable on this kernel
};

struct Summary {
  std::uint64_t sent = 0;      // datagrams the kernel accepted
  std::uint64_t attempted = 0; // sent + failed
  ErrorCounts send_errors;
  std::uint64_t send_errors_total = 0;
  double duration_s = 0; // first accepted send to last accepted send
  double achieved_pps = 0;
  std::optional<double> requested_pps;
  std::optional<double> rate_error; // (achieved - requested) / requested
  std::uint64_t wire_bytes = 0;
  std::string stopped_by;     // "duration" (the time bound), "count" or "signal"
  Spread per_ms;              // packets handed to the kernel per millisecond
  BackendStats backend_stats; // summed over threads
  Pace pace;
  std::string backend_note;   // what a backend changed during the run (GSO fallback), or ""
};

struct ThreadReport {
  std::uint32_t thread = 0;
  std::optional<int> cpu; // null: not pinned
  std::uint32_t first_flow = 0;
  std::uint32_t flows = 0;
  std::uint64_t sent = 0;
  std::uint64_t attempted = 0;
  std::uint64_t send_errors_total = 0;
  ErrorCounts send_errors;
  double achieved_pps = 0;
  BackendStats backend_stats;
};

struct FlowReport {
  std::uint32_t flow = 0;
  std::uint16_t src_port = 0;
  std::uint64_t sent = 0;
  std::uint64_t next_seq = 0;
};

struct Report {
  int schema_version = kSchemaVersion;
  std::string tool = "droplab-gen";
  Context context;
  std::vector<Interval> intervals;
  Summary summary;
  std::vector<FlowReport> flows;
  std::vector<ThreadReport> threads;
};

void to_json(nlohmann::json& j, const Context& c);
void from_json(const nlohmann::json& j, Context& c);
void to_json(nlohmann::json& j, const Pace& p);
void from_json(const nlohmann::json& j, Pace& p);
void to_json(nlohmann::json& j, const Summary& s);
void from_json(const nlohmann::json& j, Summary& s);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Interval, t_s, sent, pps, errors)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FlowReport, flow, src_port, sent, next_seq)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Spread, ms, mean, stddev, cv, min, max)
void to_json(nlohmann::json& j, const ThreadReport& t);
void from_json(const nlohmann::json& j, ThreadReport& t);
void to_json(nlohmann::json& j, const Report& r);
void from_json(const nlohmann::json& j, Report& r);

// "ENOBUFS" for ENOBUFS; "errno 12345" for a value glibc has no name for.
std::string errno_name(int err);
ErrorCounts name_errors(const ErrnoCounts& by_errno);

// Raw totals of a run, in the units the send loop measures.
struct RunTotals {
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  ErrnoCounts errors;
  std::uint64_t first_send_ns = 0; // CLOCK_MONOTONIC of the first batch with an accepted datagram
  std::uint64_t last_send_ns = 0;  // ... and of the last one
  std::uint64_t first_batch_sent = 0; // datagrams accepted in that first batch
  std::string stopped_by;
  std::uint64_t wire_bytes = 0; // of the accepted datagrams (0: count sent * size)
  PaceTotals pace;
};

// Builds the summary. The achieved rate counts the datagrams after the first
// batch over first-to-last send time: the first batch's datagrams were due
// before the clock started, so counting them would overstate short runs.
Summary summarize(const RunTotals& t, double requested_pps, std::size_t wire_size);

// One console line per interval, e.g.
// "[   2.000 s] sent   100000  100.00 kpps  errors: ENOBUFS 12".
std::string format_interval(const Interval& i);
void print_summary(std::FILE* out, const Report& r);

} // namespace droplab::gen

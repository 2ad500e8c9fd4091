// The sink's report: typed structs serialized with nlohmann to_json (the
// harness reads these names), plus the human lines printed on stdout.
#pragma once

#include "droplab/sink/accounting.hpp"
#include "droplab/sink/histogram.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::sink {

inline constexpr int kSchemaVersion = 1;

struct StallContext {
  double dur_s = 0;
  double every_s = 0;
};

// One reader thread and its socket.
struct ReaderContext {
  unsigned index = 0;
  std::uint64_t socket_inode = 0;
  std::uint64_t rcvbuf_granted = 0;
  std::optional<unsigned> cpu; // pinned CPU; nullopt = not pinned
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
  std::uint64_t socket_inode = 0; // the first reader's
  std::int64_t pid = 0;
  bool rcvbuf_force = false;
  std::uint64_t work_ns = 0;
  std::optional<double> hang_after_s;
  unsigned threads = 1;
  std::vector<unsigned> pin_cpus;           // --cpus
  std::vector<std::uint64_t> socket_inodes; // every reader's, in reader order
  std::vector<ReaderContext> readers;
  // io_uring: datagrams its buffer ring holds out of the socket ahead of the reader.
  std::optional<unsigned> backend_ring_buffers;
  bool kernel_timestamps = true; // false: queue_ns cannot be measured (asio)
  bool gro = false;              // --gro: UDP_GRO on the sockets
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

// Per reader (socket) counts; the summary holds their totals.
struct ReaderRow {
  unsigned index = 0;
  std::uint64_t socket_inode = 0;
  std::uint64_t received = 0;
  std::int64_t lost = 0;
  std::optional<std::uint64_t> socket_drops_rxq_ovfl;
  std::optional<std::uint64_t> socket_drops_meminfo;
  std::uint64_t drained_at_stop = 0;
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
  // One-way latency (read time - sender's CLOCK_REALTIME stamp) and the part
  // of it spent queued in the socket (read time - SO_TIMESTAMPNS), ns.
  LatencySummary latency_ns;
  LatencySummary queue_ns;
  std::uint64_t latency_no_send_time = 0; // valid datagrams whose send time was 0
  std::uint64_t clock_behind = 0; // read time earlier than a send/receive time: not measured
  bool hung = false;              // --hang-after took effect
  std::optional<double> hung_at_s;
  std::vector<ReaderRow> readers;
  // --gro: reads that carried several coalesced datagrams, and those datagrams
  // (already counted one by one in received).
  std::uint64_t gro_buffers = 0;
  std::uint64_t gro_datagrams = 0;
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

void to_json(nlohmann::json& j, const StallContext& s);
void to_json(nlohmann::json& j, const ReaderContext& r);
void to_json(nlohmann::json& j, const ReaderRow& r);
void to_json(nlohmann::json& j, const LatencySummary& l);
void to_json(nlohmann::json& j, const Context& c);
void to_json(nlohmann::json& j, const Interval& i);
void to_json(nlohmann::json& j, const Summary& s);
void to_json(nlohmann::json& j, const FlowRow& f);
// The whole report, with schema_version and tool.
void to_json(nlohmann::json& j, const Report& r);

// Fills summary counters and flow rows from the accounting.
void fill_counts(const Accounting& acc, Summary& s, std::vector<FlowRow>& flows);
// Same over several readers: totals are sums, and a flow seen by several
// readers (SO_REUSEPORT keeps a 4-tuple on one socket, so only if sockets
// changed) has its counts summed and its highest sequence maximized.
void fill_counts(const std::vector<const Accounting*>& accs, Summary& s,
                 std::vector<FlowRow>& flows);

// Human output (stdout).
void print_interval(std::FILE* out, const Interval& i);
// --json-stream: one JSON object per line, {"event": ..., ...}.
void print_event(std::FILE* out, std::string_view event, const nlohmann::json& body);
void print_summary(std::FILE* out, const Report& r);

} // namespace droplab::sink

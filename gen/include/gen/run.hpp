// One droplab-gen run: open one backend per thread, send on the shape's
// schedule until the count, the time bound or a signal, then report on
// stdout and in --json.
#pragma once

#include "gen/config.hpp"
#include "gen/flow_schedule.hpp"
#include "gen/report.hpp"
#include "gen/spread.hpp"
#include "gen/tx_backend.hpp"

#include <atomic>
#include <optional>
#include <vector>

namespace droplab::gen {

// Runs the generator. Returns the exit code (0 also when sends failed: send
// errors are counted outcomes). Throws for setup failures (UsageError -> 2).
int run(const Config& cfg);

// What one thread's loop sends: its share of the rate and the count, from a
// start time all threads share.
struct LoopParams {
  double pps = 0; // 0: unpaced
  std::optional<std::uint64_t> count;
  std::uint64_t start_ns = 0;
  std::uint64_t seed = 1;                          // Poisson seed of this thread
  std::uint64_t size_offset = 0;                   // IMIX position of this thread's first frame
  bool print_intervals = true;                     // per-second lines on stdout
  std::atomic<std::uint64_t>* live_sent = nullptr; // for the main thread's live lines
  std::atomic<bool>* abort = nullptr;              // stop early (setup failed elsewhere)
  MsCounter* per_ms = nullptr;
  std::uint32_t gso = 1; // datagrams per GSO buffer: a wake-up sends up to batch * gso
};

// The paced send loop. Appends one Interval per second and returns the totals.
RunTotals send_loop(const Config& cfg, const LoopParams& p, TxBackend& tx, FlowSchedule& schedule,
                    std::vector<Interval>& intervals);

// Single-thread form (tests with a fake backend): the whole rate and count,
// starting now, intervals printed unless cfg.quiet.
RunTotals send_loop(const Config& cfg, TxBackend& tx, FlowSchedule& schedule,
                    std::vector<Interval>& intervals);

} // namespace droplab::gen

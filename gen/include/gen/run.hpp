// One droplab-gen run: open the backend, send on the pacing schedule until the
// count, the time bound or a signal, then report on stdout and in --json.
#pragma once

#include "gen/config.hpp"
#include "gen/flow_schedule.hpp"
#include "gen/report.hpp"
#include "gen/tx_backend.hpp"

#include <vector>

namespace droplab::gen {

// Runs the generator. Returns the exit code (0 also when sends failed: send
// errors are counted outcomes). Throws for setup failures (UsageError -> 2).
int run(const Config &cfg);

// The paced send loop, exposed for tests with a fake backend. Appends one
// Interval per second (printed unless cfg.quiet) and returns the totals.
RunTotals send_loop(const Config &cfg, TxBackend &tx, FlowSchedule &schedule,
                    std::vector<Interval> &intervals);

} // namespace droplab::gen

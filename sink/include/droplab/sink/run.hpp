#pragma once

#include "droplab/sink/config.hpp"

namespace droplab::sink {

// Binds, signals readiness, reads under the configured constraints until
// SIGINT/SIGTERM or --duration, drains what is still queued, reports.
// Returns the exit code; setup failures throw (guarded_main maps them).
int run(const Config& cfg);

} // namespace droplab::sink

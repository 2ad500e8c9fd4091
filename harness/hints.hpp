// Hints: for each stage that dropped, one sentence naming what happened, the
// knob that governs it with its value during the run, and what to change —
// "backlog: 41,233 drops on CPU1 — net.core.netdev_max_backlog is 8; raise it
// or spread rps_cpus".
#pragma once

#include "waterfall.hpp"

#include "droplab/counters/snapshot.hpp"

namespace droplab::harness {

// Fills Stage::hint for every stage with drops, from the run's counter delta
// and the knob values the harness read while the settings were in force.
void add_hints(Waterfall& w, const counters::Delta& d, const KnobValues& knobs);

} // namespace droplab::harness

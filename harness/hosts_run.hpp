// `droplab run` on real hosts: a profile with "hosts" names one receiver and
// any number of senders, each reached through its droplab agent (the local
// one, over SSH or over mutual TLS). One waterfall: each sender's own stages,
// the receiving stages once, one accounting identity over all senders.
#pragma once

#include "run.hpp"

#include "waterfall.hpp"

#include "clock_offset.hpp"

#include "droplab/counters/snapshot.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace droplab::harness {

// One waterfall from several senders and one receiver: each sender's own
// stages (gen, qdisc, tx_device) from its counters, labelled; the receive
// stages once, from the senders' summed counters and the receiver's; one
// identity. `total` has the senders' stages summed (for expectations).
struct SenderInput {
  std::string label;      // "tx0 local"
  counters::Delta delta;  // its tx.* counters
  nlohmann::json gen_report;
};
struct HostsWaterfall {
  Waterfall w;
  Waterfall total;
  counters::Delta all; // the senders' deltas summed, and the receiver's
};
HostsWaterfall hosts_waterfall(const std::vector<SenderInput>& senders, const counters::Delta& rx,
                               const nlohmann::json& sink_report, const KnobValues& knobs);

// What to add to the sink's measured latency (its clock minus a sender's) to
// get the one-way latency, and how far off that can be. Exposed for tests.
struct OneWayCorrection {
  std::int64_t correction_ns = 0;
  std::int64_t error_bound_ns = 0;
};
OneWayCorrection one_way_correction(const agent::ClockOffset& rx, const std::vector<agent::ClockOffset>& tx);

// An offset measured before and after a run, as one: the midpoint, with a
// bound widened by half the drift between them.
agent::ClockOffset combine_offsets(const agent::ClockOffset& start, const agent::ClockOffset& end);

RunResult run_hosts(const Profile& prof, const RunOptions& opt);

} // namespace droplab::harness

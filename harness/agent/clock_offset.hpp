// Clock offset between controller and agent over the control channel, as NTP
// computes it from four timestamps (RFC 5905 section 8):
//   offset = ((t2 - t1) + (t3 - t4)) / 2     agent clock minus controller clock
//   delay  = (t4 - t1) - (t3 - t2)           round trip less the agent's processing
// The true offset lies within offset +- delay/2 whatever the path asymmetry,
// so the sample with the smallest delay gives the tightest bound. A one-way
// latency measured across the two hosts inherits that bound.
#pragma once

#include "client.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>

namespace droplab::agent {

struct ClockOffset {
  std::int64_t offset_ns = 0;      // agent - controller
  std::int64_t error_bound_ns = 0; // |true offset - offset_ns| <= this (delay/2, rounded up)
  std::int64_t rtt_ns = 0;         // t4 - t1 of the chosen sample
  std::int64_t delay_ns = 0;       // rtt less the agent's processing, of the chosen sample
  int samples = 0;                 // samples taken
  int used = 0;                    // samples consistent enough to choose from (delay >= 0)
};

void to_json(nlohmann::json& j, const ClockOffset& c);

// The estimate from the minimum-delay sample. A sample with a negative delay
// (a clock stepped during it) is skipped. Throws std::invalid_argument if no
// sample is usable.
ClockOffset offset_from_samples(std::span<const PingSample> samples);

// Takes `samples` pings (each bounded by `timeout`) and estimates the offset.
// Throws AgentError from a failed ping, std::invalid_argument for samples < 1.
ClockOffset estimate_clock_offset(AgentClient& client, int samples = 8,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace droplab::agent

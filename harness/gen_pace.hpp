// Why the generator fell short of its requested rate, from its own report:
// sends refused while the socket's send buffer was full, ENOBUFS, a send loop
// that used a whole CPU, or one that waited for a CPU. The gen stage shows it
// as a note instead of a bare rate error.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace droplab::harness {

// droplab-gen's summary.pace and the figures around it (seconds, summed over
// its threads).
struct GenPace {
  double requested_pps = 0; // 0: unpaced (--rate max), never "short"
  double achieved_pps = 0;
  std::uint64_t eagain = 0;
  std::uint64_t enobufs = 0;
  std::uint64_t other_errors = 0;
  std::uint32_t threads = 1;
  double loop_s = 0;
  double cpu_s = 0;
  double in_send_s = 0;
  double send_blocked_s = 0;
  std::optional<double> cpu_wait_s; // nullopt: unavailable on that kernel
};

// Below this fraction of the requested rate the generator counts as short.
inline constexpr double kGenShortFraction = 0.95;
// Every gen stage note about a shortfall starts with this.
inline constexpr const char* kGenShortNote = "the generator fell short of its rate: ";

// From droplab-gen's --json report; nullopt for a report written before
// summary.pace existed.
std::optional<GenPace> gen_pace_from_report(const nlohmann::json& gen);

// The note for a run that got less than kGenShortFraction of its requested
// rate, naming the measured causes with their figures; nullopt when the rate
// was met or nothing was requested.
std::optional<std::string> gen_shortfall_note(const GenPace& p);

} // namespace droplab::harness

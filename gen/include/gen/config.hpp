// What one droplab-gen run does, validated. Flags arrive as strings and are
// parsed with droplab's unit parsers here, so every error names its flag.
#pragma once

#include "droplab/addr.hpp"
#include "droplab/units.hpp"

#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace droplab::gen {

inline constexpr std::uint64_t kDefaultDurationNs = 10'000'000'000ULL;
// Slack added to count/rate so a --count run still ends if the network stalls.
inline constexpr std::uint64_t kCountSlackNs = 10'000'000'000ULL;
// Time bound of a --count run at --rate max, which has no rate to divide by.
inline constexpr std::uint64_t kCountMaxRateLimitNs = 60'000'000'000ULL;
inline constexpr std::uint32_t kMaxBatch = 1024;
inline constexpr std::uint32_t kMaxFlows = 65535;

enum class BackendKind { Auto, Sendmmsg };

// The flags exactly as typed; empty string = not given.
struct Flags {
  std::string dst;
  std::string rate;
  std::string duration;
  std::string count;
  std::string size = "64";
  std::string flows = "1";
  std::string batch = "32";
  std::string src_port;
  std::string backend = "auto";
  std::string json;
  bool quiet = false;
};

struct Config {
  Endpoint dst;
  Rate rate;
  std::optional<std::uint64_t> duration_ns; // as given
  std::optional<std::uint64_t> count;       // as given
  std::uint64_t time_limit_ns = 0;          // always set: every run ends by itself
  std::size_t size = 64;                    // bytes on the wire
  std::uint32_t flows = 1;
  std::uint32_t batch = 32;
  std::optional<std::uint16_t> src_port;
  BackendKind backend = BackendKind::Auto;
  std::string json_path;
  bool quiet = false;

  // Packets per second asked for; 0 for --rate max.
  double requested_pps() const { return rate.pps(size); }
};

// Registers droplab-gen's flags (all string-valued) and the help text on `app`.
void add_flags(CLI::App &app, Flags &flags);

// Validates flags into a Config. Throws UsageError naming the flag, the value
// and what is allowed.
Config make_config(const Flags &flags);

// The run's time bound: --duration if given; else count/rate + 10 s for
// --count (60 s at --rate max); else 10 s. Throws UsageError if absurdly long.
std::uint64_t time_limit_ns(std::optional<std::uint64_t> duration_ns,
                            std::optional<std::uint64_t> count, double pps);

} // namespace droplab::gen

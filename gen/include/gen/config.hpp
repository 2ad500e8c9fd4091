// What one droplab-gen run does, validated. Flags arrive as strings and are
// parsed with droplab's unit parsers here, so every error names its flag.
#pragma once

#include "droplab/addr.hpp"
#include "droplab/units.hpp"
#include "gen/imix.hpp"
#include "gen/shape.hpp"

#include <CLI/CLI.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace droplab::gen {

inline constexpr std::uint64_t kDefaultDurationNs = 10'000'000'000ULL;
// Slack added to count/rate so a --count run still ends if the network stalls.
inline constexpr std::uint64_t kCountSlackNs = 10'000'000'000ULL;
// Time bound of a --count run at --rate max, which has no rate to divide by.
inline constexpr std::uint64_t kCountMaxRateLimitNs = 60'000'000'000ULL;
inline constexpr std::uint32_t kMaxBatch = 1024;
inline constexpr std::uint32_t kMaxFlows = 65535;

inline constexpr std::uint32_t kMaxThreads = 64;

enum class BackendKind { Auto, AfPacket, IoUring, Sendmmsg };

// "af_packet" for BackendKind::AfPacket, "auto" for Auto, ...
const char* backend_name(BackendKind k);

// The flags exactly as typed; empty string = not given.
struct Flags {
  std::string dst;
  std::string rate;
  std::string duration;
  std::string count;
  std::string size = "64";
  std::string flows = "1";
  std::string flow_id_base = "0";
  std::string batch = "32";
  std::string src_port;
  std::string backend = "auto";
  std::string json;
  bool quiet = false;
  // Added with the AF_PACKET / io_uring backends, threads and shapes.
  std::string dev;
  std::string dst_mac;
  bool qdisc_bypass = false;
  bool zerocopy = false;
  std::string threads = "1";
  std::string cpus;
  std::string burst;
  std::string pattern;
  std::string imix;
  std::string seed = "1";
  std::string src_range;
  std::string fault;
  std::string dst_range;
  std::string gso = "1";
};

// --gso as given: a segment count 1..64 (1 = off), or auto (the largest the
// plan allows when the probe succeeds, else off). See gen/gso.hpp.
struct GsoRequest {
  bool automatic = false;
  std::uint32_t segments = 1;
  std::string to_string() const; // "auto" or the number
};

// An inclusive IPv4 range, e.g. 198.18.0.2-198.18.0.9 (host byte order).
struct AddrRange {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  in_addr at(std::uint32_t i) const; // first + i % count
  std::string to_string() const;
};

struct Config {
  Endpoint dst;
  Rate rate;
  std::optional<std::uint64_t> duration_ns; // as given
  std::optional<std::uint64_t> count;       // as given
  std::uint64_t time_limit_ns = 0;          // always set: every run ends by itself
  std::size_t size = 64;                    // bytes on the wire
  std::uint32_t flows = 1;
  std::uint16_t flow_id_base = 0; // payload flow ids are base .. base+flows-1
  std::uint32_t batch = 32;
  std::optional<std::uint16_t> src_port;
  BackendKind backend = BackendKind::Auto;
  std::string json_path;
  bool quiet = false;
  std::string dev; // empty: the route to --dst decides
  std::optional<std::array<std::uint8_t, 6>> dst_mac;
  bool qdisc_bypass = false;
  bool zerocopy = false;
  std::uint32_t threads = 1;
  std::vector<int> cpus;              // thread i pins to cpus[i % size]; empty: no pinning
  ShapeSpec shape;                    // constant unless --burst / --pattern
  Imix imix;                          // empty: every frame is --size bytes
  std::optional<AddrRange> src_range; // af_packet only: sources written into frames
  bool fault_udp_csum = false;        // af_packet only: --fault udp-csum
  std::optional<AddrRange> dst_range; // flow f goes to dst_range.at(f)
  GsoRequest gso;                     // sendmmsg / io_uring: datagrams per UDP GSO buffer

  // Largest frame the run sends (--size, or the largest IMIX entry).
  std::size_t max_size() const { return imix.empty() ? size : imix.max_size(); }
  // Mean frame size on the wire, for bit/s rates and wire-byte estimates.
  double mean_size() const { return imix.empty() ? static_cast<double>(size) : imix.mean_size(); }
  // Packets per second asked for; 0 for --rate max (or no --rate).
  double requested_pps() const {
    if (rate.is_max()) return 0;
    if (rate.kind == Rate::Kind::Pps) return rate.value;
    return rate.value / (8.0 * mean_size());
  }
};

// Registers droplab-gen's flags (all string-valued) and the help text on `app`.
void add_flags(CLI::App& app, Flags& flags);

// Validates flags into a Config. Throws UsageError naming the flag, the value
// and what is allowed.
Config make_config(const Flags& flags);

// The run's time bound: --duration if given; else count/rate + 10 s for
// --count (60 s at --rate max); else 10 s. Throws UsageError if absurdly long.
std::uint64_t time_limit_ns(std::optional<std::uint64_t> duration_ns,
                            std::optional<std::uint64_t> count, double pps);

} // namespace droplab::gen

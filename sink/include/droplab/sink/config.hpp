// Everything droplab-sink needs to run, already validated: run() never sees a
// value it has to reject.
#pragma once

#include "droplab/addr.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace droplab::sink {

// Stop reading for dur_ns out of every every_ns (dur_ns < every_ns), like a
// GC pause: each period reads for every_ns - dur_ns, then stalls for dur_ns.
struct Stall {
  std::uint64_t dur_ns = 0;
  std::uint64_t every_ns = 0;
};

enum class BackendChoice { Auto, Recvmmsg };

inline constexpr unsigned kDefaultBatch = 64;
inline constexpr unsigned kMaxBatch = 1024; // UIO_MAXIOV caps recvmmsg's vlen at 1024

struct Config {
  Endpoint listen;
  std::optional<std::uint64_t> rcvbuf; // bytes for SO_RCVBUF; nullopt = rmem_default
  std::optional<double> read_rate_pps; // nullopt = read as fast as possible
  std::optional<Stall> stall;
  unsigned batch = kDefaultBatch;           // recvmmsg vlen, 1..kMaxBatch
  std::optional<std::uint64_t> duration_ns; // nullopt = until SIGINT/SIGTERM
  BackendChoice backend = BackendChoice::Auto;
  std::string ready_file; // empty = none
  std::string json_file;  // empty = none
  bool quiet = false;     // no per-second lines
  std::uint64_t interval_ns = 1'000'000'000ULL;
};

} // namespace droplab::sink

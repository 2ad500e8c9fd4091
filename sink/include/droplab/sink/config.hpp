// Everything droplab-sink needs to run, already validated: run() never sees a
// value it has to reject.
#pragma once

#include "droplab/addr.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace droplab::sink {

// Stop reading for dur_ns out of every every_ns (dur_ns < every_ns), like a
// GC pause: each period reads for every_ns - dur_ns, then stalls for dur_ns.
struct Stall {
  std::uint64_t dur_ns = 0;
  std::uint64_t every_ns = 0;
};

enum class BackendChoice { Auto, Recvmmsg, Recv, Asio, IoUring };

inline constexpr unsigned kDefaultBatch = 64;
inline constexpr unsigned kMaxBatch = 1024; // UIO_MAXIOV caps recvmmsg's vlen at 1024
inline constexpr unsigned kMaxThreads = 64;
inline constexpr std::uint64_t kMaxWorkNs = 10'000'000; // 10 ms of CPU per datagram

struct Config {
  Endpoint listen;
  std::optional<std::uint64_t> rcvbuf; // bytes for SO_RCVBUF; nullopt = rmem_default
  bool rcvbuf_force = false;           // set it with SO_RCVBUFFORCE (beyond rmem_max)
  std::optional<double> read_rate_pps; // nullopt = read as fast as possible
  std::optional<Stall> stall;
  unsigned batch = kDefaultBatch;             // recvmmsg vlen, 1..kMaxBatch
  std::uint64_t work_ns = 0;                  // CPU burnt per datagram read (--work)
  std::optional<std::uint64_t> hang_after_ns; // stop reading for good this long after start
  unsigned threads = 1;                       // readers, one SO_REUSEPORT socket each
  std::vector<unsigned> cpus;                 // reader i pinned to cpus[i % size]; empty = none
  std::optional<std::uint64_t> duration_ns;   // nullopt = until SIGINT/SIGTERM
  BackendChoice backend = BackendChoice::Auto;
  std::string ready_file;   // empty = none
  std::string json_file;    // empty = none
  bool quiet = false;       // no per-second lines
  bool json_stream = false; // stdout: one JSON object per line instead of human lines
  std::uint64_t interval_ns = 1'000'000'000ULL;
  // UDP_GRO on every socket (Linux >= 5.0): coalesced reads are split per
  // datagram, so the accounting is the same as without it.
  bool gro = false;
};

} // namespace droplab::sink

// Counter values as plain data: a timestamped Snapshot of named counters and the
// Delta between two of them. A counter that could not be read is *unavailable*
// (no value, a reason), never 0, and stays unavailable through diff().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace droplab::counters {

// Counters only grow (and are diffed); gauges are levels (queue lengths, inodes)
// whose value at the end of the interval is what matters.
enum class Kind { Counter, Gauge };

struct Counter {
  std::string key;    // stable name, e.g. "rx.snmp.Udp.RcvbufErrors"
  std::string source; // where it was read, e.g. "/proc/net/snmp in netns dl-rx"
  std::optional<std::uint64_t> value;
  std::string unavailable_reason; // non-empty iff !value
  Kind kind = Kind::Counter;
  // The kernel keeps this counter in `wrap_bits` bits (softnet_stat columns are 32-bit
  // and wrap within an hour at 1 Mpps on one CPU): diff() subtracts modulo 2^wrap_bits,
  // so for a 32-bit counter a decrease is read as one wrap, not as "went backwards".
  unsigned wrap_bits = 64;
  // Non-empty: this counter is the sum of these keys (e.g. host.softnet.dropped over
  // the CPUs), and diff() sums the parts' deltas, which stays exact when one part wraps.
  std::vector<std::string> sum_of;

  bool available() const noexcept { return value.has_value(); }
};

struct Snapshot {
  std::uint64_t taken_mono_ns = 0; // CLOCK_MONOTONIC when collection began
  std::map<std::string, Counter> counters;

  // The value of `key`, or nullopt if the key is absent or unavailable.
  std::optional<std::uint64_t> get(const std::string &key) const;
  // The counter named `key`, or nullptr.
  const Counter *find(const std::string &key) const;

  // Record a readable value (replaces an earlier entry with the same key); returns
  // the entry so a collector can set wrap_bits or sum_of.
  Counter &add(std::string key, std::string source, std::uint64_t value, Kind kind = Kind::Counter);
  // Record that `key` could not be read, and why. `reason` must not be empty.
  Counter &add_unavailable(std::string key, std::string source, std::string reason,
                           Kind kind = Kind::Counter);
};

// Same shape as a Snapshot; each Counter's value is after - before for counters
// and the `after` level for gauges.
struct Delta {
  std::uint64_t from_mono_ns = 0;
  std::uint64_t to_mono_ns = 0;
  std::map<std::string, Counter> counters;

  std::optional<std::uint64_t> get(const std::string &key) const;
  const Counter *find(const std::string &key) const;
};

// Per key of either snapshot: after - before when both are available (modulo
// 2^wrap_bits; for a sum_of counter, the sum of its parts' deltas). Unavailable, with
// the reason, when either side is unavailable or missing, when a part of a sum is, or
// when a 64-bit counter decreased ("counter went backwards": a reset). No side effects.
Delta diff(const Snapshot &before, const Snapshot &after);

} // namespace droplab::counters

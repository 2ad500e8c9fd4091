// Traffic shapes as departure schedules: when packet i of a stream leaves,
// relative to the stream's start. Pure arithmetic plus a seeded generator for
// Poisson, so every shape is unit-tested without a clock.
//
//   constant       packet i at i / rate
//   --burst N      N back to back, then the gap that keeps the average rate
//   onoff:ON/OFF   packets only inside ON windows, at rate * (ON+OFF) / ON
//   poisson        exponential gaps with mean 1 / rate (seeded, reproducible)
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace droplab::gen {

enum class ShapeKind { Constant, Burst, OnOff, Poisson };

struct ShapeSpec {
  ShapeKind kind = ShapeKind::Constant;
  std::uint32_t burst = 1; // packets per burst (Burst)
  std::uint64_t on_ns = 0; // OnOff window lengths
  std::uint64_t off_ns = 0;
  std::uint64_t seed = 1; // Poisson

  // "constant", "burst:32", "onoff:1ms/9ms", "poisson".
  std::string to_string() const;
};

// Parses --pattern: "onoff:ON/OFF" (durations, e.g. 1ms/9ms) or "poisson".
// Throws UnitError quoting the text and listing what is allowed.
ShapeSpec parse_pattern(std::string_view text);

// The departure offsets (ns since the start) of one stream, in order.
class Departures {
public:
  // rate_pps must be > 0.
  Departures(const ShapeSpec& spec, double rate_pps);
  // Departure of the next packet not yet popped.
  std::uint64_t peek() const { return next_; }
  void pop();
  std::uint64_t index() const { return index_; }

private:
  std::uint64_t at(std::uint64_t i) const; // closed form (all shapes but Poisson)

  ShapeSpec spec_;
  double rate_;
  std::uint64_t index_ = 0;
  std::uint64_t next_ = 0;
  long double poisson_t_ = 0; // exact running sum, so rounding does not drift
  std::mt19937_64 rng_;
};

// The first n departures of a shape; for tests and the README's examples.
std::vector<std::uint64_t> first_departures(const ShapeSpec& spec, double rate_pps, std::size_t n);

// Pacer over a shape: how many packets are due by `now`, capped at a batch.
// rate_pps == 0 means unpaced: `cap` packets are always due.
class ShapePacer {
public:
  ShapePacer(const ShapeSpec& spec, double rate_pps, std::uint64_t start_ns);

  // Packets due by now_ns and not consumed yet, at most `cap` (non-const:
  // Poisson departures are generated on demand).
  std::uint64_t due(std::uint64_t now_ns, std::uint64_t cap);
  void consume(std::uint64_t n);
  // When the next unconsumed packet is due (start_ns when unpaced).
  std::uint64_t next_due_ns();
  std::uint64_t consumed() const { return consumed_; }

private:
  void fill(std::size_t n); // makes pending_ hold at least n departures

  bool paced_;
  std::uint64_t start_;
  std::uint64_t consumed_ = 0;
  std::deque<std::uint64_t> pending_; // departures of packets consumed_, consumed_+1, ...
  Departures dep_;                    // positioned after pending_
};

} // namespace droplab::gen

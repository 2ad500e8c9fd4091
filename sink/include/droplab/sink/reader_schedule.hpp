// When the constrained reader may read, and how much: --read-rate and
// --stall as pure arithmetic on the times it is given, so it is unit-tested
// without a clock.
#pragma once

#include "droplab/pacer.hpp"
#include "droplab/sink/config.hpp"

#include <cstdint>
#include <optional>

namespace droplab::sink {

class ReaderSchedule {
public:
  // Reading starts at start_ns; stall periods are counted from there.
  ReaderSchedule(std::optional<double> rate_pps, std::optional<Stall> stall, unsigned batch,
                 std::uint64_t start_ns);

  struct Grant {
    std::uint64_t reads = 0;    // datagrams the reader may read now (0..batch)
    std::uint64_t retry_ns = 0; // when reads is 0: the earliest time it can change
  };

  // How many datagrams may be read at `now_ns`. Not const: a reader that fell
  // more than one batch behind its rate (idle socket, stall, slow wake-up)
  // re-anchors the rate at now instead of catching up, because a slow
  // application does not read faster after a pause.
  Grant grant(std::uint64_t now_ns);

  // The reader read `n` datagrams (n <= the last grant).
  void consume(std::uint64_t n);

  // True while a --stall pause is in force at `now_ns`.
  bool stalled(std::uint64_t now_ns) const;

private:
  std::optional<Stall> stall_;
  unsigned batch_;
  std::uint64_t start_;
  std::optional<Pacer> pacer_; // nullopt: no --read-rate
};

} // namespace droplab::sink

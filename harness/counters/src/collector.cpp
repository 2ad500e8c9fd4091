#include "droplab/counters/collector.hpp"

#include "droplab/clock.hpp"

namespace droplab::counters {

Snapshot take_snapshot(const std::vector<std::unique_ptr<Collector>> &collectors) {
  Snapshot s;
  s.taken_mono_ns = mono_ns();
  for (const auto &c : collectors)
    c->collect(s);
  return s;
}

} // namespace droplab::counters

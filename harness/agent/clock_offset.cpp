#include "clock_offset.hpp"

#include <stdexcept>
#include <vector>

namespace droplab::agent {
namespace {

// CLOCK_REALTIME in ns fits int64 until 2262: differences are exact.
std::int64_t s64(std::uint64_t t) {
  return static_cast<std::int64_t>(t);
}

// Halves, rounding toward -infinity, so the bound below rounds up honestly.
std::int64_t floor_half(std::int64_t v) {
  return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

} // namespace

void to_json(nlohmann::json& j, const ClockOffset& c) {
  j = nlohmann::json{{"offset_ns", c.offset_ns}, {"error_bound_ns", c.error_bound_ns},
                     {"rtt_ns", c.rtt_ns},       {"delay_ns", c.delay_ns},
                     {"samples", c.samples},     {"used", c.used}};
}

ClockOffset offset_from_samples(std::span<const PingSample> samples) {
  ClockOffset best;
  bool found = false;
  for (const PingSample& s : samples) {
    std::int64_t rtt = s64(s.t4_ns) - s64(s.t1_ns);
    std::int64_t processing = s64(s.t3_ns) - s64(s.t2_ns);
    std::int64_t delay = rtt - processing;
    if (rtt < 0 || processing < 0 || delay < 0) continue;
    ++best.used;
    if (found && delay >= best.delay_ns) continue;
    found = true;
    best.delay_ns = delay;
    best.rtt_ns = rtt;
    best.offset_ns = floor_half((s64(s.t2_ns) - s64(s.t1_ns)) + (s64(s.t3_ns) - s64(s.t4_ns)));
    // With one-way delays d1, d2: sum = 2*offset + d1 - d2 and delay = d1 + d2
    // have the same parity, so halving the sum is exact when delay is even and
    // half a ns off when it is odd: ceil(delay/2) bounds both.
    best.error_bound_ns = (delay + 1) / 2;
  }
  best.samples = static_cast<int>(samples.size());
  if (!found)
    throw std::invalid_argument("no usable clock sample (clocks stepped during every ping?)");
  return best;
}

ClockOffset estimate_clock_offset(AgentClient& client, int samples,
                                  std::chrono::milliseconds timeout) {
  if (samples < 1) throw std::invalid_argument("estimate_clock_offset: samples must be >= 1");
  std::vector<PingSample> taken;
  taken.reserve(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i)
    taken.push_back(client.ping(timeout));
  return offset_from_samples(taken);
}

} // namespace droplab::agent

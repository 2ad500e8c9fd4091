#include "gen/flow_schedule.hpp"

#include <algorithm>
#include <stdexcept>

namespace droplab::gen {

FlowSchedule::FlowSchedule(std::uint32_t flows, std::uint32_t first_flow)
    : next_seq_(flows, 0), first_(first_flow) {
  // Flow ids travel as u16 in the header.
  if (flows == 0 || first_flow + flows > kMaxFlows)
    throw std::invalid_argument("FlowSchedule: flows must be 1..65535");
}

std::span<TxMessage> FlowSchedule::plan(std::size_t n, std::uint32_t payload_bytes,
                                        std::span<TxMessage> out) const {
  n = std::min(n, out.size());
  std::uint64_t seq = next_seq_[current_];
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = TxMessage{.flow = static_cast<std::uint16_t>(first_ + current_),
                       .seq = static_cast<std::uint32_t>(seq + i),
                       .payload_bytes = payload_bytes};
  }
  return out.first(n);
}

void FlowSchedule::commit(std::size_t accepted) {
  next_seq_[current_] += accepted;
  current_ = (current_ + 1) % flows();
}

BatchTally tally(std::span<const int> outcome, ErrnoCounts& errors) {
  BatchTally t;
  bool prefix = true;
  for (int o : outcome) {
    if (o == kTxSent) {
      // A backend that sends past a failure breaks sequence contiguity.
      if (!prefix) throw std::logic_error("TxBackend sent a message after a failed one");
      ++t.accepted;
    } else {
      prefix = false;
      if (o > 0) {
        ++t.failed;
        ++errors[o];
      }
    }
  }
  return t;
}

} // namespace droplab::gen

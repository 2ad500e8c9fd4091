// Which flow and which sequence number each datagram gets. Pure bookkeeping,
// no sockets and no clock, so it is unit-tested directly.
//
// A batch goes out on one flow, the next batch on the next flow (round robin
// by batch), which keeps each flow's datagrams in order on one socket.
// Sequence numbers advance only for datagrams the kernel accepted: the
// unsent tail of a batch is re-planned with the same numbers, so every gap
// the sink sees is a real loss.
#pragma once

#include "gen/tx_backend.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace droplab::gen {

class FlowSchedule {
public:
  // Flows first_flow .. first_flow+flows-1 (a thread's share); indices of
  // next_seq() and current_flow() are local, 0..flows-1.
  explicit FlowSchedule(std::uint32_t flows, std::uint32_t first_flow = 0);

  // Fills the first min(n, out.size()) entries of `out` with the next
  // messages of the current flow and returns them.
  std::span<TxMessage> plan(std::size_t n, std::uint32_t payload_bytes,
                            std::span<TxMessage> out) const;

  // Records that the first `accepted` planned messages were sent and moves
  // on to the next flow.
  void commit(std::size_t accepted);

  std::uint32_t flows() const { return static_cast<std::uint32_t>(next_seq_.size()); }
  std::uint32_t current_flow() const { return current_; }
  std::uint32_t first_flow() const { return first_; }
  // Datagrams flow `flow` has sent, which is also its next sequence number
  // (unwrapped; the header carries the low 32 bits).
  std::uint64_t next_seq(std::uint32_t flow) const { return next_seq_.at(flow); }

private:
  std::vector<std::uint64_t> next_seq_;
  std::uint32_t current_ = 0;
  std::uint32_t first_ = 0;
};

// Send errors by errno value; names are attached when reporting.
using ErrnoCounts = std::map<int, std::uint64_t>;

struct BatchTally {
  std::size_t accepted = 0; // leading kTxSent outcomes
  std::size_t failed = 0;   // outcomes carrying an errno
};

// Counts one batch's outcomes, adding each errno to `errors`.
BatchTally tally(std::span<const int> outcome, ErrnoCounts& errors);

} // namespace droplab::gen

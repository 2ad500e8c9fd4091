// What the sink counts from the datagrams it reads: per-flow sequence
// accounting plus sink-wide totals. Pure: fed byte buffers, no socket.
#pragma once

#include "droplab/payload.hpp"
#include "droplab/sink/seq_tracker.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>

namespace droplab::sink {

struct Totals {
  std::uint64_t received = 0; // datagrams read, valid or not
  std::uint64_t valid = 0;    // with a droplab payload header
  std::uint64_t invalid = 0;  // without one: counted, never a flow
  std::uint64_t bytes = 0;    // UDP payload bytes of all datagrams read
  std::int64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;
  std::uint64_t stale = 0;
};

class Accounting {
public:
  // Accounts one datagram: `head` is what was copied (at least the header if
  // the datagram had one), `length` the datagram's full UDP payload length.
  // Returns the decoded header (nullopt for an invalid datagram).
  std::optional<PayloadHeader> add(std::span<const std::byte> head, std::size_t length);

  // Cheap running values for live intervals (totals() walks every flow).
  std::uint64_t received() const { return received_; }
  std::int64_t lost() const { return lost_; }

  // Sums over all flows.
  Totals totals() const;
  // Ordered by flow id, so reports are stable.
  const std::map<std::uint16_t, SeqTracker>& flows() const { return flows_; }

private:
  std::uint64_t received_ = 0;
  std::uint64_t invalid_ = 0;
  std::uint64_t bytes_ = 0;
  std::int64_t lost_ = 0;
  std::map<std::uint16_t, SeqTracker> flows_;
  // One-entry cache: a batch usually carries one flow, so skip the map lookup.
  std::uint16_t last_flow_ = 0;
  SeqTracker* last_ = nullptr;
};

} // namespace droplab::sink

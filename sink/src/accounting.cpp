#include "droplab/sink/accounting.hpp"

#include "droplab/payload.hpp"

namespace droplab::sink {

std::optional<PayloadHeader> Accounting::add(std::span<const std::byte> head, std::size_t length) {
  ++received_;
  bytes_ += length;
  // A datagram shorter than the header cannot carry one, whatever was copied.
  auto h = length >= kPayloadHeaderBytes ? decode_payload(head) : std::nullopt;
  if (!h) {
    ++invalid_;
    return std::nullopt;
  }
  if (last_ == nullptr || last_flow_ != h->flow) {
    last_ = &flows_[h->flow]; // std::map nodes do not move: the pointer stays valid
    last_flow_ = h->flow;
  }
  const std::int64_t before = last_->counts().lost;
  last_->add(h->seq);
  lost_ += last_->counts().lost - before;
  return h;
}

Totals Accounting::totals() const {
  Totals t{.received = received_, .invalid = invalid_, .bytes = bytes_};
  t.valid = received_ - invalid_;
  for (const auto& [id, f] : flows_) {
    const FlowCounts& c = f.counts();
    t.lost += c.lost;
    t.duplicates += c.duplicates;
    t.reordered += c.reordered;
    t.stale += c.stale;
  }
  return t;
}

} // namespace droplab::sink

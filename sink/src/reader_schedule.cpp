#include "droplab/sink/reader_schedule.hpp"

namespace droplab::sink {

ReaderSchedule::ReaderSchedule(std::optional<double> rate_pps, std::optional<Stall> stall,
                               unsigned batch, std::uint64_t start_ns)
    : stall_(stall), batch_(batch), start_(start_ns) {
  if (rate_pps) pacer_.emplace(*rate_pps, start_ns);
}

bool ReaderSchedule::stalled(std::uint64_t now_ns) const {
  if (!stall_ || now_ns < start_) return false;
  std::uint64_t phase = (now_ns - start_) % stall_->every_ns;
  return phase >= stall_->every_ns - stall_->dur_ns;
}

ReaderSchedule::Grant ReaderSchedule::grant(std::uint64_t now_ns) {
  if (now_ns < start_) return {.reads = 0, .retry_ns = start_};
  if (stalled(now_ns)) {
    std::uint64_t phase = (now_ns - start_) % stall_->every_ns;
    return {.reads = 0, .retry_ns = now_ns + (stall_->every_ns - phase)};
  }
  if (!pacer_) return {.reads = batch_, .retry_ns = now_ns};

  std::uint64_t due = pacer_->due(now_ns);
  if (due > batch_) {
    // More than a batch owed: forget the debt. The new schedule starts now,
    // and this one batch is its first, so the next is due batch/rate later.
    pacer_.emplace(pacer_->rate(), now_ns);
    return {.reads = batch_, .retry_ns = now_ns};
  }
  if (due == 0) return {.reads = 0, .retry_ns = pacer_->next_due_ns()};
  return {.reads = due, .retry_ns = now_ns};
}

void ReaderSchedule::consume(std::uint64_t n) {
  if (pacer_) pacer_->consume(n);
}

} // namespace droplab::sink

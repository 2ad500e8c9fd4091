#include "gen/pace.hpp"

#include "droplab/clock.hpp"

#include <fstream>

namespace droplab::gen {

PaceTotals& PaceTotals::operator+=(const PaceTotals& o) {
  loop_ns += o.loop_ns;
  cpu_ns += o.cpu_ns;
  in_send_ns += o.in_send_ns;
  send_blocked_ns += o.send_blocked_ns;
  // Unavailable in one thread makes the sum unavailable, never a partial 0.
  cpu_wait_ns =
      cpu_wait_ns && o.cpu_wait_ns ? std::optional(*cpu_wait_ns + *o.cpu_wait_ns) : std::nullopt;
  return *this;
}

std::optional<std::uint64_t> thread_cpu_wait_ns() {
  // "sum_exec_runtime run_delay pcount", all since the thread started
  // (Documentation/scheduler/sched-stats.rst); needs CONFIG_SCHED_INFO.
  std::ifstream f("/proc/thread-self/schedstat");
  std::uint64_t run_ns = 0, wait_ns = 0;
  if (!(f >> run_ns >> wait_ns)) return std::nullopt;
  return wait_ns;
}

void PaceMeter::start(std::uint64_t now_ns) {
  start_ns_ = now_ns;
  cpu0_ns_ = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  wait0_ns_ = thread_cpu_wait_ns();
}

void PaceMeter::sent(std::uint64_t before_ns, std::uint64_t after_ns, std::uint64_t accepted,
                     bool refused_eagain) {
  t_.in_send_ns += after_ns - before_ns;
  if (accepted > 0 && blocked_since_) {
    t_.send_blocked_ns += before_ns - *blocked_since_;
    blocked_since_.reset();
  }
  if (refused_eagain && !blocked_since_) blocked_since_ = before_ns;
}

PaceTotals PaceMeter::finish(std::uint64_t now_ns) {
  if (blocked_since_) t_.send_blocked_ns += now_ns - *blocked_since_;
  blocked_since_.reset();
  t_.loop_ns = now_ns - start_ns_;
  t_.cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0_ns_;
  const std::optional<std::uint64_t> wait1 = thread_cpu_wait_ns();
  t_.cpu_wait_ns = wait0_ns_ && wait1 ? std::optional(*wait1 - *wait0_ns_) : std::nullopt;
  return t_;
}

} // namespace droplab::gen

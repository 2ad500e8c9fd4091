#pragma once

#include <sys/resource.h>
#include <time.h>

#include <cstdint>

namespace droplab {

inline std::uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}
// Monotonic time for pacing and intervals.
inline std::uint64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
// Wall-clock time for timestamps carried in payloads.
inline std::uint64_t real_ns() { return clock_ns(CLOCK_REALTIME); }

// Sleeps until the absolute CLOCK_MONOTONIC time `deadline_ns` (EINTR returns early).
inline void sleep_until_mono(std::uint64_t deadline_ns) {
  timespec ts{.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000ULL),
              .tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000ULL)};
  ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

// CPU seconds, user + system, of a getrusage()/wait4() record.
inline double cpu_seconds(const rusage& ru) {
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

} // namespace droplab
